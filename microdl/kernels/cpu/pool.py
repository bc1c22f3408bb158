"""Numba twins of numpy_ref/pool.py: loops over (n, c) planes (``prange``, or thread slices
for the max-pool kernels of a CNN step, see ``_jit.ThreadSlices``), each iteration owning its
output plane (backward: its input-gradient plane, zeroed and accumulated while in L1). Window
bounds and divisors as numpy_ref/pool.py states them."""

import numpy as np
from numba import njit, prange

from ._jit import serial_and_parallel, thread_slices


@serial_and_parallel()
def _max_pool2d_forward(x, out, indices, neg_inf, kh, kw, sh, sw, ph, pw, dh, dw):
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for t in prange(planes):
        src = x[t]
        for oh in range(oh_):
            hs = oh * sh - ph
            he = min(hs + (kh - 1) * dh + 1, h)
            while hs < 0:
                hs += dh
            for ow in range(ow_):
                ws = ow * sw - pw
                we = min(ws + (kw - 1) * dw + 1, w)
                while ws < 0:
                    ws += dw
                # PyTorch's rule: start at the first tap inside x with -inf (in x's dtype); a
                # strictly larger value or any NaN takes over (ties keep the first, the last
                # NaN wins).
                best = neg_inf
                arg = hs * w + ws
                for ih in range(hs, he, dh):
                    row = src[ih]
                    for iw in range(ws, we, dw):
                        v = row[iw]
                        if v > best or v != v:
                            best = v
                            arg = ih * w + iw
                out[t, oh, ow] = best
                indices[t, oh, ow] = arg


@thread_slices()
def _max_pool2x2_forward(x, out, indices, block, blocks):
    # The general rule unrolled over taps a b / c d. The arg-max is found after the max, as the
    # first tap equal to it (the one the rule keeps, ties to the first), by selects that LLVM
    # vectorizes: tracking it inside the max's chain kept this loop scalar, 5-10x slower. A row
    # whose max is NaN is redone with the rule's last-NaN-wins.
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for t in range(planes * block // blocks, planes * (block + 1) // blocks):
        for oh in range(oh_):
            r0 = x[t, 2 * oh]
            r1 = x[t, 2 * oh + 1]
            dst = out[t, oh]
            idx = indices[t, oh]
            base = 2 * oh * w
            any_nan = False
            for ow in range(ow_):
                a, b = r0[2 * ow], r0[2 * ow + 1]
                c, d = r1[2 * ow], r1[2 * ow + 1]
                m = b if (b > a) | (b != b) else a
                m = c if (c > m) | (c != c) else m
                m = d if (d > m) | (d != d) else m
                dst[ow] = m
                any_nan |= m != m
                i = base + 2 * ow
                k = i + w + 1
                k = i + w if c == m else k
                k = i + 1 if b == m else k
                idx[ow] = i if a == m else k
            if any_nan:
                for ow in range(ow_):
                    if dst[ow] != dst[ow]:
                        i = base + 2 * ow
                        k = i
                        k = i + 1 if r0[2 * ow + 1] != r0[2 * ow + 1] else k
                        k = i + w if r1[2 * ow] != r1[2 * ow] else k
                        idx[ow] = i + w + 1 if r1[2 * ow + 1] != r1[2 * ow + 1] else k


@thread_slices()
def _max_pool2d_backward(grad_out, indices, grad_in, block, blocks):
    planes, p_ = grad_out.shape
    for t in range(planes * block // blocks, planes * (block + 1) // blocks):
        dst = grad_in[t]
        dst[:] = 0
        g = grad_out[t]
        idx = indices[t]
        for p in range(p_):
            dst[idx[p]] += g[p]


@njit(inline="always", cache=True, error_model="numpy")
def _avg_window(o, size, k, s, p):
    """(first tap inside x, end inside x, pool size clipped to the padded input) of window o."""
    start = o * s - p
    end = min(start + k, size + p)
    return max(start, 0), min(end, size), end - start


@njit(inline="always", cache=True, error_model="numpy")
def _avg_divisor(hs, he, pool_h, ws, we, pool_w, count_include_pad, divisor_override):
    if divisor_override != 0:
        return float(divisor_override)
    if count_include_pad:
        return float(pool_h * pool_w)
    return float((he - hs) * (we - ws))


@serial_and_parallel()
def _avg_pool2d_forward(x, out, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override):
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for t in prange(planes):
        src = x[t]
        for oh in range(oh_):
            hs, he, pool_h = _avg_window(oh, h, kh, sh, ph)
            for ow in range(ow_):
                ws, we, pool_w = _avg_window(ow, w, kw, sw, pw)
                if hs >= he or ws >= we:  # a window of padding only
                    out[t, oh, ow] = 0
                    continue
                acc = 0.0
                for ih in range(hs, he):
                    row = src[ih]
                    for iw in range(ws, we):
                        acc += row[iw]
                out[t, oh, ow] = acc / _avg_divisor(hs, he, pool_h, ws, we, pool_w,
                                                    count_include_pad, divisor_override)


@serial_and_parallel()
def _avg_pool2d_backward(grad_out, grad_in, kh, kw, sh, sw, ph, pw, count_include_pad,
                         divisor_override):
    planes, h, w = grad_in.shape
    oh_, ow_ = grad_out.shape[1], grad_out.shape[2]
    for t in prange(planes):
        dst = grad_in[t]
        dst[:, :] = 0
        g = grad_out[t]
        for oh in range(oh_):
            hs, he, pool_h = _avg_window(oh, h, kh, sh, ph)
            for ow in range(ow_):
                ws, we, pool_w = _avg_window(ow, w, kw, sw, pw)
                if hs >= he or ws >= we:
                    continue
                share = g[oh, ow] / _avg_divisor(hs, he, pool_h, ws, we, pool_w,
                                                 count_include_pad, divisor_override)
                for ih in range(hs, he):
                    row = dst[ih]
                    for iw in range(ws, we):
                        row[iw] += share


@serial_and_parallel()
def _adaptive_avg_pool2d_forward(x, out):
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for t in prange(planes):
        src = x[t]
        for oh in range(oh_):
            hs, he = oh * h // oh_, ((oh + 1) * h + oh_ - 1) // oh_
            for ow in range(ow_):
                ws, we = ow * w // ow_, ((ow + 1) * w + ow_ - 1) // ow_
                acc = 0.0
                for ih in range(hs, he):
                    for iw in range(ws, we):
                        acc += src[ih, iw]
                out[t, oh, ow] = acc / ((he - hs) * (we - ws))


@serial_and_parallel()
def _adaptive_avg_pool2d_backward(grad_out, grad_in):
    planes, h, w = grad_in.shape
    oh_, ow_ = grad_out.shape[1], grad_out.shape[2]
    for t in prange(planes):
        dst = grad_in[t]
        dst[:, :] = 0
        for oh in range(oh_):
            hs, he = oh * h // oh_, ((oh + 1) * h + oh_ - 1) // oh_
            for ow in range(ow_):
                ws, we = ow * w // ow_, ((ow + 1) * w + ow_ - 1) // ow_
                share = grad_out[t, oh, ow] / ((he - hs) * (we - ws))
                for ih in range(hs, he):
                    for iw in range(ws, we):
                        dst[ih, iw] += share


@serial_and_parallel()
def _adaptive_max_pool2d_forward(x, out, indices, neg_inf):
    planes, h, w = x.shape
    oh_, ow_ = out.shape[1], out.shape[2]
    for t in prange(planes):
        src = x[t]
        for oh in range(oh_):
            hs, he = oh * h // oh_, ((oh + 1) * h + oh_ - 1) // oh_
            for ow in range(ow_):
                ws, we = ow * w // ow_, ((ow + 1) * w + ow_ - 1) // ow_
                best = neg_inf  # the max_pool2d rule: first max, last NaN
                arg = hs * w + ws
                for ih in range(hs, he):
                    for iw in range(ws, we):
                        v = src[ih, iw]
                        if v > best or v != v:
                            best = v
                            arg = ih * w + iw
                out[t, oh, ow] = best
                indices[t, oh, ow] = arg


def _planes(array, flat=False):
    """(N * C, H, W) view, or (N * C, H * W) with ``flat``; outputs must be C-contiguous."""
    if not array.flags.c_contiguous:
        raise ValueError("pool kernels take C-contiguous arrays")
    n, c, h, w = array.shape
    return array.reshape(n * c, h * w) if flat else array.reshape(n * c, h, w)


def max_pool2d_forward(x, out, indices, kernel_size, stride, padding, dilation=(1, 1)):
    if (kernel_size == stride == (2, 2) and padding == (0, 0) and dilation == (1, 1)
            and 2 * out.shape[2] <= x.shape[2] and 2 * out.shape[3] <= x.shape[3]):
        # The usual 2x2 pooling: unrolled taps, no window clipping, vectorized.
        _max_pool2x2_forward.run(x.size, _planes(x), _planes(out), _planes(indices))
        return
    _max_pool2d_forward.run(x.size, _planes(x), _planes(out), _planes(indices),
                            x.dtype.type(-np.inf), *kernel_size, *stride, *padding, *dilation)


def max_pool2d_backward(grad_out, indices, grad_in, kernel_size, stride, padding,
                        dilation=(1, 1)):
    _max_pool2d_backward.run(grad_in.size, _planes(grad_out, True), _planes(indices, True),
                             _planes(grad_in, True))


def avg_pool2d_forward(x, out, kernel_size, stride, padding, count_include_pad=True,
                       divisor_override=0):
    _avg_pool2d_forward.run(x.size, _planes(x), _planes(out), *kernel_size, *stride, *padding,
                            bool(count_include_pad), int(divisor_override or 0))


def avg_pool2d_backward(grad_out, grad_in, kernel_size, stride, padding, count_include_pad=True,
                        divisor_override=0):
    _avg_pool2d_backward.run(grad_in.size, _planes(grad_out), _planes(grad_in), *kernel_size,
                             *stride, *padding, bool(count_include_pad),
                             int(divisor_override or 0))


def adaptive_avg_pool2d_forward(x, out):
    _adaptive_avg_pool2d_forward.run(x.size, _planes(x), _planes(out))


def adaptive_avg_pool2d_backward(grad_out, grad_in):
    _adaptive_avg_pool2d_backward.run(grad_in.size, _planes(grad_out), _planes(grad_in))


def adaptive_max_pool2d_forward(x, out, indices):
    _adaptive_max_pool2d_forward.run(x.size, _planes(x), _planes(out), _planes(indices),
                                     x.dtype.type(-np.inf))


def adaptive_max_pool2d_backward(grad_out, indices, grad_in):
    # the same scatter as max pooling: each output's gradient goes to its recorded arg-max
    _max_pool2d_backward.run(grad_in.size, _planes(grad_out, True), _planes(indices, True),
                             _planes(grad_in, True))
