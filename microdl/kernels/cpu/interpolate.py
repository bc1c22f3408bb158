"""Numba twins of numpy_ref/interpolate.py. Forward: ``prange`` over planes, each iteration
writing its output plane. Backward gathers per input row: iteration (p, h) owns grad_in[p, h],
walks the output rows that read input row h (in increasing order) and adds their
contributions, so no two iterations write one value and the sums do not depend on the thread
count."""

from numba import prange

from ._jit import serial_and_parallel


@serial_and_parallel()
def _nearest2d_forward(x, out, rows, cols):
    planes, oh_, ow_ = out.shape
    for p in prange(planes):
        for i in range(oh_):
            src = x[p, rows[i]]
            dst = out[p, i]
            for j in range(ow_):
                dst[j] = src[cols[j]]


@serial_and_parallel()
def _nearest2d_backward(grad_out, grad_in, rows, cols):
    planes, h_, w_ = grad_in.shape
    oh_, ow_ = grad_out.shape[1], grad_out.shape[2]
    for t in prange(planes * h_):
        p, h = t // h_, t % h_
        dst = grad_in[p, h]
        dst[:] = 0
        for i in range(oh_):
            if rows[i] == h:
                src = grad_out[p, i]
                for j in range(ow_):
                    dst[cols[j]] += src[j]


@serial_and_parallel()
def _bilinear2d_forward(x, out, rows, row_weights, cols, col_weights):
    planes, oh_, ow_ = out.shape
    for p in prange(planes):
        for i in range(oh_):
            top, bottom = x[p, rows[i, 0]], x[p, rows[i, 1]]
            rw0, rw1 = row_weights[i, 0], row_weights[i, 1]
            dst = out[p, i]
            for j in range(ow_):
                w0, w1 = cols[j, 0], cols[j, 1]
                cw0, cw1 = col_weights[j, 0], col_weights[j, 1]
                dst[j] = (top[w0] * cw0 + top[w1] * cw1) * rw0 \
                    + (bottom[w0] * cw0 + bottom[w1] * cw1) * rw1


@serial_and_parallel()
def _bilinear2d_backward(grad_out, grad_in, rows, row_weights, cols, col_weights):
    planes, h_, w_ = grad_in.shape
    oh_, ow_ = grad_out.shape[1], grad_out.shape[2]
    for t in prange(planes * h_):
        p, h = t // h_, t % h_
        dst = grad_in[p, h]
        dst[:] = 0
        for i in range(oh_):
            for k in range(2):
                if rows[i, k] == h:
                    src = grad_out[p, i]
                    rw = row_weights[i, k]
                    for j in range(ow_):
                        g = src[j] * rw
                        dst[cols[j, 0]] += g * col_weights[j, 0]
                        dst[cols[j, 1]] += g * col_weights[j, 1]


def nearest2d_forward(x, out, rows, cols):
    _nearest2d_forward.run(out.size, x, out, rows, cols)


def nearest2d_backward(grad_out, grad_in, rows, cols):
    _nearest2d_backward.run(grad_out.size, grad_out, grad_in, rows, cols)


def bilinear2d_forward(x, out, rows, row_weights, cols, col_weights):
    _bilinear2d_forward.run(out.size, x, out, rows, row_weights, cols, col_weights)


def bilinear2d_backward(grad_out, grad_in, rows, row_weights, cols, col_weights):
    _bilinear2d_backward.run(grad_out.size, grad_out, grad_in, rows, row_weights, cols,
                             col_weights)
