"""Numba twins of numpy_ref/pool.py: ``prange`` over (n, c) planes, each iteration owning its
output plane (backward: its input-gradient plane, zeroed and accumulated while in L1)."""

import numpy as np
from numba import prange

from ._jit import serial_and_parallel


@serial_and_parallel()
def _max_pool2d_forward(x, out, indices, neg_inf, kh, kw, sh, sw, ph, pw):
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for t in prange(planes):
        src = x[t]
        for oh in range(oh_):
            h0 = oh * sh - ph
            hs, he = max(h0, 0), min(h0 + kh, h)
            for ow in range(ow_):
                w0 = ow * sw - pw
                ws, we = max(w0, 0), min(w0 + kw, w)
                # PyTorch's rule: start at the first tap inside x with -inf (in x's dtype); a
                # strictly larger value or any NaN takes over (ties keep the first, the last
                # NaN wins).
                best = neg_inf
                arg = hs * w + ws
                for ih in range(hs, he):
                    row = src[ih]
                    for iw in range(ws, we):
                        v = row[iw]
                        if v > best or v != v:
                            best = v
                            arg = ih * w + iw
                out[t, oh, ow] = best
                indices[t, oh, ow] = arg


@serial_and_parallel()
def _max_pool2x2_forward(x, out, indices):
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for t in prange(planes):
        for oh in range(oh_):
            r0 = x[t, 2 * oh]
            r1 = x[t, 2 * oh + 1]
            dst = out[t, oh]
            idx = indices[t, oh]
            base = 2 * oh * w
            for ow in range(ow_):
                # The general rule unrolled over taps a b / c d (first max, last NaN wins).
                best = r0[2 * ow]
                arg = base + 2 * ow
                v = r0[2 * ow + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                arg = base + 2 * ow + 1 if take else arg
                v = r1[2 * ow]
                take = (v > best) | (v != v)
                best = v if take else best
                arg = base + w + 2 * ow if take else arg
                v = r1[2 * ow + 1]
                take = (v > best) | (v != v)
                best = v if take else best
                arg = base + w + 2 * ow + 1 if take else arg
                dst[ow] = best
                idx[ow] = arg


@serial_and_parallel()
def _max_pool2d_backward(grad_out, indices, grad_in):
    planes, p_ = grad_out.shape
    for t in prange(planes):
        dst = grad_in[t]
        dst[:] = 0
        g = grad_out[t]
        idx = indices[t]
        for p in range(p_):
            dst[idx[p]] += g[p]


@serial_and_parallel()
def _avg_pool2d_forward(x, out, kh, kw, sh, sw, ph, pw):
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    scale = 1.0 / (kh * kw)
    for t in prange(planes):
        src = x[t]
        for oh in range(oh_):
            h0 = oh * sh - ph
            hs, he = max(h0, 0), min(h0 + kh, h)
            for ow in range(ow_):
                w0 = ow * sw - pw
                ws, we = max(w0, 0), min(w0 + kw, w)
                acc = 0.0
                for ih in range(hs, he):
                    row = src[ih]
                    for iw in range(ws, we):
                        acc += row[iw]
                out[t, oh, ow] = acc * scale


@serial_and_parallel()
def _avg_pool2d_backward(grad_out, grad_in, kh, kw, sh, sw, ph, pw):
    planes, h, w = grad_in.shape
    oh_, ow_ = grad_out.shape[1], grad_out.shape[2]
    scale = 1.0 / (kh * kw)
    for t in prange(planes):
        dst = grad_in[t]
        dst[:, :] = 0
        g = grad_out[t]
        for oh in range(oh_):
            h0 = oh * sh - ph
            hs, he = max(h0, 0), min(h0 + kh, h)
            for ow in range(ow_):
                w0 = ow * sw - pw
                ws, we = max(w0, 0), min(w0 + kw, w)
                share = g[oh, ow] * scale
                for ih in range(hs, he):
                    row = dst[ih]
                    for iw in range(ws, we):
                        row[iw] += share


def _planes(array, flat=False):
    """(N * C, H, W) view, or (N * C, H * W) with ``flat``; outputs must be C-contiguous."""
    if not array.flags.c_contiguous:
        raise ValueError("pool kernels take C-contiguous arrays")
    n, c, h, w = array.shape
    return array.reshape(n * c, h * w) if flat else array.reshape(n * c, h, w)


def max_pool2d_forward(x, out, indices, kernel_size, stride, padding):
    if kernel_size == stride == (2, 2) and padding == (0, 0):
        # The usual 2x2 pooling: unrolled taps, no window clipping (3.5x faster).
        _max_pool2x2_forward.run(x.size, _planes(x), _planes(out), _planes(indices))
        return
    _max_pool2d_forward.run(x.size, _planes(x), _planes(out), _planes(indices),
                            x.dtype.type(-np.inf), *kernel_size, *stride, *padding)


def max_pool2d_backward(grad_out, indices, grad_in, kernel_size, stride, padding):
    _max_pool2d_backward.run(grad_in.size, _planes(grad_out, True), _planes(indices, True),
                             _planes(grad_in, True))


def avg_pool2d_forward(x, out, kernel_size, stride, padding):
    _avg_pool2d_forward.run(x.size, _planes(x), _planes(out), *kernel_size, *stride, *padding)


def avg_pool2d_backward(grad_out, grad_in, kernel_size, stride, padding):
    _avg_pool2d_backward.run(grad_in.size, _planes(grad_out), _planes(grad_in), *kernel_size,
                             *stride, *padding)
