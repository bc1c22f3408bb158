"""Pooling modules with PyTorch's arguments, defaults (stride = kernel_size) and reprs."""

from .. import functional as F
from .module import Module


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """y[n, c, o] = max of x[n, c, o * s - p + i * d], 0 <= i < k, over the taps inside x
    (padding never wins); the gradient goes to the first arg-max of each window.

    Args: kernel_size, stride=None (kernel_size), padding=0 (at most half the effective
    kernel d * (k - 1) + 1), dilation=1, return_indices=False (then forward returns
    (output, int64 indices into L)), ceil_mode=False (round L_out up).
    Shape: (N, C, L) or (C, L) -> L_out = floor_or_ceil((L + 2p - d(k-1) - 1) / s) + 1.
    """

    def forward(self, input):
        F._check_input_tensor(input, "max_pool1d", arrays_ok=False)
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """y[n, c, oh, ow] = max of x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw] over the
    window's taps inside x (padding never wins); ties go to the first tap in row-major order,
    NaN wins; the gradient goes to that arg-max.

    Args: kernel_size (int or pair), stride=None (kernel_size), padding=0 (at most half the
    effective kernel), dilation=1, return_indices=False (then forward returns (output, int64
    flat indices h * W + w per plane), as PyTorch), ceil_mode=False (round the output size up).
    Shape: (N, C, H, W) or (C, H, W); H_out = floor_or_ceil((H + 2ph - dh(kh-1) - 1) / sh) + 1.
    """

    def forward(self, input):
        F._check_input_tensor(input, "max_pool2d", arrays_ok=False)
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool1d(Module):
    """y[n, c, o] = sum of x[n, c, o * s - p .. o * s - p + k - 1] inside x / divisor, the
    divisor being the window clipped to the padded input (count_include_pad=True) or its taps
    inside x.

    Args: kernel_size, stride=None (kernel_size), padding=0, ceil_mode=False,
    count_include_pad=True. Shape: (N, C, L) or (C, L).
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__()
        single = (lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,))
        self.kernel_size = single(kernel_size)
        self.stride = single(stride if stride is not None else kernel_size)
        self.padding = single(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        F._check_input_tensor(input, "avg_pool1d", arrays_ok=False)
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """y[n, c, oh, ow] = sum of window (oh, ow)'s taps inside x / divisor, where divisor is
    divisor_override if given, else the window's size clipped to the padded input
    (count_include_pad=True: padding counts as zeros) or its number of taps inside x.

    Args: kernel_size (int or pair), stride=None (kernel_size), padding=0, ceil_mode=False
    (round the output size up), count_include_pad=True, divisor_override=None (a nonzero int).
    Shape: (N, C, H, W) or (C, H, W); H_out = floor_or_ceil((H + 2ph - kh) / sh) + 1.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        F._check_input_tensor(input, "avg_pool2d", arrays_ok=False)
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool2d(Module):
    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_AdaptivePool2d):
    """y[n, c, oh, ow] = mean of x[n, c, h0:h1, w0:w1] with h0 = floor(oh * H / OH),
    h1 = ceil((oh + 1) * H / OH) (likewise w): OH x OW windows covering x, whatever its size.

    Args: output_size: an int (OH = OW) or a pair; a None entry keeps the input's size.
    Shape: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW) or (C, OH, OW).
    """

    def forward(self, input):
        F._check_input_tensor(input, "adaptive_avg_pool2d", arrays_ok=False)
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool2d(_AdaptivePool2d):
    """y[n, c, oh, ow] = max of the adaptive window (oh, ow) (see AdaptiveAvgPool2d); ties and
    NaN as MaxPool2d. Args: output_size, return_indices=False (then (output, int64 indices))."""

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input):
        F._check_input_tensor(input, "adaptive_max_pool2d", arrays_ok=False)
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)
