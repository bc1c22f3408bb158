"""Conv1d and Conv2d with PyTorch's arguments, weight layout, initialisation and repr."""

import numpy as np

from .. import functional as F
from ..ops.conv import conv2d_padding, pair
from . import init
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d and Conv2d share: argument checks, parameters, init and repr."""

    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, device, dtype):
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError("padding_mode must be one of {'reflect', 'zeros', 'replicate', "
                             f"'circular'}}, but got padding_mode='{padding_mode}'")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{type(self).__name__}: padding_mode='{padding_mode}' is "
                                      "not supported (microdl pads with zeros only)")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.stride = self._tuple(stride, "stride")
        self.dilation = self._tuple(dilation, "dilation")
        # Validates "same" / "valid" now, so a bad module fails where it is built.
        conv2d_padding(padding, pair(self.kernel_size, "kernel_size"),
                       pair(self.stride, "stride"), pair(self.dilation, "dilation"))
        self.padding = padding if isinstance(padding, str) else self._tuple(padding, "padding")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups)
                                         + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def _tuple(self, value, name):
        if self._dims == 2:
            return pair(value, name)
        values = F._ints(value, "conv1d", name, 2)
        if len(values) != 1:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 "
                               "values to match the convolution dimensions, but got "
                               f"{name}={list(values)}")
        return values

    def reset_parameters(self):
        """PyTorch's default init, in place: weight ~ kaiming_uniform_(a=sqrt(5)), i.e.
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias ~ the same U;
        fan_in = in_channels / groups * prod(kernel_size)."""
        init.default_layer_init_(self.weight, self.bias)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv1d(_ConvNd):
    """1-D convolution (a cross-correlation) over (N, C_in, L) or (C_in, L) input:

        y[n, co, o] = b[co] + sum over c, i of W[co, c, i] * x[n, c, o * s - p + i * d]

    with c running over co's group (C_in / groups channels), x zero outside 0 <= l < L, and
    L_out = floor((L + 2 p - d * (k - 1) - 1) / s) + 1.

    Args: in_channels, out_channels, kernel_size (int or 1-tuple), stride=1, padding=0 (int,
    1-tuple, "valid" or "same"), dilation=1, groups=1, bias=True, padding_mode="zeros" (the
    only mode microdl has; PyTorch's others raise NotImplementedError), device=None, dtype=None
    (float32).

    W has shape (out_channels, in_channels / groups, k) and b (out_channels,), both drawn as
    PyTorch draws them: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels / groups * k.
    Runs as Conv2d on (N, C_in, 1, L).
    """

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        F._check_input_tensor(input, "conv1d", arrays_ok=False)
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class Conv2d(_ConvNd):
    """2-D convolution (a cross-correlation) over (N, C_in, H, W) or (C_in, H, W) input:

        y[n, co, oh, ow] = b[co] + sum over c, i, j of W[co, c, i, j] *
                           x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw]

    with c running over co's group, x zero outside the image, and
    H_out = floor((H + 2 ph - dh * (kh - 1) - 1) / sh) + 1 (likewise W_out).

    Args: in_channels, out_channels, kernel_size (int or pair), stride=1, padding=0 (int,
    pair, "valid" or "same" (stride 1 only)), dilation=1, groups=1, bias=True,
    padding_mode="zeros" (PyTorch's other modes raise NotImplementedError), device=None,
    dtype=None (float32).

    W has shape (out_channels, in_channels / groups, kh, kw) and b (out_channels,); both start
    as PyTorch's: kaiming_uniform_(a=sqrt(5)) for W, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    with fan_in = in_channels / groups * kh * kw, and the same bound for b.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)

    def forward(self, input):
        F._check_input_tensor(input, "conv2d", arrays_ok=False)
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class _ConvTransposeNd(_ConvNd):
    """What ConvTranspose1d and ConvTranspose2d share. The weight is (in_channels,
    out_channels / groups, *kernel_size), as PyTorch lays it out, and starts as PyTorch's:
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = out_channels / groups * prod(kernel_size)
    (PyTorch reads fan_in off the weight's dimension 1), the same bound for the bias."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, output_padding,
                 groups, bias, dilation, padding_mode, device, dtype):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for '
                             f"{type(self).__name__}")
        if isinstance(padding, str):
            raise TypeError(f"{type(self).__name__}: padding must be an int or a tuple of "
                            f"ints, not the string '{padding}'")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        self.output_padding = self._tuple(output_padding, "output_padding")
        self.weight = Parameter(np.empty((in_channels, out_channels // groups)
                                         + self.kernel_size, self.weight.dtype))
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def extra_repr(self):
        text = super().extra_repr()
        if self.output_padding != (0,) * self._dims:
            # PyTorch's order: ..., padding, output_padding, dilation, groups, bias
            for marker in (", dilation=", ", groups=", ", bias=False"):
                if marker in text:
                    at = text.index(marker)
                    return text[:at] + f", output_padding={self.output_padding}" + text[at:]
            return text + f", output_padding={self.output_padding}"
        return text

    def _output_padding(self, input, output_size):
        """PyTorch's output_padding for a requested output size (the trailing dims of
        output_size), or the module's own when output_size is None."""
        if output_size is None:
            return self.output_padding
        sizes = [int(s) for s in output_size][-self._dims:]
        if len(output_size) not in (self._dims, self._dims + 2) and \
                len(output_size) != input.ndim:
            raise ValueError(f"ConvTranspose{self._dims}D: for {input.ndim}D input, "
                             f"output_size must have {self._dims} or {self._dims + 2} elements "
                             f"(got {len(output_size)})")
        spatial = input.shape[-self._dims:]
        low = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
               zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        high = [lo + s - 1 for lo, s in zip(low, self.stride)]
        if any(not lo <= n <= hi for n, lo, hi in zip(sizes, low, high)):
            raise ValueError(f"requested an output size of {sizes}, but valid sizes range from "
                             f"{low} to {high} (for an input of {list(spatial)})")
        return tuple(n - lo for n, lo in zip(sizes, low))


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution (conv1d's adjoint) over (N, C_in, L) or (C_in, L) input:
    y[n, co, l * s - p + i * d] += W[ci, co', i] * x[n, ci, l] (co' = co within ci's group),
    plus b[co]; L_out = (L - 1) s - 2 p + d (k - 1) + output_padding + 1. Runs as
    ConvTranspose2d at height 1. forward(input, output_size=None)."""

    _dims = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding,
                         output_padding, groups, bias, dilation, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        F._check_input_tensor(input, "conv_transpose1d", arrays_ok=False)
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (conv2d's adjoint; the gradient of conv2d with respect to its
    input) over (N, C_in, H, W) or (C_in, H, W) input:

        y[n, co, hi * sh - ph + i * dh, wi * sw - pw + j * dw] += W[ci, co', i, j] *
                                                                  x[n, ci, hi, wi]

    plus b[co], with co' = co within ci's group and
    H_out = (H - 1) sh - 2 ph + dh (kh - 1) + output_padding_h + 1 (likewise W_out).
    forward(input, output_size=None): output_size picks output_padding as PyTorch does."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding,
                         output_padding, groups, bias, dilation, padding_mode, device, dtype)

    def forward(self, input, output_size=None):
        F._check_input_tensor(input, "conv_transpose2d", arrays_ok=False)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)
