"""Conv2d with PyTorch's arguments, weight layout, initialisation and repr."""

import numpy as np

from .. import functional as F
from ..ops.conv import conv2d_padding, pair
from . import init
from .module import Module, Parameter


class Conv2d(Module):
    """y = conv2d(x, W, b): y[n, co] = b[co] + sum over c, i, j of W[co, c, i, j] *
    x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw] (c in co's group).

    W has shape (out_channels, in_channels / groups, kh, kw) and b (out_channels,); both start
    as PyTorch's: kaiming_uniform_(a=sqrt(5)) for W, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    with fan_in = in_channels / groups * kh * kw, and the same bound for b. ``padding`` is an
    int, a pair, "valid" or "same" (stride 1 only).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, dtype=np.float32):
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.dilation = pair(stride, "stride"), pair(dilation, "dilation")
        # Validates "same" / "valid" now, so a bad module fails where it is built.
        conv2d_padding(padding, self.kernel_size, self.stride, self.dilation)
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        self.weight = Parameter(np.empty((out_channels, in_channels // groups)
                                         + self.kernel_size, dtype))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
