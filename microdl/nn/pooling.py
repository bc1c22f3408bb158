"""MaxPool2d and AvgPool2d (PyTorch's defaults: stride = kernel_size, no padding)."""

from .. import functional as F
from .module import Module


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """y[n, c, oh, ow] = max of x[n, c] over window (oh, ow) (padding is -inf); the gradient goes
    to the first arg-max of each window."""

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """y[n, c, oh, ow] = mean of x[n, c] over the kh * kw window, padding counted as zeros."""

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding)
