"""CUDA twins of numpy_ref/pool.py on (N, C, H, W) device arrays.

Forward: one thread per output value (grid-stride) scans its window (bounds and divisors as
numpy_ref/pool.py states them). Backward gathers: one
thread per input-gradient value sums over the windows that hold it, so no two threads write one
value and no atomics (or their run-to-run rounding) are needed.
"""

import math

from numba import cuda

from ._launch import grid


@cuda.jit(device=True)
def _unravel4(i, shape):
    w = i % shape[3]
    i //= shape[3]
    h = i % shape[2]
    i //= shape[2]
    return i // shape[1], i % shape[1], h, w


@cuda.jit(device=True)
def _window_range(pos, pad, k, stride, out_len):
    """Output positions o whose window o * stride - pad .. + k - 1 holds input position pos."""
    top = pos + pad
    lo = max(0, (top - k + stride) // stride) if top - k + 1 > 0 else 0
    hi = min(out_len - 1, top // stride)
    return lo, hi


@cuda.jit(device=True)
def _adaptive_start(o, size, out_size):
    return o * size // out_size


@cuda.jit(device=True)
def _adaptive_end(o, size, out_size):
    return ((o + 1) * size + out_size - 1) // out_size


@cuda.jit(device=True)
def _avg_window(o, size, k, s, p):
    """(first tap inside x, end inside x, pool size clipped to the padded input) of window o."""
    start = o * s - p
    end = min(start + k, size + p)
    return max(start, 0), min(end, size), end - start


@cuda.jit(device=True)
def _avg_divisor(hs, he, pool_h, ws, we, pool_w, count_include_pad, divisor_override):
    if divisor_override != 0:
        return float(divisor_override)
    if count_include_pad:
        return float(pool_h * pool_w)
    return float((he - hs) * (we - ws))


@cuda.jit
def _max_pool2d_forward_kernel(x, out, indices, kh, kw, sh, sw, ph, pw, dh, dw):
    i = cuda.grid(1)
    h_, w_ = x.shape[2], x.shape[3]
    while i < out.size:
        n, c, oh, ow = _unravel4(i, out.shape)
        hs, ws = oh * sh - ph, ow * sw - pw
        he, we = min(hs + (kh - 1) * dh + 1, h_), min(ws + (kw - 1) * dw + 1, w_)
        while hs < 0:
            hs += dh
        while ws < 0:
            ws += dw
        # PyTorch's rule: start from -inf at the first tap inside x; a larger value or any NaN
        # takes over (ties keep the first, the last NaN wins)
        best = -math.inf
        arg = hs * w_ + ws
        for ih in range(hs, he, dh):
            for iw in range(ws, we, dw):
                v = x[n, c, ih, iw]
                if v > best or v != v:
                    best = v
                    arg = ih * w_ + iw
        out[n, c, oh, ow] = best
        indices[n, c, oh, ow] = arg
        i += cuda.gridsize(1)


@cuda.jit
def _max_pool2d_backward_kernel(grad_out, indices, grad_in, kh, kw, sh, sw, ph, pw, dh, dw):
    i = cuda.grid(1)
    oh_, ow_ = grad_out.shape[2], grad_out.shape[3]
    while i < grad_in.size:
        n, c, h, w = _unravel4(i, grad_in.shape)
        here = h * grad_in.shape[3] + w
        acc = 0.0
        # tap (a, b) of window (oh, ow) lands here when oh * sh - ph + a * dh == h: each tap
        # names at most one window, so the windows are visited once each
        for a in range(kh):
            top = h + ph - a * dh
            oh = top // sh
            if top < 0 or top - oh * sh != 0 or oh >= oh_:
                continue
            for b in range(kw):
                left = w + pw - b * dw
                ow = left // sw
                if left < 0 or left - ow * sw != 0 or ow >= ow_:
                    continue
                if indices[n, c, oh, ow] == here:
                    acc += grad_out[n, c, oh, ow]
        grad_in[n, c, h, w] = acc
        i += cuda.gridsize(1)


@cuda.jit
def _avg_pool2d_forward_kernel(x, out, kh, kw, sh, sw, ph, pw, count_include_pad,
                               divisor_override):
    i = cuda.grid(1)
    h_, w_ = x.shape[2], x.shape[3]
    while i < out.size:
        n, c, oh, ow = _unravel4(i, out.shape)
        hs, he, pool_h = _avg_window(oh, h_, kh, sh, ph)
        ws, we, pool_w = _avg_window(ow, w_, kw, sw, pw)
        acc = 0.0
        for ih in range(hs, he):
            for iw in range(ws, we):
                acc += x[n, c, ih, iw]
        if hs >= he or ws >= we:  # a window of padding only
            out[n, c, oh, ow] = 0
        else:
            out[n, c, oh, ow] = acc / _avg_divisor(hs, he, pool_h, ws, we, pool_w,
                                                   count_include_pad, divisor_override)
        i += cuda.gridsize(1)


@cuda.jit
def _avg_pool2d_backward_kernel(grad_out, grad_in, kh, kw, sh, sw, ph, pw, count_include_pad,
                                divisor_override):
    i = cuda.grid(1)
    h_, w_ = grad_in.shape[2], grad_in.shape[3]
    oh_, ow_ = grad_out.shape[2], grad_out.shape[3]
    while i < grad_in.size:
        n, c, h, w = _unravel4(i, grad_in.shape)
        oh_lo, oh_hi = _window_range(h, ph, kh, sh, oh_)
        ow_lo, ow_hi = _window_range(w, pw, kw, sw, ow_)
        acc = 0.0
        for oh in range(oh_lo, oh_hi + 1):
            hs, he, pool_h = _avg_window(oh, h_, kh, sh, ph)
            for ow in range(ow_lo, ow_hi + 1):
                ws, we, pool_w = _avg_window(ow, w_, kw, sw, pw)
                acc += grad_out[n, c, oh, ow] / _avg_divisor(hs, he, pool_h, ws, we, pool_w,
                                                             count_include_pad, divisor_override)
        grad_in[n, c, h, w] = acc
        i += cuda.gridsize(1)


@cuda.jit
def _adaptive_avg_pool2d_forward_kernel(x, out):
    i = cuda.grid(1)
    h_, w_ = x.shape[2], x.shape[3]
    oh_, ow_ = out.shape[2], out.shape[3]
    while i < out.size:
        n, c, oh, ow = _unravel4(i, out.shape)
        hs, he = _adaptive_start(oh, h_, oh_), _adaptive_end(oh, h_, oh_)
        ws, we = _adaptive_start(ow, w_, ow_), _adaptive_end(ow, w_, ow_)
        acc = 0.0
        for ih in range(hs, he):
            for iw in range(ws, we):
                acc += x[n, c, ih, iw]
        out[n, c, oh, ow] = acc / ((he - hs) * (we - ws))
        i += cuda.gridsize(1)


@cuda.jit
def _adaptive_avg_pool2d_backward_kernel(grad_out, grad_in):
    i = cuda.grid(1)
    h_, w_ = grad_in.shape[2], grad_in.shape[3]
    oh_, ow_ = grad_out.shape[2], grad_out.shape[3]
    while i < grad_in.size:
        n, c, h, w = _unravel4(i, grad_in.shape)
        acc = 0.0
        # windows holding h: start(oh) <= h < end(oh), i.e. h * OH // H <= oh < ceil((h+1) OH / H)
        for oh in range(h * oh_ // h_, min(_adaptive_end(h, oh_, h_), oh_)):
            rows = _adaptive_end(oh, h_, oh_) - _adaptive_start(oh, h_, oh_)
            for ow in range(w * ow_ // w_, min(_adaptive_end(w, ow_, w_), ow_)):
                cols = _adaptive_end(ow, w_, ow_) - _adaptive_start(ow, w_, ow_)
                acc += grad_out[n, c, oh, ow] / (rows * cols)
        grad_in[n, c, h, w] = acc
        i += cuda.gridsize(1)


@cuda.jit
def _adaptive_max_pool2d_forward_kernel(x, out, indices):
    i = cuda.grid(1)
    h_, w_ = x.shape[2], x.shape[3]
    oh_, ow_ = out.shape[2], out.shape[3]
    while i < out.size:
        n, c, oh, ow = _unravel4(i, out.shape)
        hs, he = _adaptive_start(oh, h_, oh_), _adaptive_end(oh, h_, oh_)
        ws, we = _adaptive_start(ow, w_, ow_), _adaptive_end(ow, w_, ow_)
        best = -math.inf  # the max_pool2d rule: first max, last NaN
        arg = hs * w_ + ws
        for ih in range(hs, he):
            for iw in range(ws, we):
                v = x[n, c, ih, iw]
                if v > best or v != v:
                    best = v
                    arg = ih * w_ + iw
        out[n, c, oh, ow] = best
        indices[n, c, oh, ow] = arg
        i += cuda.gridsize(1)


@cuda.jit
def _adaptive_max_pool2d_backward_kernel(grad_out, indices, grad_in):
    i = cuda.grid(1)
    h_, w_ = grad_in.shape[2], grad_in.shape[3]
    oh_, ow_ = grad_out.shape[2], grad_out.shape[3]
    while i < grad_in.size:
        n, c, h, w = _unravel4(i, grad_in.shape)
        here = h * w_ + w
        acc = 0.0
        for oh in range(h * oh_ // h_, min(_adaptive_end(h, oh_, h_), oh_)):
            for ow in range(w * ow_ // w_, min(_adaptive_end(w, ow_, w_), ow_)):
                if indices[n, c, oh, ow] == here:
                    acc += grad_out[n, c, oh, ow]
        grad_in[n, c, h, w] = acc
        i += cuda.gridsize(1)


def max_pool2d_forward(x, out, indices, kernel_size, stride, padding, dilation=(1, 1)):
    """out[n, c, oh, ow] = max of window (oh, ow) of x[n, c] (taps outside x do not count);
    indices = flat index h * W + w of that max: the first in row-major order among ties, the
    last NaN when the window holds NaN."""
    _max_pool2d_forward_kernel[grid(out.size)](x, out, indices, *kernel_size, *stride, *padding,
                                               *dilation)


def max_pool2d_backward(grad_out, indices, grad_in, kernel_size, stride, padding,
                        dilation=(1, 1)):
    """grad_in[n, c].flat[k] = sum of grad_out[n, c, oh, ow] over windows with indices == k."""
    _max_pool2d_backward_kernel[grid(grad_in.size)](grad_out, indices, grad_in, *kernel_size,
                                                    *stride, *padding, *dilation)


def avg_pool2d_forward(x, out, kernel_size, stride, padding, count_include_pad=True,
                       divisor_override=0):
    """out[n, c, oh, ow] = sum of window (oh, ow) of x[n, c] / divisor(oh, ow) (numpy_ref)."""
    _avg_pool2d_forward_kernel[grid(out.size)](x, out, *kernel_size, *stride, *padding,
                                               bool(count_include_pad),
                                               int(divisor_override or 0))


def avg_pool2d_backward(grad_out, grad_in, kernel_size, stride, padding, count_include_pad=True,
                        divisor_override=0):
    """grad_in[n, c, h, w] = sum of grad_out[n, c, oh, ow] / divisor(oh, ow) over the windows
    (oh, ow) that hold (h, w)."""
    _avg_pool2d_backward_kernel[grid(grad_in.size)](grad_out, grad_in, *kernel_size, *stride,
                                                    *padding, bool(count_include_pad),
                                                    int(divisor_override or 0))


def adaptive_avg_pool2d_forward(x, out):
    """out[n, c, oh, ow] = mean of adaptive window (oh, ow) of x[n, c]."""
    _adaptive_avg_pool2d_forward_kernel[grid(out.size)](x, out)


def adaptive_avg_pool2d_backward(grad_out, grad_in):
    """grad_in[n, c, h, w] = sum of grad_out / window size over the windows that hold (h, w)."""
    _adaptive_avg_pool2d_backward_kernel[grid(grad_in.size)](grad_out, grad_in)


def adaptive_max_pool2d_forward(x, out, indices):
    """out = max of each adaptive window; indices = flat plane index of that max."""
    _adaptive_max_pool2d_forward_kernel[grid(out.size)](x, out, indices)


def adaptive_max_pool2d_backward(grad_out, indices, grad_in):
    """grad_in[n, c].flat[k] = sum of grad_out[n, c, oh, ow] over windows with indices == k."""
    _adaptive_max_pool2d_backward_kernel[grid(grad_in.size)](grad_out, indices, grad_in)
