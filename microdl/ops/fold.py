"""Unfold (im2col) and Fold (col2im) as ops, PyTorch's F.unfold and F.fold: the "conv"
kernels' im2col and col2im, an adjoint pair, so each is the other's backward.

With K = C * kh * kw and L = OH * OW output positions (OH = (H + 2 ph - dh (kh - 1) - 1) // sh
+ 1, OW likewise):

    unfold(x)[n, (c, i, j), (oh, ow)] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]  (0 outside)
    fold(y)[n, c, h, w] = sum of y[n, (c, i, j), (oh, ow)] over the (i, j, oh, ow) reading (h, w)

The kernels' column layout is (K, N, OH, OW); the ops' is PyTorch's (N, K, L): one permute each
way.
"""

from .. import backend
from ..autograd import Function
from ._arrays import contiguous, permuted


def output_hw(hw, kernel_size, stride, padding, dilation):
    """(OH, OW): how many kernel positions fit along each axis."""
    return tuple((size + 2 * p - d * (k - 1) - 1) // s + 1
                 for size, k, s, p, d in zip(hw, kernel_size, stride, padding, dilation))


def _im2col(x, hyper):
    """x (N, C, H, W) -> (N, K, L)."""
    dev = backend.for_arrays(x)
    n, c = x.shape[:2]
    oh, ow = output_hw(x.shape[2:], *hyper)
    k = c * hyper[0][0] * hyper[0][1]
    cols = dev.empty((k, n, oh, ow), x.dtype)
    dev.kernels("conv").im2col(contiguous(x), cols, *hyper)
    return permuted(cols.reshape(k, n, oh * ow), (1, 0, 2))


def _col2im(y, image_shape, hyper):
    """y (N, K, L) -> (N, C, H, W), the sums of overlapping positions."""
    dev = backend.for_arrays(y)
    n, k = y.shape[:2]
    oh, ow = output_hw(image_shape[2:], *hyper)
    cols = permuted(y, (1, 0, 2)).reshape(k, n, oh, ow)
    out = dev.empty(image_shape, y.dtype)
    dev.kernels("conv").col2im(cols, out, *hyper)
    return out


class Unfold(Function):
    """y = im2col(x) as (N, C kh kw, L);  dx = col2im(g)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation):
        ctx.hyper = (kernel_size, stride, padding, dilation)
        ctx.image_shape = tuple(x.shape)
        return _im2col(x, ctx.hyper)

    @staticmethod
    def backward(ctx, g):
        return _col2im(contiguous(g), ctx.image_shape, ctx.hyper)


class Fold(Function):
    """y = col2im(x) as (N, C, H, W), x (N, C kh kw, L);  dx = im2col(g)."""

    @staticmethod
    def forward(ctx, x, output_size, kernel_size, stride, padding, dilation):
        ctx.hyper = (kernel_size, stride, padding, dilation)
        channels = x.shape[1] // (kernel_size[0] * kernel_size[1])
        return _col2im(contiguous(x), (x.shape[0], channels) + tuple(output_size), ctx.hyper)

    @staticmethod
    def backward(ctx, g):
        return _im2col(contiguous(g), ctx.hyper)
