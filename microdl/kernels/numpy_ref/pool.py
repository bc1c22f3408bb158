"""2-D max and average pooling over (N, C, H, W), windows of kernel_size at stride, with padding;
and adaptive pooling, whose windows are set by the output size.

Window (oh, ow) covers rows oh * sh - ph + i * dh and columns ow * sw - pw + j * dw for
0 <= i < kh, 0 <= j < kw (dilation d is 1 for average pooling); only taps inside x take part.
OH and OW come from the shape of ``out`` / ``grad_out`` (the op computes them, with ceil_mode a
last window may hang over the bottom/right edge). ``kernel_size, stride, padding, dilation`` are
(height, width) pairs.

Average pooling divides window (oh, ow) by ``divisor_override`` when it is not 0, else by the
window's size clipped to the padded input (``count_include_pad``: rows h0 .. min(h0 + kh,
H + ph) - 1) or by the number of its taps inside x; a window with no tap inside x gives 0.

Adaptive pooling: window (oh, ow) covers rows floor(oh * H / OH) .. ceil((oh + 1) * H / OH) - 1
and likewise columns.
"""

import numpy as np


def _windows(x, kernel_size, stride, padding, dilation, out_hw, fill):
    """(N, C, OH, OW, kh * kw) view of every window of x padded with ``fill``, taps row-major."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    spans = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    # ceil_mode: the last window may reach past the right-hand padding
    after = [max(p, (o - 1) * s + span - p - size) for o, s, span, p, size in
             zip(out_hw, stride, spans, padding, x.shape[2:])]
    padded = np.pad(x, ((0, 0), (0, 0), (ph, after[0]), (pw, after[1])), constant_values=fill)
    win = np.lib.stride_tricks.sliding_window_view(padded, spans, axis=(2, 3))
    win = win[:, :, ::sh, ::sw][:, :, :out_hw[0], :out_hw[1], ::dh, ::dw]
    return win.reshape(win.shape[:4] + (kh * kw,))


def _tap_to_index(tap, oh, ow, kernel_size, stride, padding, dilation, width):
    """Flat input-plane index h * W + w of tap number ``tap`` in window (oh, ow)."""
    (_, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    return (oh * sh - ph + tap // kw * dh) * width + (ow * sw - pw + tap % kw * dw)


def _arg_max(win, inside):
    """Tap of each window's max: the first in row-major order among equal values, the last NaN
    when the window holds NaN (NaN wins, as in PyTorch); a tap outside x never wins, even
    against a window of -inf (PyTorch starts from the first tap inside the input)."""
    first_max = np.argmax((win == win.max(axis=-1, keepdims=True)) & inside, axis=-1)
    nan = np.isnan(win)
    last_nan = win.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    return np.where(nan.any(axis=-1), last_nan, first_max)


def max_pool2d_forward(x, out, indices, kernel_size, stride, padding, dilation=(1, 1)):
    """out[n, c, oh, ow] = max of window (oh, ow) of x[n, c] (taps outside x do not count);
    indices = flat index h * W + w of that max in the plane (see _arg_max for ties and NaN)."""
    geometry = (kernel_size, stride, padding, dilation)
    win = _windows(x, *geometry, out.shape[2:], -np.inf)
    inside = _windows(np.ones(x.shape, bool), *geometry, out.shape[2:], False)
    tap = _arg_max(win, inside)
    np.copyto(out, np.take_along_axis(win, tap[..., None], axis=-1)[..., 0])
    oh, ow = np.indices(out.shape[2:])
    np.copyto(indices, _tap_to_index(tap, oh, ow, *geometry, x.shape[3]))


def max_pool2d_backward(grad_out, indices, grad_in, kernel_size, stride, padding,
                        dilation=(1, 1)):
    """grad_in[n, c].flat[k] = sum of grad_out[n, c, oh, ow] over windows with indices == k."""
    _scatter_by_indices(grad_out, indices, grad_in)


def _scatter_by_indices(grad_out, indices, grad_in):
    n, c = grad_out.shape[:2]
    planes = np.zeros((n * c, grad_in.shape[2] * grad_in.shape[3]), grad_in.dtype)
    rows = np.repeat(np.arange(n * c), grad_out.shape[2] * grad_out.shape[3])
    np.add.at(planes, (rows, indices.reshape(-1)), grad_out.reshape(-1))
    np.copyto(grad_in, planes.reshape(grad_in.shape))


def _avg_divisors(in_hw, out_hw, kernel_size, stride, padding, count_include_pad,
                  divisor_override):
    """(OH, OW) divisors of the average windows (module docstring), with NaN where a window
    holds no tap of x (its output is 0)."""
    sides = []
    for size, o, k, s, p in zip(in_hw, out_hw, kernel_size, stride, padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        inside = np.minimum(end, size) - np.maximum(start, 0)
        sides.append((end - start, inside))
    (pool_h, in_h), (pool_w, in_w) = sides
    empty = (in_h[:, None] <= 0) | (in_w[None, :] <= 0)
    if divisor_override:
        divisor = np.full(out_hw, float(divisor_override))
    elif count_include_pad:
        divisor = (pool_h[:, None] * pool_w[None, :]).astype(np.float64)
    else:
        divisor = (in_h[:, None] * in_w[None, :]).astype(np.float64)
    return np.where(empty, np.nan, divisor)


def avg_pool2d_forward(x, out, kernel_size, stride, padding, count_include_pad=True,
                       divisor_override=0):
    """out[n, c, oh, ow] = sum of window (oh, ow) of x[n, c] / divisor(oh, ow)."""
    divisor = _avg_divisors(x.shape[2:], out.shape[2:], kernel_size, stride, padding,
                            count_include_pad, divisor_override)
    win = _windows(x, kernel_size, stride, padding, (1, 1), out.shape[2:], 0)
    empty = np.isnan(divisor)
    np.copyto(out, np.where(empty, 0, win.sum(axis=-1) / np.where(empty, 1, divisor)),
              casting="unsafe")


def avg_pool2d_backward(grad_out, grad_in, kernel_size, stride, padding, count_include_pad=True,
                        divisor_override=0):
    """grad_in[n, c, h, w] = sum of grad_out[n, c, oh, ow] / divisor(oh, ow) over the windows
    (oh, ow) that hold (h, w)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    n, c, h, w = grad_in.shape
    oh, ow = grad_out.shape[2:]
    divisor = _avg_divisors((h, w), (oh, ow), kernel_size, stride, padding, count_include_pad,
                            divisor_override)
    empty = np.isnan(divisor)
    share = np.where(empty, 0, grad_out / np.where(empty, 1, divisor))
    padded = np.zeros((n, c, max(h + 2 * ph, sh * (oh - 1) + kh),
                       max(w + 2 * pw, sw * (ow - 1) + kw)), np.float64)
    for i in range(kh):
        for j in range(kw):
            padded[:, :, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw] += share
    np.copyto(grad_in, padded[:, :, ph: ph + h, pw: pw + w], casting="unsafe")


def _adaptive_bounds(size, out_size):
    """(start, end) arrays of the adaptive windows along one axis."""
    o = np.arange(out_size)
    return o * size // out_size, -(-(o + 1) * size // out_size)


def adaptive_avg_pool2d_forward(x, out):
    """out[n, c, oh, ow] = mean of x[n, c, h0(oh):h1(oh), w0(ow):w1(ow)] (adaptive windows)."""
    (hs, he), (ws, we) = (_adaptive_bounds(s, o) for s, o in zip(x.shape[2:], out.shape[2:]))
    for oh in range(out.shape[2]):
        for ow in range(out.shape[3]):
            window = x[:, :, hs[oh]:he[oh], ws[ow]:we[ow]]
            out[:, :, oh, ow] = window.sum(axis=(2, 3)) / window[0, 0].size


def adaptive_avg_pool2d_backward(grad_out, grad_in):
    """grad_in[n, c, h, w] = sum of grad_out[n, c, oh, ow] / size(oh, ow) over the adaptive
    windows that hold (h, w)."""
    (hs, he), (ws, we) = (_adaptive_bounds(s, o)
                          for s, o in zip(grad_in.shape[2:], grad_out.shape[2:]))
    acc = np.zeros(grad_in.shape, np.float64)
    for oh in range(grad_out.shape[2]):
        for ow in range(grad_out.shape[3]):
            size = (he[oh] - hs[oh]) * (we[ow] - ws[ow])
            acc[:, :, hs[oh]:he[oh], ws[ow]:we[ow]] += grad_out[:, :, oh, ow, None, None] / size
    np.copyto(grad_in, acc, casting="unsafe")


def adaptive_max_pool2d_forward(x, out, indices):
    """out[n, c, oh, ow] = max of adaptive window (oh, ow) of x[n, c]; indices = flat index
    h * W + w of that max (the first among ties, the last NaN when the window holds NaN)."""
    (hs, he), (ws, we) = (_adaptive_bounds(s, o) for s, o in zip(x.shape[2:], out.shape[2:]))
    width = x.shape[3]
    for oh in range(out.shape[2]):
        for ow in range(out.shape[3]):
            window = x[:, :, hs[oh]:he[oh], ws[ow]:we[ow]]
            win = window.reshape(window.shape[:2] + (-1,))
            tap = _arg_max(win, np.ones(win.shape, bool))
            out[:, :, oh, ow] = np.take_along_axis(win, tap[..., None], axis=-1)[..., 0]
            cols = window.shape[3]
            indices[:, :, oh, ow] = (hs[oh] + tap // cols) * width + ws[ow] + tap % cols


def adaptive_max_pool2d_backward(grad_out, indices, grad_in):
    """grad_in[n, c].flat[k] = sum of grad_out[n, c, oh, ow] over windows with indices == k."""
    _scatter_by_indices(grad_out, indices, grad_in)
