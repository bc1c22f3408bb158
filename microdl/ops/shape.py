"""Shape ops: reshape, transpose, indexing. They move values; backward moves gradients back.

Reshape is a view of a C-contiguous array (numpy's and numba's device arrays both give one);
transpose and indexing write new C-contiguous arrays through the ``elementwise`` kernels, so every
kernel downstream may read its input flat on any device.
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous, permuted, resolve_shape


class Reshape(Function):
    """y = x viewed with a new shape;  dx = g reshaped to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        target = resolve_shape(shape, x.size)
        if list(target).count(-1) > 1 or min(target, default=0) < 0 or \
                math.prod(target) != x.size:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.size}")
        return contiguous(x).reshape(target)

    @staticmethod
    def backward(ctx, g):
        return contiguous(g).reshape(ctx.input_shape)


class Transpose(Function):
    """y = x with axes permuted;  dx = g with the inverse permutation."""

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise RuntimeError(
                f"permute: dims {axes} are not a permutation of the {x.ndim} dimensions of an "
                f"input of shape {x.shape}"
            )
        ctx.inverse = tuple(int(i) for i in np.argsort(axes))
        return permuted(x, axes)

    @staticmethod
    def backward(ctx, g):
        return permuted(g, ctx.inverse)


def _indexed_shape(shape, index):
    """The shape of x[index] for x of ``shape``, found on a zero-stride stand-in (no data)."""
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.bool_), shape, (0,) * len(shape))
    return stand_in[index].shape


class GetItem(Function):
    """y = x[index] (numpy's indexing rules);  dx = zeros like x with g added at index
    (repeated positions add up)."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.input_shape, ctx.dtype = index, x.shape, x.dtype
        dev = backend.for_arrays(x)
        out = dev.empty(_indexed_shape(x.shape, index), x.dtype)
        dev.kernels("elementwise").take(x, index, out)
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.zeros(ctx.input_shape, ctx.dtype)
        dev.kernels("elementwise").put_add(contiguous(g), ctx.index, dx)
        return dx
