"""The layouts behind kernels/cpu/normalization.py, over one set of per-channel formulas.

x is a contiguous (N, C, S) array, m = N * S values per channel. Each layout sums a channel in
its own loop order (float64 accumulators, x shifted by k = x[0, c, 0]) and hands the sums to the
same helpers: _batch_stats or _running_stats for mean and invstd, then _forward_constants or
_backward_constants for the constants of the elementwise pass. That pass runs in x's dtype with
the constants rounded to it, as PyTorch does (float32 SIMD lanes are twice as wide).

The only fastmath flag is "reassoc", so that LLVM vectorizes the float64 reductions (a strict
left-to-right sum cannot use SIMD lanes); it changes no NaN/Inf semantics, and the compiled order
depends on the code, not on the threads.
"""

import numpy as np
from numba import njit, prange

from ._jit import _renamed

_FLAGS = dict(cache=True, error_model="numpy", fastmath={"reassoc"})
# NOTE: the per-channel helpers inline at numba's IR level, so each layout compiles them as if
# written out in it: called as separately compiled functions they cost a call per channel, and
# under reassoc running_var came out an ulp apart from the same formula written in place.
_inline = njit(inline="always", **_FLAGS)


class _Pair:
    """A kernel compiled twice: ``serial`` (no parallel region) and ``parallel``."""

    def __init__(self, fn):
        self.serial = njit(**_FLAGS)(_renamed(fn, fn.__name__ + "_serial"))
        self.parallel = njit(parallel=True, **_FLAGS)(_renamed(fn, fn.__name__ + "_parallel"))


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
# S == 1 (BatchNorm1d) runs along the row with per-channel arrays, so the loops vectorize over C
# (four rows at a time in the sums, to store the accumulators a quarter as often); S > 1 goes run
# by run. consts is (3 or 4, C): each constant a contiguous per-channel array for those loops.

@njit(**_FLAGS)
def _rows_sums(x2, lo, rows, S, shift, acc1, acc2):
    """acc1[c] += sum(x - shift[c]), acc2[c] += sum((x - shift[c])^2) over rows lo..lo+rows."""
    C = acc1.size
    r = 0
    if S == 1:
        while r + 4 <= rows:
            x0, x1, x2_, x3 = x2[lo + r], x2[lo + r + 1], x2[lo + r + 2], x2[lo + r + 3]
            for c in range(C):
                k = shift[c]
                d0, d1, d2, d3 = x0[c] - k, x1[c] - k, x2_[c] - k, x3[c] - k
                acc1[c] += (d0 + d1) + (d2 + d3)
                acc2[c] += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3)
            r += 4
    for r in range(r, rows):
        row = x2[lo + r]
        for c in range(C):
            k = shift[c]
            base = c * S
            s1 = 0.0
            s2 = 0.0
            for s in range(S):
                d = row[base + s] - k
                s1 += d
                s2 += d * d
            acc1[c] += s1
            acc2[c] += s2


@njit(**_FLAGS)
def _rows_grad_sums(x2, g2, y2, floor, lo, rows, S, mean, acc1, acc2):
    """acc1[c] += sum(g), acc2[c] += sum(g * (x - mean[c])) over rows lo..lo+rows, where g is
    the upstream gradient masked to 0 where the fused ReLU's output y is <= floor (floor -inf
    and y2 the gradient itself: no ReLU, nothing masked)."""
    C = acc1.size
    r = 0
    if S == 1 and floor == -np.inf:
        while r + 4 <= rows:
            x0, x1, x2_, x3 = x2[lo + r], x2[lo + r + 1], x2[lo + r + 2], x2[lo + r + 3]
            g0, g1, g2_, g3 = g2[lo + r], g2[lo + r + 1], g2[lo + r + 2], g2[lo + r + 3]
            for c in range(C):
                mu = mean[c]
                e0, e1 = np.float64(g0[c]), np.float64(g1[c])
                e2, e3 = np.float64(g2_[c]), np.float64(g3[c])
                acc1[c] += (e0 + e1) + (e2 + e3)
                acc2[c] += (e0 * (x0[c] - mu) + e1 * (x1[c] - mu)) + \
                    (e2 * (x2_[c] - mu) + e3 * (x3[c] - mu))
            r += 4
    for r in range(r, rows):
        xr = x2[lo + r]
        gr = g2[lo + r]
        yr = y2[lo + r]
        for c in range(C):
            mu = mean[c]
            base = c * S
            s1 = 0.0
            s2 = 0.0
            for s in range(S):
                g = 0.0 if yr[base + s] <= floor else np.float64(gr[base + s])
                s1 += g
                s2 += g * (xr[base + s] - mu)
            acc1[c] += s1
            acc2[c] += s2


@njit(**_FLAGS)
def _rows_normalize(x2, y2, lo, rows, S, mean, scale, beta, floor):
    """y = max((x - mean[c]) * scale[c] + beta[c], floor) over rows lo..lo+rows (floor 0 fuses
    a ReLU; -inf leaves y as it is, NaN included)."""
    C = mean.size
    for r in range(rows):
        xr = x2[lo + r]
        yr = y2[lo + r]
        if S == 1:
            for c in range(C):
                v = (xr[c] - mean[c]) * scale[c] + beta[c]
                yr[c] = floor if v < floor else v
        else:
            for c in range(C):
                mu = mean[c]
                sc = scale[c]
                bc = beta[c]
                base = c * S
                for s in range(S):
                    v = (xr[base + s] - mu) * sc + bc
                    yr[base + s] = floor if v < floor else v


@njit(**_FLAGS)
def _rows_dx(x2, g2, y2, floor, dx2, lo, rows, S, mean, a, k, c0):
    """dx = a[c] * g + k[c] * (x - mean[c]) + c0[c] over rows lo..lo+rows (g masked as in
    _rows_grad_sums), with the constants of _backward_constants.

    NOTE: the x term is skipped where k is 0 (eval mode: every k), so dx = a * g stays finite
    where x is NaN or Inf, as in the reference (0 * NaN would be NaN).
    """
    C = a.size
    x_term = False
    for c in range(C):
        x_term = x_term or k[c] != 0
    zero = np.zeros(1, dx2.dtype)[0]
    for r in range(rows):
        xr = x2[lo + r]
        gr = g2[lo + r]
        yr = y2[lo + r]
        dr = dx2[lo + r]
        if S == 1 and not x_term:
            for c in range(C):
                g = zero if yr[c] <= floor else gr[c]
                dr[c] = a[c] * g + c0[c]
        elif S == 1:
            for c in range(C):
                g = zero if yr[c] <= floor else gr[c]
                dr[c] = a[c] * g + k[c] * (xr[c] - mean[c]) + c0[c]
        else:
            for c in range(C):
                ac = a[c]
                kc = k[c]
                mu = mean[c]
                cc = c0[c]
                base = c * S
                if kc == 0:
                    for s in range(S):
                        g = zero if yr[base + s] <= floor else gr[base + s]
                        dr[base + s] = ac * g + cc
                else:
                    for s in range(S):
                        g = zero if yr[base + s] <= floor else gr[base + s]
                        dr[base + s] = ac * g + kc * (xr[base + s] - mu) + cc


# The per-channel helpers over every channel, in functions of their own (they run between the
# two parallel regions, see below). NOTE: as loops in train_rows they made the serial (256, 1024)
# forward 17% slower (30% as one fused loop); eval_rows' one loop measured no slower in place.

@njit(**_FLAGS)
def _rows_batch_stats(sums, shift, m, momentum, eps, mean, invstd, running_mean, running_var):
    for c in range(mean.size):
        _batch_stats(c, sums[0, c], sums[1, c], shift[c], m, momentum, eps, mean, invstd,
                     running_mean, running_var)


@njit(**_FLAGS)
def _rows_forward_constants(weight, bias, mean, invstd, consts):
    for c in range(mean.size):
        _forward_constants(c, weight, bias, mean, invstd, consts)


@njit(**_FLAGS)
def _rows_backward_constants(sums, weight, mean, invstd, m, training, grad_weight, grad_bias,
                             consts):
    for c in range(mean.size):
        _backward_constants(c, sums[0, c], sums[1, c], weight, mean, invstd, m, training,
                            grad_weight, grad_bias, consts)


@_inline
def _copy_row(src, dst):
    """dst[:] = src as a loop: numba compiles an array-into-slice assignment with a shape-mismatch
    error path that took ~2 s of the first-ever compile, each time."""
    for c in range(src.size):
        dst[c] = src[c]


@njit(**_FLAGS)
def _merge(part):
    """sums[i, c] = sum of part[i, b, c] over the chunks b, in chunk order (never by thread)."""
    sums = np.zeros((part.shape[0], part.shape[2]))
    for i in range(part.shape[0]):
        total = sums[i]
        for b in range(part.shape[1]):
            row = part[i, b]
            for c in range(total.size):
                total[c] += row[c]
    return sums


# The drivers take the (N, C, S) arrays and view them as (N, C*S) inside numba (a Python-side
# reshape costs ~0.15 us an array, and BatchNorm1d on (60, 100) takes ~4 us a call). Each chunk
# accumulates into its own arrays and copies them into its rows of `part`.
# NOTE: keep the serial work between the two parallel regions short and vectorizable (sums in
# their own array, not aliased with mean/invstd): with GOMP_SPINCOUNT=1000 the workers sleep
# after a few microseconds, and waking them for the second region cost ~50 us at (256, 1024).

@_Pair
def train_rows(x3, weight, bias, y3, mean, invstd, running_mean, running_var, momentum, eps, floor,
               chunk_rows):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    nchunks = (N + chunk_rows - 1) // chunk_rows
    shift = np.empty(C)
    for c in range(C):
        shift[c] = x2[0, c * S]
    part = np.empty((2, nchunks, C))
    for b in prange(nchunks):
        lo = b * chunk_rows
        acc1 = np.zeros(C)  # the thread's own accumulators, copied out once
        acc2 = np.zeros(C)
        _rows_sums(x2, lo, min(chunk_rows, N - lo), S, shift, acc1, acc2)
        _copy_row(acc1, part[0, b])
        _copy_row(acc2, part[1, b])
    sums = _merge(part)
    _rows_batch_stats(sums, shift, N * S, momentum, eps, mean, invstd, running_mean, running_var)
    consts = np.empty((3, C), x2.dtype)
    _rows_forward_constants(weight, bias, mean, invstd, consts)
    y2 = y3.reshape((N, C * S))
    for b in prange(nchunks):
        lo = b * chunk_rows
        _rows_normalize(x2, y2, lo, min(chunk_rows, N - lo), S, consts[0], consts[1], consts[2],
                        floor)


@_Pair
def eval_rows(x3, weight, bias, running_mean, running_var, y3, mean, invstd, eps, floor,
              chunk_rows):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    y2 = y3.reshape((N, C * S))
    for c in range(C):
        _running_stats(c, running_mean, running_var, eps, mean, invstd)
    consts = np.empty((3, C), x2.dtype)
    _rows_forward_constants(weight, bias, mean, invstd, consts)
    for b in prange((N + chunk_rows - 1) // chunk_rows):
        lo = b * chunk_rows
        _rows_normalize(x2, y2, lo, min(chunk_rows, N - lo), S, consts[0], consts[1], consts[2],
                        floor)


@_Pair
def backward_rows(x3, g3, y3, floor, weight, mean, invstd, gx3, grad_weight, grad_bias, training,
                  chunk_rows):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    g2 = g3.reshape((N, C * S))
    y2 = y3.reshape((N, C * S))
    nchunks = (N + chunk_rows - 1) // chunk_rows
    part = np.empty((2, nchunks, C))
    for b in prange(nchunks):
        lo = b * chunk_rows
        acc1 = np.zeros(C)
        acc2 = np.zeros(C)
        _rows_grad_sums(x2, g2, y2, floor, lo, min(chunk_rows, N - lo), S, mean, acc1, acc2)
        _copy_row(acc1, part[0, b])
        _copy_row(acc2, part[1, b])
    sums = _merge(part)
    consts = np.empty((4, C), x2.dtype)
    _rows_backward_constants(sums, weight, mean, invstd, N * S, training, grad_weight, grad_bias,
                             consts)
    gx2 = gx3.reshape((N, C * S))
    for b in prange(nchunks):
        lo = b * chunk_rows
        _rows_dx(x2, g2, y2, floor, gx2, lo, min(chunk_rows, N - lo), S, consts[0], consts[1],
                 consts[2], consts[3])


# ---- "channels" layout: prange over channels, x3 is (N, C, S) with large S -----------------------
# A channel is N planes of S values, one per sample, C*S apart: the statistics pass reads four
# (backward: two of x and two of dy) planes side by side, so several memory streams are in flight
# (~20% faster than one plane after another); the elementwise pass then reads the channel from L2.
# Iteration c writes column c of consts (and entry c of every per-channel array) only.

@_inline
def _normalize_channel(x3, y3, c, consts, floor):
    """y = max((x - mean) * scale + beta, floor) over channel c of x3 (N, C, S), with
    (mean, scale, beta) = consts[:, c] (floor -inf without the fused ReLU)."""
    N, S = x3.shape[0], x3.shape[2]
    mu_x, scale, beta = consts[0, c], consts[1, c], consts[2, c]
    for n in range(N):
        xr = x3[n, c]
        yr = y3[n, c]
        for s in range(S):
            v = (xr[s] - mu_x) * scale + beta
            yr[s] = floor if v < floor else v


@_Pair
def train_channels(x3, weight, bias, y3, mean, invstd, running_mean, running_var, momentum, eps,
                   floor):
    N, C, S = x3.shape
    consts = np.empty((3, C), x3.dtype)
    for c in prange(C):
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


@_Pair
def eval_channels(x3, weight, bias, running_mean, running_var, y3, mean, invstd, eps, floor):
    C = x3.shape[1]
    consts = np.empty((3, C), x3.dtype)
    for c in prange(C):
        _running_stats(c, running_mean, running_var, eps, mean, invstd)
        _forward_constants(c, weight, bias, mean, invstd, consts)
        _normalize_channel(x3, y3, c, consts, floor)


@_Pair
def backward_channels(x3, g3, y3, floor, weight, mean, invstd, gx3, grad_weight, grad_bias,
                      training):
    N, C, S = x3.shape
    consts = np.empty((4, C), x3.dtype)
    zero = np.zeros(1, x3.dtype)[0]
    for c in prange(C):
        mu = mean[c]
        dbeta = 0.0
        dxm = 0.0
        n = 0
        while n + 2 <= N:
            x0, x1, g0, g1 = x3[n, c], x3[n + 1, c], g3[n, c], g3[n + 1, c]
            y0, y1 = y3[n, c], y3[n + 1, c]
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
            dr = gx3[n, c]
            if k_x == 0:  # eval mode: dx = a * dy, finite where x is not (see _rows_dx)
                for s in range(S):
                    g = zero if yr[s] <= floor else gr[s]
                    dr[s] = a_x * g + c_x
            else:
                for s in range(S):
                    g = zero if yr[s] <= floor else gr[s]
                    dr[s] = a_x * g + k_x * (xr[s] - mu_x) + c_x
