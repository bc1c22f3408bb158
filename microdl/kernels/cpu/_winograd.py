"""Winograd's F(2x2, 3x3) for 3x3 convolutions of stride 1 (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016): conv.py's "winograd" layout uses these passes.

Each 2x2 block of outputs of one channel pair needs a 4x4 window d of the padded input and the
3x3 filter g:

    y = A^T [(G g G^T) * (B^T d B)] A        (* elementwise on 4x4 tiles)

    B^T = [[1, 0, -1, 0],   G = [[1, 0, 0],         A^T = [[1, 1, 1, 0],
           [0, 1, 1, 0],         [1/2, 1/2, 1/2],          [0, 1, -1, -1]]
           [0, -1, 1, 0],        [1/2, -1/2, 1/2],
           [0, 1, 0, -1]]        [0, 0, 1]]

Summed over input channels c, each of the 16 tile positions e is one matrix product,
M[e] = U[e] @ V[e], with U[e] (Cout, Cin) the transformed filters and V[e] (Cin, tiles) the
transformed windows: 16 * 2 * Cout * Cin multiply-adds per 2x2 outputs where im2col's product
needs 4 * 9 * 2 * Cout * Cin, 2.25x fewer. Backward is this forward's adjoint, the same passes
transposed: dM = A dY A^T per tile (``output_grad_tiles``), dU[e] = dM[e] @ V[e]^T and
dW = G^T dU G (``weight_grad``), dV[e] = U[e]^T @ dM[e] and dx = the sum over the overlapping
windows of B dV B^T (``input_grad_tiles``).

Layouts: V and M are (16, channels, N * TH, TW) for TH x TW tiles per image, so the products
run over contiguous (channels, N * TH * TW) matrices and each tile row is a contiguous run.
The passes keep each padded plane as its even and odd columns (``planes``: a (2, 2 * TH + 2,
TW + 1) scratch per thread): the window columns 2t, 2t+1, 2t+2, 2t+3 of tile t are then
even[t], odd[t], even[t+1], odd[t+1], and every inner loop runs over t with unit stride
(it vectorizes). The plain specification of the result is numpy_ref/conv.py.
"""

import numpy as np
from numba import njit

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def tiles(out_hw):
    """(TH, TW): 2x2 output tiles covering an (OH, OW) output (the last ones may overhang)."""
    return (out_hw[0] + 1) // 2, (out_hw[1] + 1) // 2


# NOTE: each of the 16 positions' rows starts one cache line (16 floats) after the previous
# one's end: with power-of-two sizes (64 channels, 8x8 images) the 16 rows a pass reads or
# writes at once otherwise fall into the same cache sets (an input pass took 1.0 ms instead of
# ~0.2 ms at 16 images of 64x8x8).
ROW_PAD = 16


def tile_rows(channels, n, out_hw):
    """(16, row length) of a V or M buffer for ``channels`` and N images; the first
    channels * TH * N * TW values of a row hold [c, th, n * TW + t], row-major."""
    th, tw = tiles(out_hw)
    return 16, channels * th * n * tw + ROW_PAD


def as_matrices(buffer, channels):
    """V or M as 16 (channels, tiles) matrices: a view of the buffer's rows."""
    length = (buffer.shape[1] - ROW_PAD) // channels * channels
    return buffer[:, :length].reshape(16, channels, -1)


def scratch(n, out_hw, dtype):
    """One thread's scratch for the passes over N images: (2 TH + 2, 4, N * TW) spread rows."""
    th, tw = tiles(out_hw)
    return np.zeros((2 * th + 2, 4, n * tw), dtype)


# (G g G^T)[i, j] = sum over a, b of G[i, a] G[j, b] g[a, b]: with the filters' 9 taps as rows,
# all filters' 16 transformed values are one product by kron(G, G) (16 x 9).
_GG = np.kron(_G, _G)


def weight_transform(weight):
    """U (16, Cout, Cin): U[4i + j] = (G g G^T)[i, j] for each filter g of weight (Cout, Cin,
    3, 3)."""
    cout, cin = weight.shape[:2]
    taps = weight.reshape(cout * cin, 9).T
    return (_GG.astype(weight.dtype) @ taps).reshape(16, cout, cin)


def weight_grad(du):
    """dW (Cout, Cin, 3, 3) = G^T dU G for each (Cout, Cin) pair of du (16, Cout, Cin): the
    adjoint of weight_transform."""
    cout, cin = du.shape[1:]
    taps = _GG.T.astype(du.dtype) @ du.reshape(16, cout * cin)
    return taps.T.reshape(cout, cin, 3, 3)


# B^T's row i as window rows: rows[top] + sign * rows[bottom]
_BT_ROWS = ((0, 2, -1.0), (1, 2, 1.0), (2, 1, -1.0), (1, 3, -1.0))


@njit(inline="always", cache=True)
def _columns(width, shift, parity, tw):
    """For the padded columns q = 2u + parity of an image row ``width`` long padded by
    ``shift`` on the left: the image column of u = 0 (2u + that is u's column), the first and
    the end of the u inside the image, clipped to the tiles' left (u < TW) and right (u >= 1)
    uses."""
    first = max(0, (shift - parity + 1) >> 1)
    end = (width - 1 + shift - parity) // 2 + 1
    return parity - shift, first, min(end, tw), max(first, 1), end


@njit(cache=True, error_model="numpy", nogil=True)
def _spread_plane(plane, rows, n, tw, ph, pw):
    """Spread one image plane (padded by ph rows, pw columns) into ``rows`` (R, 4, N * TW):
    tile t of image n finds its window's padded columns 2t, 2t+1, 2t+2, 2t+3 at [0], [2], [1],
    [3] of rows[r, :, n * TW + t] (even left, even right, odd left, odd right)."""
    base = n * tw
    for parity in range(2):
        offset, first, left_end, right_first, end = _columns(plane.shape[1], pw, parity, tw)
        for r in range(plane.shape[0]):
            src, left, right = plane[r], rows[r + ph, 2 * parity], rows[r + ph, 2 * parity + 1]
            for u in range(first, left_end):
                left[base + u] = src[2 * u + offset]
            for u in range(right_first, end):
                right[base + u - 1] = src[2 * u + offset]


@njit(cache=True, error_model="numpy", nogil=True)
def _gather_plane(rows, plane, n, tw, ph, pw):
    """plane[r, w] = the sum of what ``rows`` holds for padded row r + ph, column w + pw of
    image n: _spread_plane's adjoint."""
    base = n * tw
    for parity in range(2):
        offset, first, left_end, right_first, end = _columns(plane.shape[1], pw, parity, tw)
        for r in range(plane.shape[0]):
            dst, left, right = plane[r], rows[r + ph, 2 * parity], rows[r + ph, 2 * parity + 1]
            for u in range(first, left_end):
                dst[2 * u + offset] = left[base + u]
            for u in range(right_first, left_end):
                dst[2 * u + offset] += right[base + u - 1]
            for u in range(max(right_first, left_end), end):
                dst[2 * u + offset] = right[base + u - 1]


@njit(cache=True, error_model="numpy", nogil=True)
def input_tiles(x, v, rows, ph, pw):
    """v[4i + j, c, th, n * TW + t] = (B^T d B)[i, j], d the 4x4 window at rows 2th, columns
    2t of x[n, c] padded by (ph, pw) with zeros; ``rows``: a scratch from ``scratch``."""
    n_, c_, h, _ = x.shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    tw_ = ntw // n_
    rows[:, :, :] = 0  # the padding stays zero: every channel writes the same positions
    for c in range(c_):
        for n in range(n_):
            _spread_plane(x[n, c], rows, n, tw_, ph, pw)
        for th in range(th_):
            win, at = rows[2 * th:2 * th + 4], (c * th_ + th) * ntw
            # NOTE: one loop per row of B^T, each writing 4 of the 16 outputs: LLVM vectorizes
            # a loop only while it has few pointers to check for overlap (16 stores: none)
            for i in range(4):
                top, bottom, sign = _BT_ROWS[i]
                sign = v.dtype.type(sign)  # +-1 in x's dtype (a float64 would promote the loop)
                for p in range(ntw):
                    # B^T's row i over the window's rows, at its columns 2t .. 2t + 3 ...
                    a = win[top, 0, p] + sign * win[bottom, 0, p]
                    b = win[top, 2, p] + sign * win[bottom, 2, p]
                    c_ = win[top, 1, p] + sign * win[bottom, 1, p]
                    d = win[top, 3, p] + sign * win[bottom, 3, p]
                    # ... then B over those four columns
                    q = at + p
                    v[4 * i, q], v[4 * i + 1, q], v[4 * i + 2, q], v[4 * i + 3, q] = \
                        a - c_, b + c_, c_ - b, b - d


@njit(cache=True, error_model="numpy", nogil=True)
def output_tiles(m, bias, out, rows):
    """out[n, k, 2th + a, 2t + b] = (A^T m A)[a, b] + bias[k], m the 4x4 tile
    m[:, k, th, n * TW + t] (where the tiles overhang the output, their extra values are
    dropped)."""
    n_, k_, oh, ow = out.shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    tw_ = ntw // n_
    y = rows[0]  # (4, N * TW): rows 2th and 2th + 1, each at even and odd columns
    for k in range(k_):
        b = bias[k]
        for th in range(th_):
            at = (k * th_ + th) * ntw
            for p in range(ntw):
                q = at + p
                # A^T over the tile's rows, then A over its columns
                s0 = m[0, q] + m[4, q] + m[8, q]
                s1 = m[1, q] + m[5, q] + m[9, q]
                s2 = m[2, q] + m[6, q] + m[10, q]
                s3 = m[3, q] + m[7, q] + m[11, q]
                y[0, p], y[1, p] = s0 + s1 + s2 + b, s1 - s2 - s3 + b
                s0 = m[4, q] - m[8, q] - m[12, q]
                s1 = m[5, q] - m[9, q] - m[13, q]
                s2 = m[6, q] - m[10, q] - m[14, q]
                s3 = m[7, q] - m[11, q] - m[15, q]
                y[2, p], y[3, p] = s0 + s1 + s2 + b, s1 - s2 - s3 + b
            for a in range(min(2, oh - 2 * th)):
                for n in range(n_):
                    row, base = out[n, k, 2 * th + a], n * tw_
                    for w in range(ow):
                        row[w] = y[2 * a + (w & 1), base + (w >> 1)]


@njit(cache=True, error_model="numpy", nogil=True)
def output_grad_tiles(g, dm, rows):
    """dm[:, k, th, n * TW + t] = A y A^T (4x4) for y the 2x2 block of g[n, k] at rows 2th,
    columns 2t (zeros where it overhangs g). (dm[5] = y's sum: summed over the tiles, it gives
    the bias gradient.)"""
    n_, k_, oh, ow = g.shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    tw_ = ntw // n_
    # rows 2th and 2th + 1 of g, their even columns at y[0] and y[2], odd ones at y[1] and
    # y[3]; the column an odd OW leaves stays zero
    y = rows[0]
    y[:, :] = 0
    for k in range(k_):
        for th in range(th_):
            for a in range(2):
                even, odd = y[2 * a], y[2 * a + 1]
                if 2 * th + a == oh:  # the row an odd OH leaves
                    even[:] = 0
                    odd[:] = 0
                    continue
                for n in range(n_):
                    src, base = g[n, k, 2 * th + a], n * tw_
                    for t in range((ow + 1) >> 1):
                        even[base + t] = src[2 * t]
                    for t in range(ow >> 1):
                        odd[base + t] = src[2 * t + 1]
            # A's rows over the block's rows (y0, y0 + y1, y0 - y1, -y1), then A^T over the
            # columns (e, e + o, e - o, -o), one loop per row of A (as in input_tiles)
            at = (k * th_ + th) * ntw
            for p in range(ntw):
                _a_columns(dm, 0, at + p, y[0, p], y[1, p])
            for p in range(ntw):
                _a_columns(dm, 1, at + p, y[0, p] + y[2, p], y[1, p] + y[3, p])
            for p in range(ntw):
                _a_columns(dm, 2, at + p, y[0, p] - y[2, p], y[1, p] - y[3, p])
            for p in range(ntw):
                _a_columns(dm, 3, at + p, -y[2, p], -y[3, p])


@njit(inline="always", cache=True)
def _a_columns(dm, i, q, even, odd):
    dm[4 * i, q], dm[4 * i + 1, q], dm[4 * i + 2, q], dm[4 * i + 3, q] = \
        even, even + odd, even - odd, -odd


@njit(inline="always", cache=True)
def _b_columns(win, i, p, v0, v1, v2, v3):
    """Window row i, columns 2t .. 2t + 3 (at [0], [2], [1], [3]) += (v0 .. v3) B^T."""
    win[i, 0, p] += v0
    win[i, 2, p] += v1 - v2 + v3
    win[i, 1, p] += v1 + v2 - v0
    win[i, 3, p] -= v3


@njit(cache=True, error_model="numpy", nogil=True)
def input_grad_tiles(dv, grad_x, rows, ph, pw):
    """grad_x[n, c] = the sum over tiles of B dv B^T (4x4, dv[:, c, th, n * TW + t]) placed at
    the window's rows 2th, columns 2t of the padded plane, the padding cut off."""
    n_, c_, h, _ = grad_x.shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    tw_ = ntw // n_
    for c in range(c_):
        rows[:, :, :] = 0
        for th in range(th_):
            win, at = rows[2 * th:2 * th + 4], (c * th_ + th) * ntw
            # B's rows over the tile's rows (v0, v1 - v2 + v3, v1 + v2 - v0, -v3), then B over
            # its columns the same way, added into the window's rows: one loop per window row
            # (as in input_tiles)
            for p in range(ntw):
                q = at + p
                _b_columns(win, 0, p, dv[0, q], dv[1, q], dv[2, q], dv[3, q])
            for p in range(ntw):
                q = at + p
                _b_columns(win, 1, p, dv[4, q] - dv[8, q] + dv[12, q],
                           dv[5, q] - dv[9, q] + dv[13, q], dv[6, q] - dv[10, q] + dv[14, q],
                           dv[7, q] - dv[11, q] + dv[15, q])
            for p in range(ntw):
                q = at + p
                _b_columns(win, 2, p, dv[4, q] + dv[8, q] - dv[0, q],
                           dv[5, q] + dv[9, q] - dv[1, q], dv[6, q] + dv[10, q] - dv[2, q],
                           dv[7, q] + dv[11, q] - dv[3, q])
            for p in range(ntw):
                q = at + p
                _b_columns(win, 3, p, -dv[12, q], -dv[13, q], -dv[14, q], -dv[15, q])
        for n in range(n_):
            _gather_plane(rows, grad_x[n, c], n, tw_, ph, pw)
