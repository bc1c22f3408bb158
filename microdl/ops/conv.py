"""2-D convolution: im2col into a column buffer, one BLAS product for the whole batch, a reorder.

With K = C/groups * kh * kw and the column matrix cols (C * kh * kw, N * OH * OW) from im2col,
each group g computes Y_g = W_g @ cols_g, W_g (Cout/groups, K) being the group's filters as rows
and cols_g the group's block of rows. Backward, with dY_g the gradient in the same layout:
dW_g = dY_g @ cols_g^T, dcols_g = W_g^T @ dY_g, dx = col2im(dcols), db = sum of dY over N, OH, OW.

Column buffers and outputs come from ``microdl._buffers``, so a training loop does not allocate
(and page-fault) tens of MiB per step. Two other layouts compute the same products in sample
blocks, for speed: per sample for few-tap convolutions, and blocked (cols a block at a time, in
per-thread scratch) for many-tap ones; both are described where they are defined below.
"""

import math

import numpy as np

from .. import _buffers, backend
from ..kernels.cpu import _blas
from ..autograd import Function


def pair(value, name):
    """An int or a 2-sequence of ints as a (height, width) tuple."""
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise TypeError(f"{name} must be an int or a pair of ints (got {value!r})")
    return int(values[0]), int(values[1])


def conv2d_padding(padding, kernel_size, stride, dilation):
    """Symmetric (ph, pw) for conv2d plus the output rows/columns to drop at the start.

    "valid" is 0. "same" needs total padding d * (k - 1) per axis, split as PyTorch splits it:
    total // 2 before, the rest after; when the total is odd the op pads the larger half on
    both sides and the first output row (column) is dropped, which gives the same result.
    """
    if not isinstance(padding, str):
        return pair(padding, "padding"), (0, 0)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding != "same":
        raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', "
                         "'same']")
    if stride != (1, 1):
        raise ValueError("padding='same' is not supported for strided convolutions")
    totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
    return tuple(t - t // 2 for t in totals), tuple(t % 2 for t in totals)


def _shape_list(shape):
    return "[" + ", ".join(str(n) for n in shape) + "]"


def check_conv2d(x, weight, bias, stride, padding, dilation, groups):
    """Validate conv2d arguments as PyTorch words its errors; returns (OH, OW)."""
    if x.ndim != 4:
        raise RuntimeError("Expected 3D (unbatched) or 4D (batched) input to conv2d, but got "
                           f"input of size: {_shape_list(x.shape)} (the op supports only 4D "
                           "(N, C, H, W) input; F.conv2d runs a 3D input as a batch of one)")
    if weight.ndim != 4:
        raise RuntimeError("conv2d: expected a 4-D weight (out_channels, in_channels/groups, "
                           f"kH, kW), but got weight of size {_shape_list(weight.shape)}")
    if not np.issubdtype(x.dtype, np.floating):
        raise RuntimeError(f"conv2d: expected a floating point input, but got dtype {x.dtype} "
                           "(integer and boolean inputs are not supported)")
    if not (x.dtype == weight.dtype
            and (bias is None or bias.dtype == x.dtype)):
        raise RuntimeError(f"conv2d: input ({x.dtype}), weight ({weight.dtype}) and bias "
                           f"({None if bias is None else bias.dtype}) must share one floating "
                           "point dtype")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(padding) < 0:
        raise RuntimeError("negative padding is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("dilation should be greater than zero")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    cout = weight.shape[0]
    if cout % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {_shape_list(weight.shape)} "
                           "instead")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_list(weight.shape)}, "
                           f"expected input{_shape_list(x.shape)} to have "
                           f"{weight.shape[1] * groups} channels, but got {x.shape[1]} channels "
                           "instead")
    if bias is not None and bias.shape != (cout,):
        raise RuntimeError(f"Given weight of size {_shape_list(weight.shape)}, expected bias to "
                           f"be 1-dimensional with {cout} elements, but got bias of size "
                           f"{_shape_list(bias.shape)} instead")
    padded = [s + 2 * p for s, p in zip(x.shape[2:], padding)]
    spans = [d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation)]
    if padded[0] < spans[0] or padded[1] < spans[1]:
        raise RuntimeError(f"Calculated padded input size per channel: ({padded[0]} x "
                           f"{padded[1]}). Kernel size: ({spans[0]} x {spans[1]}). Kernel size "
                           "can't be greater than actual input size")
    return tuple((p - k) // s + 1 for p, k, s in zip(padded, spans, stride))


def _matmul_per_group(a, b, out, groups, transpose_a=False):
    """out_g = op(a_g) @ b_g for the row blocks of a, b, out (one BLAS call per group)."""
    for a_g, b_g, out_g in zip(np.split(a, groups), np.split(b, groups), np.split(out, groups)):
        _blas.matmul(a_g.T if transpose_a else a_g, b_g, out=out_g)


def _weight_grad_per_group(dy, cols, dw, groups):
    """dW_g = dY_g @ cols_g^T, computed as (cols_g @ dY_g^T)^T: OpenBLAS ran that orientation
    1.2x faster on one thread, and with two threads on a busy machine the direct one collapsed
    (2 against 61 GFLOP/s at 64x32x14x14->64)."""
    for dy_g, cols_g, dw_g in zip(np.split(dy, groups), np.split(cols, groups),
                                  np.split(dw, groups)):
        np.copyto(dw_g, _blas.matmul(cols_g, dy_g.T).T)


# The per-sample layout, for convolutions with few taps (C_in * kh * kw), like a first layer
# on images of 1 or 3 channels: with K = 9 the big product W @ cols has a 9-long inner dimension
# and dW's product a 9-row output, shapes BLAS runs at 15-35% of its peak, plus two reorder
# passes over the output. Per sample n instead: cols[n] (K, OH*OW) from im2col of x seen as one
# image with N * C_in channels (which gives exactly that layout), y[n] = W @ cols[n] + b written
# straight into the output, dW = sum over n of dy[n] @ cols[n]^T, dcols[n] = W^T @ dy[n].
# SAMPLE_BLOCKS fixed blocks of samples run on microdl's threads; the blocks' partial dW and db
# are added in block order, so the result does not depend on the thread count. In a CNN
# training step (conv 1->32 on 64 images of 28x28) this took the first layer from ~3.2 ms to
# ~0.9 ms.
PER_SAMPLE_MAX_TAPS = 32
SAMPLE_BLOCKS = 8


def _samples_as_channels(x):
    n, c, h, w = x.shape
    return x.reshape(1, n * c, h, w)


def _sample_block(i, n):
    return slice(n * i // SAMPLE_BLOCKS, n * (i + 1) // SAMPLE_BLOCKS)


def _per_sample_forward(w2, bias, cols, out3):
    def block(i):
        rows = _sample_block(i, len(cols))
        np.matmul(w2, cols[rows], out=out3[rows])
        if bias is not None:
            out3[rows] += bias.astype(out3.dtype, copy=False)[:, None]

    _blas.run_blocks(block, SAMPLE_BLOCKS)


def _per_sample_backward(ctx, kern, cols, weight, g):
    need_x, need_w, need_b = (tuple(ctx.needs_input_grad) + (False,) * 3)[:3]
    n, cout = g.shape[:2]
    g3 = np.ascontiguousarray(g).reshape(n, cout, -1)
    w2 = weight.reshape(cout, -1)
    dcols = _buffers.empty((n,) + w2.shape[1:] + g3.shape[2:], g3.dtype) if need_x else None

    def block(i):
        rows = _sample_block(i, n)
        if dcols is not None:
            np.matmul(w2.T, g3[rows], out=dcols[rows])
        dw = np.matmul(g3[rows], cols[rows].transpose(0, 2, 1)).sum(axis=0) if need_w else None
        db = g3[rows].sum(axis=2, dtype=np.float64).sum(axis=0) if need_b else None
        return dw, db

    partials = _blas.run_blocks(block, SAMPLE_BLOCKS)
    dw = db = dx = None
    if need_w:
        dw = sum(p[0] for p in partials).astype(weight.dtype, copy=False).reshape(weight.shape)
    if need_b:
        db = sum(p[1] for p in partials).astype(weight.dtype)
    if need_x:
        dx = _buffers.empty(ctx.x_shape, weight.dtype)
        kern.col2im(dcols.reshape(-1, 1, *g.shape[2:]), _samples_as_channels(dx), *ctx.geometry)
    return dx, dw, db


# The blocked layout, for convolutions with many taps, like the CNN's second layer (288 taps: its
# cols are 14 MB, 9x its input): cols never exist whole. SAMPLE_BLOCKS fixed blocks of samples run
# on microdl's threads, each through im2col -> product -> reorder in its thread's scratch buffers
# (~2 MB a block there), which stay in the caches instead of going to memory and back; backward
# rebuilds a block's cols from x (saved instead of cols) for dW. Partial dW and db are added in
# block order, and the layout is chosen whatever numba's thread count (with one thread the blocks
# run one after another), so results do not depend on the thread count. Measured on 64x32x14x14 ->
# 64 (3x3, padding 1) alone: forward 3.2 -> 2.8 ms, forward + backward 8.8 -> 8.2-8.6 ms (with one
# numba thread 16.4 -> 15.2 ms); in the CNN training step, where the 14 MB saved for backward also
# left the caches: 18.9 -> 17.2 ms. Products narrower than BLOCKED_MIN_COLUMNS a block stay whole
# (small products run below BLAS's speed), and so does everything when the user keeps BLAS threads
# to themselves (_blas.manages_blas): a multi-threaded BLAS on each block's product measured
# 1.1-1.6x slower than on one whole product. (A block's db is rounded to the weight's dtype before
# the blocks' float64 sum, so its last bits may differ from the other layouts'.)
BLOCKED_MIN_COLUMNS = 1024


def _blocked(n, out_hw, groups, taps):
    return (groups == 1 and taps > PER_SAMPLE_MAX_TAPS and n >= SAMPLE_BLOCKS
            and n // SAMPLE_BLOCKS * out_hw[0] * out_hw[1] >= BLOCKED_MIN_COLUMNS
            and _blas.manages_blas())


def _share_buffers(rows, n, columns, dtype):
    """One flat scratch buffer per thread of run_blocks that gets a block, for (rows, block
    samples, columns)."""
    most = -(-n // SAMPLE_BLOCKS)
    return [_buffers.empty((rows * most * columns,), dtype)
            for _ in range(min(_blas.shares(), SAMPLE_BLOCKS))]


def _in_share(buffers, i, shape):
    """Block i's scratch (its thread's buffer) viewed as ``shape``."""
    return buffers[i % len(buffers)][:math.prod(shape)].reshape(shape)


def _blocked_forward(kern, x, weight, bias, out, geometry):
    n, cout = len(x), weight.shape[0]
    w2 = weight.reshape(cout, -1)
    taps, (oh, ow) = w2.shape[1], out.shape[2:]
    cols_buffers = _share_buffers(taps, n, oh * ow, x.dtype)
    y_buffers = _share_buffers(cout, n, oh * ow, x.dtype)
    b = np.zeros(cout, x.dtype) if bias is None else bias

    def block(i):
        rows = _sample_block(i, n)
        count = rows.stop - rows.start
        cols = _in_share(cols_buffers, i, (taps, count, oh, ow))
        kern.im2col(x[rows], cols, *geometry)
        y = _in_share(y_buffers, i, (cout, count, oh, ow))
        np.matmul(w2, cols.reshape(taps, -1), out=y.reshape(cout, -1))
        kern.cols_to_output(y, b, out[rows])

    _blas.run_blocks(block, SAMPLE_BLOCKS)


def _blocked_backward(ctx, kern, x, weight, g):
    need_x, need_w, need_b = (tuple(ctx.needs_input_grad) + (False,) * 3)[:3]
    n, cout, oh, ow = g.shape
    w2 = weight.reshape(cout, -1)
    taps = w2.shape[1]
    g = np.ascontiguousarray(g)
    dy_buffers = _share_buffers(cout, n, oh * ow, weight.dtype)
    cols_buffers = _share_buffers(taps, n, oh * ow, weight.dtype) if need_w else None
    dcols_buffers = _share_buffers(taps, n, oh * ow, weight.dtype) if need_x else None
    dx = _buffers.empty(ctx.x_shape, weight.dtype) if need_x else None

    def block(i):
        rows = _sample_block(i, n)
        count = rows.stop - rows.start
        dy = _in_share(dy_buffers, i, (cout, count, oh, ow))
        db = np.empty(cout, weight.dtype)
        kern.output_grad_to_cols(g[rows], dy, db)
        dy2 = dy.reshape(cout, -1)
        dw = None
        if need_w:
            cols = _in_share(cols_buffers, i, (taps, count, oh, ow))
            kern.im2col(x[rows], cols, *ctx.geometry)
            dw = np.matmul(cols.reshape(taps, -1), dy2.T).T  # the faster orientation (above)
        if need_x:
            dcols = _in_share(dcols_buffers, i, (taps, count, oh, ow))
            np.matmul(w2.T, dy2, out=dcols.reshape(taps, -1))
            kern.col2im(dcols, dx[rows], *ctx.geometry)
        return dw, db

    partials = _blas.run_blocks(block, SAMPLE_BLOCKS)
    dw = db = None
    if need_w:
        dw = sum(p[0] for p in partials).astype(weight.dtype, copy=False).reshape(weight.shape)
    if need_b:
        db = sum(p[1].astype(np.float64) for p in partials).astype(weight.dtype)
    return dx, dw, db


class Conv2d(Function):
    """y[n, co, oh, ow] = b[co] + sum over c, i, j of W[co, c, i, j] *
    x_padded[n, c, oh * sh + i * dh, ow * sw + j * dw] (c in co's group); gradients as in the
    module docstring."""

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                groups=1):
        oh, ow = check_conv2d(x, weight, bias, stride, padding, dilation, groups)
        n, cout, kernel = x.shape[0], weight.shape[0], weight.shape[2:]
        kern = backend.kernels("conv")
        taps = x.shape[1] * kernel[0] * kernel[1]
        ctx.x_shape, ctx.geometry, ctx.groups = x.shape, (kernel, stride, padding, dilation), groups
        ctx.per_sample = groups == 1 and taps <= PER_SAMPLE_MAX_TAPS and n >= SAMPLE_BLOCKS
        ctx.blocked = not ctx.per_sample and _blocked(n, (oh, ow), groups, taps)
        if ctx.per_sample:
            cols = _buffers.empty((n, taps, oh * ow), x.dtype)
            kern.im2col(_samples_as_channels(np.ascontiguousarray(x)),
                        cols.reshape(n * taps, 1, oh, ow), kernel, stride, padding, dilation)
            out = _buffers.empty((n, cout, oh, ow), x.dtype)
            _per_sample_forward(weight.reshape(cout, -1), bias, cols, out.reshape(n, cout, -1))
            ctx.save_for_backward(cols if ctx.needs_input_grad[1] else None, weight)
            return out
        if ctx.blocked:
            x = np.ascontiguousarray(x)
            out = _buffers.empty((n, cout, oh, ow), x.dtype)
            _blocked_forward(kern, x, weight, bias, out, ctx.geometry)
            ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, weight)
            return out
        cols = _buffers.empty((taps, n, oh, ow), x.dtype)
        kern.im2col(np.ascontiguousarray(x), cols, kernel, stride, padding, dilation)
        y_cols = _buffers.empty((cout, n, oh, ow), x.dtype)
        _matmul_per_group(weight.reshape(cout, -1), cols.reshape(len(cols), -1),
                          y_cols.reshape(cout, -1), groups)
        out = _buffers.empty((n, cout, oh, ow), x.dtype)
        kern.cols_to_output(y_cols, np.zeros(cout, x.dtype) if bias is None else bias, out)
        # NOTE: cols is kept only when dW will be wanted; otherwise it goes back to the pool now
        # (with no graph recorded, ctx and the cols it holds are dropped as forward returns).
        ctx.save_for_backward(cols if ctx.needs_input_grad[1] else None, weight)
        return out

    @staticmethod
    def backward(ctx, g):
        cols, weight = ctx.saved
        need_x, need_w, need_b = (tuple(ctx.needs_input_grad) + (False,) * 3)[:3]
        kern, cout, groups = backend.kernels("conv"), weight.shape[0], ctx.groups
        if ctx.per_sample:
            return _per_sample_backward(ctx, kern, cols, weight, g.astype(weight.dtype,
                                                                          copy=False))
        if ctx.blocked:  # (what was saved as cols is x)
            return _blocked_backward(ctx, kern, cols, weight, g.astype(weight.dtype, copy=False))
        dy = _buffers.empty((cout,) + g.shape[:1] + g.shape[2:], weight.dtype)
        db = np.empty(cout, weight.dtype)
        kern.output_grad_to_cols(g.astype(weight.dtype, copy=False), dy, db)
        dy2 = dy.reshape(cout, -1)
        dw = dx = None
        if need_w:
            dw = _buffers.empty(weight.shape, weight.dtype)
            _weight_grad_per_group(dy2, cols.reshape(len(cols), -1), dw.reshape(cout, -1), groups)
        if need_x:
            taps = weight.shape[2] * weight.shape[3]
            dcols = _buffers.empty((ctx.x_shape[1] * taps,) + dy.shape[1:], dy.dtype)
            _matmul_per_group(weight.reshape(cout, -1), dy2, dcols.reshape(len(dcols), -1),
                              groups, transpose_a=True)
            dx = _buffers.empty(ctx.x_shape, weight.dtype)
            kern.col2im(dcols, dx, *ctx.geometry)
        return dx, dw, db if need_b else None
