"""CUDA twins of numpy_ref/conv.py: the same im2col + one product per group, with matmul.py's
tiled GEMM for the products.

im2col writes one column value per thread; col2im gathers (one thread per input-gradient value
sums the column entries that im2col read from it), so it needs no atomics. The bias gradient is
a per-channel reduction: one block per output channel and a shared-memory tree. The product
layouts (y_cols, dY, dcols) are scratch device arrays of each call.
"""

from numba import cuda, float64

from . import elementwise, matmul, memory
from ._launch import grid, specialized, tree_threads


def conv2d_forward(x, weight, bias, out, cols, stride, padding, dilation, groups):
    """As numpy_ref: cols = im2col(x), Y_g = W_g @ cols_g (one GEMM per group),
    out = Y reordered + bias (none when bias is None)."""
    cout = weight.shape[0]
    im2col(x, cols, tuple(weight.shape[2:]), stride, padding, dilation)
    y_cols = memory.empty((cout,) + tuple(cols.shape[1:]), out.dtype)
    _gemm_per_group(weight, cols, y_cols, groups)
    if bias is None:
        bias = memory.empty(cout, out.dtype)
        elementwise.fill(bias, 0)
    cols_to_output(y_cols, bias, out)


def conv2d_backward(x, cols, weight, grad_out, grad_x, grad_weight, grad_bias, stride, padding,
                    dilation, groups):
    """As numpy_ref: dY = grad_out reordered (and grad_bias, its sums), dW_g = dY_g @ cols_g^T,
    dcols_g = W_g^T @ dY_g, grad_x = col2im(dcols); None outputs are not computed (x unused)."""
    cout, kernel_size = weight.shape[0], tuple(weight.shape[2:])
    dy = memory.empty((cout, grad_out.shape[0]) + tuple(grad_out.shape[2:]), grad_out.dtype)
    db = memory.empty(cout, grad_out.dtype) if grad_bias is None else grad_bias
    output_grad_to_cols(grad_out, dy, db)
    if grad_weight is not None:
        _gemm_per_group(dy, cols, grad_weight, groups, transpose_b=True)
    if grad_x is not None:
        taps = grad_x.shape[1] * kernel_size[0] * kernel_size[1]
        dcols = memory.empty((taps,) + tuple(dy.shape[1:]), dy.dtype)
        _gemm_per_group(weight, dy, dcols, groups, transpose_a=True)
        col2im(dcols, grad_x, kernel_size, stride, padding, dilation)


def _gemm_per_group(a, b, out, groups, transpose_a=False, transpose_b=False):
    """out_g = op(a_g) @ op(b_g) over the row blocks of a, b and out, each seen as a (rows,
    columns) matrix (one GEMM per group)."""
    a, b, out = (_matrix(m) for m in (a, b, out))
    ra, rb, ro = a.shape[0] // groups, b.shape[0] // groups, out.shape[0] // groups
    no_bias = memory.empty(0, out.dtype)
    for g in range(groups):
        matmul.gemm(a[g * ra:(g + 1) * ra], b[g * rb:(g + 1) * rb], no_bias,
                    out[g * ro:(g + 1) * ro], transpose_a, transpose_b)


def _matrix(array):
    return array.reshape(array.shape[0], array.size // array.shape[0])


@cuda.jit
def _im2col_kernel(x, cols, kh, kw, sh, sw, ph, pw, dh, dw):
    # cols (C * kh * kw, N, OH, OW)
    i = cuda.grid(1)
    n_, c_, h_, w_ = x.shape
    oh_, ow_ = cols.shape[2], cols.shape[3]
    while i < cols.size:
        ow = i % ow_
        t = i // ow_
        oh = t % oh_
        t //= oh_
        n = t % n_
        row = t // n_
        j = row % kw
        tap = row // kw
        ki = tap % kh
        c = tap // kh
        h = oh * sh - ph + ki * dh
        w = ow * sw - pw + j * dw
        cols[row, n, oh, ow] = x[n, c, h, w] if (0 <= h < h_ and 0 <= w < w_) else 0
        i += cuda.gridsize(1)


@cuda.jit
def _col2im_kernel(cols, grad_in, kh, kw, sh, sw, ph, pw, dh, dw):
    i = cuda.grid(1)
    n_, c_, h_, w_ = grad_in.shape
    oh_, ow_ = cols.shape[2], cols.shape[3]
    while i < grad_in.size:
        w = i % w_
        t = i // w_
        h = t % h_
        t //= h_
        c = t % c_
        n = t // c_
        acc = 0.0
        for ki in range(kh):
            top = h + ph - ki * dh
            if top >= 0 and top % sh == 0 and top // sh < oh_:
                oh = top // sh
                for j in range(kw):
                    left = w + pw - j * dw
                    if left >= 0 and left % sw == 0 and left // sw < ow_:
                        acc += cols[(c * kh + ki) * kw + j, n, oh, left // sw]
        grad_in[n, c, h, w] = acc
        i += cuda.gridsize(1)


@cuda.jit
def _cols_to_output_kernel(y_cols, bias, out):
    i = cuda.grid(1)
    n_, c_, oh_, ow_ = out.shape
    while i < out.size:
        ow = i % ow_
        t = i // ow_
        oh = t % oh_
        t //= oh_
        co = t % c_
        n = t // c_
        out[n, co, oh, ow] = y_cols[co, n, oh, ow] + bias[co]
        i += cuda.gridsize(1)


@cuda.jit
def _grad_to_cols_kernel(grad_out, grad_cols):
    i = cuda.grid(1)
    c_, n_, oh_, ow_ = grad_cols.shape
    while i < grad_cols.size:
        ow = i % ow_
        t = i // ow_
        oh = t % oh_
        t //= oh_
        n = t % n_
        co = t // n_
        grad_cols[co, n, oh, ow] = grad_out[n, co, oh, ow]
        i += cuda.gridsize(1)


def _build_bias_sum(threads):
    @cuda.jit
    def kernel(grad_out, grad_bias):
        acc = cuda.shared.array(threads, float64)
        t, co = cuda.threadIdx.x, cuda.blockIdx.x
        n_, plane = grad_out.shape[0], grad_out.shape[2] * grad_out.shape[3]
        ow_ = grad_out.shape[3]
        total = 0.0
        k = t
        while k < n_ * plane:
            n = k // plane
            p = k - n * plane
            total += grad_out[n, co, p // ow_, p % ow_]
            k += threads
        acc[t] = total
        cuda.syncthreads()
        step = threads // 2
        while step > 0:
            if t < step:
                acc[t] += acc[t + step]
            cuda.syncthreads()
            step //= 2
        if t == 0:
            grad_bias[co] = acc[0]
    return kernel


def im2col(x, cols, kernel_size, stride, padding, dilation):
    """cols[(c, i, j), n, oh, ow] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside x)."""
    _im2col_kernel[grid(cols.size)](x, cols, *kernel_size, *stride, *padding, *dilation)


def col2im(cols, grad_in, kernel_size, stride, padding, dilation):
    """grad_in[n, c, h, w] = sum of cols[(c, i, j), n, oh, ow] over every (i, j, oh, ow) that
    im2col read from x[n, c, h, w]: the adjoint of im2col."""
    _col2im_kernel[grid(grad_in.size)](cols, grad_in, *kernel_size, *stride, *padding,
                                       *dilation)


def cols_to_output(y_cols, bias, out):
    """out[n, co, oh, ow] = y_cols[co, n, oh, ow] + bias[co]."""
    _cols_to_output_kernel[grid(out.size)](y_cols, bias, out)


def output_grad_to_cols(grad_out, grad_cols, grad_bias):
    """grad_cols[co, n, oh, ow] = grad_out[n, co, oh, ow];
    grad_bias[co] = sum of grad_out[:, co] (accumulated in float64)."""
    threads = tree_threads()  # checked before any launch
    _grad_to_cols_kernel[grid(grad_cols.size)](grad_out, grad_cols)
    specialized(_build_bias_sum, threads)[grad_out.shape[1], threads](grad_out, grad_bias)
