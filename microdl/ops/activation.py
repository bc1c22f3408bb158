"""Activations and the softmax family: ops validate, allocate on their input's device and call
the kernels."""

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous, copy, permuted, rows


def _check_float(x, name):
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating point tensor (got dtype {x.dtype})")


def _float_input(x):
    """x, C-contiguous; integers and bools as float32, as PyTorch promotes them for the
    transcendental ops (sigmoid, tanh)."""
    return contiguous(x) if x.dtype.kind == "f" else copy(x, np.float32)


class ReLU(Function):
    """y = max(x, 0);  dx = g * [y > 0]."""

    @staticmethod
    def forward(ctx, x):
        # PyTorch clamps integers in their own dtype, and refuses bools
        if x.dtype.kind == "b":
            raise RuntimeError("Boolean inputs not supported for relu")
        if x.dtype.kind not in "iuf":
            _check_float(x, "relu")
        dev = backend.for_arrays(x)
        x = contiguous(x)
        y = dev.empty(x.shape, x.dtype)
        dev.kernels("activation").relu_forward(x, y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        dev = backend.for_arrays(y)
        gi = dev.empty_like(y)
        dev.kernels("activation").relu_backward(y, contiguous(g), gi)
        return gi


class LeakyReLU(Function):
    """y = x if x > 0 else a * x;  dx = g * (1 if x > 0 else a)."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        if x.dtype.kind != "f":
            raise NotImplementedError(f"\"leaky_relu_cpu\" not implemented for "
                                      f"'{_TORCH_DTYPE.get(_dtype_code(x.dtype), x.dtype)}'")
        dev = backend.for_arrays(x)
        x = contiguous(x)
        y = dev.empty(x.shape, x.dtype)
        dev.kernels("activation").leaky_relu_forward(x, y, negative_slope)
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        dev = backend.for_arrays(x)
        gi = dev.empty_like(x)
        dev.kernels("activation").leaky_relu_backward(x, contiguous(g), gi, ctx.negative_slope)
        return gi


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)), stable for large |x|;  dx = g * y * (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        x = _float_input(x)
        dev = backend.for_arrays(x)
        y = dev.empty(x.shape, x.dtype)
        dev.kernels("activation").sigmoid_forward(x, y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        dev = backend.for_arrays(y)
        gi = dev.empty_like(y)
        dev.kernels("activation").sigmoid_backward(y, contiguous(g), gi)
        return gi


class Tanh(Function):
    """y = tanh(x);  dx = g * (1 - y**2)."""

    @staticmethod
    def forward(ctx, x):
        x = _float_input(x)
        dev = backend.for_arrays(x)
        y = dev.empty(x.shape, x.dtype)
        dev.kernels("activation").tanh_forward(x, y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        dev = backend.for_arrays(y)
        gi = dev.empty_like(y)
        dev.kernels("activation").tanh_backward(y, contiguous(g), gi)
        return gi


def _rows_view(x, dim):
    """x with axis ``dim`` moved last, as a C-contiguous 2-D (rows, classes) array, and the axes
    that moved it (None when dim already is the last axis). A 0-d x is one row of one class,
    and takes dim 0 or -1, as PyTorch (softmax of a scalar is 1, log_softmax 0)."""
    rank = max(x.ndim, 1)  # PyTorch wraps a 0-d tensor's dim as if it had one axis
    if not -rank <= dim < rank:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-rank}, "
                         f"{rank - 1}], but got {dim})")
    if x.ndim == 0:
        return contiguous(x).reshape(1, 1), None
    dim %= x.ndim
    if dim == x.ndim - 1:
        return rows(x), None
    axes = tuple(d for d in range(x.ndim) if d != dim) + (dim,)
    return rows(permuted(x, axes)), axes


def _rows_back(rows_, shape, axes):
    """The (rows, classes) result in the input's layout again."""
    if axes is None:
        return rows_.reshape(shape)
    moved = rows_.reshape(tuple(shape[a] for a in axes))
    return permuted(moved, tuple(int(i) for i in np.argsort(axes)))


def _softmax_family(name, doc):
    """The Function of a softmax-family kernel pair: forward along dim, backward from y."""

    class Op(Function):
        @staticmethod
        def forward(ctx, x, dim=-1):
            _check_float(x, name)
            rows_, axes = _rows_view(x, dim)
            dev = backend.for_arrays(rows_)
            y = dev.empty_like(rows_)
            getattr(dev.kernels("softmax"), f"{name}_forward")(rows_, y)
            ctx.save_for_backward(y)
            ctx.dim, ctx.axes, ctx.shape = dim, axes, x.shape
            return _rows_back(y, x.shape, axes)

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved
            g_rows, _ = _rows_view(g, ctx.dim)
            dev = backend.for_arrays(y)
            gi = dev.empty_like(y)
            getattr(dev.kernels("softmax"), f"{name}_backward")(y, g_rows, gi)
            return _rows_back(gi, ctx.shape, ctx.axes)

    Op.__doc__ = doc
    return Op


Softmax = _softmax_family(
    "softmax", "y = exp(x) / sum(exp(x)) along dim;  dx = y * (g - sum(g * y)).")
Softmax.__name__ = Softmax.__qualname__ = "Softmax"
LogSoftmax = _softmax_family(
    "log_softmax", "y = x - log(sum(exp(x))) along dim (shifted by the max);  "
    "dx = g - exp(y) * sum(g).")
LogSoftmax.__name__ = LogSoftmax.__qualname__ = "LogSoftmax"


# ---- pointwise activations (GELU, SiLU, ELU, ...): one kernel pair, switched by op name --------
# The formulas, with their kinks and NaN branches, are kernels/numpy_ref/activation.py's
# POINTWISE table; an op here is its name there and up to two float parameters (a, b).

# PyTorch's names of the integer dtypes and of its CPU kernels, for the error it raises on an
# integer input: '"silu_cpu" not implemented for 'Long''.
_TORCH_DTYPE = {"b": "Bool", "u1": "Byte", "i1": "Char", "i2": "Short", "i4": "Int", "i8": "Long"}
_TORCH_KERNEL = {"gelu": "GeluKernelImpl", "gelu_tanh": "GeluKernelImpl", "silu": "silu_cpu",
                 "elu": "elu_cpu", "selu": "elu_cpu", "celu": "elu_cpu",
                 "softplus": "softplus_cpu", "logsigmoid": "log_sigmoid_cpu",
                 "hardswish": "hardswish_cpu", "hardsigmoid": "hardsigmoid_cpu",
                 "mish": "mish_cpu", "softshrink": "softshrink_check",
                 "hardshrink": "hardshrink_cpu"}
_FLOAT_NAMES = {2: "Half", 4: "Float", 8: "Double"}
_BOOL_ERRORS = {
    "hardtanh": (RuntimeError, "Bool inputs not supported for hardtanh"),
    "softsign": (NotImplementedError, "\"abs_cpu\" not implemented for 'Bool'"),
    "tanhshrink": (RuntimeError, "Subtraction, the `-` operator, with a bool tensor is not "
                   "supported. If you are trying to invert a mask, use the `~` or "
                   "`logical_not()` operator instead."),
}


def _dtype_code(dtype):
    """The key of ``dtype`` in _TORCH_DTYPE ("b" for bool, else numpy's "i8", "u1", ...)."""
    return "b" if dtype.kind == "b" else dtype.str[1:]


def _pointwise_input(x, op, a, b):
    """(x, a, b) as the kernels take them, for the input dtypes PyTorch takes: floats as they
    are; integers only where PyTorch computes on them (hardtanh clamps in the integer dtype,
    with its limits truncated; softsign and tanhshrink promote to float32); else its error."""
    if x.dtype.kind == "f":
        if op == "softshrink" and not 0 <= a <= np.finfo(x.dtype).max:
            raise RuntimeError(f"lambda must be in range [0, {np.finfo(x.dtype).max:g}] for "
                               f"input dtype {_FLOAT_NAMES[x.dtype.itemsize]}, but found {a:g}")
        return x, a, b
    kind = _TORCH_DTYPE.get(_dtype_code(x.dtype), str(x.dtype))
    if x.dtype.kind == "b" and op in _BOOL_ERRORS:
        error, message = _BOOL_ERRORS[op]
        raise error(message)
    if op in ("softsign", "tanhshrink"):  # their formulas divide or call tanh: float32 out
        return copy(x, np.float32), a, b
    if op == "hardtanh" and x.dtype.kind in "iu":
        if x.dtype.kind == "u" and (a < 0 or b < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
        return x, float(int(a)), float(int(b))
    raise NotImplementedError(f"\"{_TORCH_KERNEL[op]}\" not implemented for '{kind}'")


def _pointwise(name, op, doc):
    """The Function ``name`` of the pointwise kernels' op ``op``; backward reads the saved
    input."""

    class Op(Function):
        @staticmethod
        def forward(ctx, x, a=0.0, b=0.0):
            x, a, b = _pointwise_input(x, op, float(a), float(b))
            dev = backend.for_arrays(x)
            x = contiguous(x)
            y = dev.empty(x.shape, x.dtype)
            dev.kernels("activation").pointwise_forward(x, y, op, a, b)
            ctx.save_for_backward(x)
            ctx.a, ctx.b = a, b
            return y

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            dev = backend.for_arrays(x)
            gi = dev.empty_like(x)
            dev.kernels("activation").pointwise_backward(x, contiguous(g), gi, op, ctx.a, ctx.b)
            return gi

    Op.__name__ = Op.__qualname__ = name
    Op.__doc__ = doc
    return Op


GELU = _pointwise("GELU", "gelu", "y = x Phi(x), Phi the standard normal CDF (via erf).")
GELUTanh = _pointwise("GELUTanh", "gelu_tanh",
                      "y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).")
SiLU = _pointwise("SiLU", "silu", "y = x sigmoid(x).")
ELU = _pointwise("ELU", "elu", "a = alpha: y = x (x > 0), a (exp(x) - 1) (x <= 0).")
SELU = _pointwise("SELU", "selu", "y = scale elu(x, alpha); scale 1.0507..., alpha 1.6733....")
CELU = _pointwise("CELU", "celu", "a = alpha: y = x (x > 0), a (exp(x / a) - 1) (x <= 0); "
                                  "b = 1 / float32(a), the scale of PyTorch's backward.")
Softplus = _pointwise("Softplus", "softplus",
                      "a = beta, b = threshold: y = log(1 + exp(a x)) / a, or x where a x > b.")
LogSigmoid = _pointwise("LogSigmoid", "logsigmoid",
                        "y = log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|)).")
Hardswish = _pointwise("Hardswish", "hardswish", "y = x clamp(x + 3, 0, 6) / 6.")
Hardsigmoid = _pointwise("Hardsigmoid", "hardsigmoid", "y = clamp(x + 3, 0, 6) / 6.")
Hardtanh = _pointwise("Hardtanh", "hardtanh", "a = min_val, b = max_val: y = clamp(x, a, b).")
Mish = _pointwise("Mish", "mish", "y = x tanh(log(1 + exp(x))).")
Softsign = _pointwise("Softsign", "softsign", "y = x / (1 + |x|).")
Tanhshrink = _pointwise("Tanhshrink", "tanhshrink", "y = x - tanh(x).")
Softshrink = _pointwise("Softshrink", "softshrink",
                        "a = lambda: y = x - a sign(x) where |x| > a, else 0.")
Hardshrink = _pointwise("Hardshrink", "hardshrink", "a = lambda: y = x where |x| > a, else 0.")
