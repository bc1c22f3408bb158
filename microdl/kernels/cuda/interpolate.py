"""CUDA twins of numpy_ref/interpolate.py on (P, H, W) device arrays, tables on the device.

Forward: one thread per output value (grid-stride). Backward gathers: one thread per input row
(p, h) walks the output rows that read it, in increasing order, and owns grad_in[p, h], so
there are no atomics and the sums are the same from run to run.
"""

from numba import cuda

from ._launch import grid


@cuda.jit
def _nearest2d_forward_kernel(x, out, rows, cols):
    i = cuda.grid(1)
    oh_, ow_ = out.shape[1], out.shape[2]
    while i < out.size:
        p, rest = i // (oh_ * ow_), i % (oh_ * ow_)
        oh, ow = rest // ow_, rest % ow_
        out[p, oh, ow] = x[p, rows[oh], cols[ow]]
        i += cuda.gridsize(1)


@cuda.jit
def _nearest2d_backward_kernel(grad_out, grad_in, rows, cols):
    t = cuda.grid(1)
    h_, w_ = grad_in.shape[1], grad_in.shape[2]
    while t < grad_in.shape[0] * h_:
        p, h = t // h_, t % h_
        for w in range(w_):
            grad_in[p, h, w] = 0
        for i in range(grad_out.shape[1]):
            if rows[i] == h:
                for j in range(grad_out.shape[2]):
                    grad_in[p, h, cols[j]] += grad_out[p, i, j]
        t += cuda.gridsize(1)


@cuda.jit
def _bilinear2d_forward_kernel(x, out, rows, row_weights, cols, col_weights):
    i = cuda.grid(1)
    oh_, ow_ = out.shape[1], out.shape[2]
    while i < out.size:
        p, rest = i // (oh_ * ow_), i % (oh_ * ow_)
        oh, ow = rest // ow_, rest % ow_
        h0, h1, w0, w1 = rows[oh, 0], rows[oh, 1], cols[ow, 0], cols[ow, 1]
        cw0, cw1 = col_weights[ow, 0], col_weights[ow, 1]
        out[p, oh, ow] = (x[p, h0, w0] * cw0 + x[p, h0, w1] * cw1) * row_weights[oh, 0] \
            + (x[p, h1, w0] * cw0 + x[p, h1, w1] * cw1) * row_weights[oh, 1]
        i += cuda.gridsize(1)


@cuda.jit
def _bilinear2d_backward_kernel(grad_out, grad_in, rows, row_weights, cols, col_weights):
    t = cuda.grid(1)
    h_, w_ = grad_in.shape[1], grad_in.shape[2]
    while t < grad_in.shape[0] * h_:
        p, h = t // h_, t % h_
        for w in range(w_):
            grad_in[p, h, w] = 0
        for i in range(grad_out.shape[1]):
            for k in range(2):
                if rows[i, k] == h:
                    rw = row_weights[i, k]
                    for j in range(grad_out.shape[2]):
                        g = grad_out[p, i, j] * rw
                        grad_in[p, h, cols[j, 0]] += g * col_weights[j, 0]
                        grad_in[p, h, cols[j, 1]] += g * col_weights[j, 1]
        t += cuda.gridsize(1)


def nearest2d_forward(x, out, rows, cols):
    """out[p, i, j] = x[p, rows[i], cols[j]]."""
    _nearest2d_forward_kernel[grid(out.size)](x, out, rows, cols)


def nearest2d_backward(grad_out, grad_in, rows, cols):
    """grad_in[p, h, w] = sum of grad_out[p, i, j] over rows[i] == h and cols[j] == w."""
    _nearest2d_backward_kernel[grid(grad_in.shape[0] * grad_in.shape[1])](grad_out, grad_in,
                                                                          rows, cols)


def bilinear2d_forward(x, out, rows, row_weights, cols, col_weights):
    """out = (x[h0, w0] cw0 + x[h0, w1] cw1) rw0 + (x[h1, w0] cw0 + x[h1, w1] cw1) rw1."""
    _bilinear2d_forward_kernel[grid(out.size)](x, out, rows, row_weights, cols, col_weights)


def bilinear2d_backward(grad_out, grad_in, rows, row_weights, cols, col_weights):
    """grad_in[p, rows[i, k], cols[j, l]] += grad_out[p, i, j] rw[i, k] cw[j, l]."""
    _bilinear2d_backward_kernel[grid(grad_in.shape[0] * grad_in.shape[1])](
        grad_out, grad_in, rows, row_weights, cols, col_weights)
