"""Convolutions: conv1d, conv2d, conv_transpose1d, conv_transpose2d, and unfold / fold (im2col
and col2im)."""

import numpy as np

from ..ops import conv as _conv
from ._common import _check_input_tensor, _ints


def _unbatched(fn, input, *args):
    """Run a 4-D op on a 3-D (C, H, W) input as a batch of one, as PyTorch accepts both."""
    out = fn(input.reshape(1, *input.shape), *args)
    return out.reshape(*out.shape[1:])


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, co, oh, ow] = bias[co] + sum over c, i, j of weight[co, c, i, j] *
    x[n, g * C/groups + c, oh * sh - ph + i * dh, ow * sw - pw + j * dw] (zero outside x),
    g = co's group (PyTorch's conv2d: a cross-correlation). padding may be "valid" or "same"."""
    _check_input_tensor(input, "conv2d")
    if input.ndim == 3:
        return _unbatched(conv2d, input, weight, bias, stride, padding, dilation, groups)
    if input.ndim == 4 and input.shape[0] == 0:
        # NOTE: PyTorch returns an empty output here; the kernels' layouts do not take N = 0
        raise ValueError(f"conv2d: got an empty batch (input of size {list(input.shape)}); "
                         "pass at least one sample")
    stride, dilation = _conv.pair(stride, "stride"), _conv.pair(dilation, "dilation")
    padding, crop = _conv.conv2d_padding(padding, tuple(weight.shape[2:]), stride, dilation)
    out = _conv.Conv2d.apply(input, weight, bias, stride=stride, padding=padding,
                             dilation=dilation, groups=int(groups))
    return out[:, :, crop[0]:, crop[1]:] if any(crop) else out


# ---- conv1d --------------------------------------------------------------------------------
def _conv1d_argument(value, name):
    """An int or a 1-sequence as PyTorch's conv1d takes it, as the (1, value) pair of its 2-D
    twin."""
    values = _ints(value, "conv1d", name, {"stride": 4, "padding": 5, "dilation": 6}[name])
    if len(values) != 1:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 values "
                           "to match the convolution dimensions, but got "
                           f"{name}={list(values)}")
    return values


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, co, o] = bias[co] + sum over c, i of weight[co, c, i] * x[n, c, o * s - p + i * d]
    (zero outside x; c in co's group): conv2d on (N, C, 1, L) with a (Co, C/groups, 1, k)
    weight. (N, C, L) or (C, L) input; padding may be an int, "valid" or "same"."""
    _check_input_tensor(input, "conv1d")
    if input.ndim not in (2, 3):
        raise RuntimeError("Expected 2D (unbatched) or 3D (batched) input to conv1d, but got "
                           f"input of size: {list(input.shape)}")
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if weight.ndim != 3:
        batched = list(input.shape) if input.ndim == 3 else [1] + list(input.shape)
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-"
                           f"dimensional weight {list(weight.shape)}, but got 3-dimensional "
                           f"input of size {batched} instead")
    stride, dilation = (1,) + _conv1d_argument(stride, "stride"), \
        (1,) + _conv1d_argument(dilation, "dilation")
    if not isinstance(padding, str):
        padding = (0,) + _conv1d_argument(padding, "padding")
    x = input.reshape(*input.shape[:-1], 1, input.shape[-1])
    w = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    out = conv2d(x, w, bias, stride, padding, dilation, groups)
    return out.reshape(*out.shape[:-2], out.shape[-1])


# ---- transposed convolution ----------------------------------------------------------------
def _transpose_argument(value, fn, name, dims, position):
    """An int or a 1- or ``dims``-sequence of ints as a ``dims``-tuple, in PyTorch's words."""
    values = _ints(value, fn, name, position)
    if len(values) not in (1, dims):
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {dims} "
                           "values to match the convolution dimensions, but got "
                           f"{name}={list(values)}")
    return values * dims if len(values) == 1 else values


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d(., weight) applied to input, plus bias: weight is (C_in,
    C_out/groups, kh, kw) and y[n, co, hi*sh - ph + i*dh, wi*sw - pw + j*dw] accumulates
    x[n, ci, hi, wi] * weight[ci, co', i, j]; H_out = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1.
    (N, C, H, W) or (C, H, W) input."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv_transpose2d over (N, C, L) or (C, L) input, run as height 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                    dims):
    fn = f"conv_transpose{dims}d"
    _check_input_tensor(input, fn, arrays_ok=False)
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to "
                           f"{fn}, but got input of size: {list(input.shape)}")
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{fn}: expected a {dims + 2}-D weight, but got weight of size "
                           f"{list(weight.shape)}")
    hyper = [_transpose_argument(value, fn, name, dims, position) for value, name, position in
             ((stride, "stride", 4), (padding, "padding", 5),
              (output_padding, "output_padding", 6), (dilation, "dilation", 8))]
    batched = input.ndim == dims + 2
    x = input if batched else input.reshape(1, *input.shape)
    if x.shape[0] == 0:
        raise ValueError(f"{fn}: got an empty batch (input of size {list(input.shape)}); pass "
                         "at least one sample")
    if dims == 1:  # height 1: stride, dilation 1 and no padding there
        x = x.reshape(*x.shape[:2], 1, x.shape[2])
        weight = weight.reshape(*weight.shape[:2], 1, weight.shape[2])
        hyper = [(fill,) + v for fill, v in zip((1, 0, 0, 1), hyper)]
    stride, padding, output_padding, dilation = hyper
    _conv.check_conv_transpose2d(x.array, weight.array, None if bias is None else bias.array,
                                 stride, padding, output_padding, dilation, int(groups))
    out = _conv.ConvTranspose2d.apply(x, weight, stride=stride, padding=padding,
                                      output_padding=output_padding, dilation=dilation,
                                      groups=int(groups))
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    if dims == 1:
        out = out.reshape(*out.shape[:2], out.shape[3])
    return out if batched else out.reshape(*out.shape[1:])


# ---- unfold and fold -----------------------------------------------------------------------
def _fold_pair(value, name):
    values = (value,) * 2 if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(values)}")
    return tuple(int(v) for v in values)


def _fold_arguments(kernel_size, dilation, padding, stride):
    hyper = [_fold_pair(v, n) for v, n in ((kernel_size, "kernel_size"), (stride, "stride"),
                                           (padding, "padding"), (dilation, "dilation"))]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = hyper
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kh} kernel_width: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {sh} "
                           f"stride_width: {sw}")
    if ph < 0 or pw < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {ph} "
                           f"pad_width: {pw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dh} dilation_width: {dw}")
    return tuple(hyper)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding kernel_size blocks of a (N, C, H, W) (or unbatched (C, H, W)) input as columns:
    (N, C kh kw, L), L the number of block positions (im2col)."""
    from ..ops import fold as _fold
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 4D input Tensors are supported (got "
                                  f"{input.ndim}D)")
    hyper = _fold_arguments(kernel_size, dilation, padding, stride)
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    blocks = _fold.output_hw(batched.shape[2:], *hyper)
    if min(blocks) < 1:
        (kh, kw), _, (ph, pw), (dh, dw) = hyper
        raise RuntimeError(f"Given input with spatial size {tuple(batched.shape[2:])}, "
                           f"kernel_size={hyper[0]}, dilation={hyper[3]}, padding={hyper[2]}, "
                           f"calculated shape of the array of sliding blocks as {blocks}, but "
                           f"its components must be at least one.")
    out = _fold.Unfold.apply(batched, kernel_size=hyper[0], stride=hyper[1], padding=hyper[2],
                             dilation=hyper[3])
    return out if input.ndim == 4 else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of unfold: (N, C kh kw, L) columns (or unbatched (C kh kw, L)) summed back
    into a (N, C, *output_size) image, overlapping positions adding up (col2im)."""
    from ..ops import fold as _fold
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"[{', '.join(str(s) for s in input.shape)}]")
    output_size = _fold_pair(output_size, "output_size")
    hyper = _fold_arguments(kernel_size, dilation, padding, stride)
    batched = input if input.ndim == 3 else input.unsqueeze(0)
    (kh, kw) = hyper[0]
    if batched.shape[1] % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={batched.shape[1]} and "
                           f"kernel_size={hyper[0]}.")
    blocks = _fold.output_hw(output_size, *hyper)
    if blocks[0] * blocks[1] != batched.shape[2]:
        raise RuntimeError(f"Given output_size={output_size}, kernel_size={hyper[0]}, "
                           f"dilation={hyper[3]}, padding={hyper[2]}, stride={hyper[1]}, "
                           f"expected size of input's dimension 2 to match the calculated "
                           f"number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={batched.shape[2]}.")
    out = _fold.Fold.apply(batched, output_size=output_size, kernel_size=hyper[0],
                           stride=hyper[1], padding=hyper[2], dilation=hyper[3])
    return out if input.ndim == 3 else out.squeeze(0)
