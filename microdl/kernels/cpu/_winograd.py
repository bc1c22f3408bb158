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

Layouts: V and M hold [e, c, th, n * TW + t] for the TH x TW tiles of N images (``tile_rows``),
so the products run over contiguous (channels, tiles) matrices, and every pass's arithmetic runs
over the n * TW + t of one tile row of all N images at once, with unit stride (it vectorizes;
one image's tile row is only 4-7 tiles long on 8x8-14x14 images). In between, ``scratch``
rows hold what a tile row needs, spread: for padded image row r, rows[r, s, n * TW + t] is
its column 2t (s = 0), 2t + 2 (s = 1), 2t + 1 (s = 2) or 2t + 3 (s = 3) of image n. Moving
values between images and the scratch goes through index maps (``Maps``), one flat loop per
channel: short loops per image row cost more than the arithmetic did. The plain specification
of the result is numpy_ref/conv.py.
"""

import functools

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


def scratch_size(n, out_hw):
    """How many values ``scratch`` takes for N images."""
    th, tw = tiles(out_hw)
    return (2 * th + 2) * 4 * n * tw


def scratch(n, out_hw, dtype, buffer=None):
    """One thread's scratch for the passes over N images: (2 TH + 2, 4, N * TW) spread rows,
    and the same memory flat (the passes take both: a reshape inside a numba function cost
    ~0.07 s of each first-ever compile); carved from the front of a flat ``buffer`` if given."""
    th, tw = tiles(out_hw)
    flat = np.empty(scratch_size(n, out_hw), dtype) if buffer is None else \
        buffer[:scratch_size(n, out_hw)]
    return flat.reshape(2 * th + 2, 4, n * tw), flat


# Window slot s holds padded column 2t + _SLOT_COLUMN[s]: even left, even right, odd left, odd
# right (so the two uses of an even column, by tile t and by tile t - 1, sit side by side).
_SLOT_COLUMN = np.array([0, 2, 1, 3])


class Maps:
    """Where values move between N images and the scratch rows, for one geometry (int32 maps,
    int64 past 2**31 values; -1 where nothing moves):

    - ``spread[j]``: the x index (in the N images of channel 0: n * C * H * W + r * W + w) of
      scratch value j (flat (2 TH + 2, 4, N * TW)), or -1 for the padding;
    - ``gather``: (3, N * H * W): for each x position (its index as in spread), the one or two
      scratch values that hold it (input_grad_tiles sums them);
    - ``scatter[j]``: the output index (relative to output row 2th of channel k of image 0:
      n * K * OH * OW + a * OW + 2t + b) of the tile-row output slot j = (2a + b) * N * TW +
      n * TW + t, or -1 where the tiles overhang the output's columns.
    """

    def __init__(self, n, channels_in, channels_out, in_hw, out_hw, padding):
        (h, w), (oh, ow), (ph, pw) = in_hw, out_hw, padding
        th, tw = tiles(out_hw)
        largest = max(n * channels_in * h * w, n * channels_out * oh * ow,
                      (2 * th + 2) * 4 * n * tw)
        index = np.int32 if largest < 2 ** 31 else np.int64
        r, slot, image, t = np.ix_(np.arange(2 * th + 2), np.arange(4), np.arange(n),
                                   np.arange(tw))
        row, col = r - ph, 2 * t + _SLOT_COLUMN[slot] - pw
        source = image * channels_in * h * w + row * w + col
        inside = np.broadcast_to((row >= 0) & (row < h) & (col >= 0) & (col < w), source.shape)
        self.spread = np.where(inside, source, -1).astype(index).reshape(-1)
        # each x position is in the slot of its column's left use, its right use, or both
        holders = np.flatnonzero(inside)
        holders = holders[np.argsort(source.reshape(-1)[holders], kind="stable")]
        targets = source.reshape(-1)[holders]
        first = np.ones(len(targets), bool)
        first[1:] = targets[1:] != targets[:-1]
        starts = np.flatnonzero(first)
        second = np.full(len(starts), -1)
        twice = np.diff(np.append(starts, len(targets))) == 2
        second[twice] = holders[starts[twice] + 1]
        self.gather = np.stack([targets[starts], holders[starts], second]).astype(index)
        a, parity, image, t = np.ix_(np.arange(2), np.arange(2), np.arange(n), np.arange(tw))
        col = 2 * t + parity
        target = image * channels_out * oh * ow + a * ow + col
        self.scatter = np.where(col < ow, target, -1).astype(index).reshape(-1)


@functools.lru_cache(maxsize=32)
def maps(n, channels_in, channels_out, in_hw, out_hw, padding):
    """The Maps of a geometry (made once per geometry and block size)."""
    return Maps(n, channels_in, channels_out, in_hw, out_hw, padding)


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


@njit(cache=True, error_model="numpy", nogil=True)
def input_tiles(x, shape, v, rows, flat_rows, spread):
    """v[4i + j, c, th, n * TW + t] = (B^T d B)[i, j], d the 4x4 window at rows 2th, columns
    2t of x[n, c] padded with zeros; x flat of ``shape`` (N, C, H, W), ``rows, flat_rows`` a
    scratch, ``spread`` its Maps.spread."""
    _, c_, h, w = shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    for c in range(c_):
        at_c = c * h * w
        for j in range(spread.size):
            source = spread[j]
            flat_rows[j] = x[at_c + source] if source >= 0 else 0
        for th in range(th_):
            win, at = rows[2 * th:2 * th + 4], (c * th_ + th) * ntw
            # NOTE: one loop per row of B^T, each writing 4 of the 16 outputs: LLVM vectorizes
            # a loop only while it has few pointers to check for overlap (one loop writing all
            # 16 stayed scalar, 1.6x slower here)
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
def output_tiles(m, bias, out, shape, rows, flat_rows, scatter):
    """out[n, k, 2th + a, 2t + b] = (A^T m A)[a, b] + bias[k], m the 4x4 tile
    m[:, k, th, n * TW + t] (where the tiles overhang the output, their extra values are
    dropped); out flat of ``shape`` (N, K, OH, OW), ``scatter``: Maps.scatter."""
    _, k_, oh, ow = shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    y = rows[0]  # (4, N * TW): output rows 2th and 2th + 1, each at even and odd columns
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
            at_out = (k * oh + 2 * th) * ow
            for j in range(ntw * (4 if 2 * th + 1 < oh else 2)):  # an odd OH: one row left
                target = scatter[j]
                if target >= 0:
                    out[at_out + target] = flat_rows[j]


@njit(cache=True, error_model="numpy", nogil=True)
def output_grad_tiles(g, shape, dm, rows, flat_rows, scatter):
    """dm[:, k, th, n * TW + t] = A y A^T (4x4) for y the 2x2 block of g[n, k] at rows 2th,
    columns 2t (zeros where it overhangs g); g flat of ``shape`` (N, K, OH, OW), ``scatter``:
    Maps.scatter. (dm[5] = y's sum: summed over the tiles, it gives the bias gradient.)"""
    _, k_, oh, ow = shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    y = rows[0]  # (4, N * TW): rows 2th and 2th + 1 of g, each at even and odd columns
    for k in range(k_):
        for th in range(th_):
            at_g, inside = (k * oh + 2 * th) * ow, ntw * (4 if 2 * th + 1 < oh else 2)
            for j in range(4 * ntw):
                source = scatter[j]
                flat_rows[j] = g[at_g + source] if source >= 0 and j < inside else 0
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
    """Tile row i of dm at q = (e, o) A^T, for (e, o) row i of A y at the even and odd columns."""
    dm[4 * i, q], dm[4 * i + 1, q], dm[4 * i + 2, q], dm[4 * i + 3, q] = \
        even, even + odd, even - odd, -odd


@njit(inline="always", cache=True)
def _b_columns(win, i, p, v0, v1, v2, v3):
    """Window row i, columns 2t .. 2t + 3 (slots 0, 2, 1, 3) += (v0 .. v3) B^T."""
    win[i, 0, p] += v0
    win[i, 2, p] += v1 - v2 + v3
    win[i, 1, p] += v1 + v2 - v0
    win[i, 3, p] -= v3


@njit(cache=True, error_model="numpy", nogil=True)
def input_grad_tiles(dv, grad_x, shape, rows, flat_rows, gather):
    """grad_x[n, c] = the sum over tiles of B dv B^T (4x4, dv[:, c, th, n * TW + t]) placed at
    the window's rows 2th, columns 2t of the padded plane, the padding cut off; grad_x flat of
    ``shape`` (N, C, H, W), ``gather``: Maps.gather."""
    _, c_, h, w = shape
    th_, ntw = (rows.shape[0] - 2) // 2, rows.shape[2]
    targets, firsts, seconds = gather[0], gather[1], gather[2]
    for c in range(c_):
        for j in range(flat_rows.size):
            flat_rows[j] = 0
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
        at_c = c * h * w
        for j in range(targets.size):
            second = seconds[j]
            total = flat_rows[firsts[j]]
            if second >= 0:
                total += flat_rows[second]
            grad_x[at_c + targets[j]] = total
