"""2-D max and average pooling over (N, C, H, W), windows of kernel_size at stride, with padding.

Window (oh, ow) covers rows oh * sh - ph + i and columns ow * sw - pw + j for 0 <= i < kh,
0 <= j < kw; OH and OW come from the shape of ``out`` / ``grad_out`` (the op computes
(H + 2 ph - kh) // sh + 1). ``kernel_size, stride, padding`` are (height, width) pairs.
"""

import numpy as np


def _windows(x, kernel_size, stride, padding, out_hw, fill):
    """(N, C, OH, OW, kh * kw) view of every window of x padded with ``fill``, taps row-major."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    win = win[:, :, ::sh, ::sw][:, :, :out_hw[0], :out_hw[1]]
    return win.reshape(win.shape[:4] + (kh * kw,))


def _tap_to_index(tap, oh, ow, kernel_size, stride, padding, width):
    """Flat input-plane index h * W + w of tap number ``tap`` in window (oh, ow)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    return (oh * sh - ph + tap // kw) * width + (ow * sw - pw + tap % kw)


def max_pool2d_forward(x, out, indices, kernel_size, stride, padding):
    """out[n, c, oh, ow] = max of window (oh, ow) of x[n, c] (padding is -inf);
    indices = flat index h * W + w of that max in the plane: the first one in row-major order
    among equal values, the last NaN when the window holds NaN (NaN wins, as in PyTorch)."""
    win = _windows(x, kernel_size, stride, padding, out.shape[2:], -np.inf)
    inside = _windows(np.ones(x.shape, bool), kernel_size, stride, padding, out.shape[2:], False)
    # NOTE: a padding tap never wins, even against a window of -inf (PyTorch starts from the
    # first tap inside the input).
    first_max = np.argmax((win == win.max(axis=-1, keepdims=True)) & inside, axis=-1)
    nan = np.isnan(win)
    last_nan = win.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    tap = np.where(nan.any(axis=-1), last_nan, first_max)
    np.copyto(out, np.take_along_axis(win, tap[..., None], axis=-1)[..., 0])
    oh, ow = np.indices(out.shape[2:])
    np.copyto(indices, _tap_to_index(tap, oh, ow, kernel_size, stride, padding, x.shape[3]))


def max_pool2d_backward(grad_out, indices, grad_in, kernel_size, stride, padding):
    """grad_in[n, c].flat[k] = sum of grad_out[n, c, oh, ow] over windows with indices == k."""
    n, c = grad_out.shape[:2]
    planes = np.zeros((n * c, grad_in.shape[2] * grad_in.shape[3]), grad_in.dtype)
    rows = np.repeat(np.arange(n * c), grad_out.shape[2] * grad_out.shape[3])
    np.add.at(planes, (rows, indices.reshape(-1)), grad_out.reshape(-1))
    np.copyto(grad_in, planes.reshape(grad_in.shape))


def avg_pool2d_forward(x, out, kernel_size, stride, padding):
    """out[n, c, oh, ow] = sum of window (oh, ow) of x[n, c] (padding is 0) / (kh * kw)
    (count_include_pad=True)."""
    win = _windows(x, kernel_size, stride, padding, out.shape[2:], 0)
    np.copyto(out, win.sum(axis=-1) / (kernel_size[0] * kernel_size[1]))


def avg_pool2d_backward(grad_out, grad_in, kernel_size, stride, padding):
    """grad_in[n, c, h, w] = sum of grad_out[n, c, oh, ow] / (kh * kw) over the windows (oh, ow)
    that hold (h, w)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    n, c, h, w = grad_in.shape
    oh, ow = grad_out.shape[2:]
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), grad_in.dtype)
    share = grad_out / (kh * kw)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw] += share
    np.copyto(grad_in, padded[:, :, ph: ph + h, pw: pw + w])
