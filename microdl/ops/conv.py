"""2-D convolution (PyTorch's conv2d: a cross-correlation): validation here, the math in the
"conv" kernels of the arrays' device.

With K = C/groups * kh * kw, cols (C * kh * kw, N * OH * OW) the columns of x (im2col) and W_g
(Cout/groups, K) group g's filters as rows: Y_g = W_g @ cols_g, y = Y reordered + b. Backward,
with dY_g the gradient in the same layout: dW_g = dY_g @ cols_g^T, dcols_g = W_g^T @ dY_g,
dx = col2im(dcols), db = sum of dY over N, OH, OW. numpy_ref/conv.py states it plainly; the cpu
kernels choose faster layouts (per sample, blocked), the cuda ones run it on the GPU.
"""

import numpy as np

from .. import backend
from ..autograd import Function
from .matmul import C_TYPE_NAMES, SCALAR_TYPE_NAMES, dtype_key


def pair(value, name):
    """An int or a 1- or 2-sequence of ints as a (height, width) tuple; PyTorch's errors
    otherwise (a TypeError for a non-integer, a RuntimeError for a wrong length)."""
    values = (value,) if isinstance(value, (int, np.integer)) else tuple(value)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise TypeError(f"conv2d(): argument '{name}' must be tuple of ints (got {value!r})")
    if len(values) not in (1, 2):
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 values "
                           "to match the convolution dimensions, but got "
                           f"{name}={[int(v) for v in values]}")
    return int(values[0]), int(values[-1])


def conv2d_padding(padding, kernel_size, stride, dilation):
    """Symmetric (ph, pw) for conv2d plus the output rows/columns to drop at the start.

    "valid" is 0. "same" needs total padding d * (k - 1) per axis, split as PyTorch splits it:
    total // 2 before, the rest after; when the total is odd the op pads the larger half on
    both sides and the first output row (column) is dropped, which gives the same result.
    """
    if not isinstance(padding, str):
        return pair(padding, "padding"), (0, 0)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding != "same":
        raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', "
                         "'same']")
    if stride != (1, 1):
        raise ValueError("padding='same' is not supported for strided convolutions")
    totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
    return tuple(t - t // 2 for t in totals), tuple(t % 2 for t in totals)


def _shape_list(shape):
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _check_dtypes(x, weight, bias, dilation):
    """One dtype for x, weight and bias, in PyTorch's order and words. Integers compute in their
    own dtype, as PyTorch's CPU kernels do (int64 only where dilated); bools nowhere."""
    x_key = dtype_key(x.dtype)
    if bias is not None and bias.dtype != x.dtype:
        raise RuntimeError(f"Input type ({C_TYPE_NAMES[x_key]}) and bias type "
                           f"({C_TYPE_NAMES[dtype_key(bias.dtype)]}) should be the same")
    if x.dtype.kind in "biu" and max(dilation) > 1 and x.dtype != np.int64:
        raise NotImplementedError(
            f"\"slow_conv_dilated<>\" not implemented for '{SCALAR_TYPE_NAMES[x_key]}'")
    if x.dtype.kind == "b":
        raise NotImplementedError("\"slow_conv2d_cpu\" not implemented for 'Bool'")
    if weight.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES[x_key]} but found "
                           f"{SCALAR_TYPE_NAMES[dtype_key(weight.dtype)]}")


def check_conv2d(x, weight, bias, stride, padding, dilation, groups):
    """Validate conv2d arguments as PyTorch words its errors; returns (OH, OW)."""
    if x.ndim != 4:
        raise RuntimeError("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                           f"input of size: {_shape_list(x.shape)} (the op supports only 4D "
                           "(N, C, H, W) input; F.conv2d runs a 3D input as a batch of one)")
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if weight.ndim != 4:
        raise RuntimeError("conv2d: expected a 4-D weight (out_channels, in_channels/groups, "
                           f"kH, kW), but got weight of size {_shape_list(weight.shape)}")
    _check_dtypes(x, weight, bias, dilation)
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    cout = weight.shape[0]
    if cout % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {_shape_list(weight.shape)} "
                           "instead")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_list(weight.shape)}, "
                           f"expected input{_shape_list(x.shape)} to have "
                           f"{weight.shape[1] * groups} channels, but got {x.shape[1]} channels "
                           "instead")
    if bias is not None and bias.shape != (cout,):
        raise RuntimeError(f"Given weight of size {_shape_list(weight.shape)}, expected bias to "
                           f"be 1-dimensional with {cout} elements, but got bias of size "
                           f"{_shape_list(bias.shape)} instead")
    padded = [s + 2 * p for s, p in zip(x.shape[2:], padding)]
    spans = [d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation)]
    if padded[0] < spans[0] or padded[1] < spans[1]:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x "
                           f"{padded[1]}). Kernel size: ({spans[0]} x {spans[1]}). Kernel size "
                           "can't be greater than actual input size")
    return tuple((p - k) // s + 1 for p, k, s in zip(padded, spans, stride))


class Conv2d(Function):
    """y[n, co, oh, ow] = b[co] + sum over c, i, j of W[co, c, i, j] *
    x_padded[n, c, oh * sh + i * dh, ow * sw + j * dw] (c in co's group); gradients as in the
    module docstring."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                groups=1):
        oh, ow = check_conv2d(x, weight, bias, stride, padding, dilation, groups)
        dev = backend.for_arrays(x, weight, bias)
        (n, c), (cout, _, kh, kw) = x.shape[:2], weight.shape
        out = dev.empty((n, cout, oh, ow), x.dtype)
        cols = dev.empty((c * kh * kw, n, oh, ow), x.dtype)
        dev.kernels("conv").conv2d_forward(x, weight, bias, out, cols, stride, padding, dilation,
                                           groups)
        # NOTE: x and cols are kept only when dW will be wanted; otherwise cols goes back to the
        # buffer pool now (with no graph recorded, ctx is dropped as forward returns).
        keep = ctx.needs_input_grad[1]
        ctx.save_for_backward(x if keep else None, cols if keep else None, weight)
        ctx.x_shape, ctx.hyper = x.shape, (stride, padding, dilation, groups)
        return out

    @staticmethod
    def backward(ctx, g):
        x, cols, weight = ctx.saved
        need_x, need_w, need_b = (tuple(ctx.needs_input_grad) + (False,) * 3)[:3]
        dev = backend.for_arrays(g, weight)
        dx = dev.empty(ctx.x_shape, weight.dtype) if need_x else None
        dw = dev.empty(weight.shape, weight.dtype) if need_w else None
        db = dev.empty(weight.shape[:1], weight.dtype) if need_b else None
        dev.kernels("conv").conv2d_backward(x, cols, weight, g, dx, dw, db, *ctx.hyper)
        return dx, dw, db


# ---- transposed convolution: conv2d's input gradient as a forward op ----------------------------
def check_conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """Validate conv_transpose2d arguments as PyTorch words its errors; returns (OH, OW) with
    OH = (H - 1) * sh - 2 ph + dh * (kh - 1) + oph + 1 (likewise OW)."""
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if weight.ndim != 4:
        raise RuntimeError("conv_transpose2d: expected a 4-D weight (in_channels, "
                           f"out_channels/groups, kH, kW), but got weight of size "
                           f"{_shape_list(weight.shape)}")
    if weight.dtype != x.dtype:
        raise RuntimeError(f"Input type ({C_TYPE_NAMES[dtype_key(x.dtype)]}) and weight type "
                           f"({C_TYPE_NAMES[dtype_key(weight.dtype)]}) should be the same or "
                           "input should be a MKLDNN tensor and weight is a dense tensor")
    if bias is not None and bias.dtype != x.dtype:
        raise RuntimeError(f"Input type ({C_TYPE_NAMES[dtype_key(x.dtype)]}) and bias type "
                           f"({C_TYPE_NAMES[dtype_key(bias.dtype)]}) should be the same")
    if x.dtype.kind in "biu" and x.dtype != np.int64:
        raise NotImplementedError("\"slow_conv_transpose2d_out_cpu\" not implemented for "
                                  f"'{SCALAR_TYPE_NAMES[dtype_key(x.dtype)]}'")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(output_padding) < 0:
        raise RuntimeError("negative output_padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           f"got output_padding_height: {output_padding[0]} "
                           f"output_padding_width: {output_padding[1]} stride_height: "
                           f"{stride[0]} stride_width: {stride[1]} dilation_height: "
                           f"{dilation[0]} dilation_width: {dilation[1]}")
    cin = weight.shape[0]
    if cin % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size "
                           f"[{_shape_list(weight.shape)}] instead")
    if x.shape[1] != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_list(weight.shape)}, "
                           f"expected input{_shape_list(x.shape)} to have {cin} channels, but "
                           f"got {x.shape[1]} channels instead")
    cout = weight.shape[1] * groups
    if bias is not None and bias.shape != (cout,):
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_list(weight.shape)}, "
                           f"expected bias to be 1-dimensional with {cout} elements, but got "
                           f"bias of size {_shape_list(bias.shape)} instead")
    out_hw = tuple((size - 1) * s - 2 * p + d * (k - 1) + o + 1 for size, s, p, d, k, o in
                   zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding))
    if min(out_hw) <= 0:
        raise RuntimeError(f"Given input size per channel: ({x.shape[2]} x {x.shape[3]}). "
                           f"Calculated output size per channel: ({out_hw[0]} x {out_hw[1]}). "
                           "Output size is too small")
    return out_hw


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W): the adjoint of conv2d(., W) applied to x, i.e. conv2d's
    input gradient with x in the place of the output gradient (W (Cin, Cout/groups, kh, kw) is
    read as conv2d's (out, in/groups, kh, kw) weight):

        y[n, co, h, w] = sum over ci, i, j with h = hi * sh - ph + i * dh (w likewise) of
                         x[n, ci, hi, wi] * W[ci, co', i, j]   (co' = co within ci's group)

    so cols = W_g^T @ x_g and y = col2im(cols). Backward: dx = conv2d(dy, W) and
    dW = conv2d's weight gradient with dy as its input and x as its output gradient, both from
    the same im2col(dy). The bias is added by the caller, outside this op."""

    @staticmethod
    def forward(ctx, x, weight, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                dilation=(1, 1), groups=1):
        out_hw = check_conv_transpose2d(x, weight, None, stride, padding, output_padding,
                                        dilation, groups)
        dev = backend.for_arrays(x, weight)
        out = dev.empty((x.shape[0], weight.shape[1] * groups) + out_hw, x.dtype)
        dev.kernels("conv").conv2d_backward(None, None, weight, x, out, None, None, stride,
                                            padding, dilation, groups)
        ctx.save_for_backward(x, weight)
        ctx.hyper = (stride, padding, dilation, groups)
        return out

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        need_x, need_w = (tuple(ctx.needs_input_grad) + (False,) * 2)[:2]
        dev = backend.for_arrays(g, weight)
        (kh, kw), cout = weight.shape[2:], g.shape[1]
        # conv2d(dy, W) has x's shape (output_padding < stride or dilation guarantees it)
        dx = dev.empty(x.shape, weight.dtype)
        cols = dev.empty((cout * kh * kw, x.shape[0]) + x.shape[2:], weight.dtype)
        dev.kernels("conv").conv2d_forward(g, weight, None, dx, cols, *ctx.hyper)
        dw = None
        if need_w:
            dw = dev.empty(weight.shape, weight.dtype)
            dev.kernels("conv").conv2d_backward(g, cols, weight, x, None, dw, None, *ctx.hyper)
        return (dx if need_x else None), dw
