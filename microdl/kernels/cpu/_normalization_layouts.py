"""The layouts behind kernels/cpu/normalization.py, over one set of per-channel formulas.

x is a contiguous (N, C, S) array, m = N * S values per channel. Each layout sums a channel in
its own loop order (float64 accumulators, x shifted by k = x[0, c, 0]) and hands the sums to the
same helpers: _batch_stats or _running_stats for mean and invstd, then _forward_constants or
_backward_constants for the constants of the elementwise pass. That pass runs in x's dtype with
the constants rounded to it, as PyTorch does (float32 SIMD lanes are twice as wide).

The only fastmath flag is "reassoc", so that LLVM vectorizes the float64 reductions (a strict
left-to-right sum cannot use SIMD lanes); it changes no NaN/Inf semantics, and the compiled order
depends on the code, not on the threads.

The elementwise passes clamp at ``floor`` forward and mask dy where the output is <= floor
backward: 0 for BatchNorm followed by a fused ReLU, NaN for BatchNorm alone (every comparison with
NaN is false, so nothing is clamped or masked, an infinite dy included). The backward sums pass,
compute-bound in float64, tests for NaN once and runs without the mask (``_no_relu``).

Every kernel is one serial function (nogil, no prange, no allocation: the caller passes its
scratch), compiled once per dtype. normalization.py spreads a large input over microdl's threads
itself (``_blas.run_blocks``), each thread calling the kernel on its own slice of the channels or
chunks (``block`` of ``blocks`` equal blocks). Why not prange: numba compiles each prange body as a
parallel build of its own, and the BatchNorm builds a CNN step needed took 15 of the 23 s of a
first-ever step on a 2-core machine; a serial kernel is compiled once, in about a second.
"""

import numpy as np
from numba import njit

from ._jit import _renamed

_FLAGS = dict(cache=True, error_model="numpy", fastmath={"reassoc"})
# NOTE: the per-channel helpers inline at numba's IR level, so each layout compiles them as if
# written out in it: called as separately compiled functions they cost a call per channel, and
# under reassoc running_var came out an ulp apart from the same formula written in place.
_inline = njit(inline="always", **_FLAGS)


# nogil: normalization.py calls the kernels from several of microdl's threads at once
_kernel = njit(nogil=True, **_FLAGS)


@_inline
def _no_relu(floor):
    """Whether floor is NaN, BatchNorm alone: its backward sums need no mask. NOTE: the mask's
    compare and select cost 15-25% of a channels backward on one thread ((128, 16, 784) 1.30
    -> 1.12 ms)."""
    return floor != floor


# ---- per-channel statistics and constants: every layout calls these ------------------------------

@_inline
def _batch_stats(c, s1, s2, k, m, momentum, eps, mean, invstd, running_mean, running_var):
    """Channel c from s1 = sum(x - k) and s2 = sum((x - k)^2) over its m values:
    mean = k + s1 / m, var = (s2 - s1^2 / m) / m (biased), invstd = 1 / sqrt(var + eps).
    Tracked (running_mean not empty): running = (1 - momentum) * running + momentum * batch, with
    the unbiased var * m / (m - 1) for running_var.

    The shift k (a value of the channel) keeps the cancellation in s2 - s1^2 / m harmless: without
    it, E[x^2] - E[x]^2 loses every digit when the mean is large next to the spread.
    """
    mu = s1 / m
    var = (s2 - s1 * mu) / m
    if var < 0.0:  # rounding can leave a constant channel a hair below 0
        var = 0.0
    mean[c] = k + mu
    invstd[c] = 1.0 / np.sqrt(var + eps)
    if running_mean.size > 0:
        running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mean[c]
        running_var[c] = (1.0 - momentum) * running_var[c] + momentum * var * m / (m - 1)


@_inline
def _running_stats(c, running_mean, running_var, eps, mean, invstd):
    """Eval: mean = running_mean, invstd = 1 / sqrt(running_var + eps) for channel c."""
    mean[c] = running_mean[c]
    invstd[c] = 1.0 / np.sqrt(np.float64(running_var[c]) + eps)


@_inline
def _forward_constants(c, weight, bias, mean, invstd, consts):
    """consts[:, c] = (mean, scale, beta) in x's dtype for y = (x - mean) * scale + beta:
    scale = weight * invstd, beta = bias (weight 1 and bias 0 when they are empty)."""
    consts[0, c] = mean[c]
    consts[1, c] = invstd[c] * (np.float64(weight[c]) if weight.size > 0 else 1.0)
    consts[2, c] = np.float64(bias[c]) if bias.size > 0 else 0.0


@_inline
def _backward_constants(c, dbeta, dxm, weight, mean, invstd, m, training, grad_weight, grad_bias,
                        consts):
    """Channel c from dbeta = sum(dy) and dxm = sum(dy * (x - mean)): grad_bias = dbeta,
    grad_weight = dgamma = dxm * invstd, and consts[:, c] = (mean, a, k, c0) in x's dtype for
    dx = a * dy + k * (x - mean) + c0, with a = weight * invstd. Training expands
    a * (dy - dbeta / m - xhat * dgamma / m): k = -a * invstd * dgamma / m, c0 = -a * dbeta / m;
    eval (constant statistics): k = c0 = 0."""
    dgamma = dxm * invstd[c]
    grad_bias[c] = dbeta
    grad_weight[c] = dgamma
    a = invstd[c] * (np.float64(weight[c]) if weight.size > 0 else 1.0)
    consts[0, c] = mean[c]
    consts[1, c] = a
    consts[2, c] = -a * invstd[c] * dgamma / m if training else 0.0
    consts[3, c] = -a * dbeta / m if training else 0.0


# ---- "rows" layout: x2 is the (N, C*S) view, cut into chunks of rows -----------------------------
# Each loop over a chunk exists twice, and a rows kernel is compiled once with each set (see
# _rows_kernel), so a run compiles only the loops its shapes use:
# - features (S == 1, BatchNorm1d): along the row with per-channel arrays, so the loops vectorize
#   over C (four rows at a time in the sums, to store the accumulators a quarter as often);
# - planes (S > 1): run by run, each channel's S values in one inner loop.
# acc1, acc2 are the chunk's own rows of partial; consts is (4, C): each constant a contiguous
# per-channel array for these loops.

@_inline
def _feature_sums(x2, lo, rows, S, acc1, acc2):
    """acc1[c] = sum(x - k), acc2[c] = sum((x - k)^2) over rows lo..lo+rows of channel c, with
    the shift k = x2[0, c] (the channel's first value)."""
    k = x2[0]
    for c in range(acc1.size):
        acc1[c] = 0.0
        acc2[c] = 0.0
    r = 0
    while r + 4 <= rows:
        x0, x1, x2_, x3 = x2[lo + r], x2[lo + r + 1], x2[lo + r + 2], x2[lo + r + 3]
        for c in range(acc1.size):
            kc = np.float64(k[c])
            d0, d1, d2, d3 = x0[c] - kc, x1[c] - kc, x2_[c] - kc, x3[c] - kc
            acc1[c] += (d0 + d1) + (d2 + d3)
            acc2[c] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
        r += 4
    for r in range(r, rows):
        row = x2[lo + r]
        for c in range(acc1.size):
            d = row[c] - np.float64(k[c])
            acc1[c] += d
            acc2[c] += d * d


@_inline
def _plane_sums(x2, lo, rows, S, acc1, acc2):
    """_feature_sums for S > 1: the shift of channel c is x2[0, c * S]."""
    for c in range(acc1.size):
        acc1[c] = 0.0
        acc2[c] = 0.0
    for r in range(lo, lo + rows):
        for c in range(acc1.size):
            k = np.float64(x2[0, c * S])
            run = x2[r, c * S:(c + 1) * S]
            s1 = 0.0
            s2 = 0.0
            for s in range(S):
                d = run[s] - k
                s1 += d
                s2 += d * d
            acc1[c] += s1
            acc2[c] += s2


@_inline
def _feature_grad_sums(x2, g2, y2, floor, lo, rows, S, mean, acc1, acc2):
    """acc1[c] = sum(g), acc2[c] = sum(g * (x - mean[c])) over rows lo..lo+rows, where g is
    the upstream gradient masked to 0 where the fused ReLU's output y is <= floor (floor NaN
    and y2 the gradient itself: no ReLU, nothing masked)."""
    for c in range(acc1.size):
        acc1[c] = 0.0
        acc2[c] = 0.0
    r = 0
    if _no_relu(floor):
        while r + 4 <= rows:
            x0, x1, x2_, x3 = x2[lo + r], x2[lo + r + 1], x2[lo + r + 2], x2[lo + r + 3]
            g0, g1, g2_, g3 = g2[lo + r], g2[lo + r + 1], g2[lo + r + 2], g2[lo + r + 3]
            for c in range(acc1.size):
                mu = mean[c]
                e0, e1 = np.float64(g0[c]), np.float64(g1[c])
                e2, e3 = np.float64(g2_[c]), np.float64(g3[c])
                acc1[c] += (e0 + e1) + (e2 + e3)
                acc2[c] += (e0 * (x0[c] - mu) + e1 * (x1[c] - mu)) + \
                    (e2 * (x2_[c] - mu) + e3 * (x3[c] - mu))
            r += 4
    for r in range(r, rows):
        xr, gr, yr = x2[lo + r], g2[lo + r], y2[lo + r]
        for c in range(acc1.size):
            g = 0.0 if yr[c] <= floor else np.float64(gr[c])
            acc1[c] += g
            acc2[c] += g * (xr[c] - mean[c])


@_inline
def _plane_grad_sums(x2, g2, y2, floor, lo, rows, S, mean, acc1, acc2):
    """_feature_grad_sums for S > 1."""
    for c in range(acc1.size):
        acc1[c] = 0.0
        acc2[c] = 0.0
    for r in range(lo, lo + rows):
        for c in range(acc1.size):
            mu = mean[c]
            xr = x2[r, c * S:(c + 1) * S]
            gr = g2[r, c * S:(c + 1) * S]
            yr = y2[r, c * S:(c + 1) * S]
            s1 = 0.0
            s2 = 0.0
            for s in range(S):
                g = 0.0 if yr[s] <= floor else np.float64(gr[s])
                s1 += g
                s2 += g * (xr[s] - mu)
            acc1[c] += s1
            acc2[c] += s2


@_inline
def _feature_normalize(x2, y2, lo, rows, S, mean, scale, beta, floor):
    """y = max((x - mean[c]) * scale[c] + beta[c], floor) over rows lo..lo+rows (floor 0 fuses
    a ReLU; NaN leaves y as it is)."""
    for r in range(lo, lo + rows):
        xr, yr = x2[r], y2[r]
        for c in range(mean.size):
            v = (xr[c] - mean[c]) * scale[c] + beta[c]
            yr[c] = floor if v < floor else v


@_inline
def _plane_normalize(x2, y2, lo, rows, S, mean, scale, beta, floor):
    """_feature_normalize for S > 1."""
    for r in range(lo, lo + rows):
        for c in range(mean.size):
            mu, sc, bc = mean[c], scale[c], beta[c]
            xr = x2[r, c * S:(c + 1) * S]
            yr = y2[r, c * S:(c + 1) * S]
            for s in range(S):
                v = (xr[s] - mu) * sc + bc
                yr[s] = floor if v < floor else v


@_inline
def _feature_dx(x2, g2, y2, floor, dx2, lo, rows, S, mean, a, k, c0):
    """dx = a[c] * g + k[c] * (x - mean[c]) + c0[c] over rows lo..lo+rows (g masked as in
    _feature_grad_sums), with the constants of _backward_constants.

    NOTE: the x term is skipped where k is 0 (eval mode: every k), so dx = a * g stays finite
    where x is NaN or Inf, as in the reference (0 * NaN would be NaN).
    """
    x_term = False
    for c in range(a.size):
        x_term = x_term or k[c] != 0
    zero = dx2.dtype.type(0)
    for r in range(lo, lo + rows):
        xr, gr, yr, dr = x2[r], g2[r], y2[r], dx2[r]
        if x_term:
            for c in range(a.size):
                g = zero if yr[c] <= floor else gr[c]
                dr[c] = a[c] * g + k[c] * (xr[c] - mean[c]) + c0[c]
        else:
            for c in range(a.size):
                g = zero if yr[c] <= floor else gr[c]
                dr[c] = a[c] * g + c0[c]


@_inline
def _dx_run(xr, gr, yr, dr, floor, a, k, mu, c0, zero):
    """dr = a * g + k * (xr - mu) + c0 over one run of a channel's values, g = gr masked to 0
    where yr <= floor; the x term left out where k is 0 (eval mode), so dr stays finite where x
    is not (see _feature_dx). The planes rows loop and the channels layout share it."""
    if k == 0:
        for s in range(dr.size):
            g = zero if yr[s] <= floor else gr[s]
            dr[s] = a * g + c0
    else:
        for s in range(dr.size):
            g = zero if yr[s] <= floor else gr[s]
            dr[s] = a * g + k * (xr[s] - mu) + c0


@_inline
def _plane_dx(x2, g2, y2, floor, dx2, lo, rows, S, mean, a, k, c0):
    """_feature_dx for S > 1 (the x term skipped per channel where its k is 0)."""
    zero = dx2.dtype.type(0)
    for r in range(lo, lo + rows):
        for c in range(a.size):
            ac, kc, mu, cc = a[c], k[c], mean[c], c0[c]
            xr = x2[r, c * S:(c + 1) * S]
            gr = g2[r, c * S:(c + 1) * S]
            yr = y2[r, c * S:(c + 1) * S]
            _dx_run(xr, gr, yr, dx2[r, c * S:(c + 1) * S], floor, ac, kc, mu, cc, zero)


# The names the rows kernels call, bound to the S > 1 loops here; _rows_kernel compiles each
# kernel once as written (.planes) and once as a copy whose globals rebind them (.features).
_chunk_sums, _chunk_grad_sums, _chunk_normalize, _chunk_dx = (
    _plane_sums, _plane_grad_sums, _plane_normalize, _plane_dx)
_FEATURES = dict(_chunk_sums=_feature_sums, _chunk_grad_sums=_feature_grad_sums,
                 _chunk_normalize=_feature_normalize, _chunk_dx=_feature_dx)


class _rows_kernel:
    """A rows kernel compiled as two functions: ``features`` (its _chunk_* loops bound to the
    S == 1 ones) and ``planes`` (bound to the S > 1 ones)."""

    def __init__(self, fn):
        self.features = _kernel(_renamed(fn, fn.__name__ + "_features", _FEATURES))
        self.planes = _kernel(_renamed(fn, fn.__name__ + "_planes"))


@_inline
def _merge(partial):
    """partial[i, 0] = the sum of partial[i, b] over the chunks b, added in chunk order (never by
    thread), for the per-channel loops that follow."""
    for i in range(2):
        total = partial[i, 0]
        for b in range(1, partial.shape[1]):
            row = partial[i, b]
            for c in range(total.size):
                total[c] += row[c]


@_inline
def _block_rows(N, nchunks, chunk_rows, block, blocks):
    """Rows [lo, hi) of the chunks of block ``block`` of ``blocks``."""
    lo = nchunks * block // blocks * chunk_rows
    return lo, max(lo, min(N, nchunks * (block + 1) // blocks * chunk_rows))


# Phases of a rows kernel, as bit flags: SUMS (per-chunk partial sums into partial[:, b]) and
# ELEMENTWISE (normalize, or dx) run over the chunks of one of ``blocks`` equal blocks (``block``)
# and are what normalization.py spreads over threads; MERGE (the chunks' sums added in chunk
# order, then the per-channel helpers) runs once, between them. A serial call runs ALL three.
SUMS, MERGE, ELEMENTWISE = 1, 2, 4
ALL = SUMS | MERGE | ELEMENTWISE


@_rows_kernel
def train_rows(x3, weight, bias, y3, mean, invstd, running_mean, running_var, momentum, eps, floor,
               consts, partial, chunk_rows, phase, block, blocks):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    nchunks = partial.shape[1]
    if phase & SUMS:
        for b in range(nchunks * block // blocks, nchunks * (block + 1) // blocks):
            lo = b * chunk_rows
            _chunk_sums(x2, lo, min(chunk_rows, N - lo), S, partial[0, b], partial[1, b])
    if phase & MERGE:
        _merge(partial)
        # NOTE: the helpers in loops of their own, and _batch_stats' branch on running_mean
        # taken out of its loop by hand: fused and branching, the loop did not vectorize (C =
        # 1024: 40 us; split 24-28 us; now 11 us, as fast as separately compiled functions,
        # which cost 0.4 s each of a first compile)
        if running_mean.size > 0:
            for c in range(C):
                _batch_stats(c, partial[0, 0, c], partial[1, 0, c], np.float64(x2[0, c * S]),
                             N * S, momentum, eps, mean, invstd, running_mean, running_var)
        else:
            for c in range(C):
                _batch_stats(c, partial[0, 0, c], partial[1, 0, c], np.float64(x2[0, c * S]),
                             N * S, momentum, eps, mean, invstd, running_mean, running_var)
        for c in range(C):
            _forward_constants(c, weight, bias, mean, invstd, consts)
    if phase & ELEMENTWISE:
        lo, hi = _block_rows(N, nchunks, chunk_rows, block, blocks)
        _chunk_normalize(x2, y3.reshape((N, C * S)), lo, hi - lo, S, consts[0], consts[1],
                         consts[2], floor)


@_rows_kernel
def eval_rows(x3, weight, bias, running_mean, running_var, y3, mean, invstd, eps, floor, consts,
              partial, chunk_rows, phase, block, blocks):
    N, C, S = x3.shape
    if phase & MERGE:
        for c in range(C):
            _running_stats(c, running_mean, running_var, eps, mean, invstd)
            _forward_constants(c, weight, bias, mean, invstd, consts)
    if phase & ELEMENTWISE:
        lo, hi = _block_rows(N, partial.shape[1], chunk_rows, block, blocks)
        _chunk_normalize(x3.reshape((N, C * S)), y3.reshape((N, C * S)), lo, hi - lo, S,
                         consts[0], consts[1], consts[2], floor)


@_rows_kernel
def backward_rows(x3, g3, y3, floor, weight, mean, invstd, gx3, grad_weight, grad_bias, training,
                  consts, partial, chunk_rows, phase, block, blocks):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    g2 = g3.reshape((N, C * S))
    y2 = y3.reshape((N, C * S))
    nchunks = partial.shape[1]
    if phase & SUMS:
        for b in range(nchunks * block // blocks, nchunks * (block + 1) // blocks):
            lo = b * chunk_rows
            _chunk_grad_sums(x2, g2, y2, floor, lo, min(chunk_rows, N - lo), S, mean, partial[0, b],
                            partial[1, b])
    if phase & MERGE:
        _merge(partial)
        for c in range(C):
            _backward_constants(c, partial[0, 0, c], partial[1, 0, c], weight, mean, invstd, N * S,
                                training, grad_weight, grad_bias, consts)
    if phase & ELEMENTWISE:
        lo, hi = _block_rows(N, nchunks, chunk_rows, block, blocks)
        _chunk_dx(x2, g2, y2, floor, gx3.reshape((N, C * S)), lo, hi - lo, S, consts[0],
                  consts[1], consts[2], consts[3])


# ---- "small" layout: a BatchNorm1d (S == 1) input of a few thousand values, in one call --------
# x2 (N, C): each pass a plain loop over the rows, vectorized along C. Written apart from the
# rows kernels (no phases, chunks, 4-row unrolling or reshapes) for the first-ever start: an
# MLP+BN step compiles these two in ~1.4 s where the rows kernels' features builds took ~2.9 s.
# At run time they are level with the rows kernels' serial call (BatchNorm1d module fwd+bwd on
# (60, 100): 77.0 against 76.8 us, best of 8 alternating rounds).

@_kernel
def train_small(x2, weight, bias, y2, mean, invstd, running_mean, running_var, momentum, eps,
                floor, consts, sums):
    N, C = x2.shape
    s1, s2, k = sums[0], sums[1], x2[0]
    for c in range(C):
        s1[c] = 0.0
        s2[c] = 0.0
    for r in range(N):
        row = x2[r]
        for c in range(C):
            d = row[c] - np.float64(k[c])
            s1[c] += d
            s2[c] += d * d
    if running_mean.size > 0:  # (taken out of the loop by hand, as in train_rows)
        for c in range(C):
            _batch_stats(c, s1[c], s2[c], np.float64(k[c]), N, momentum, eps, mean, invstd,
                         running_mean, running_var)
    else:
        for c in range(C):
            _batch_stats(c, s1[c], s2[c], np.float64(k[c]), N, momentum, eps, mean, invstd,
                         running_mean, running_var)
    for c in range(C):
        _forward_constants(c, weight, bias, mean, invstd, consts)
    _feature_normalize(x2, y2, 0, N, 1, consts[0], consts[1], consts[2], floor)


@_kernel
def backward_small(x2, g2, y2, floor, weight, mean, invstd, gx2, grad_weight, grad_bias,
                   training, consts, sums):
    N, C = x2.shape
    s1, s2 = sums[0], sums[1]
    for c in range(C):
        s1[c] = 0.0
        s2[c] = 0.0
    # NOTE: one masked loop, NaN floor or not: a second, unmasked copy (as in the channels
    # kernel) made this first-run kernel compile in 1.04 s instead of 0.81 s, for no gain at
    # its sizes (BatchNorm1d (60, 100): 7.2 us either way)
    for r in range(N):
        xr, gr, yr = x2[r], g2[r], y2[r]
        for c in range(C):
            g = 0.0 if yr[c] <= floor else np.float64(gr[c])
            s1[c] += g
            s2[c] += g * (xr[c] - mean[c])
    for c in range(C):
        _backward_constants(c, s1[c], s2[c], weight, mean, invstd, N, training, grad_weight,
                            grad_bias, consts)
    _feature_dx(x2, g2, y2, floor, gx2, 0, N, 1, consts[0], consts[1], consts[2], consts[3])


# ---- "channels" layout: the channels of block ``block`` of ``blocks``, x3 (N, C, S) with large S -
# A channel is N planes of S values, one per sample, C*S apart: the statistics pass reads four
# (backward: two of x and two of dy) planes side by side, so several memory streams are in flight
# (~20% faster than one plane after another); the elementwise pass then reads the channel from L2.
# A call writes column c of consts (and entry c of every per-channel array) of its channels only.

@_inline
def _normalize_channel(x3, y3, c, consts, floor):
    """y = max((x - mean) * scale + beta, floor) over channel c of x3 (N, C, S), with
    (mean, scale, beta) = consts[:, c] (floor NaN without the fused ReLU)."""
    N, S = x3.shape[0], x3.shape[2]
    mu_x, scale, beta = consts[0, c], consts[1, c], consts[2, c]
    for n in range(N):
        xr = x3[n, c]
        yr = y3[n, c]
        for s in range(S):
            v = (xr[s] - mu_x) * scale + beta
            yr[s] = floor if v < floor else v


@_kernel
def train_channels(x3, weight, bias, y3, mean, invstd, running_mean, running_var, momentum, eps,
                   floor, consts, block, blocks):
    N, C, S = x3.shape
    for c in range(C * block // blocks, C * (block + 1) // blocks):
        k = np.float64(x3[0, c, 0])
        s1 = 0.0
        s2 = 0.0
        n = 0
        while n + 4 <= N:
            r0, r1, r2, r3 = x3[n, c], x3[n + 1, c], x3[n + 2, c], x3[n + 3, c]
            for s in range(S):
                d0, d1, d2, d3 = r0[s] - k, r1[s] - k, r2[s] - k, r3[s] - k
                s1 += (d0 + d1) + (d2 + d3)
                s2 += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
            n += 4
        for n in range(n, N):
            row = x3[n, c]
            for s in range(S):
                d = row[s] - k
                s1 += d
                s2 += d * d
        _batch_stats(c, s1, s2, k, N * S, momentum, eps, mean, invstd, running_mean, running_var)
        _forward_constants(c, weight, bias, mean, invstd, consts)
        _normalize_channel(x3, y3, c, consts, floor)


@_kernel
def eval_channels(x3, weight, bias, running_mean, running_var, y3, mean, invstd, eps, floor,
                  consts, block, blocks):
    C = x3.shape[1]
    for c in range(C * block // blocks, C * (block + 1) // blocks):
        _running_stats(c, running_mean, running_var, eps, mean, invstd)
        _forward_constants(c, weight, bias, mean, invstd, consts)
        _normalize_channel(x3, y3, c, consts, floor)


@_kernel
def backward_channels(x3, g3, y3, floor, weight, mean, invstd, gx3, grad_weight, grad_bias,
                      training, consts, block, blocks):
    N, C, S = x3.shape
    zero, no_relu = x3.dtype.type(0), _no_relu(floor)
    for c in range(C * block // blocks, C * (block + 1) // blocks):
        mu = mean[c]
        dbeta = 0.0
        dxm = 0.0
        n = 0
        while n + 2 <= N:
            x0, x1, g0, g1 = x3[n, c], x3[n + 1, c], g3[n, c], g3[n + 1, c]
            y0, y1 = y3[n, c], y3[n + 1, c]
            if no_relu:
                for s in range(S):
                    e0, e1 = np.float64(g0[s]), np.float64(g1[s])
                    dbeta += e0 + e1
                    dxm += e0 * (x0[s] - mu) + e1 * (x1[s] - mu)
            else:
                for s in range(S):
                    e0 = 0.0 if y0[s] <= floor else np.float64(g0[s])
                    e1 = 0.0 if y1[s] <= floor else np.float64(g1[s])
                    dbeta += e0 + e1
                    dxm += e0 * (x0[s] - mu) + e1 * (x1[s] - mu)
            n += 2
        for n in range(n, N):
            xr = x3[n, c]
            gr = g3[n, c]
            yr = y3[n, c]
            for s in range(S):
                g = 0.0 if yr[s] <= floor else np.float64(gr[s])
                dbeta += g
                dxm += g * (xr[s] - mu)
        _backward_constants(c, dbeta, dxm, weight, mean, invstd, N * S, training, grad_weight,
                            grad_bias, consts)
        mu_x, a_x, k_x, c_x = consts[0, c], consts[1, c], consts[2, c], consts[3, c]
        for n in range(N):
            xr = x3[n, c]
            gr = g3[n, c]
            yr = y3[n, c]
            _dx_run(xr, gr, yr, gx3[n, c], floor, a_x, k_x, mu_x, c_x, zero)
