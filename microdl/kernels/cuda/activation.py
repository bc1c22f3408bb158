"""CUDA twins of numpy_ref/activation.py: one grid-stride loop per kernel over flat arrays."""

import math

from numba import cuda

from ..numpy_ref.activation import (GELU_TANH_BETA, GELU_TANH_KAPPA, HARDSIGMOID_SLOPE,
                                    INV_SQRT_2PI, POINTWISE_OPS, SELU_ALPHA, SELU_SCALE,
                                    SQRT_HALF)
from ._launch import flat, grid


@cuda.jit
def _relu_forward_kernel(x, out):
    i = cuda.grid(1)
    while i < x.size:
        v = x[i]
        out[i] = 0 if v <= 0 else v  # NaN is not <= 0, so it passes through
        i += cuda.gridsize(1)


@cuda.jit
def _relu_backward_kernel(y, g, gi):
    i = cuda.grid(1)
    while i < y.size:
        gi[i] = g[i] if y[i] > 0 else 0
        i += cuda.gridsize(1)


@cuda.jit
def _leaky_relu_forward_kernel(x, out, slope):
    i = cuda.grid(1)
    while i < x.size:
        v = x[i]
        out[i] = v if v > 0 else v * slope
        i += cuda.gridsize(1)


@cuda.jit
def _leaky_relu_backward_kernel(x, g, gi, slope):
    i = cuda.grid(1)
    while i < x.size:
        gi[i] = g[i] if x[i] > 0 else g[i] * slope
        i += cuda.gridsize(1)


@cuda.jit
def _sigmoid_forward_kernel(x, out):
    i = cuda.grid(1)
    while i < x.size:
        v = x[i]
        # exp of a non-positive number only, so it never overflows
        if v >= 0:
            out[i] = 1 / (1 + math.exp(-v))
        else:
            z = math.exp(v)
            out[i] = z / (1 + z)
        i += cuda.gridsize(1)


@cuda.jit
def _sigmoid_backward_kernel(y, g, gi):
    i = cuda.grid(1)
    while i < y.size:
        gi[i] = g[i] * y[i] * (1 - y[i])
        i += cuda.gridsize(1)


@cuda.jit
def _tanh_forward_kernel(x, out):
    i = cuda.grid(1)
    while i < x.size:
        out[i] = math.tanh(x[i])
        i += cuda.gridsize(1)


@cuda.jit
def _tanh_backward_kernel(y, g, gi):
    i = cuda.grid(1)
    while i < y.size:
        gi[i] = g[i] * (1 - y[i] * y[i])
        i += cuda.gridsize(1)


def relu_forward(x, out):
    """out = max(x, 0) (NaN stays NaN)."""
    _relu_forward_kernel[grid(x.size)](flat(x), flat(out))


def relu_backward(y, grad_out, grad_in):
    """grad_in = grad_out * [y > 0]."""
    _relu_backward_kernel[grid(y.size)](flat(y), flat(grad_out), flat(grad_in))


def leaky_relu_forward(x, out, negative_slope):
    """out = x if x > 0 else negative_slope * x."""
    _leaky_relu_forward_kernel[grid(x.size)](flat(x), flat(out), float(negative_slope))


def leaky_relu_backward(x, grad_out, grad_in, negative_slope):
    """grad_in = grad_out * (1 if x > 0 else negative_slope)."""
    _leaky_relu_backward_kernel[grid(x.size)](flat(x), flat(grad_out), flat(grad_in),
                                              float(negative_slope))


def sigmoid_forward(x, out):
    """out = 1 / (1 + exp(-x)), as exp(x) / (1 + exp(x)) for x < 0."""
    _sigmoid_forward_kernel[grid(x.size)](flat(x), flat(out))


def sigmoid_backward(y, grad_out, grad_in):
    """grad_in = grad_out * y * (1 - y)."""
    _sigmoid_backward_kernel[grid(y.size)](flat(y), flat(grad_out), flat(grad_in))


def tanh_forward(x, out):
    """out = tanh(x)."""
    _tanh_forward_kernel[grid(x.size)](flat(x), flat(out))


def tanh_backward(y, grad_out, grad_in):
    """grad_in = grad_out * (1 - y**2)."""
    _tanh_backward_kernel[grid(y.size)](flat(y), flat(grad_out), flat(grad_in))


# ---- pointwise activations (GELU, SiLU, ELU, ...): one forward and one backward kernel --------
# The op arrives as its name and runs as its number in numpy_ref's POINTWISE_OPS. Scalar math in
# float64, rounded once on the store, with the reference's comparisons (NaN takes its branch).
(GELU, GELU_TANH, SILU, ELU, SELU, CELU, SOFTPLUS, LOGSIGMOID, HARDSWISH, HARDSIGMOID, HARDTANH,
 MISH, SOFTSIGN, TANHSHRINK, SOFTSHRINK, HARDSHRINK) = range(16)
_CODES = {name: code for code, name in enumerate(POINTWISE_OPS)}
assert _CODES["hardshrink"] == HARDSHRINK and _CODES["hardtanh"] == HARDTANH


@cuda.jit(device=True)
def _clamp(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


@cuda.jit(device=True)
def _forward_value(op, v, a, b):
    """f_op(v; a, b) for a float64 v: numpy_ref.POINTWISE's forward formulas."""
    if op == GELU:
        return 0.5 * v * (1.0 + math.erf(v * SQRT_HALF))
    if op == GELU_TANH:
        return 0.5 * v * (1.0 + math.tanh(GELU_TANH_BETA * (v + GELU_TANH_KAPPA * v * v * v)))
    if op == SILU:
        return v / (1.0 + math.exp(-v))
    if op == ELU:
        return a * math.expm1(v) if v <= 0 else v
    if op == SELU:
        return SELU_SCALE * SELU_ALPHA * math.expm1(v) if v <= 0 else SELU_SCALE * v
    if op == CELU:
        return a * math.expm1(v / a) if v <= 0 else v
    if op == SOFTPLUS:
        return v if v * a > b else math.log1p(math.exp(v * a)) / a
    if op == LOGSIGMOID:
        return min(v, 0.0) - math.log1p(math.exp(-abs(v)))
    if op == HARDSWISH:
        return v * _clamp(v + 3.0, 0.0, 6.0) / 6.0
    if op == HARDSIGMOID:
        return _clamp(v + 3.0, 0.0, 6.0) / 6.0
    if op == HARDTANH:
        return _clamp(v, a, b)
    if op == MISH:
        return v * math.tanh(math.log1p(math.exp(v)))
    if op == SOFTSIGN:
        return v / (1.0 + abs(v))
    if op == TANHSHRINK:
        return v - math.tanh(v)
    if op == SOFTSHRINK:
        return 0.0 if -a <= v <= a else (v - a if v > a else v + a)
    return 0.0 if -a <= v <= a else v  # HARDSHRINK


@cuda.jit(device=True)
def _derivative(op, v, a, b):
    """f_op'(v; a, b) for a float64 v: numpy_ref.POINTWISE's backward formulas."""
    if op == GELU:
        return 0.5 * (1.0 + math.erf(v * SQRT_HALF)) + v * INV_SQRT_2PI * math.exp(-0.5 * v * v)
    if op == GELU_TANH:
        t = math.tanh(GELU_TANH_BETA * (v + GELU_TANH_KAPPA * v * v * v))
        return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_TANH_BETA * (
            1.0 + 3.0 * GELU_TANH_KAPPA * v * v)
    if op == SILU:
        s = 1.0 / (1.0 + math.exp(-v))
        return s * (1.0 + v * (1.0 - s))
    if op == ELU:
        return a * math.exp(v) if v <= 0 else 1.0
    if op == SELU:
        return SELU_SCALE * SELU_ALPHA * math.exp(v) if v <= 0 else SELU_SCALE
    if op == CELU:
        return a * b * math.exp(v * b) if v <= 0 else 1.0
    if op == SOFTPLUS:
        z = math.exp(v * a)
        return 1.0 if v * a > b else z / (z + 1.0)
    if op == LOGSIGMOID:
        z = math.exp(-abs(v))
        return 1.0 - z / (1.0 + z) if v < 0 else z / (1.0 + z)
    if op == HARDSWISH:
        return 0.0 if v <= -3.0 else (v / 3.0 + 0.5 if v < 3.0 else 1.0)
    if op == HARDSIGMOID:
        return HARDSIGMOID_SLOPE if -3.0 < v < 3.0 else 0.0
    if op == HARDTANH:
        return 0.0 if v <= a or v >= b else 1.0
    if op == MISH:
        t = math.tanh(math.log1p(math.exp(v)))
        return t + v / (1.0 + math.exp(-v)) * (1.0 - t * t)
    if op == SOFTSIGN:
        d = 1.0 + abs(v)
        sign = 1.0 if v > 0 else (-1.0 if v < 0 else 0.0 * v)  # sign(NaN) is NaN
        return 1.0 / d - v / (d * d) * sign
    if op == TANHSHRINK:
        t = math.tanh(v)
        return t * t
    return 0.0 if -a <= v <= a else 1.0  # SOFTSHRINK, HARDSHRINK


@cuda.jit
def _pointwise_forward_kernel(x, out, op, a, b):
    i = cuda.grid(1)
    while i < x.size:
        out[i] = _forward_value(op, float(x[i]), a, b)
        i += cuda.gridsize(1)


@cuda.jit
def _pointwise_backward_kernel(x, g, gi, op, a, b):
    i = cuda.grid(1)
    while i < x.size:
        gi[i] = float(g[i]) * _derivative(op, float(x[i]), a, b)
        i += cuda.gridsize(1)


def pointwise_forward(x, out, op, a, b):
    """out = f_op(x; a, b), the formulas of numpy_ref.POINTWISE."""
    _pointwise_forward_kernel[grid(x.size)](flat(x), flat(out), _CODES[op], float(a), float(b))


def pointwise_backward(x, grad_out, grad_in, op, a, b):
    """grad_in = grad_out * f_op'(x; a, b), the derivatives of numpy_ref.POINTWISE."""
    _pointwise_backward_kernel[grid(x.size)](flat(x), flat(grad_out), flat(grad_in),
                                             _CODES[op], float(a), float(b))
