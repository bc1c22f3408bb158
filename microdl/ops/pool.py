"""2-D max and average pooling (PyTorch's semantics: padding is -inf for max, 0 for average, and
average pooling divides by kh * kw, count_include_pad=True; no ceil_mode, no dilation)."""

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous


def check_pool2d(x, kernel_size, stride, padding, name):
    """Validate pooling arguments as PyTorch words its errors; returns (OH, OW)."""
    if x.ndim != 4 or x.size == 0:
        raise RuntimeError(f"{name}: non-empty 3D or 4D (batch mode) tensor expected for input, "
                           f"but got input of size: {list(x.shape)}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating point tensor (got dtype {x.dtype})")
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    for p, k in ((ph, kh), (pw, kw)):
        if p < 0 or p > k // 2:
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={p}, "
                f"kernel_size={k} and dilation=1" if name == "max_pool2d" else
                f"pad should be at most half of kernel size, but got pad={p} and kernel_size={k}")
    oh, ow = (x.shape[2] + 2 * ph - kh) // sh + 1, (x.shape[3] + 2 * pw - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({x.shape[1]}x{x.shape[2]}x{x.shape[3]}). "
                           f"Calculated output size: ({x.shape[1]}x{oh}x{ow}). Output size is "
                           "too small")
    return oh, ow


class MaxPool2d(Function):
    """y[n, c, oh, ow] = max of x over window (oh, ow); dx routes each g to the window's arg-max
    (the first in row-major order among ties, as PyTorch does)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0)):
        out_hw = check_pool2d(x, kernel_size, stride, padding, "max_pool2d")
        dev = backend.for_arrays(x)
        out = dev.empty(x.shape[:2] + out_hw, x.dtype)
        plane = x.shape[2] * x.shape[3]
        indices = dev.empty(out.shape, np.int32 if plane < 2 ** 31 else np.int64)
        dev.kernels("pool").max_pool2d_forward(contiguous(x), out, indices, kernel_size, stride,
                                               padding)
        ctx.save_for_backward(indices)
        ctx.x_shape, ctx.geometry = x.shape, (kernel_size, stride, padding)
        return out

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        dev = backend.for_arrays(g)
        dx = dev.empty(ctx.x_shape, g.dtype)
        dev.kernels("pool").max_pool2d_backward(contiguous(g), indices, dx, *ctx.geometry)
        return dx


class AvgPool2d(Function):
    """y[n, c, oh, ow] = sum of x over window (oh, ow) / (kh * kw), padding counted as zeros;
    dx[n, c, h, w] = sum of g / (kh * kw) over the windows holding (h, w)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0)):
        out_hw = check_pool2d(x, kernel_size, stride, padding, "avg_pool2d")
        dev = backend.for_arrays(x)
        out = dev.empty(x.shape[:2] + out_hw, x.dtype)
        dev.kernels("pool").avg_pool2d_forward(contiguous(x), out, kernel_size, stride, padding)
        ctx.x_shape, ctx.geometry = x.shape, (kernel_size, stride, padding)
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.empty(ctx.x_shape, g.dtype)
        dev.kernels("pool").avg_pool2d_backward(contiguous(g), dx, *ctx.geometry)
        return dx
