"""Numba twins of numpy_ref/conv.py.

Every kernel runs ``prange`` over an axis whose iterations own disjoint outputs: im2col and
col2im over (c, n) input planes (col2im accumulates the taps of one plane in a padded copy of
that plane, which stays in L1), the output reorder over (n, co), the gradient reorder and bias
sum over co. Copies are slice assignments or zero-based loops (``range(lo, hi)`` indexing
compiled to gathers here).
"""

import numpy as np
from numba import prange

from ._jit import serial_and_parallel


@serial_and_parallel()
def _im2col(x, cols, kh, kw, sh, sw, ph, pw, dh, dw):
    n_, c_, h, w = x.shape
    oh_, ow_ = cols.shape[2], cols.shape[3]
    # NOTE: n runs fastest so consecutive iterations write consecutive stretches of the same
    # cols rows; n-major order scattered the writes over every row (TLB misses, 2-8x slower).
    for t in prange(n_ * c_):
        c = t // n_
        n = t - c * n_
        # A zero-padded copy of the plane turns every tap into one branch-free strided copy.
        padded = np.zeros((h + 2 * ph, w + 2 * pw), x.dtype)
        padded[ph:ph + h, pw:pw + w] = x[n, c]
        for i in range(kh):
            for j in range(kw):
                cols[(c * kh + i) * kw + j, n] = padded[i * dh:i * dh + sh * (oh_ - 1) + 1:sh,
                                                        j * dw:j * dw + sw * (ow_ - 1) + 1:sw]


@serial_and_parallel()
def _col2im(cols, grad_in, kh, kw, sh, sw, ph, pw, dh, dw):
    n_, c_, h, w = grad_in.shape
    oh_, ow_ = cols.shape[2], cols.shape[3]
    for t in prange(n_ * c_):
        c = t // n_
        n = t - c * n_
        # Each iteration owns plane (n, c): taps accumulate in a padded copy that stays in L1.
        padded = np.zeros((h + 2 * ph, w + 2 * pw), grad_in.dtype)
        for i in range(kh):
            for j in range(kw):
                src = cols[(c * kh + i) * kw + j, n]
                # NOTE: explicit loops: a slice += here allocated a temporary (3x slower).
                for oh in range(oh_):
                    row = padded[i * dh + oh * sh]
                    part = src[oh]
                    if sw == 1:
                        seg = row[j * dw:j * dw + ow_]
                        for k in range(ow_):
                            seg[k] += part[k]
                    else:
                        for k in range(ow_):
                            row[j * dw + k * sw] += part[k]
        grad_in[n, c] = padded[ph:ph + h, pw:pw + w]


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
