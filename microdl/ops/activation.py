"""Activations and the softmax family: ops allocate, validate and call the kernels."""

import numpy as np

from .. import _buffers, backend
from ..autograd import Function


def _check_float(x, name):
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating point tensor (got dtype {x.dtype})")


class ReLU(Function):
    """y = max(x, 0);  dx = g * [y > 0]."""

    @staticmethod
    def forward(ctx, x):
        _check_float(x, "relu")
        y = _buffers.empty(x.shape, x.dtype)
        backend.kernels("activation").relu_forward(x, y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        gi = _buffers.empty_like(y)
        backend.kernels("activation").relu_backward(y, g, gi)
        return gi


class LeakyReLU(Function):
    """y = x if x > 0 else a * x;  dx = g * (1 if x > 0 else a)."""

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        _check_float(x, "leaky_relu")
        y = _buffers.empty(x.shape, x.dtype)
        backend.kernels("activation").leaky_relu_forward(x, y, negative_slope)
        ctx.save_for_backward(x)
        ctx.negative_slope = negative_slope
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        gi = _buffers.empty(x.shape, x.dtype)
        backend.kernels("activation").leaky_relu_backward(x, g, gi, ctx.negative_slope)
        return gi


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x)), stable for large |x|;  dx = g * y * (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        _check_float(x, "sigmoid")
        y = _buffers.empty(x.shape, x.dtype)
        backend.kernels("activation").sigmoid_forward(x, y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        gi = _buffers.empty_like(y)
        backend.kernels("activation").sigmoid_backward(y, g, gi)
        return gi


class Tanh(Function):
    """y = tanh(x);  dx = g * (1 - y**2)."""

    @staticmethod
    def forward(ctx, x):
        _check_float(x, "tanh")
        y = _buffers.empty(x.shape, x.dtype)
        backend.kernels("activation").tanh_forward(x, y)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        gi = _buffers.empty_like(y)
        backend.kernels("activation").tanh_backward(y, g, gi)
        return gi


def _rows_view(x, dim):
    """x with axis ``dim`` moved last, as a contiguous 2-D (rows, classes) array."""
    if x.ndim == 0:
        raise RuntimeError("softmax: expected a tensor with at least 1 dimension (got 0D)")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-x.ndim}, "
                         f"{x.ndim - 1}], but got {dim})")
    moved = np.moveaxis(x, dim, -1)
    n = x.shape[dim]
    # NOTE: with n == 0 the input is viewed as 0 rows, not (rows, 0): the kernels read x[r, 0]
    # for every row, out of bounds in a numba loop (and reshape(-1, 0) is ambiguous).
    rows = moved.size // n if n else 0
    return np.ascontiguousarray(moved).reshape(rows, n), moved.shape


def _rows_back(rows, moved_shape, dim):
    return np.moveaxis(rows.reshape(moved_shape), -1, dim)


class Softmax(Function):
    """y = exp(x) / sum(exp(x)) along dim;  dx = y * (g - sum(g * y))."""

    @staticmethod
    def forward(ctx, x, dim=-1):
        _check_float(x, "softmax")
        rows, moved_shape = _rows_view(x, dim)
        y = _buffers.empty_like(rows)
        backend.kernels("softmax").softmax_forward(rows, y)
        ctx.save_for_backward(y)
        ctx.dim, ctx.moved_shape = dim, moved_shape
        return _rows_back(y, moved_shape, dim)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        g_rows, _ = _rows_view(g, ctx.dim)
        gi = _buffers.empty_like(y)
        backend.kernels("softmax").softmax_backward(y, g_rows, gi)
        return _rows_back(gi, ctx.moved_shape, ctx.dim)


class LogSoftmax(Function):
    """y = x - log(sum(exp(x))) along dim (shifted by the max);  dx = g - exp(y) * sum(g)."""

    @staticmethod
    def forward(ctx, x, dim=-1):
        _check_float(x, "log_softmax")
        rows, moved_shape = _rows_view(x, dim)
        y = _buffers.empty_like(rows)
        backend.kernels("softmax").log_softmax_forward(rows, y)
        ctx.save_for_backward(y)
        ctx.dim, ctx.moved_shape = dim, moved_shape
        return _rows_back(y, moved_shape, dim)

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        g_rows, _ = _rows_view(g, ctx.dim)
        gi = _buffers.empty_like(y)
        backend.kernels("softmax").log_softmax_backward(y, g_rows, gi)
        return _rows_back(gi, ctx.moved_shape, ctx.dim)
