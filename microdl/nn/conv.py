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
