"""Shape ops: reshape, transpose, indexing. They move values; backward moves gradients back."""

import numpy as np

from ..autograd import Function


class Reshape(Function):
    """y = x viewed with a new shape;  dx = g reshaped to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"shape '{list(shape)}' is invalid for input of size {x.size}"
            ) from None

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.input_shape)


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
        ctx.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(ctx.inverse)


class GetItem(Function):
    """y = x[index];  dx = zeros like x with g added at index (repeats add up)."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.input_shape, ctx.dtype = index, x.shape, x.dtype
        return np.asarray(x[index])

    @staticmethod
    def backward(ctx, g):
        dx = np.zeros(ctx.input_shape, ctx.dtype)
        np.add.at(dx, ctx.index, g)
        return dx
