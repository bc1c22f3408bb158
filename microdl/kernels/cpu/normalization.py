"""Numba twins of numpy_ref/normalization.py, with three layouts of the same math.

x is a contiguous (N, C, S) array. Statistics use a per-channel shift k = x[0, c, 0] and float64
accumulators: sum(x - k) and sum((x - k)^2) in one read, var = (S2 - S1^2 / m) / m. The shift
keeps the cancellation harmless (E[x^2] - E[x]^2 without it loses every digit when the mean is
large next to the spread). Layouts:

- "channels" (planes of S >= PLANE_MIN values): prange over channels; each channel is read once
  for its statistics and normalized (or differentiated) at once while it is still in L2.
- "rows" (small planes, e.g. BatchNorm1d where S = 1, or 8x8 maps): the (N, C*S) matrix is cut
  into fixed chunks of CHUNK_ELEMENTS / (C*S) rows; each chunk writes its own per-channel partial
  sums into a (chunks, C) scratch array, a serial loop merges them in chunk order, then a second
  prange over the chunks normalizes. Chunks depend on the shape only, so results are bitwise
  the same whatever numba.set_num_threads says.
- "serial" (fewer than TINY_ELEMENTS values): the rows kernel compiled without a parallel
  region, as one chunk, so BatchNorm1d on (60, 100) pays for one small call per direction.

Statistics and per-channel constants are float64; the elementwise passes (y, dx) run in the
input's dtype with those constants rounded to it, as PyTorch does (float32 SIMD lanes are twice
as wide). The only fastmath flag is "reassoc", so that LLVM vectorizes the float64 reductions (a
strict left-to-right sum cannot use SIMD lanes); it changes no NaN/Inf semantics, and the
compiled order depends on the code, not on the threads.
"""

import numpy as np
from numba import njit, prange

from ._jit import _renamed

# Layout thresholds (read by the Python wrappers at each call, so tests can change them).
# NOTE: with GOMP_SPINCOUNT=1000 (microdl's default) the worker thread is asleep again when the
# next kernel call comes, and waking it costs tens of microseconds on these VMs: measured in
# training steps (forward + backward), the serial build wins below ~0.5M values.
TINY_ELEMENTS = 1 << 19
PLANE_MIN = 256
CHUNK_ELEMENTS = 1 << 15
_FLAGS = dict(cache=True, error_model="numpy", fastmath={"reassoc"})


class _Pair:
    """A kernel compiled twice: ``serial`` (no parallel region) and ``parallel``."""

    def __init__(self, fn):
        self.serial = njit(**_FLAGS)(_renamed(fn, fn.__name__ + "_serial"))
        self.parallel = njit(parallel=True, **_FLAGS)(_renamed(fn, fn.__name__ + "_parallel"))


@njit(**_FLAGS)
def _finish_stats(sum1, sum2, shift, m, running_mean, running_var, momentum, eps, mean, invstd):
    """mean and invstd from the shifted sums of every channel; the running statistics too."""
    for c in range(mean.size):
        mu = sum1[c] / m
        var = (sum2[c] - sum1[c] * mu) / m
        if var < 0.0:
            var = 0.0
        mean[c] = shift[c] + mu
        invstd[c] = 1.0 / np.sqrt(var + eps)
        if running_mean.size > 0:
            running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mean[c]
            running_var[c] = (1.0 - momentum) * running_var[c] + momentum * var * m / (m - 1)


@njit(**_FLAGS)
def _forward_constants(weight, bias, mean, invstd, consts):
    """consts[:, c] = (mean, invstd * weight, bias) in x's dtype: y = (x - mean) * scale + bias
    (rows, not columns: the S == 1 loops read each as a contiguous per-channel array)."""
    for c in range(mean.size):
        consts[0, c] = mean[c]
        consts[1, c] = invstd[c] * (np.float64(weight[c]) if weight.size > 0 else 1.0)
        consts[2, c] = np.float64(bias[c]) if bias.size > 0 else 0.0


@njit(**_FLAGS)
def _backward_constants(dbeta, dxm, weight, mean, invstd, m, training, grad_weight, grad_bias,
                        consts):
    """The parameter gradients, and consts[:, c] = (mean, a, k, c0) in x's dtype for
    dx = a * dy + k * (x - mean) + c0, where k and c0 carry the batch statistics' share."""
    for c in range(invstd.size):
        dgamma = dxm[c] * invstd[c]
        grad_bias[c] = dbeta[c]
        grad_weight[c] = dgamma
        a = invstd[c] * (np.float64(weight[c]) if weight.size > 0 else 1.0)
        consts[0, c] = mean[c]
        consts[1, c] = a
        consts[2, c] = -a * invstd[c] * dgamma / m if training else 0.0
        consts[3, c] = -a * dbeta[c] / m if training else 0.0


@njit(**_FLAGS)
def _merge(part, total):
    """total[c] = sum of part[b, c] over the chunks b, in chunk order (never by thread)."""
    total[:] = 0.0
    for b in range(part.shape[0]):
        row = part[b]
        for c in range(total.size):
            total[c] += row[c]


# ---- "rows" layout: x2 is the (N, C*S) view ------------------------------------------------------
# S == 1 (BatchNorm1d) runs along the row with per-channel arrays, so the loops vectorize over C
# (four rows at a time in the sums, to store the accumulators a quarter as often); S > 1 reduces
# each channel's S contiguous values with scalar (vectorized, reassoc) sums.

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
def _rows_affine(x2, g2, y2, floor, out2, lo, rows, S, mean, a, k, c0):
    """out = a[c] * g + k[c] * (x - mean[c]) + c0[c] over rows lo..lo+rows (g masked as in
    _rows_grad_sums).

    NOTE: the x term is skipped where k is 0 (eval mode: every k), so dx = a * g stays finite
    where x is NaN or Inf, as in the reference (0 * NaN would be NaN).
    """
    C = a.size
    x_term = False
    for c in range(C):
        x_term = x_term or k[c] != 0
    zero = np.zeros(1, out2.dtype)[0]
    for r in range(rows):
        xr = x2[lo + r]
        gr = g2[lo + r]
        yr = y2[lo + r]
        outr = out2[lo + r]
        if S == 1 and not x_term:
            for c in range(C):
                g = zero if yr[c] <= floor else gr[c]
                outr[c] = a[c] * g + c0[c]
        elif S == 1:
            for c in range(C):
                g = zero if yr[c] <= floor else gr[c]
                outr[c] = a[c] * g + k[c] * (xr[c] - mean[c]) + c0[c]
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
                        outr[base + s] = ac * g + cc
                else:
                    for s in range(S):
                        g = zero if yr[base + s] <= floor else gr[base + s]
                        outr[base + s] = ac * g + kc * (xr[base + s] - mu) + cc


# The drivers take the (N, C, S) arrays and view them as (N, C*S) inside numba (a Python-side
# reshape costs ~0.15 us an array, and BatchNorm1d on (60, 100) takes ~4 us a call). Each chunk
# accumulates into its own arrays and copies them into its rows of `part`.
# NOTE: keep the serial work between the two parallel regions short and vectorizable (sums in
# their own array, not aliased with mean/invstd): with GOMP_SPINCOUNT=1000 the workers sleep
# after a few microseconds, and waking them for the second region cost ~50 us at (256, 1024).

def _bn_train_rows(x3, weight, bias, y3, mean, invstd, running_mean, running_var, momentum, eps,
                   chunk_rows, floor):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    y2 = y3.reshape((N, C * S))
    m = N * S
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
        part[0, b] = acc1
        part[1, b] = acc2
    sums = np.empty((2, C))
    _merge(part[0], sums[0])
    _merge(part[1], sums[1])
    _finish_stats(sums[0], sums[1], shift, m, running_mean, running_var, momentum, eps, mean,
                  invstd)
    consts = np.empty((3, C), x2.dtype)
    _forward_constants(weight, bias, mean, invstd, consts)
    for b in prange(nchunks):
        lo = b * chunk_rows
        _rows_normalize(x2, y2, lo, min(chunk_rows, N - lo), S, consts[0], consts[1], consts[2],
                        floor)


def _bn_eval_rows(x3, weight, bias, running_mean, running_var, y3, mean, invstd, eps,
                  chunk_rows, floor):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    y2 = y3.reshape((N, C * S))
    nchunks = (N + chunk_rows - 1) // chunk_rows
    for c in range(C):
        mean[c] = running_mean[c]
        invstd[c] = 1.0 / np.sqrt(np.float64(running_var[c]) + eps)
    consts = np.empty((3, C), x2.dtype)
    _forward_constants(weight, bias, mean, invstd, consts)
    for b in prange(nchunks):
        lo = b * chunk_rows
        _rows_normalize(x2, y2, lo, min(chunk_rows, N - lo), S, consts[0], consts[1], consts[2],
                        floor)


def _bn_backward_rows(x3, g3, y3, floor, weight, mean, invstd, gx3, grad_weight, grad_bias,
                      training, chunk_rows):
    N, C, S = x3.shape
    x2 = x3.reshape((N, C * S))
    g2 = g3.reshape((N, C * S))
    y2 = y3.reshape((N, C * S))
    gx2 = gx3.reshape((N, C * S))
    m = N * S
    nchunks = (N + chunk_rows - 1) // chunk_rows
    part = np.empty((2, nchunks, C))
    for b in prange(nchunks):
        lo = b * chunk_rows
        acc1 = np.zeros(C)
        acc2 = np.zeros(C)
        _rows_grad_sums(x2, g2, y2, floor, lo, min(chunk_rows, N - lo), S, mean, acc1, acc2)
        part[0, b] = acc1
        part[1, b] = acc2
    sums = np.empty((2, C))
    _merge(part[0], sums[0])
    _merge(part[1], sums[1])
    consts = np.empty((4, C), x2.dtype)
    _backward_constants(sums[0], sums[1], weight, mean, invstd, m, training, grad_weight,
                        grad_bias, consts)
    for b in prange(nchunks):
        lo = b * chunk_rows
        _rows_affine(x2, g2, y2, floor, gx2, lo, min(chunk_rows, N - lo), S, consts[0],
                     consts[1], consts[2], consts[3])


_bn_train_rows = _Pair(_bn_train_rows)
_bn_eval_rows = _Pair(_bn_eval_rows)
_bn_backward_rows = _Pair(_bn_backward_rows)


# ---- "channels" layout: x3 is (N, C, S) with large S ---------------------------------------------
# A channel is N planes of S values, one per sample, C*S apart: the statistics pass reads four
# (backward: two of x and two of dy) planes side by side, so several memory streams are in flight
# (~20% faster than one plane after another). consts (C, 3 or 4) in x's dtype holds each
# channel's constants for the elementwise pass, which then reads the channel from L2.

def _bn_train_channels(x3, weight, bias, y3, mean, invstd, running_mean, running_var, momentum,
                       eps, floor):
    N, C, S = x3.shape
    m = N * S
    consts = np.empty((C, 3), x3.dtype)
    for c in prange(C):
        k = np.float64(x3[0, c, 0])
        s1 = 0.0
        s2 = 0.0
        n = 0
        while n + 4 <= N:  # four rows at once: four memory streams in flight
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
        mu = k + s1 / m
        var = (s2 - s1 * (s1 / m)) / m
        if var < 0.0:
            var = 0.0
        inv = 1.0 / np.sqrt(var + eps)
        mean[c] = mu
        invstd[c] = inv
        if running_mean.size > 0:
            running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mu
            running_var[c] = (1.0 - momentum) * running_var[c] + momentum * var * m / (m - 1)
        consts[c, 0] = mu
        consts[c, 1] = inv * (np.float64(weight[c]) if weight.size > 0 else 1.0)
        consts[c, 2] = np.float64(bias[c]) if bias.size > 0 else 0.0
        mu_x, scale, beta = consts[c, 0], consts[c, 1], consts[c, 2]
        for n in range(N):
            xr = x3[n, c]
            yr = y3[n, c]
            for s in range(S):
                v = (xr[s] - mu_x) * scale + beta
                yr[s] = floor if v < floor else v


def _bn_eval_channels(x3, weight, bias, running_mean, running_var, y3, mean, invstd, eps,
                      floor):
    N, C, S = x3.shape
    consts = np.empty((C, 3), x3.dtype)
    for c in prange(C):
        mu = np.float64(running_mean[c])
        inv = 1.0 / np.sqrt(np.float64(running_var[c]) + eps)
        mean[c] = mu
        invstd[c] = inv
        consts[c, 0] = mu
        consts[c, 1] = inv * (np.float64(weight[c]) if weight.size > 0 else 1.0)
        consts[c, 2] = np.float64(bias[c]) if bias.size > 0 else 0.0
        mu_x, scale, beta = consts[c, 0], consts[c, 1], consts[c, 2]
        for n in range(N):
            xr = x3[n, c]
            yr = y3[n, c]
            for s in range(S):
                v = (xr[s] - mu_x) * scale + beta
                yr[s] = floor if v < floor else v


def _bn_backward_channels(x3, g3, y3, floor, weight, mean, invstd, gx3, grad_weight, grad_bias,
                          training):
    N, C, S = x3.shape
    m = N * S
    consts = np.empty((C, 4), x3.dtype)
    zero = np.zeros(1, x3.dtype)[0]
    for c in prange(C):
        mu = mean[c]
        dbeta = 0.0
        dxm = 0.0
        n = 0
        while n + 2 <= N:  # two rows of x and of dy at once: four memory streams in flight
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
        dgamma = dxm * invstd[c]
        grad_bias[c] = dbeta
        grad_weight[c] = dgamma
        a = invstd[c] * (np.float64(weight[c]) if weight.size > 0 else 1.0)
        consts[c, 0] = mu
        consts[c, 1] = a
        consts[c, 2] = -a * invstd[c] * dgamma / m if training else 0.0
        consts[c, 3] = -a * dbeta / m if training else 0.0
        mu_x, a_x, k_x, c_x = consts[c, 0], consts[c, 1], consts[c, 2], consts[c, 3]
        for n in range(N):
            xr = x3[n, c]
            gr = g3[n, c]
            yr = y3[n, c]
            dr = gx3[n, c]
            if k_x == 0:  # eval mode: dx = a * dy, finite where x is not (see _rows_affine)
                for s in range(S):
                    g = zero if yr[s] <= floor else gr[s]
                    dr[s] = a_x * g + c_x
            else:
                for s in range(S):
                    g = zero if yr[s] <= floor else gr[s]
                    dr[s] = a_x * g + k_x * (xr[s] - mu_x) + c_x


_bn_train_channels = _Pair(_bn_train_channels)
_bn_eval_channels = _Pair(_bn_eval_channels)
_bn_backward_channels = _Pair(_bn_backward_channels)


# ---- the kernels ---------------------------------------------------------------------------------

def _layout(x):
    """"serial", "channels" or "rows" for an (N, C, S) array (module settings read per call)."""
    N, C, S = x.shape
    if N * C * S < TINY_ELEMENTS:
        return "serial"
    if S >= PLANE_MIN and C >= 2:
        return "channels"
    return "rows"


def _chunk_rows(x):
    """Rows of (N, C*S) per chunk in the parallel rows layout: a function of the shape only."""
    return max(1, -(-CHUNK_ELEMENTS // (x.shape[1] * x.shape[2])))


_NO_RELU = -np.inf


def _forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var, momentum, eps,
                   floor):
    layout = _layout(x)
    if layout == "serial":
        _bn_train_rows.serial(x, weight, bias, out, mean, invstd, running_mean, running_var,
                              float(momentum), float(eps), x.shape[0], floor)
    elif layout == "channels":
        _bn_train_channels.parallel(x, weight, bias, out, mean, invstd, running_mean,
                                    running_var, float(momentum), float(eps), floor)
    else:
        _bn_train_rows.parallel(x, weight, bias, out, mean, invstd, running_mean, running_var,
                                float(momentum), float(eps), _chunk_rows(x), floor)


def _forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps, floor):
    layout = _layout(x)
    if layout == "serial":
        _bn_eval_rows.serial(x, weight, bias, running_mean, running_var, out, mean, invstd,
                             float(eps), x.shape[0], floor)
    elif layout == "channels":
        _bn_eval_channels.parallel(x, weight, bias, running_mean, running_var, out, mean,
                                   invstd, float(eps), floor)
    else:
        _bn_eval_rows.parallel(x, weight, bias, running_mean, running_var, out, mean, invstd,
                               float(eps), _chunk_rows(x), floor)


def _backward(x, grad_out, out, floor, weight, mean, invstd, grad_in, grad_weight, grad_bias,
              training):
    layout = _layout(x)
    if layout == "serial":
        _bn_backward_rows.serial(x, grad_out, out, floor, weight, mean, invstd, grad_in,
                                 grad_weight, grad_bias, bool(training), x.shape[0])
    elif layout == "channels":
        _bn_backward_channels.parallel(x, grad_out, out, floor, weight, mean, invstd, grad_in,
                                       grad_weight, grad_bias, bool(training))
    else:
        _bn_backward_rows.parallel(x, grad_out, out, floor, weight, mean, invstd, grad_in,
                                   grad_weight, grad_bias, bool(training), _chunk_rows(x))


def batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps):
    """See numpy_ref: batch statistics, fused normalize + affine, running statistics."""
    _forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var, momentum, eps,
                   _NO_RELU)


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps):
    """See numpy_ref: normalize with the running statistics."""
    _forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps, _NO_RELU)


def batch_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training):
    """See numpy_ref: one pass for sum(dy) and sum(dy * (x - mean)), one pass for dx."""
    # NOTE: with no ReLU the mask reads dy itself against -inf, which masks nothing (NaN too)
    _backward(x, grad_out, grad_out, _NO_RELU, weight, mean, invstd, grad_in, grad_weight,
              grad_bias, training)


# ---- BatchNorm followed by ReLU, fused: the BatchNorm output is never written -----------------
# The elementwise pass clamps at 0 (floor) as it writes; backward masks dy where out == 0 inside
# its two passes. A CNN's BN -> ReLU pair then reads and writes its activation once each way
# instead of twice (nn.Sequential uses these for that pair).

def batch_norm_relu_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                                  momentum, eps):
    """See numpy_ref: out = max(batch_norm(x), 0)."""
    _forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var, momentum, eps,
                   0.0)


def batch_norm_relu_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd,
                                 eps):
    """See numpy_ref: out = max(batch_norm_eval(x), 0)."""
    _forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps, 0.0)


def batch_norm_relu_backward(x, out, grad_out, weight, mean, invstd, grad_in, grad_weight,
                             grad_bias, training):
    """See numpy_ref: batch_norm_backward of dy * (out > 0)."""
    _backward(x, grad_out, out, 0.0, weight, mean, invstd, grad_in, grad_weight, grad_bias,
              training)
