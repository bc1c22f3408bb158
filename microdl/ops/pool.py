"""2-D max and average pooling and adaptive pooling, PyTorch's semantics: only taps inside x
take part in a max (padding never wins); average pooling divides by ``divisor_override``, or by
the window clipped to the padded input (count_include_pad=True), or by its taps inside x.

Output size per axis (PyTorch's pooling_output_shape), with span = d * (k - 1) + 1:
    out = floor_or_ceil((size + 2 p - span) / s) + 1, and with ceil_mode one less when the
    last window would start past size + p (it must start inside x or the left padding).
Adaptive pooling: window o covers floor(o * size / out) .. ceil((o + 1) * size / out) - 1.
"""

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous


def _output_size(size, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    out = (size + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def check_pool2d(x, kernel_size, stride, padding, name, dilation=(1, 1), ceil_mode=False):
    """Validate pooling arguments as PyTorch words its errors; returns (OH, OW)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    if sh == 0 or sw == 0:
        raise RuntimeError("stride should not be zero")
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dh} "
                           f"dilationW: {dw}")
    if x.ndim != 4 or x.size == 0:
        raise RuntimeError(f"{name}: non-empty 3D or 4D (batch mode) tensor expected for input, "
                           f"but got input of size: {list(x.shape)}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected a floating point tensor (got dtype {x.dtype})")
    for p, k, d in ((ph, kh, dh), (pw, kw, dw)):
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    oh, ow = (_output_size(x.shape[2], kh, sh, ph, dh, ceil_mode),
              _output_size(x.shape[3], kw, sw, pw, dw, ceil_mode))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({x.shape[1]}x{x.shape[2]}x{x.shape[3]}). "
                           f"Calculated output size: ({x.shape[1]}x{oh}x{ow}). Output size is "
                           "too small")
    return oh, ow


def check_adaptive_pool2d(x, output_size, name):
    """Validate adaptive pooling arguments as PyTorch words its errors."""
    if x.ndim != 4:
        got = "got: " if name == "adaptive_max_pool2d" else "got "  # PyTorch's two spellings
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor, but {got}{list(x.shape)}")
    for axis in (1, 2, 3):
        if x.shape[axis] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(x.shape)} with dimension "
                               f"{axis} being empty")
    if min(output_size) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{output_size[0]}, {output_size[1]}}}")
    if not np.issubdtype(x.dtype, np.floating):
        raise NotImplementedError(f"\"{name}\" not implemented for '{x.dtype}'")


class MaxPool2d(Function):
    """y[n, c, oh, ow] = max of x over window (oh, ow); dx routes each g to the window's arg-max
    (the first in row-major order among ties, as PyTorch does). ``indices_out``, a list, gets
    the int64 flat per-plane indices appended (return_indices)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False,
                indices_out=None):
        out_hw = check_pool2d(x, kernel_size, stride, padding, "max_pool2d", dilation, ceil_mode)
        dev = backend.for_arrays(x)
        out = dev.empty(x.shape[:2] + out_hw, x.dtype)
        small = x.shape[2] * x.shape[3] < 2 ** 31 and indices_out is None
        indices = dev.empty(out.shape, np.int32 if small else np.int64)
        geometry = (kernel_size, stride, padding, dilation)
        dev.kernels("pool").max_pool2d_forward(contiguous(x), out, indices, *geometry)
        if indices_out is not None:
            indices_out.append(indices)
        ctx.save_for_backward(indices)
        ctx.x_shape, ctx.geometry = x.shape, geometry
        return out

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        dev = backend.for_arrays(g)
        dx = dev.empty(ctx.x_shape, g.dtype)
        dev.kernels("pool").max_pool2d_backward(contiguous(g), indices, dx, *ctx.geometry)
        return dx


class AvgPool2d(Function):
    """y[n, c, oh, ow] = sum of x over window (oh, ow) / divisor(oh, ow) (module docstring);
    dx[n, c, h, w] = sum of g / divisor over the windows holding (h, w)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0), ceil_mode=False,
                count_include_pad=True, divisor_override=0):
        out_hw = check_pool2d(x, kernel_size, stride, padding, "avg_pool2d", (1, 1), ceil_mode)
        dev = backend.for_arrays(x)
        out = dev.empty(x.shape[:2] + out_hw, x.dtype)
        geometry = (kernel_size, stride, padding, count_include_pad, divisor_override)
        dev.kernels("pool").avg_pool2d_forward(contiguous(x), out, *geometry)
        ctx.x_shape, ctx.geometry = x.shape, geometry
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.empty(ctx.x_shape, g.dtype)
        dev.kernels("pool").avg_pool2d_backward(contiguous(g), dx, *ctx.geometry)
        return dx


class AdaptiveAvgPool2d(Function):
    """y[n, c, oh, ow] = mean of x over adaptive window (oh, ow); dx = g / window size, summed
    over the (possibly overlapping) windows holding each value."""

    @staticmethod
    def forward(ctx, x, output_size):
        check_adaptive_pool2d(x, output_size, "adaptive_avg_pool2d")
        dev = backend.for_arrays(x)
        out = dev.empty(x.shape[:2] + tuple(output_size), x.dtype)
        dev.kernels("pool").adaptive_avg_pool2d_forward(contiguous(x), out)
        ctx.x_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.empty(ctx.x_shape, g.dtype)
        dev.kernels("pool").adaptive_avg_pool2d_backward(contiguous(g), dx)
        return dx


class AdaptiveMaxPool2d(Function):
    """y[n, c, oh, ow] = max of x over adaptive window (oh, ow), ties and NaN as max_pool2d;
    dx routes each g to its arg-max. ``indices_out`` as in MaxPool2d."""

    @staticmethod
    def forward(ctx, x, output_size, indices_out=None):
        check_adaptive_pool2d(x, output_size, "adaptive_max_pool2d")
        dev = backend.for_arrays(x)
        out = dev.empty(x.shape[:2] + tuple(output_size), x.dtype)
        indices = dev.empty(out.shape, np.int64)
        dev.kernels("pool").adaptive_max_pool2d_forward(contiguous(x), out, indices)
        if indices_out is not None:
            indices_out.append(indices)
        ctx.save_for_backward(indices)
        ctx.x_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        dev = backend.for_arrays(g)
        dx = dev.empty(ctx.x_shape, g.dtype)
        dev.kernels("pool").adaptive_max_pool2d_backward(contiguous(g), indices, dx)
        return dx
