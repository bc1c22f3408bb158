"""Numba twins of numpy_ref/row_norm.py: x is a contiguous (N, G, D, S) array, read as the
(R, L) matrix of its rows (R = N * G rows of L = D * S values; row r has group g = r % G and
parameters g * D ... g * D + D - 1, each shared by S consecutive values).

Layouts, picked from the shape only, so results never depend on the thread count:

- "rows" (the usual case): prange over rows, each iteration owning its row: float64 mean, then
  float64 sum of squared deviations (two passes over a row still in cache), then the normalize
  + affine pass; backward likewise sums dy * w and dy * w * xhat, then writes dx.
- "pieces" (fewer than FEW_ROWS rows of at least 2 * PIECE_ELEMENTS values, e.g. GroupNorm(1)
  on a small batch of large maps): every row is cut into fixed pieces of PIECE_ELEMENTS; each
  pass is a prange over (row, piece) writing one partial sum per piece, merged per row by numpy
  in piece order before the next pass.

grad_weight and grad_bias sum over rows, so no row may own them: a prange over (chunk of
samples, block of PARAM_BLOCK parameters) writes per-chunk partial sums (chunks fixed by the
shape), which numpy merges in chunk order.
"""

import numpy as np
from numba import njit, prange

from ._jit import serial_and_parallel

# Layout settings (read at each call, so tests can change them).
FEW_ROWS = 16
PIECE_ELEMENTS = 1 << 14
# Parameter gradients: blocks of parameters times chunks of about CHUNK_ELEMENTS values
# (at most MAX_CHUNKS, which bounds the partial sums at MAX_CHUNKS * G * D values).
PARAM_BLOCK = 16
CHUNK_ELEMENTS = 1 << 15
MAX_CHUNKS = 16

_inline = njit(inline="always", cache=True, error_model="numpy")


# ---- sums and passes over values lo..hi of one row (xr, gr, yr: 1-D rows) -------------------

@_inline
def _range_sum(xr, lo, hi):
    total = 0.0
    for j in range(lo, hi):
        total += xr[j]
    return total


@_inline
def _range_squares(xr, lo, hi, mu):
    total = 0.0
    for j in range(lo, hi):
        d = xr[j] - mu
        total += d * d
    return total


@_inline
def _parameter(array, p):
    """array[p] in float64; 1 for an absent (size-0) weight."""
    return np.float64(array[p]) if array.size > 0 else 1.0


@_inline
def _range_normalize(xr, yr, lo, hi, mu, inv, weight, bias, p0, S):
    """y = (x - mu) * (inv * weight[p]) + bias[p], value j's parameter p = p0 + j // S."""
    for d in range(lo // S, (hi + S - 1) // S):
        scale = inv * _parameter(weight, p0 + d)
        shift = np.float64(bias[p0 + d]) if bias.size > 0 else 0.0
        for j in range(max(lo, d * S), min(hi, d * S + S)):
            yr[j] = (xr[j] - mu) * scale + shift


@_inline
def _range_grad_sums(xr, gr, lo, hi, mu, inv, weight, p0, S):
    """(sum(gw), sum(gw * xhat)) with gw = dy * weight[p], xhat = (x - mu) * inv."""
    s1 = 0.0
    s2 = 0.0
    for d in range(lo // S, (hi + S - 1) // S):
        w = _parameter(weight, p0 + d)
        for j in range(max(lo, d * S), min(hi, d * S + S)):
            gw = gr[j] * w
            s1 += gw
            s2 += gw * (xr[j] - mu) * inv
    return s1, s2


@_inline
def _range_grad_input(xr, gr, dxr, lo, hi, mu, inv, weight, p0, S, mean_gw, mean_gwx):
    """dx = inv * (gw - mean(gw) - xhat * mean(gw * xhat))."""
    for d in range(lo // S, (hi + S - 1) // S):
        w = _parameter(weight, p0 + d)
        for j in range(max(lo, d * S), min(hi, d * S + S)):
            dxr[j] = inv * (gr[j] * w - mean_gw - (xr[j] - mu) * inv * mean_gwx)


# ---- "rows" layout ------------------------------------------------------------------------------

@serial_and_parallel()
def _forward_rows(x2, weight, bias, y2, mean1, invstd1, eps, G, S):
    R, L = x2.shape
    for r in prange(R):
        xr = x2[r]
        mu = _range_sum(xr, 0, L) / L
        inv = 1.0 / np.sqrt(_range_squares(xr, 0, L, mu) / L + eps)
        mean1[r] = mu
        invstd1[r] = inv
        _range_normalize(xr, y2[r], 0, L, mu, inv, weight, bias, (r % G) * (L // S), S)


@serial_and_parallel()
def _backward_rows(x2, g2, weight, mean1, invstd1, dx2, G, S):
    R, L = x2.shape
    for r in prange(R):
        mu, inv, p0 = mean1[r], invstd1[r], (r % G) * (L // S)
        s1, s2 = _range_grad_sums(x2[r], g2[r], 0, L, mu, inv, weight, p0, S)
        _range_grad_input(x2[r], g2[r], dx2[r], 0, L, mu, inv, weight, p0, S, s1 / L, s2 / L)


# ---- "pieces" layout: (R, P) partial sums, one per piece of `piece` values ------------------

@serial_and_parallel()
def _piece_sums(x2, piece, part):
    L, P = x2.shape[1], part.shape[1]
    for i in prange(part.size):
        r, q = i // P, i % P
        part[r, q] = _range_sum(x2[r], q * piece, min(L, q * piece + piece))


@serial_and_parallel()
def _piece_squares(x2, mean1, piece, part):
    L, P = x2.shape[1], part.shape[1]
    for i in prange(part.size):
        r, q = i // P, i % P
        part[r, q] = _range_squares(x2[r], q * piece, min(L, q * piece + piece), mean1[r])


@serial_and_parallel()
def _piece_normalize(x2, weight, bias, y2, mean1, invstd1, piece, P, G, S):
    R, L = x2.shape
    for i in prange(R * P):
        r, q = i // P, i % P
        _range_normalize(x2[r], y2[r], q * piece, min(L, q * piece + piece), mean1[r],
                         invstd1[r], weight, bias, (r % G) * (L // S), S)


@serial_and_parallel()
def _piece_grad_sums(x2, g2, weight, mean1, invstd1, piece, G, S, part1, part2):
    L, P = x2.shape[1], part1.shape[1]
    for i in prange(part1.size):
        r, q = i // P, i % P
        part1[r, q], part2[r, q] = _range_grad_sums(
            x2[r], g2[r], q * piece, min(L, q * piece + piece), mean1[r], invstd1[r], weight,
            (r % G) * (L // S), S)


@serial_and_parallel()
def _piece_grad_input(x2, g2, weight, mean1, invstd1, mean_gw, mean_gwx, piece, P, G, S, dx2):
    R, L = x2.shape
    for i in prange(R * P):
        r, q = i // P, i % P
        _range_grad_input(x2[r], g2[r], dx2[r], q * piece, min(L, q * piece + piece), mean1[r],
                          invstd1[r], weight, (r % G) * (L // S), S, mean_gw[r], mean_gwx[r])


# ---- parameter gradients ------------------------------------------------------------------------

@serial_and_parallel()
def _parameter_sums(x4, g4, mean, invstd, samples_per_chunk, block, part_w, part_b):
    """part_w[chunk, p] = sum(dy * xhat), part_b[chunk, p] = sum(dy) over the chunk's samples
    (in sample order, then s order: the same order whatever the blocks)."""
    N, G, D, S = x4.shape
    chunks, params = part_w.shape
    blocks = (params + block - 1) // block
    for i in prange(chunks * blocks):
        chunk, first = i // blocks, (i % blocks) * block
        for p in range(first, min(params, first + block)):
            part_w[chunk, p] = 0.0
            part_b[chunk, p] = 0.0
        for n in range(chunk * samples_per_chunk, min(N, chunk * samples_per_chunk
                                                      + samples_per_chunk)):
            for p in range(first, min(params, first + block)):
                g, d = p // D, p % D
                mu, inv = mean[n, g], invstd[n, g]
                sw = 0.0
                sb = 0.0
                for s in range(S):
                    dy = np.float64(g4[n, g, d, s])
                    sw += dy * ((x4[n, g, d, s] - mu) * inv)
                    sb += dy
                part_w[chunk, p] += sw
                part_b[chunk, p] += sb


# ---- the public kernels -------------------------------------------------------------------------

def _pieces(x2):
    """Values per piece and pieces per row in the "pieces" layout, or None for "rows"."""
    R, L = x2.shape
    if R >= FEW_ROWS or L < 2 * PIECE_ELEMENTS:
        return None
    return PIECE_ELEMENTS, -(-L // PIECE_ELEMENTS)


def row_norm_forward(x, weight, bias, out, mean, invstd, eps):
    """See numpy_ref: per-row float64 mean and biased variance (two passes), normalize + affine."""
    N, G, D, S = x.shape
    x2, y2 = x.reshape(N * G, D * S), out.reshape(N * G, D * S)
    mean1, invstd1, eps = mean.reshape(-1), invstd.reshape(-1), float(eps)
    layout = _pieces(x2)
    if layout is None:
        _forward_rows.run(x.size, x2, weight, bias, y2, mean1, invstd1, eps, G, S)
        return
    piece, P = layout
    part = np.empty((N * G, P))
    _piece_sums.run(x.size, x2, piece, part)
    mean1[:] = part.sum(axis=1) / (D * S)
    _piece_squares.run(x.size, x2, mean1, piece, part)
    invstd1[:] = 1.0 / np.sqrt(part.sum(axis=1) / (D * S) + eps)
    _piece_normalize.run(x.size, x2, weight, bias, y2, mean1, invstd1, piece, P, G, S)


def row_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias):
    """See numpy_ref: dx per row (rows or pieces layout), then the parameter sums."""
    N, G, D, S = x.shape
    x2, g2, dx2 = (a.reshape(N * G, D * S) for a in (x, grad_out, grad_in))
    mean1, invstd1 = mean.reshape(-1), invstd.reshape(-1)
    layout = _pieces(x2)
    if layout is None:
        _backward_rows.run(x.size, x2, g2, weight, mean1, invstd1, dx2, G, S)
    else:
        piece, P = layout
        part1, part2 = np.empty((N * G, P)), np.empty((N * G, P))
        _piece_grad_sums.run(x.size, x2, g2, weight, mean1, invstd1, piece, G, S, part1, part2)
        L = D * S
        _piece_grad_input.run(x.size, x2, g2, weight, mean1, invstd1, part1.sum(axis=1) / L,
                              part2.sum(axis=1) / L, piece, P, G, S, dx2)
    if grad_weight.size or grad_bias.size:
        chunks = min(MAX_CHUNKS, max(1, x.size // CHUNK_ELEMENTS), N)
        per_chunk = -(-N // chunks)
        chunks = -(-N // per_chunk)
        part_w, part_b = np.empty((chunks, G * D)), np.empty((chunks, G * D))
        _parameter_sums.run(x.size, x, grad_out, mean, invstd, per_chunk, PARAM_BLOCK, part_w,
                            part_b)
        if grad_weight.size:
            grad_weight[:] = part_w.sum(axis=0)
        if grad_bias.size:
            grad_bias[:] = part_b.sum(axis=0)
