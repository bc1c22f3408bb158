"""Activations, elementwise. Backward kernels take what forward saved (x or y) and grad_out."""

import math

import numpy as np


def relu_forward(x, out):
    """out = max(x, 0) (NaN stays NaN)."""
    np.copyto(out, np.where(x <= 0, 0, x))


def relu_backward(y, grad_out, grad_in):
    """grad_in = grad_out * [y > 0]."""
    np.copyto(grad_in, np.where(y > 0, grad_out, 0))


def leaky_relu_forward(x, out, negative_slope):
    """out = x if x > 0 else negative_slope * x."""
    np.copyto(out, np.where(x > 0, x, x * x.dtype.type(negative_slope)))


def leaky_relu_backward(x, grad_out, grad_in, negative_slope):
    """grad_in = grad_out * (1 if x > 0 else negative_slope)."""
    np.copyto(grad_in, np.where(x > 0, grad_out, grad_out * x.dtype.type(negative_slope)))


def sigmoid_forward(x, out):
    """out = 1 / (1 + exp(-x)), as exp(x) / (1 + exp(x)) for x < 0 so exp never overflows."""
    z = np.exp(-np.abs(x))
    np.copyto(out, np.where(x >= 0, 1 / (1 + z), z / (1 + z)))


def sigmoid_backward(y, grad_out, grad_in):
    """grad_in = grad_out * y * (1 - y)."""
    np.copyto(grad_in, grad_out * y * (1 - y))


def tanh_forward(x, out):
    """out = tanh(x)."""
    np.tanh(x, out=out)


def tanh_backward(y, grad_out, grad_in):
    """grad_in = grad_out * (1 - y**2)."""
    np.copyto(grad_in, grad_out * (1 - y * y))


# ---- pointwise activations: one forward and one backward kernel, switched by name -----------
# Every formula runs in float64 and is rounded once into the output, so float32 results are
# correctly rounded values of the math (PyTorch, computing in float32, is within a few ulp).
# ``a`` and ``b`` are the op's float parameters (0.0 where it has none). Comparisons are written
# as PyTorch's kernels write them, so NaN and the kinks take PyTorch's branch.

SQRT_HALF = 0.7071067811865476         # 1 / sqrt(2)
INV_SQRT_2PI = 0.3989422804014327      # 1 / sqrt(2 pi)
GELU_TANH_BETA = 0.7978845608028654    # sqrt(2 / pi)
GELU_TANH_KAPPA = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
# NOTE: PyTorch's hardsigmoid backward multiplies by the float32 constant 1/6 for every dtype
HARDSIGMOID_SLOPE = float(np.float32(1 / 6))

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _clamp(x, lo, hi):
    """lo if x < lo, hi if x > hi, else x (NaN stays NaN)."""
    return np.where(x < lo, lo, np.where(x > hi, hi, x))


def _gelu_tanh_inner(x):
    return GELU_TANH_BETA * (x + GELU_TANH_KAPPA * x ** 3)


def _softsign_grad(x):
    # the chain rule through x / (|x| + 1), as PyTorch's autograd composes it (NaN at +-inf)
    d = 1 + np.abs(x)
    return 1 / d - x / (d * d) * np.sign(x)


def _mish_grad(x):
    tanh_softplus = np.tanh(np.log1p(np.exp(x)))
    return tanh_softplus + x * _sigmoid(x) * (1 - tanh_softplus ** 2)


def _logsigmoid_grad(x):
    z = np.exp(-np.abs(x))
    return np.where(x < 0, 1 - z / (1 + z), z / (1 + z))


# op name -> (forward y(x, a, b), backward dy/dx(x, a, b)), both on float64 arrays
POINTWISE = {
    # y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2;  dy = Phi(x) + x phi(x)
    "gelu": (lambda x, a, b: 0.5 * x * (1 + _erf(x * SQRT_HALF)),
             lambda x, a, b: 0.5 * (1 + _erf(x * SQRT_HALF))
             + x * INV_SQRT_2PI * np.exp(-0.5 * x * x)),
    # y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3);
    # dy = (1 + tanh u) / 2 + x/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    "gelu_tanh": (lambda x, a, b: 0.5 * x * (1 + np.tanh(_gelu_tanh_inner(x))),
                  lambda x, a, b: 0.5 * (1 + np.tanh(_gelu_tanh_inner(x)))
                  + 0.5 * x * (1 - np.tanh(_gelu_tanh_inner(x)) ** 2) * GELU_TANH_BETA
                  * (1 + 3 * GELU_TANH_KAPPA * x * x)),
    # y = x sigmoid(x);  dy = s (1 + x (1 - s))
    "silu": (lambda x, a, b: x / (1 + np.exp(-x)),
             lambda x, a, b: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    # a = alpha: y = x if x > 0 else a (exp(x) - 1);  dy = 1 or a exp(x) (x <= 0, 0 included)
    "elu": (lambda x, a, b: np.where(x <= 0, a * np.expm1(x), x),
            lambda x, a, b: np.where(x <= 0, a * np.exp(x), 1.0)),
    # y = scale * elu(x, alpha) with SELU's fixed constants
    "selu": (lambda x, a, b: np.where(x <= 0, SELU_SCALE * SELU_ALPHA * np.expm1(x),
                                      SELU_SCALE * x),
             lambda x, a, b: np.where(x <= 0, SELU_SCALE * SELU_ALPHA * np.exp(x), SELU_SCALE)),
    # a = alpha: y = x if x > 0 else a (exp(x / a) - 1);  dy = 1 or a b exp(b x), where
    # b = 1 / a would be the derivative; PyTorch's backward takes b = 1 / float32(a)
    "celu": (lambda x, a, b: np.where(x <= 0, a * np.expm1(x / a), x),
             lambda x, a, b: np.where(x <= 0, a * b * np.exp(x * b), 1.0)),
    # a = beta, b = threshold: y = x if a x > b else log(1 + exp(a x)) / a;
    # dy = 1 or sigmoid(a x)
    "softplus": (lambda x, a, b: np.where(x * a > b, x, np.log1p(np.exp(x * a)) / a),
                 lambda x, a, b: np.where(x * a > b, 1.0, np.exp(x * a) / (np.exp(x * a) + 1))),
    # y = log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|));  dy = 1 - sigmoid(x)
    "logsigmoid": (lambda x, a, b: np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))),
                   lambda x, a, b: _logsigmoid_grad(x)),
    # y = x clamp(x + 3, 0, 6) / 6;  dy = 0 (x <= -3), x / 3 + 1/2 (x < 3), 1 (else, NaN too)
    "hardswish": (lambda x, a, b: x * _clamp(x + 3, 0, 6) / 6,
                  lambda x, a, b: np.where(x <= -3, 0.0, np.where(x < 3, x / 3 + 0.5, 1.0))),
    # y = clamp(x + 3, 0, 6) / 6;  dy = 1/6 strictly inside (-3, 3), else 0
    "hardsigmoid": (lambda x, a, b: _clamp(x + 3, 0, 6) / 6,
                    lambda x, a, b: np.where((x > -3) & (x < 3), HARDSIGMOID_SLOPE, 0.0)),
    # a = min_val, b = max_val: y = clamp(x, a, b);  dy = 0 where x <= a or x >= b, else 1
    "hardtanh": (lambda x, a, b: _clamp(x, a, b),
                 lambda x, a, b: np.where((x <= a) | (x >= b), 0.0, 1.0)),
    # y = x tanh(softplus(x));  dy = t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x))
    "mish": (lambda x, a, b: x * np.tanh(np.log1p(np.exp(x))),
             lambda x, a, b: _mish_grad(x)),
    # y = x / (1 + |x|);  dy = 1 / (1 + |x|)^2
    "softsign": (lambda x, a, b: x / (1 + np.abs(x)),
                 lambda x, a, b: _softsign_grad(x)),
    # y = x - tanh(x);  dy = tanh(x)^2
    "tanhshrink": (lambda x, a, b: x - np.tanh(x),
                   lambda x, a, b: np.tanh(x) ** 2),
    # a = lambda: y = 0 on [-a, a], else x - a sign(x);  dy = 0 on [-a, a], else 1
    "softshrink": (lambda x, a, b: np.where((x >= -a) & (x <= a), 0.0,
                                            np.where(x > a, x - a, x + a)),
                   lambda x, a, b: np.where((x >= -a) & (x <= a), 0.0, 1.0)),
    # a = lambda: y = 0 on [-a, a], else x;  dy = 0 on [-a, a], else 1
    "hardshrink": (lambda x, a, b: np.where((x >= -a) & (x <= a), 0.0, x),
                   lambda x, a, b: np.where((x >= -a) & (x <= a), 0.0, 1.0)),
}
# The order the compiled sets number the ops in.
POINTWISE_OPS = tuple(POINTWISE)


def pointwise_forward(x, out, op, a, b):
    """out = f_op(x; a, b), f from the POINTWISE table above (math in float64, rounded into
    out's dtype; hardtanh also takes integer x)."""
    with np.errstate(all="ignore"):  # exp overflows to inf on purpose; the branches select
        y = POINTWISE[op][0](x.astype(np.float64), float(a), float(b))
    np.copyto(out, y, casting="unsafe")


def pointwise_backward(x, grad_out, grad_in, op, a, b):
    """grad_in = grad_out * f_op'(x; a, b), f' from the POINTWISE table above."""
    with np.errstate(all="ignore"):
        dy = POINTWISE[op][1](x.astype(np.float64), float(a), float(b))
    np.copyto(grad_in, grad_out.astype(np.float64) * dy, casting="unsafe")
