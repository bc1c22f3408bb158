"""MaxUnpool2d: max_pool2d's partial inverse."""

from .. import functional as F
from .module import Module


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class MaxUnpool2d(Module):
    """Puts each input value at the flat index max_pool2d(return_indices=True) gave for it,
    zeros elsewhere. Args: kernel_size, stride=None (kernel_size), padding=0; forward(input,
    indices, output_size=None)."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.padding = _pair(padding)

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
