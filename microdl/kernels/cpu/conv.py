"""CPU conv kernels: numpy_ref/conv.py's results, computed in the layout that is fastest here.

The products run in numpy's BLAS (the fast path for them; numba's loops would not come close),
through ``_blas`` (microdl's own threads over single-threaded OpenBLAS, which says why); the
passes around them (im2col, col2im and the reorders) are numba loops, at the end of this file.
Large scratch arrays come from ``microdl._buffers``, so a training step does not page-fault
tens of MiB of fresh memory.

conv2d_forward and conv2d_backward pick one of four layouts from the shapes (``_layout``; the
same shapes give both the same choice, so backward finds what its forward left in cols):

- per sample, for few taps (C_in * kh * kw <= PER_SAMPLE_MAX_TAPS), as in a first layer;
- Winograd's F(2x2, 3x3) for other 3x3 convolutions of stride 1 (float32 and float64), as in a
  CNN's second layer: its passes are in ``_winograd``; forward leaves ``cols`` unwritten;
- blocked, for other many-tap convolutions on wide enough images: cols never exist whole,
  forward leaves ``cols`` unwritten and backward rebuilds them from x, a block at a time;
- whole cols otherwise (groups > 1, small batches): numpy_ref's products, split over threads.

Winograd's and the blocked layouts need microdl to manage the BLAS (single-threaded calls on its
own threads); otherwise those convolutions take the whole layout. Each layout is described where
it is defined. All split the samples into SAMPLE_BLOCKS fixed blocks (or a product into fixed
parts) and add partial dW and db in block order, so results do not depend on the thread count.
"""

import math

import numpy as np
from numba import njit, prange

from ... import _buffers
from . import _blas, _winograd
from ._jit import serial_and_parallel, thread_slices

# The layouts' thresholds (why these values: at each layout below). Settings are read at every
# call, so tests can shrink them.
PER_SAMPLE_MAX_TAPS = 32
SAMPLE_BLOCKS = 8
BLOCKED_MIN_COLUMNS = 1024
WINOGRAD = True


def _layout(n, taps, out_hw, groups, geometry, dtype):
    """"per_sample", "winograd", "blocked" or "whole" for N samples, taps = C_in * kh * kw,
    (OH, OW), geometry = (kernel_size, stride, padding, dilation) and the arrays' dtype."""
    if groups == 1 and n >= SAMPLE_BLOCKS:
        if taps <= PER_SAMPLE_MAX_TAPS:
            return "per_sample"
        if not _blas.manages_blas():
            return "whole"
        kernel_size, stride, _, dilation = geometry
        # NOTE: float32 and float64 only: G's halves would truncate in integers, and float16's
        # products are numpy's slow loops anyway
        if (WINOGRAD and tuple(kernel_size) == (3, 3) and tuple(stride) == (1, 1)
                and tuple(dilation) == (1, 1) and dtype in (np.float32, np.float64)):
            return "winograd"
        if n // SAMPLE_BLOCKS * out_hw[0] * out_hw[1] >= BLOCKED_MIN_COLUMNS:
            return "blocked"
    return "whole"


def conv2d_forward(x, weight, bias, out, cols, stride, padding, dilation, groups):
    """numpy_ref's out = conv2d(x, weight) + bias; cols gets im2col(x), except in the blocked
    layout, which leaves it unwritten (its backward rebuilds the columns from x)."""
    x = np.ascontiguousarray(x)
    geometry = (weight.shape[2:], stride, padding, dilation)
    w2 = weight.reshape(len(weight), -1)
    layout = _layout(len(x), len(cols), out.shape[2:], groups, geometry, x.dtype)
    if layout == "winograd":
        _winograd_forward(x, weight, bias, out, padding)
        return
    if layout == "blocked":
        _blocked_forward(x, w2, bias, out, geometry)
        return
    im2col(x, cols, *geometry)
    if layout == "per_sample":
        _per_sample_forward(w2, bias, cols, out)
    else:
        _whole_forward(w2, bias, cols, out, groups)


def conv2d_backward(x, cols, weight, grad_out, grad_x, grad_weight, grad_bias, stride, padding,
                    dilation, groups):
    """numpy_ref's gradients (None outputs are not computed), in the layout forward took."""
    g = np.ascontiguousarray(grad_out, dtype=weight.dtype)
    geometry = (weight.shape[2:], stride, padding, dilation)
    w2 = weight.reshape(len(weight), -1)
    layout = _layout(len(g), w2.shape[1] * groups, g.shape[2:], groups, geometry, g.dtype)
    outputs = (grad_x, grad_weight, grad_bias)
    if layout == "winograd":
        _winograd_backward(x, g, weight, *outputs, padding)
    elif layout == "blocked":
        _blocked_backward(x, g, w2, *outputs, geometry)
    elif layout == "per_sample":
        _per_sample_backward(cols, g, w2, *outputs, geometry)
    else:
        _whole_backward(cols, g, w2, *outputs, geometry, groups)


def im2col(x, cols, kernel_size, stride, padding, dilation):
    k, n, oh, ow = cols.shape
    # one zero-padded plane copy (``shifted``, below) per block of threads
    shifted = np.empty((_blas.shares(), kernel_size[1] * (x.shape[2] + 2 * padding[0]) * ow),
                       x.dtype)
    _im2col.run(cols.size, x, _rows(cols, (k, n, oh * ow)), shifted, oh, ow, *kernel_size,
                *stride, *padding, *dilation)


def col2im(cols, grad_in, kernel_size, stride, padding, dilation):
    k, n, oh, ow = cols.shape
    shifted = np.empty((_blas.shares(), kernel_size[1] * (grad_in.shape[2] + 2 * padding[0]) * ow),
                       cols.dtype)
    _col2im.run(cols.size, np.ascontiguousarray(cols).reshape(k, n, oh * ow), grad_in, shifted,
                oh, ow, *kernel_size, *stride, *padding, *dilation)


def cols_to_output(y_cols, bias, out):
    cout, n = y_cols.shape[:2]
    _cols_to_output.run(out.size, y_cols.reshape(cout, n, -1), bias.astype(out.dtype),
                        _rows(out, (n, cout, -1)))


def output_grad_to_cols(grad_out, grad_cols, grad_bias):
    n, cout = grad_out.shape[:2]
    grad_out = np.ascontiguousarray(grad_out).reshape(n, cout, -1)
    sums = np.empty((_blas.shares(), grad_out.shape[2]))  # float64 partial sums, per block
    _output_grad_to_cols.run(grad_out.size, grad_out, _rows(grad_cols, (cout, n, -1)), grad_bias,
                             sums)


def _rows(array, shape):
    """A reshaped view of a C-contiguous output buffer (a copy would lose the writes)."""
    if not array.flags.c_contiguous:
        raise ValueError("kernel outputs must be C-contiguous buffers")
    return array.reshape(shape)


def _bias_or_zeros(bias, w2):
    return np.zeros(len(w2), w2.dtype) if bias is None else bias


def _row_sums(a):
    """a's sums over its last axis, in float64. In BLAS's dtypes they are a product with ones,
    rounded like dW's products: numpy's sum with a float64 accumulator casts as it goes, and it
    took 0.63 ms against 0.13 ms on a 64x32x28x28 dy (a third of a first layer's backward)."""
    if a.dtype in (np.float32, np.float64):
        return np.matmul(a, np.ones(a.shape[-1], a.dtype)).astype(np.float64)
    return a.sum(axis=-1, dtype=np.float64)


def _sample_block(i, n):
    return slice(n * i // SAMPLE_BLOCKS, n * (i + 1) // SAMPLE_BLOCKS)


# ---- whole cols: numpy_ref's products, each large one split over microdl's threads ------------

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


def _whole_forward(w2, bias, cols, out, groups):
    y_cols = _buffers.empty((len(w2),) + cols.shape[1:], out.dtype)
    _matmul_per_group(w2, cols.reshape(len(cols), -1), y_cols.reshape(len(w2), -1), groups)
    cols_to_output(y_cols, _bias_or_zeros(bias, w2), out)


def _whole_backward(cols, g, w2, grad_x, grad_weight, grad_bias, geometry, groups):
    cout = len(w2)
    dy = _buffers.empty((cout,) + g.shape[:1] + g.shape[2:], g.dtype)
    db = np.empty(cout, g.dtype) if grad_bias is None else grad_bias
    output_grad_to_cols(g, dy, db)
    dy2 = dy.reshape(cout, -1)
    if grad_weight is not None:
        _weight_grad_per_group(dy2, cols.reshape(len(cols), -1), _rows(grad_weight, w2.shape),
                               groups)
    if grad_x is not None:
        taps = w2.shape[1] * groups
        dcols = _buffers.empty((taps,) + dy.shape[1:], g.dtype)
        _matmul_per_group(w2, dy2, dcols.reshape(taps, -1), groups, transpose_a=True)
        col2im(dcols, grad_x, *geometry)


# ---- per sample --------------------------------------------------------------------------------
# For convolutions with few taps (C_in * kh * kw), like a first layer on images of 1 or 3
# channels: with K = 9 the big product W @ cols has a 9-long inner dimension and dW's product a
# 9-row output, shapes BLAS runs at 15-35% of its peak, plus two reorder passes over the output.
# Per sample n instead, with cols[:, n] the (K, OH*OW) columns of sample n (a strided view,
# which BLAS takes as it is): y[n] = W @ cols[:, n] + b written straight into the output,
# dW = sum over n of dy[n] @ cols[:, n]^T, dcols[n] = W^T @ dy[n]. SAMPLE_BLOCKS fixed blocks of
# samples run on microdl's threads. In a CNN training step (conv 1->32 on 64 images of 28x28)
# this took the first layer from ~3.2 ms to ~0.9 ms.

def _per_sample(cols):
    """cols (K, N, OH, OW) as (N, K, OH * OW): sample n's columns at [n] (a view)."""
    return cols.reshape(len(cols), cols.shape[1], -1).transpose(1, 0, 2)


def _per_sample_forward(w2, bias, cols, out):
    cols3, out3 = _per_sample(cols), _rows(out, out.shape[:2] + (-1,))

    def block(i):
        rows = _sample_block(i, len(out3))
        np.matmul(w2, cols3[rows], out=out3[rows])
        if bias is not None:
            out3[rows] += bias.astype(out3.dtype, copy=False)[:, None]

    _blas.run_blocks(block, SAMPLE_BLOCKS)


def _per_sample_backward(cols, g, w2, grad_x, grad_weight, grad_bias, geometry):
    n, cout = g.shape[:2]
    g3 = g.reshape(n, cout, -1)
    cols3 = None if grad_weight is None else _per_sample(cols)
    # dcols in the per-sample layout: col2im then reads x as one image of N * C_in channels
    dcols = None if grad_x is None else _buffers.empty((n, w2.shape[1], g3.shape[2]), g.dtype)

    def block(i):
        rows = _sample_block(i, n)
        if dcols is not None:
            np.matmul(w2.T, g3[rows], out=dcols[rows])
        dw = None if cols3 is None else \
            np.matmul(g3[rows], cols3[rows].transpose(0, 2, 1)).sum(axis=0)
        db = None if grad_bias is None else _row_sums(g3[rows]).sum(axis=0)
        return dw, db

    partials = _blas.run_blocks(block, SAMPLE_BLOCKS)
    if grad_weight is not None:
        np.copyto(_rows(grad_weight, w2.shape), sum(p[0] for p in partials))
    if grad_bias is not None:
        np.copyto(grad_bias, sum(p[1] for p in partials))
    if grad_x is not None:
        col2im(dcols.reshape(-1, 1, *g.shape[2:]), _rows(grad_x, (1, -1) + grad_x.shape[2:]),
               *geometry)


# ---- blocked -----------------------------------------------------------------------------------
# For convolutions with many taps, like the CNN's second layer (288 taps: its cols are 14 MB, 9x
# its input): cols never exist whole. SAMPLE_BLOCKS fixed blocks of samples run on microdl's
# threads, each through im2col -> product -> reorder in its thread's scratch buffers (~2 MB a
# block there), which stay in the caches instead of going to memory and back; backward rebuilds
# a block's cols from x for dW. The layout is chosen whatever numba's thread count (with one
# thread the blocks run one after another). Measured on 64x32x14x14 -> 64 (3x3, padding 1)
# alone: forward 3.2 -> 2.8 ms, forward + backward 8.8 -> 8.2-8.6 ms (with one numba thread
# 16.4 -> 15.2 ms); in the CNN training step, where the 14 MB saved for backward also left the
# caches: 18.9 -> 17.2 ms. Products narrower than BLOCKED_MIN_COLUMNS a block stay whole (small
# products run below BLAS's speed), and so does everything when the user keeps BLAS threads to
# themselves (_blas.manages_blas): a multi-threaded BLAS on each block's product measured
# 1.1-1.6x slower than on one whole product. (A block's db is rounded to the weight's dtype
# before the blocks' float64 sum, so its last bits may differ from the other layouts'.)

def _share_buffers(rows, n, columns, dtype):
    """One flat scratch buffer per thread of run_blocks that gets a block, for (rows, block
    samples, columns)."""
    most = -(-n // SAMPLE_BLOCKS)
    return [_buffers.empty((rows * most * columns,), dtype)
            for _ in range(min(_blas.shares(), SAMPLE_BLOCKS))]


def _in_share(buffers, i, shape):
    """Block i's scratch (its thread's buffer) viewed as ``shape``."""
    return buffers[i % len(buffers)][:math.prod(shape)].reshape(shape)


def _blocked_forward(x, w2, bias, out, geometry):
    n, (cout, taps), (oh, ow) = len(x), w2.shape, out.shape[2:]
    cols_buffers = _share_buffers(taps, n, oh * ow, x.dtype)
    y_buffers = _share_buffers(cout, n, oh * ow, x.dtype)
    b = _bias_or_zeros(bias, w2)

    def block(i):
        rows = _sample_block(i, n)
        count = rows.stop - rows.start
        cols = _in_share(cols_buffers, i, (taps, count, oh, ow))
        im2col(x[rows], cols, *geometry)
        y = _in_share(y_buffers, i, (cout, count, oh, ow))
        np.matmul(w2, cols.reshape(taps, -1), out=y.reshape(cout, -1))
        cols_to_output(y, b, out[rows])

    _blas.run_blocks(block, SAMPLE_BLOCKS)


def _blocked_backward(x, g, w2, grad_x, grad_weight, grad_bias, geometry):
    n, cout, oh, ow = g.shape
    taps = w2.shape[1]
    dy_buffers = _share_buffers(cout, n, oh * ow, g.dtype)
    cols_buffers = None if grad_weight is None else _share_buffers(taps, n, oh * ow, g.dtype)
    dcols_buffers = None if grad_x is None else _share_buffers(taps, n, oh * ow, g.dtype)
    x = None if grad_weight is None else np.ascontiguousarray(x)

    def block(i):
        rows = _sample_block(i, n)
        count = rows.stop - rows.start
        dy = _in_share(dy_buffers, i, (cout, count, oh, ow))
        db = np.empty(cout, g.dtype)
        output_grad_to_cols(g[rows], dy, db)
        dy2 = dy.reshape(cout, -1)
        dw = None
        if cols_buffers is not None:
            cols = _in_share(cols_buffers, i, (taps, count, oh, ow))
            im2col(x[rows], cols, *geometry)
            dw = np.matmul(cols.reshape(taps, -1), dy2.T).T  # the faster orientation (above)
        if dcols_buffers is not None:
            dcols = _in_share(dcols_buffers, i, (taps, count, oh, ow))
            np.matmul(w2.T, dy2, out=dcols.reshape(taps, -1))
            col2im(dcols, grad_x[rows], *geometry)
        return dw, db

    partials = _blas.run_blocks(block, SAMPLE_BLOCKS)
    if grad_weight is not None:
        np.copyto(_rows(grad_weight, w2.shape), sum(p[0] for p in partials))
    if grad_bias is not None:
        np.copyto(grad_bias, sum(p[1].astype(np.float64) for p in partials))


# ---- winograd ----------------------------------------------------------------------------------
# For 3x3 convolutions of stride 1 with many taps: Winograd's F(2x2, 3x3) (``_winograd``: the
# math and its passes) does the products of forward, dx and dW with 2.25x fewer multiply-adds
# than im2col's, as 16 products per block of samples. Blocks of samples as in the blocked layout
# (each block's transformed tiles stay in its thread's scratch), and backward transforms x again
# for dW instead of keeping the tiles (4x the size of x) from forward.

def _tile_buffers(channels, n, out_hw, dtype):
    """One flat V or M buffer (``_winograd.tile_rows``) per thread of run_blocks, for a block."""
    return _share_buffers(1, n, math.prod(_winograd.tile_rows(channels, 1, out_hw)), dtype)


def _scratch_buffers(n, out_hw, dtype):
    """One flat ``_winograd.scratch`` buffer per thread of run_blocks (pooled: on large images
    it is MBs, which a fresh array would page-fault every call)."""
    return _share_buffers(1, n, _winograd.scratch_size(1, out_hw), dtype)


def _tile_block(buffers, i, channels, count, out_hw):
    """Block i's V or M: its thread's buffer as the (16, row length) array for ``count``
    images."""
    return _in_share(buffers, i, _winograd.tile_rows(channels, count, out_hw))


def _winograd_forward(x, weight, bias, out, padding):
    n, (cout, cin), out_hw = len(x), weight.shape[:2], out.shape[2:]
    u = _winograd.weight_transform(weight)
    v_buffers = _tile_buffers(cin, n, out_hw, x.dtype)
    m_buffers = _tile_buffers(cout, n, out_hw, x.dtype)
    scratch_buffers = _scratch_buffers(n, out_hw, x.dtype)
    b = _bias_or_zeros(bias, u[0]).astype(out.dtype, copy=False)

    def block(i):
        rows = _sample_block(i, n)
        count = rows.stop - rows.start
        maps = _winograd.maps(count, cin, cout, x.shape[2:], out_hw, tuple(padding))
        scratch = _winograd.scratch(count, out_hw, x.dtype,
                                    scratch_buffers[i % len(scratch_buffers)])
        v = _tile_block(v_buffers, i, cin, count, out_hw)
        x_block, out_block = x[rows], out[rows]
        _winograd.input_tiles(x_block.reshape(-1), x_block.shape, v, *scratch, maps.spread)
        m = _tile_block(m_buffers, i, cout, count, out_hw)
        np.matmul(u, _winograd.as_matrices(v, cin), out=_winograd.as_matrices(m, cout))
        _winograd.output_tiles(m, b, _rows(out_block, (-1,)), out_block.shape, *scratch,
                               maps.scatter)

    _blas.run_blocks(block, SAMPLE_BLOCKS)


def _winograd_backward(x, g, weight, grad_x, grad_weight, grad_bias, padding):
    n, (cout, cin), out_hw = len(g), weight.shape[:2], g.shape[2:]
    in_hw = tuple(o + 2 - 2 * p for o, p in zip(out_hw, padding))  # 3x3, stride 1
    dm_buffers = _tile_buffers(cout, n, out_hw, g.dtype)
    v_buffers = None if grad_weight is None else _tile_buffers(cin, n, out_hw, g.dtype)
    dv_buffers = None if grad_x is None else _tile_buffers(cin, n, out_hw, g.dtype)
    scratch_buffers = _scratch_buffers(n, out_hw, g.dtype)
    u_t = None if grad_x is None else _winograd.weight_transform(weight).transpose(0, 2, 1)
    x = None if grad_weight is None else np.ascontiguousarray(x)

    def block(i):
        rows = _sample_block(i, n)
        count = rows.stop - rows.start
        maps = _winograd.maps(count, cin, cout, in_hw, out_hw, tuple(padding))
        scratch = _winograd.scratch(count, out_hw, g.dtype,
                                    scratch_buffers[i % len(scratch_buffers)])
        dm = _tile_block(dm_buffers, i, cout, count, out_hw)
        g_block = g[rows]
        _winograd.output_grad_tiles(g_block.reshape(-1), g_block.shape, dm, *scratch,
                                    maps.scatter)
        dm2 = _winograd.as_matrices(dm, cout)
        db = _row_sums(dm2[5])  # dm[5]: each tile's sum of g
        du = None
        if v_buffers is not None:
            v = _tile_block(v_buffers, i, cin, count, out_hw)
            x_block = x[rows]
            _winograd.input_tiles(x_block.reshape(-1), x_block.shape, v, *scratch, maps.spread)
            du = np.matmul(dm2, _winograd.as_matrices(v, cin).transpose(0, 2, 1))
        if dv_buffers is not None:
            dv = _tile_block(dv_buffers, i, cin, count, out_hw)
            np.matmul(u_t, dm2, out=_winograd.as_matrices(dv, cin))
            dx_block = grad_x[rows]
            _winograd.input_grad_tiles(dv, _rows(dx_block, (-1,)), dx_block.shape, *scratch,
                                       maps.gather)
        return du, db

    partials = _blas.run_blocks(block, SAMPLE_BLOCKS)
    if grad_weight is not None:
        np.copyto(grad_weight, _winograd.weight_grad(sum(p[0] for p in partials)))
    if grad_bias is not None:
        np.copyto(grad_bias, sum(p[1] for p in partials))


# ---- numba loops ---------------------------------------------------------------------------------
# Every loop runs over an axis whose iterations own disjoint outputs: im2col and col2im over
# (c, n) input planes (col2im accumulates the taps of one plane in private copies of that plane,
# which stay in L1), the output reorder over (n, co), the gradient reorder and bias sum over co.
# All but the output reorder are thread slices (``_jit.ThreadSlices``: one serial build, one
# block of iterations per thread) whose scratch the wrappers pass in, one row per block: no
# allocation inside a kernel (the allocation code was ~0.3 s of a first-ever compile). Inner
# loops are zero-based over slices (``range(lo, hi)`` indexing compiled to gathers here).

@njit(inline="always", cache=True, error_model="numpy")
def _shift_bounds(off, sw, w, ow_):
    """Output columns [lo, hi) whose input column ow * sw + off lies inside [0, w)."""
    lo = 0 if off >= 0 else (sw - 1 - off) // sw
    hi = min(ow_, (w - 1 - off) // sw + 1) if w - 1 - off >= 0 else 0
    return lo, max(lo, hi)


# Both kernels work on one (c, n) plane at a time through ``shifted``, a zero-padded copy of the
# plane with one copy per kernel column j: shifted[j, r, ow] = x_padded[r, ow * sw + j * dw].
# Its rows are exactly OW long, so with stride 1 the tap (i, j) is the contiguous run of
# OH * OW values from row i * dh of copy j: one long copy per tap instead of OH short ones
# (1.5-2x faster on 14x14 and 8x8 planes). n runs fastest in t so consecutive iterations write
# consecutive stretches of the same cols rows.

@thread_slices()
def _im2col(x, cols, scratch, oh_, ow_, kh, kw, sh, sw, ph, pw, dh, dw, block, blocks):
    n_, c_, h, w = x.shape
    hp, p_ = h + 2 * ph, oh_ * ow_
    # NOTE: zeroed once: every plane writes the same positions of it (the padding stays 0), and
    # a buffer from the caller spares the kernel an allocation (~0.3 s of its first compile)
    shifted = scratch[block]
    for k in range(shifted.size):
        shifted[k] = 0
    for t in range(n_ * c_ * block // blocks, n_ * c_ * (block + 1) // blocks):
        c = t // n_
        n = t - c * n_
        src = x[n, c]
        for j in range(kw):
            lo, hi = _shift_bounds(j * dw - pw, sw, w, ow_)
            for ih in range(h):
                seg = shifted[(j * hp + ih + ph) * ow_ + lo:(j * hp + ih + ph) * ow_ + hi]
                if sw == 1:
                    part = src[ih, lo + j * dw - pw:hi + j * dw - pw]
                    for k in range(hi - lo):
                        seg[k] = part[k]
                else:
                    row = src[ih]
                    for k in range(hi - lo):
                        seg[k] = row[(lo + k) * sw + j * dw - pw]
        for i in range(kh):
            for j in range(kw):
                dst = cols[(c * kh + i) * kw + j, n]
                for oh in range(1 if sh == 1 else oh_):
                    run = p_ if sh == 1 else ow_
                    base = (j * hp + i * dh + oh * sh) * ow_
                    part = shifted[base:base + run]
                    seg = dst[oh * ow_:oh * ow_ + run]
                    for k in range(run):
                        seg[k] = part[k]


@thread_slices()
def _col2im(cols, grad_in, scratch, oh_, ow_, kh, kw, sh, sw, ph, pw, dh, dw, block, blocks):
    n_, c_, h, w = grad_in.shape
    hp, p_ = h + 2 * ph, oh_ * ow_
    shifted = scratch[block]
    for t in range(n_ * c_ * block // blocks, n_ * c_ * (block + 1) // blocks):
        c = t // n_
        n = t - c * n_
        # Each iteration owns plane (n, c): taps accumulate in the block's shifted copies.
        for k in range(shifted.size):
            shifted[k] = 0
        for i in range(kh):
            for j in range(kw):
                src = cols[(c * kh + i) * kw + j, n]
                for oh in range(1 if sh == 1 else oh_):
                    run = p_ if sh == 1 else ow_
                    base = (j * hp + i * dh + oh * sh) * ow_
                    part = shifted[base:base + run]
                    seg = src[oh * ow_:oh * ow_ + run]
                    for k in range(run):
                        part[k] += seg[k]
        dst = grad_in[n, c]
        dst[:, :] = 0
        for j in range(kw):
            lo, hi = _shift_bounds(j * dw - pw, sw, w, ow_)
            for ih in range(h):
                seg = shifted[(j * hp + ih + ph) * ow_ + lo:(j * hp + ih + ph) * ow_ + hi]
                if sw == 1:
                    part = dst[ih, lo + j * dw - pw:hi + j * dw - pw]
                    for k in range(hi - lo):
                        part[k] += seg[k]
                else:
                    row = dst[ih]
                    for k in range(hi - lo):
                        row[(lo + k) * sw + j * dw - pw] += seg[k]


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


@thread_slices()
def _output_grad_to_cols(grad_out, grad_cols, grad_bias, scratch, block, blocks):
    n_, cout, p_ = grad_out.shape
    acc = scratch[block]
    for co in range(cout * block // blocks, cout * (block + 1) // blocks):
        # NOTE: one float64 partial sum per position keeps the inner loop free of a serial
        # dependence (it vectorizes); the positions are summed once at the end.
        for p in range(p_):
            acc[p] = 0.0
        for n in range(n_):
            src = grad_out[n, co]
            dst = grad_cols[co, n]
            for p in range(p_):
                v = src[p]
                dst[p] = v
                acc[p] += v
        total = 0.0
        for p in range(p_):
            total += acc[p]
        grad_bias[co] = total
