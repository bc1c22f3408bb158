"""Pooling: max_pool1d/2d, avg_pool1d/2d, adaptive_avg_pool2d, adaptive_max_pool2d and
max_unpool2d."""

import numpy as np

from .. import _device
from ..ops import elementwise as _ew
from ..ops import pool as _pool
from ..tensor import Tensor
from ._common import _check_input_tensor, _ints


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y[n, c, oh, ow] = max of x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw] over the
    window's taps inside x; stride defaults to kernel_size. ceil_mode rounds the output size
    up (a last, partial window). return_indices also gives the int64 flat index h * W + w of
    each max in its (H, W) plane, as PyTorch does: (output, indices)."""
    _check_input_tensor(input, "max_pool2d")
    kernel_size, stride, padding, dilation = _pool_geometry(
        "max_pool2d", kernel_size, stride, padding, dilation)
    sink = [] if return_indices else None
    out = _pool.MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding,
                                dilation=dilation, ceil_mode=bool(ceil_mode), indices_out=sink)
    return (out, Tensor._wrap(sink[0])) if return_indices else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """y[n, c, oh, ow] = sum of the window's taps inside x / divisor; stride defaults to
    kernel_size. divisor = divisor_override if given, else the window's size clipped to the
    padded input (count_include_pad=True) or its number of taps inside x (False)."""
    _check_input_tensor(input, "avg_pool2d")
    kernel_size, stride, padding, _ = _pool_geometry("avg_pool2d", kernel_size, stride, padding,
                                                     1)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override,
                                                                (int, np.integer)):
            raise TypeError("avg_pool2d(): argument 'divisor_override' must be int, not "
                            f"{type(divisor_override).__name__}")
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
    return _pool.AvgPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding,
                                 ceil_mode=bool(ceil_mode),
                                 count_include_pad=bool(count_include_pad),
                                 divisor_override=int(divisor_override or 0))


# ---- pooling options, 1-D and adaptive pooling ---------------------------------------------
_POOL_ARGUMENTS = {  # name: (position, PyTorch's message for a wrong length)
    "kernel_size": (2, "kernel_size must either be a single int, or a tuple of two ints"),
    "stride": (3, "stride must either be omitted, a single int, or a tuple of two ints"),
    "padding": (4, "padding must either be a single int, or a tuple of two ints"),
    "dilation": (5, "dilation must be either a single int, or a tuple of two ints"),
}


def _pool_geometry(fn, kernel_size, stride, padding, dilation):
    """(kernel_size, stride, padding, dilation) as (h, w) pairs; an int or a 1-tuple is used
    for both sides, stride None (or ()) means kernel_size."""
    pairs = {}
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("padding", padding),
                        ("dilation", dilation)):
        position, message = _POOL_ARGUMENTS[name]
        if name == "stride" and (value is None or (isinstance(value, (tuple, list))
                                                   and len(value) == 0)):
            pairs[name] = pairs["kernel_size"]
            continue
        values = _ints(value, fn, name, position)
        if len(values) not in (1, 2):
            raise RuntimeError(f"{fn}: {message}")
        pairs[name] = (values[0], values[-1])
    return pairs["kernel_size"], pairs["stride"], pairs["padding"], pairs["dilation"]


def _as_plane_pool(fn, input, name1d):
    """(N, C, L) or (C, L) input of a 1-D op as the (N, C, 1, L) / (C, 1, L) input of its 2-D
    twin; wrong ranks raise PyTorch's 1-D message."""
    _check_input_tensor(input, name1d)
    if input.ndim not in (2, 3):
        raise RuntimeError(fn(list(input.shape), input.ndim))
    return input.reshape(*input.shape[:-1], 1, input.shape[-1])


def _single(value, name, message, fn):
    """An int or a 1-sequence of ints as a 1-tuple; otherwise PyTorch's 1-D message."""
    if value is None:
        return None
    values = _ints(value, fn, name, 2)
    if len(values) != 1:
        raise RuntimeError(message(name, len(values)))
    return values


def _max1d_message(name, size):
    return (f"max_pool1d() {name} must be an int, list of ints or tuple of ints of size 1 but got "
            f"size {size}")


def _avg1d_message(name, size):
    return f"avg_pool1d() argument '{name}' should contain one int (got {size})"


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max_pool2d over the last axis of (N, C, L) or (C, L) input: y[n, c, o] = max of
    x[n, c, o * s - p + i * d] for 0 <= i < k (taps inside x); indices index L."""
    x = _as_plane_pool(
        # PyTorch's path with indices words the wrong rank otherwise
        (lambda shape, nd: f"Expected 2 to 3 dimensions, but got {nd}-dimensional tensor for "
         "argument #1 'self' (while checking arguments for max_pool1d)") if return_indices else
        (lambda shape, nd: "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
         f"dim batch size for input, but got:{shape}"), input, "max_pool1d")
    k, s, p, d = (_single(v, n, _max1d_message, "max_pool1d") for v, n in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"),
        (dilation, "dilation")))
    s = k if s is None or len(s) == 0 else s
    if not return_indices:  # PyTorch's own 1-D path: its checks, then (floats) the 2-D one
        _pool.check_max_pool1d(input, k[0], s[0], p[0], d[0], ceil_mode)
    out = max_pool2d(x, (1,) + k, (1,) + s, (0,) + p, (1,) + d, ceil_mode, return_indices)
    squeeze = (lambda t: t.reshape(*t.shape[:-2], t.shape[-1]))
    return tuple(squeeze(t) for t in out) if return_indices else squeeze(out)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """avg_pool2d over the last axis of (N, C, L) or (C, L) input: y[n, c, o] = sum of the
    window x[n, c, o * s - p .. o * s - p + k - 1] inside x / divisor (as avg_pool2d)."""
    x = _as_plane_pool(lambda shape, nd: f"Expected 2 to 3 dimensions, but got {nd}-dimensional "
                       "tensor for argument #1 'self' (while checking arguments for avg_pool1d)",
                       input, "avg_pool1d")
    k, s, p = (_single(v, n, _avg1d_message, "avg_pool1d") for v, n in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding")))
    s = k if s is None or len(s) == 0 else s
    out = avg_pool2d(x, (1,) + k, (1,) + s, (0,) + p, ceil_mode, count_include_pad)
    return out.reshape(*out.shape[:-2], out.shape[-1])


def _adaptive_size(output_size, input, fn, message):
    """output_size as an (OH, OW) pair: an int for both, None for the input's own size."""
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    if isinstance(output_size, (tuple, list)) and input.ndim <= len(sizes):
        # PyTorch's Python wrapper, filling None entries from the input's sizes, says it first
        raise ValueError(f"Input dimension should be at least {len(sizes) + 1}")
    if len(sizes) != 2:
        raise RuntimeError(f"{fn}{message}")
    return tuple(input.shape[-2 + i] if v is None else int(v) for i, v in enumerate(sizes))


def adaptive_avg_pool2d(input, output_size):
    """y[n, c, oh, ow] = mean of x[n, c, h0:h1, w0:w1], h0 = floor(oh * H / OH),
    h1 = ceil((oh + 1) * H / OH) (and likewise w): windows that tile x, overlapping where OH
    does not divide H. output_size: an int, or a pair whose None entries keep the input's
    size. (N, C, H, W) or (C, H, W) input."""
    _check_input_tensor(input, "adaptive_avg_pool2d")
    size = _adaptive_size(output_size, input, "adaptive_avg_pool2d", ": output_size must be 2")
    if size == (1, 1):  # PyTorch's shortcut, whatever the rank: the mean over H and W
        input = input if isinstance(input, Tensor) else Tensor._wrap(input)
        return input.mean((-1, -2), keepdim=True)
    return _pool.AdaptiveAvgPool2d.apply(input, output_size=size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """y[n, c, oh, ow] = max of the adaptive window (oh, ow) (see adaptive_avg_pool2d), ties
    and NaN as in max_pool2d; return_indices also gives the int64 flat index h * W + w."""
    _check_input_tensor(input, "adaptive_max_pool2d")
    size = _adaptive_size(output_size, input, "adaptive_max_pool2d",
                          "(): internal error: output_size.size() must be 2")
    if input.ndim in (3, 4) and min(size) < 0:  # PyTorch allocates the output before checking
        shape = list(input.shape[:-2]) + list(size)
        negative = next(v for v in size if v < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative}: "
                           f"{shape}")
    sink = [] if return_indices else None
    out = _pool.AdaptiveMaxPool2d.apply(input, output_size=size, indices_out=sink)
    return (out, Tensor._wrap(sink[0])) if return_indices else out


# ---- unpooling -----------------------------------------------------------------------------
def _unpool_output_size(input, kernel_size, stride, padding, output_size):
    """PyTorch's output size of max_unpool: (in - 1) * stride + kernel - 2 * padding per
    spatial dim, or ``output_size`` (its last dims) when within stride of that."""
    default = [(input.shape[-len(kernel_size) + d] - 1) * stride[d] + kernel_size[d]
               - 2 * padding[d] for d in range(len(kernel_size))]
    if output_size is None:
        return default
    output_size = list(output_size)
    if len(output_size) == len(kernel_size) + 2:
        output_size = output_size[2:]
    if len(output_size) != len(kernel_size):
        raise ValueError(f"output_size should be a sequence containing {len(kernel_size)} or "
                         f"{len(kernel_size) + 2} elements, but it has a length of "
                         f"'{len(output_size)}'")
    for d in range(len(kernel_size)):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < output_size[d] < high:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f'between {low} and {high})')
    return output_size


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d: y[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j], zero
    elsewhere, y of size (H - 1) * stride - 2 * padding + kernel (or output_size). A scatter
    into the flat (H_out * W_out) planes; its gradient gathers at the same indices."""
    _check_input_tensor(input, "max_unpool2d", arrays_ok=False)
    kernel_size, stride, padding, _ = _pool_geometry("max_unpool2d", kernel_size, stride,
                                                     padding, 1)
    height, width = _unpool_output_size(input, kernel_size, stride, padding, output_size)
    if indices.dtype != np.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{_ew.TORCH_NAMES.get(indices.dtype, indices.dtype)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError(f"Expected 3d or 4d tensor with optional 0 dim batch size for input, "
                           f"but got: {list(input.shape)}")
    if input.dtype.kind != "f":
        raise NotImplementedError(f'"max_unpool2d" not implemented for '
                                  f"'{_ew.TORCH_NAMES.get(input.dtype, input.dtype)}'")
    flat_indices = indices.reshape(*input.shape[:-2], -1)
    bad = np.flatnonzero((_device.host(flat_indices.array) < 0)
                         | (_device.host(flat_indices.array) >= height * width))
    if bad.size:
        raise RuntimeError(f"Found an invalid max index: "
                           f"{_device.host(flat_indices.array).flat[bad[0]]} (output volumes "
                           f"are of size {height}x{width})")
    planes = input.new_zeros((*input.shape[:-2], height * width))
    out = planes.scatter(-1, flat_indices, input.reshape(*input.shape[:-2], -1))
    return out.reshape(*input.shape[:-2], height, width)
