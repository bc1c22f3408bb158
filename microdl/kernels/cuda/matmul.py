"""Tiled shared-memory GEMM: out = op(a) @ op(b) + bias, op = identity or transpose.

A block of TILE x TILE threads owns a TILE x TILE tile of out. For each TILE-wide slice of the
inner dimension it stages a tile of op(a) and one of op(b) in shared memory (reading each
operand along its contiguous axis, whichever way it is used, so global loads coalesce), then
every thread accumulates its dot product from shared memory. Accumulation is in the operands'
dtype, as cuBLAS does for float32.
"""

from numba import cuda

from . import _config as config
from ._launch import numba_type, specialized


def _build(tile, dtype):
    element = numba_type(dtype)

    @cuda.jit
    def kernel(a, b, bias, out, trans_a, trans_b):
        # +1 column: threads of a warp writing a transposed tile hit distinct banks
        sa = cuda.shared.array((tile, tile + 1), element)
        sb = cuda.shared.array((tile, tile + 1), element)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        row0, col0 = cuda.blockIdx.y * tile, cuda.blockIdx.x * tile
        m, n = out.shape
        k_total = a.shape[0] if trans_a else a.shape[1]
        acc = element(0)
        for k0 in range(0, k_total, tile):
            # sa[i, k] = op(a)[row0 + i, k0 + k];  sb[k, j] = op(b)[k0 + k, col0 + j]
            if trans_a:
                r, k = row0 + tx, k0 + ty
                sa[tx, ty] = a[k, r] if (r < m and k < k_total) else element(0)
            else:
                r, k = row0 + ty, k0 + tx
                sa[ty, tx] = a[r, k] if (r < m and k < k_total) else element(0)
            if trans_b:
                c, k = col0 + ty, k0 + tx
                sb[tx, ty] = b[c, k] if (c < n and k < k_total) else element(0)
            else:
                c, k = col0 + tx, k0 + ty
                sb[ty, tx] = b[k, c] if (c < n and k < k_total) else element(0)
            cuda.syncthreads()
            for k in range(tile):
                acc += sa[ty, k] * sb[k, tx]
            cuda.syncthreads()
        r, c = row0 + ty, col0 + tx
        if r < m and c < n:
            if bias.size > 0:
                acc += bias[c]
            out[r, c] = acc
    return kernel


def gemm(a, b, bias, out, transpose_a, transpose_b):
    """out (M, N) = op(a) @ op(b) + bias[None, :], op(a) = a.T if transpose_a (likewise b);
    a bias of size 0 adds nothing. Operands are 2-D device arrays (a row band of a transposed
    a is a strided view; the kernel indexes it as it is)."""
    m, n = out.shape
    k_a = a.shape[0] if transpose_a else a.shape[1]
    k_b = b.shape[1] if transpose_b else b.shape[0]
    rows_a = a.shape[1] if transpose_a else a.shape[0]
    cols_b = b.shape[0] if transpose_b else b.shape[1]
    if k_a != k_b or rows_a != m or cols_b != n:
        raise ValueError(f"gemm: shapes {tuple(a.shape)}{'^T' if transpose_a else ''} @ "
                         f"{tuple(b.shape)}{'^T' if transpose_b else ''} -> {tuple(out.shape)}")
    tile = config.TILE
    kernel = specialized(_build, tile, out.dtype.str)
    band = config.MAX_GRID_Y * tile  # rows one launch can cover (grid.y is limited)
    for r0 in range(0, m, band):
        r1 = min(m, r0 + band)
        a_rows, out_rows = a, out
        if r1 - r0 < m:  # (views only when there are several bands)
            a_rows, out_rows = (a[:, r0:r1] if transpose_a else a[r0:r1]), out[r0:r1]
        blocks = ((n + tile - 1) // tile, (r1 - r0 + tile - 1) // tile)
        kernel[blocks, (tile, tile)](a_rows, b, bias, out_rows, bool(transpose_a),
                                     bool(transpose_b))
