"""Reductions over axes: sum, mean, max (with keepdims)."""

import numpy as np

from ..autograd import Function


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


def _expand_back(g, input_shape, axes, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if not keepdims:
        g = np.expand_dims(g, axes) if axes else g
    return np.broadcast_to(g, input_shape)


class Sum(Function):
    """y = sum of x over axes;  dx = g broadcast back over those axes."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalized_axes(axis, x.ndim)
        ctx.keepdims, ctx.input_shape = keepdims, x.shape
        return np.asarray(x.sum(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.input_shape, ctx.axes, ctx.keepdims)


class Mean(Function):
    """y = sum of x over axes / n;  dx = g / n broadcast back."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalized_axes(axis, x.ndim)
        ctx.keepdims, ctx.input_shape = keepdims, x.shape
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes], dtype=np.int64))
        return np.asarray(x.mean(axis=ctx.axes, keepdims=keepdims))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g / np.asarray(ctx.count, g.dtype), ctx.input_shape, ctx.axes,
                            ctx.keepdims)


class Max(Function):
    """y = max of x over axes;  dx = g split evenly among the elements equal to the max."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise RuntimeError("max(): Expected reduction dim to be specified for input.numel() "
                               "== 0. Specify the reduction dim with the 'dim' argument.")
        ctx.axes = _normalized_axes(axis, x.ndim)
        ctx.keepdims = keepdims
        y = np.asarray(x.max(axis=ctx.axes, keepdims=True))
        ctx.save_for_backward(x, y)
        return y if keepdims else np.asarray(y.squeeze(axis=ctx.axes))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        winners = (x == y).astype(x.dtype)
        winners /= winners.sum(axis=ctx.axes, keepdims=True)
        return _expand_back(g, x.shape, ctx.axes, ctx.keepdims) * winners
