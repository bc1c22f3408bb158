"""CUDA twins of numpy_ref/pool.py on (N, C, H, W) device arrays.

Forward: one thread per output value (grid-stride) scans its window. Backward gathers: one
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


@cuda.jit
def _max_pool2d_forward_kernel(x, out, indices, kh, kw, sh, sw, ph, pw):
    i = cuda.grid(1)
    h_, w_ = x.shape[2], x.shape[3]
    while i < out.size:
        n, c, oh, ow = _unravel4(i, out.shape)
        h0, w0 = oh * sh - ph, ow * sw - pw
        hs, he = max(h0, 0), min(h0 + kh, h_)
        ws, we = max(w0, 0), min(w0 + kw, w_)
        # PyTorch's rule: start from -inf at the first tap inside x; a larger value or any NaN
        # takes over (ties keep the first, the last NaN wins)
        best = -math.inf
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
def _max_pool2d_backward_kernel(grad_out, indices, grad_in, kh, kw, sh, sw, ph, pw):
    i = cuda.grid(1)
    oh_, ow_ = grad_out.shape[2], grad_out.shape[3]
    while i < grad_in.size:
        n, c, h, w = _unravel4(i, grad_in.shape)
        here = h * grad_in.shape[3] + w
        oh_lo, oh_hi = _window_range(h, ph, kh, sh, oh_)
        ow_lo, ow_hi = _window_range(w, pw, kw, sw, ow_)
        acc = 0.0
        for oh in range(oh_lo, oh_hi + 1):
            for ow in range(ow_lo, ow_hi + 1):
                if indices[n, c, oh, ow] == here:
                    acc += grad_out[n, c, oh, ow]
        grad_in[n, c, h, w] = acc
        i += cuda.gridsize(1)


@cuda.jit
def _avg_pool2d_forward_kernel(x, out, kh, kw, sh, sw, ph, pw):
    i = cuda.grid(1)
    h_, w_ = x.shape[2], x.shape[3]
    while i < out.size:
        n, c, oh, ow = _unravel4(i, out.shape)
        h0, w0 = oh * sh - ph, ow * sw - pw
        acc = 0.0
        for ih in range(max(h0, 0), min(h0 + kh, h_)):
            for iw in range(max(w0, 0), min(w0 + kw, w_)):
                acc += x[n, c, ih, iw]
        out[n, c, oh, ow] = acc / (kh * kw)
        i += cuda.gridsize(1)


@cuda.jit
def _avg_pool2d_backward_kernel(grad_out, grad_in, kh, kw, sh, sw, ph, pw):
    i = cuda.grid(1)
    oh_, ow_ = grad_out.shape[2], grad_out.shape[3]
    while i < grad_in.size:
        n, c, h, w = _unravel4(i, grad_in.shape)
        oh_lo, oh_hi = _window_range(h, ph, kh, sh, oh_)
        ow_lo, ow_hi = _window_range(w, pw, kw, sw, ow_)
        acc = 0.0
        for oh in range(oh_lo, oh_hi + 1):
            for ow in range(ow_lo, ow_hi + 1):
                acc += grad_out[n, c, oh, ow]
        grad_in[n, c, h, w] = acc / (kh * kw)
        i += cuda.gridsize(1)


def max_pool2d_forward(x, out, indices, kernel_size, stride, padding):
    """out[n, c, oh, ow] = max of window (oh, ow) of x[n, c] (padding is -inf); indices = flat
    index h * W + w of that max: the first in row-major order among ties, the last NaN when the
    window holds NaN."""
    _max_pool2d_forward_kernel[grid(out.size)](x, out, indices, *kernel_size, *stride, *padding)


def max_pool2d_backward(grad_out, indices, grad_in, kernel_size, stride, padding):
    """grad_in[n, c].flat[k] = sum of grad_out[n, c, oh, ow] over windows with indices == k."""
    _max_pool2d_backward_kernel[grid(grad_in.size)](grad_out, indices, grad_in, *kernel_size,
                                                    *stride, *padding)


def avg_pool2d_forward(x, out, kernel_size, stride, padding):
    """out[n, c, oh, ow] = sum of window (oh, ow) of x[n, c] (padding is 0) / (kh * kw)."""
    _avg_pool2d_forward_kernel[grid(out.size)](x, out, *kernel_size, *stride, *padding)


def avg_pool2d_backward(grad_out, grad_in, kernel_size, stride, padding):
    """grad_in[n, c, h, w] = sum of grad_out[n, c, oh, ow] / (kh * kw) over the windows
    (oh, ow) that hold (h, w)."""
    _avg_pool2d_backward_kernel[grid(grad_in.size)](grad_out, grad_in, *kernel_size, *stride,
                                                    *padding)
