"""Reductions over axes: sum, mean, max (with keepdims), on the ``reduce`` kernels."""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, broadcast_to, reduce_sum, reduced_shape, unary


def _normalized_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                f"{max(ndim, 1) - 1}], but got {a})"
            )
    return tuple(sorted(a % max(ndim, 1) for a in axes)) if ndim else ()


def _expand_back(g, input_shape, axes):
    """A reduced gradient broadcast back over the reduced axes to the input's shape."""
    return broadcast_to(g.reshape(reduced_shape(input_shape, axes, True)), input_shape)


def sum_dtype(dtype):
    """numpy's sum dtype: booleans and integers add up as 64-bit integers, floats keep theirs."""
    if dtype.kind == "b" or dtype.kind == "i":
        return np.dtype(np.int64)
    return np.dtype(np.uint64) if dtype.kind == "u" else dtype


class Sum(Function):
    """y = sum of x over axes;  dx = g broadcast back over those axes."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalized_axes(axis, x.ndim)
        ctx.input_shape = x.shape
        return reduce_sum(x, ctx.axes, keepdims, dtype=sum_dtype(x.dtype))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.input_shape, ctx.axes)


class Mean(Function):
    """y = sum of x over axes / n;  dx = g / n broadcast back."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalized_axes(axis, x.ndim)
        ctx.input_shape = x.shape
        ctx.count = math.prod(x.shape[a] for a in ctx.axes)
        dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)  # numpy's int mean
        return reduce_sum(x, ctx.axes, keepdims, 1.0 / ctx.count if ctx.count else np.nan,
                          dtype)

    @staticmethod
    def backward(ctx, g):
        return unary(_expand_back(g, ctx.input_shape, ctx.axes), "scale",
                     scalar=1.0 / ctx.count)


class Max(Function):
    """y = max of x over axes;  dx = g split evenly among the elements equal to the max."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() "
                               "== 0. Specify the reduction dim with the 'dim' argument.")
        ctx.axes = _normalized_axes(axis, x.ndim)
        dev = backend.for_arrays(x)
        y = dev.empty(reduced_shape(x.shape, ctx.axes, True), x.dtype)
        dev.kernels("reduce").max_axes(x, y, ctx.axes)
        ctx.save_for_backward(x, y)
        return y if keepdims else y.reshape(reduced_shape(x.shape, ctx.axes, False))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        winners = binary(x, y, "eq", x.dtype)
        share = binary(winners, reduce_sum(winners, ctx.axes, True), "div", x.dtype)
        return binary(share, _expand_back(g, x.shape, ctx.axes), "mul", x.dtype)


def argmax(x, axis=None, keepdims=False):
    """The index of the first maximum (int64), over all values (axis None) or along ``axis``;
    not differentiable, so a plain function rather than a Function."""
    dev = backend.for_arrays(x)
    if axis is None:
        out = dev.empty((), np.int64)
        dev.kernels("reduce").argmax_axis(x.reshape(x.size), out, 0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    axis = _normalized_axes(axis, x.ndim)[0] if x.ndim else 0
    out = dev.empty(x.shape[:axis] + x.shape[axis + 1:], np.int64)
    dev.kernels("reduce").argmax_axis(x, out, axis)
    return out.reshape(x.shape[:axis] + (1,) + x.shape[axis + 1:]) if keepdims else out
