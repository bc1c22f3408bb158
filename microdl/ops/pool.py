"""2-D max and average pooling and adaptive pooling, PyTorch's semantics: only taps inside x
take part in a max (padding never wins); average pooling divides by ``divisor_override``, or by
the window clipped to the padded input (count_include_pad=True), or by its taps inside x.

Output size per axis (PyTorch's pooling_output_shape), with span = d * (k - 1) + 1:
    out = floor_or_ceil((size + 2 p - span) / s) + 1, and with ceil_mode one less when the
    last window would start past size + p (it must start inside x or the left padding).
Adaptive pooling: window o covers floor(o * size / out) .. ceil((o + 1) * size / out) - 1.
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous, copy
from .matmul import SCALAR_TYPE_NAMES, dtype_key


def _output_size(size, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    out = (size + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _c_half(n):
    """n / 2 rounded toward zero, as C++ divides (PyTorch's pad limits; n may be negative)."""
    return -(-n // 2) if n < 0 else n // 2


def _torch_name(dtype):
    return SCALAR_TYPE_NAMES.get(dtype_key(dtype), str(dtype))


def check_pool2d(x, kernel_size, stride, padding, name, dilation=(1, 1), ceil_mode=False):
    """Validate pooling arguments in PyTorch's order and words; returns (OH, OW). x is
    (C, H, W) or (N, C, H, W), N possibly 0. Integers: max_pool2d takes them all, avg_pool2d
    int64 only (as PyTorch's CPU kernels); bools neither."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    if name == "max_pool2d" and x.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if x.ndim < 3:  # avg_pool2d reads the size of dim -3 first
        raise IndexError("Dimension specified as -3 but tensor has no dimensions" if x.ndim == 0
                         else "Dimension out of range (expected to be in range of "
                         f"[{-x.ndim}, {x.ndim - 1}], but got -3)")
    for p, k, s, d in ((ph, kh, sh, dh), (pw, kw, sw, dw)):  # the output size's checks, H then W
        if s == 0:
            raise RuntimeError("stride should not be zero")
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > _c_half(d * (k - 1) + 1):
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dh} "
                           f"dilationW: {dw}")
    if x.ndim not in (3, 4) or 0 in tuple(x.shape)[x.ndim - 3:]:  # only the batch may be empty
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size "
                           f"for input, but got:{list(x.shape)}")
    if kw // 2 < pw or kh // 2 < ph:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got "
                           f"padW = {pw}, padH = {ph}, kW = {kw}, kH = {kh}")
    c, h, w = tuple(x.shape)[x.ndim - 3:]
    oh, ow = (_output_size(h, kh, sh, ph, dh, ceil_mode),
              _output_size(w, kw, sw, pw, dw, ceil_mode))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{oh}x{ow}). Output size is too small")
    if x.dtype.kind == "b" or (name == "avg_pool2d" and x.dtype.kind in "iu"
                               and x.dtype != np.int64):
        raise NotImplementedError(f"\"{name}\" not implemented for '{_torch_name(x.dtype)}'")
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name}: expected a floating point tensor (got dtype {x.dtype})")
    return oh, ow


def check_max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode):
    """PyTorch's checks of max_pool1d without indices (F.max_pool1d then runs max_pool2d on
    the (N, C, 1, L) view), in its order and words; its own kernel takes floats only."""
    if x.ndim not in (2, 3) or 0 in tuple(x.shape)[x.ndim - 2:]:
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
                           f"dim batch size for input, but got:{list(x.shape)}")
    for name, value, low in (("kernel_size", kernel_size, 1), ("stride", stride, 1),
                             ("padding", padding, 0)):
        if value < low:
            relation = "non-negative" if low == 0 else "greater than zero"
            raise RuntimeError(f"max_pool1d() {name} must be {relation}, but got {value}")
    if padding > kernel_size // 2:
        raise RuntimeError("max_pool1d() padding should be at most half of kernel size, but got "
                           f"padding={padding} and kernel_size={kernel_size}")
    if dilation <= 0:
        raise RuntimeError(f"max_pool1d() dilation must be greater than zero, but got {dilation}")
    length = tuple(x.shape)[x.ndim - 1]
    size = _output_size(length, kernel_size, stride, padding, dilation, ceil_mode)
    if size <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {size}")
    if x.dtype.kind != "f":
        raise NotImplementedError(
            f"\"max_pool1d_impl\" not implemented for '{_torch_name(x.dtype)}'")


def check_adaptive_pool2d(x, output_size, name):
    """Validate adaptive pooling arguments as PyTorch words its errors. x is (C, H, W) or
    (N, C, H, W); the max pool wants every non-batch size, the average pool only H and W.
    Neither takes integers (the average pool returns an empty integer input as it is)."""
    if x.ndim not in (3, 4):
        got = "got: " if name == "adaptive_max_pool2d" else "got "  # PyTorch's two spellings
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor, but {got}{list(x.shape)}")
    for axis in range(1 if name == "adaptive_max_pool2d" else x.ndim - 2, x.ndim):
        if x.shape[axis] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(x.shape)} with dimension "
                               f"{axis} being empty")
    if min(output_size) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{output_size[0]}, {output_size[1]}}}")
    if x.dtype.kind == "f":
        return
    if name == "adaptive_avg_pool2d" and tuple(output_size) == (1, 1):  # PyTorch takes a mean
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {_torch_name(x.dtype)}")
    if name == "adaptive_max_pool2d" or x.size:
        raise NotImplementedError(f"\"{name}\" not implemented for '{_torch_name(x.dtype)}'")


def _batched(x):
    """x as (N, C, H, W): a (C, H, W) x as a batch of one."""
    return x.reshape((1,) + tuple(x.shape)) if x.ndim == 3 else x


def _as_float64(x):
    """Integer input in float64 for the float kernels (-inf starts a max; averages divide):
    exact for every integer of magnitude up to 2**53, so for all but the largest int64."""
    return contiguous(x) if x.dtype.kind == "f" else copy(x, np.float64)


def _in_dtype(y, dtype):
    """The kernels' float64 result back in the integer input's dtype; the cast truncates, as
    PyTorch's integer average divides (toward zero)."""
    return y if y.dtype == dtype else copy(y, dtype)


def _pool_forward(x, out_hw, run, index_dtype=None):
    """Run ``run(x4, y4[, indices4])`` on x as a (N, C, H, W) batch in the kernels' float
    dtype; returns (y, indices) in x's own rank and dtype (indices None unless index_dtype).
    An empty batch runs nothing (the CUDA launchers take no empty grid)."""
    dev = backend.for_arrays(x)
    x4 = _batched(x)
    shape = tuple(x4.shape[:2]) + tuple(out_hw)
    final = shape if x.ndim == 4 else shape[1:]
    indices = None if index_dtype is None else dev.empty(shape, index_dtype)
    if 0 in shape:
        return dev.empty(final, x.dtype), None if indices is None else indices.reshape(final)
    xk = _as_float64(x4)
    y = dev.empty(shape, xk.dtype)
    if indices is None:
        run(xk, y)
    else:
        run(xk, y, indices)
    y = _in_dtype(y, x.dtype)
    return y.reshape(final), None if indices is None else indices.reshape(final)


def _pool_backward(g, x_shape, run):
    """dx of x_shape from ``run(g4, dx4)`` on the (N, C, ...) batched layout."""
    dev = backend.for_arrays(g)
    dx = dev.empty(tuple(_batched_shape(x_shape)), g.dtype)
    if dx.size:
        run(contiguous(_batched(g)), dx)
    return dx.reshape(x_shape)


def _batched_shape(shape):
    return (1,) + tuple(shape) if len(shape) == 3 else tuple(shape)


class MaxPool2d(Function):
    """y[n, c, oh, ow] = max of x over window (oh, ow); dx routes each g to the window's arg-max
    (the first in row-major order among ties, as PyTorch does). x is (N, C, H, W) or
    (C, H, W). ``indices_out``, a list, gets the int64 flat per-plane indices appended
    (return_indices)."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False,
                indices_out=None):
        out_hw = check_pool2d(x, kernel_size, stride, padding, "max_pool2d", dilation, ceil_mode)
        small = math.prod(tuple(x.shape)[x.ndim - 2:]) < 2 ** 31 and indices_out is None
        geometry = (kernel_size, stride, padding, dilation)
        kernels = backend.for_arrays(x).kernels("pool")
        out, indices = _pool_forward(
            x, out_hw, lambda x4, y, i: kernels.max_pool2d_forward(x4, y, i, *geometry),
            np.int32 if small else np.int64)
        if indices_out is not None:
            indices_out.append(indices)
        ctx.save_for_backward(_batched(indices))
        ctx.x_shape, ctx.geometry = x.shape, geometry
        return out

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        kernels = backend.for_arrays(g).kernels("pool")
        return _pool_backward(g, ctx.x_shape, lambda g4, dx: kernels.max_pool2d_backward(
            g4, indices, dx, *ctx.geometry))


class AvgPool2d(Function):
    """y[n, c, oh, ow] = sum of x over window (oh, ow) / divisor(oh, ow) (module docstring);
    dx[n, c, h, w] = sum of g / divisor over the windows holding (h, w). x is (N, C, H, W) or
    (C, H, W); int64 averages are truncated toward zero, as PyTorch divides integers."""

    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0), ceil_mode=False,
                count_include_pad=True, divisor_override=0):
        out_hw = check_pool2d(x, kernel_size, stride, padding, "avg_pool2d", (1, 1), ceil_mode)
        geometry = (kernel_size, stride, padding, count_include_pad, divisor_override)
        kernels = backend.for_arrays(x).kernels("pool")
        out, _ = _pool_forward(x, out_hw,
                               lambda x4, y: kernels.avg_pool2d_forward(x4, y, *geometry))
        ctx.x_shape, ctx.geometry = x.shape, geometry
        return out

    @staticmethod
    def backward(ctx, g):
        kernels = backend.for_arrays(g).kernels("pool")
        return _pool_backward(g, ctx.x_shape, lambda g4, dx: kernels.avg_pool2d_backward(
            g4, dx, *ctx.geometry))


class AdaptiveAvgPool2d(Function):
    """y[n, c, oh, ow] = mean of x over adaptive window (oh, ow); dx = g / window size, summed
    over the (possibly overlapping) windows holding each value. x is (N, C, H, W) or
    (C, H, W)."""

    @staticmethod
    def forward(ctx, x, output_size):
        check_adaptive_pool2d(x, output_size, "adaptive_avg_pool2d")
        kernels = backend.for_arrays(x).kernels("pool")
        out, _ = _pool_forward(x, output_size, kernels.adaptive_avg_pool2d_forward)
        ctx.x_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        kernels = backend.for_arrays(g).kernels("pool")
        return _pool_backward(g, ctx.x_shape, kernels.adaptive_avg_pool2d_backward)


class AdaptiveMaxPool2d(Function):
    """y[n, c, oh, ow] = max of x over adaptive window (oh, ow), ties and NaN as max_pool2d;
    dx routes each g to its arg-max. x is (N, C, H, W) or (C, H, W). ``indices_out`` as in
    MaxPool2d."""

    @staticmethod
    def forward(ctx, x, output_size, indices_out=None):
        check_adaptive_pool2d(x, output_size, "adaptive_max_pool2d")
        kernels = backend.for_arrays(x).kernels("pool")
        out, indices = _pool_forward(x, output_size, kernels.adaptive_max_pool2d_forward,
                                     np.int64)
        if indices_out is not None:
            indices_out.append(indices)
        ctx.save_for_backward(_batched(indices))
        ctx.x_shape = x.shape
        return out

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        kernels = backend.for_arrays(g).kernels("pool")
        return _pool_backward(g, ctx.x_shape, lambda g4, dx: kernels.adaptive_max_pool2d_backward(
            g4, indices, dx))
