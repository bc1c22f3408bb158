"""Numba twins of numpy_ref/conv.py.

Every kernel runs ``prange`` over an axis whose iterations own disjoint outputs: im2col and
col2im over (n, c) input planes (col2im accumulates the taps of one plane in that plane, which
stays in L1), the output reorder over (n, co), the gradient reorder and bias sum over co. Inner
loops are zero-based over row slices (``range(lo, hi)`` indexing compiles to gathers here).
"""

import numpy as np
from numba import prange

from ._jit import serial_and_parallel


@serial_and_parallel()
def _im2col(x, cols, kh, kw, sh, sw, ph, pw, dh, dw):
    n_, c_, h, w = x.shape
    oh_, ow_ = cols.shape[2], cols.shape[3]
    for t in prange(n_ * c_):
        n = t // c_
        c = t - n * c_
        for i in range(kh):
            for j in range(kw):
                dst = cols[(c * kh + i) * kw + j, n]
                off = j * dw - pw
                # Output columns [lo, hi) read inside the row; the rest read padding.
                lo = 0 if off >= 0 else (sw - 1 - off) // sw
                hi = min(ow_, (w - 1 - off) // sw + 1) if w - 1 - off >= 0 else 0
                for oh in range(oh_):
                    ih = oh * sh - ph + i * dh
                    row = dst[oh]
                    if ih < 0 or ih >= h or hi <= lo:
                        row[:] = 0
                        continue
                    row[:lo] = 0
                    row[hi:] = 0
                    src = x[n, c, ih]
                    start = lo * sw + off
                    seg = row[lo:hi]
                    if sw == 1:
                        part = src[start:start + hi - lo]
                        for k in range(hi - lo):
                            seg[k] = part[k]
                    else:
                        for k in range(hi - lo):
                            seg[k] = src[start + k * sw]


@serial_and_parallel()
def _col2im(cols, grad_in, kh, kw, sh, sw, ph, pw, dh, dw):
    n_, c_, h, w = grad_in.shape
    oh_, ow_ = cols.shape[2], cols.shape[3]
    for t in prange(n_ * c_):
        n = t // c_
        c = t - n * c_
        plane = grad_in[n, c]
        plane[:, :] = 0
        for i in range(kh):
            for j in range(kw):
                src = cols[(c * kh + i) * kw + j, n]
                off = j * dw - pw
                lo = 0 if off >= 0 else (sw - 1 - off) // sw
                hi = min(ow_, (w - 1 - off) // sw + 1) if w - 1 - off >= 0 else 0
                if hi <= lo:
                    continue
                start = lo * sw + off
                for oh in range(oh_):
                    ih = oh * sh - ph + i * dh
                    if ih < 0 or ih >= h:
                        continue
                    seg = src[oh, lo:hi]
                    dst = plane[ih]
                    if sw == 1:
                        part = dst[start:start + hi - lo]
                        for k in range(hi - lo):
                            part[k] += seg[k]
                    else:
                        for k in range(hi - lo):
                            dst[start + k * sw] += seg[k]


@serial_and_parallel()
def _cols_to_output(y_cols, bias, out):
    cout, n_, p_ = y_cols.shape
    for t in prange(n_ * cout):
        n = t // cout
        co = t - n * cout
        src = y_cols[co, n]
        dst = out[n, co]
        b = bias[co]
        for p in range(p_):
            dst[p] = src[p] + b


@serial_and_parallel()
def _output_grad_to_cols(grad_out, grad_cols, grad_bias):
    n_, cout, p_ = grad_out.shape
    for co in prange(cout):
        # NOTE: one float64 partial sum per position keeps the inner loop free of a serial
        # dependence (it vectorizes); the positions are summed once at the end.
        acc = np.zeros(p_, np.float64)
        for n in range(n_):
            src = grad_out[n, co]
            dst = grad_cols[co, n]
            for p in range(p_):
                v = src[p]
                dst[p] = v
                acc[p] += v
        grad_bias[co] = acc.sum()


def _rows(array, shape):
    """A reshaped view of a C-contiguous output buffer (a copy would lose the writes)."""
    if not array.flags.c_contiguous:
        raise ValueError("kernel outputs must be C-contiguous buffers")
    return array.reshape(shape)


def im2col(x, cols, kernel_size, stride, padding, dilation):
    _im2col.run(cols.size, x, cols, *kernel_size, *stride, *padding, *dilation)


def col2im(cols, grad_in, kernel_size, stride, padding, dilation):
    _col2im.run(cols.size, cols, grad_in, *kernel_size, *stride, *padding, *dilation)


def cols_to_output(y_cols, bias, out):
    cout, n = y_cols.shape[:2]
    _cols_to_output.run(out.size, y_cols.reshape(cout, n, -1), bias.astype(out.dtype),
                        _rows(out, (n, cout, -1)))


def output_grad_to_cols(grad_out, grad_cols, grad_bias):
    n, cout = grad_out.shape[:2]
    _output_grad_to_cols.run(grad_out.size, np.ascontiguousarray(grad_out).reshape(n, cout, -1),
                             _rows(grad_cols, (cout, n, -1)), grad_bias)
