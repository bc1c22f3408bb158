"""Activations and the softmax family: ops validate, allocate on their input's device and call
the kernels."""

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous, permuted, rows


def _check_float(x, name):
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating point tensor (got dtype {x.dtype})")


class ReLU(Function):
    """y = max(x, 0);  dx = g * [y > 0]."""

    @staticmethod
    def forward(ctx, x):
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
        _check_float(x, "leaky_relu")
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
        _check_float(x, "sigmoid")
        dev = backend.for_arrays(x)
        x = contiguous(x)
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
        _check_float(x, "tanh")
        dev = backend.for_arrays(x)
        x = contiguous(x)
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
    that moved it (None when dim already is the last axis)."""
    if x.ndim == 0:
        raise RuntimeError("softmax: expected a tensor with at least 1 dimension (got 0D)")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-x.ndim}, "
                         f"{x.ndim - 1}], but got {dim})")
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
