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

All arithmetic is float64, rounded once when stored; no fastmath, so NaN and Inf propagate.
"""

import numpy as np
from numba import njit, prange

from ._jit import serial_and_parallel

TINY_ELEMENTS = 1 << 16
PLANE_MIN = 256
CHUNK_ELEMENTS = 1 << 15


# ---- statistics helpers, shared by the layouts (inlined by numba) --------------------------------

@njit(cache=True, error_model="numpy", inline="always")
def _finish_stats(s1, s2, k, m, running_mean, running_var, momentum, eps, c, mean, invstd):
    mu = s1 / m
    var = (s2 - s1 * mu) / m
    if var < 0.0:
        var = 0.0
    mean[c] = k + mu
    invstd[c] = 1.0 / np.sqrt(var + eps)
    if running_mean.size > 0:
        running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mean[c]
        running_var[c] = (1.0 - momentum) * running_var[c] + momentum * var * m / (m - 1)


# ---- "rows" layout: x2 is the (N, C*S) view ------------------------------------------------------

@serial_and_parallel()
def _bn_train_rows(x2, S, weight, bias, y2, mean, invstd, running_mean, running_var, momentum,
                   eps, chunk_rows):
    N, CS = x2.shape
    C = CS // S
    m = N * S
    nchunks = (N + chunk_rows - 1) // chunk_rows
    shift = np.empty(CS)
    for c in range(C):
        k = np.float64(x2[0, c * S])
        for s in range(S):
            shift[c * S + s] = k
    part1 = np.empty((nchunks, C))
    part2 = np.empty((nchunks, C))
    for b in prange(nchunks):
        lo = b * chunk_rows
        rows = min(chunk_rows, N - lo)
        acc1 = np.zeros(CS)
        acc2 = np.zeros(CS)
        for r in range(rows):
            row = x2[lo + r]
            for j in range(CS):
                d = row[j] - shift[j]
                acc1[j] += d
                acc2[j] += d * d
        for c in range(C):
            s1 = 0.0
            s2 = 0.0
            for s in range(S):
                s1 += acc1[c * S + s]
                s2 += acc2[c * S + s]
            part1[b, c] = s1
            part2[b, c] = s2
    lane_mean = np.empty(CS)
    lane_scale = np.empty(CS)
    lane_bias = np.empty(CS)
    for c in range(C):
        s1 = 0.0
        s2 = 0.0
        for b in range(nchunks):
            s1 += part1[b, c]
            s2 += part2[b, c]
        _finish_stats(s1, s2, shift[c * S], m, running_mean, running_var, momentum, eps, c,
                      mean, invstd)
        w = np.float64(weight[c]) if weight.size > 0 else 1.0
        beta = np.float64(bias[c]) if bias.size > 0 else 0.0
        for s in range(S):
            lane_mean[c * S + s] = mean[c]
            lane_scale[c * S + s] = invstd[c] * w
            lane_bias[c * S + s] = beta
    for b in prange(nchunks):
        lo = b * chunk_rows
        rows = min(chunk_rows, N - lo)
        for r in range(rows):
            xr = x2[lo + r]
            yr = y2[lo + r]
            for j in range(CS):
                yr[j] = (xr[j] - lane_mean[j]) * lane_scale[j] + lane_bias[j]


@serial_and_parallel()
def _bn_eval_rows(x2, S, weight, bias, running_mean, running_var, y2, mean, invstd, eps,
                  chunk_rows):
    N, CS = x2.shape
    C = CS // S
    nchunks = (N + chunk_rows - 1) // chunk_rows
    lane_mean = np.empty(CS)
    lane_scale = np.empty(CS)
    lane_bias = np.empty(CS)
    for c in range(C):
        mean[c] = running_mean[c]
        invstd[c] = 1.0 / np.sqrt(np.float64(running_var[c]) + eps)
        w = np.float64(weight[c]) if weight.size > 0 else 1.0
        beta = np.float64(bias[c]) if bias.size > 0 else 0.0
        for s in range(S):
            lane_mean[c * S + s] = mean[c]
            lane_scale[c * S + s] = invstd[c] * w
            lane_bias[c * S + s] = beta
    for b in prange(nchunks):
        lo = b * chunk_rows
        rows = min(chunk_rows, N - lo)
        for r in range(rows):
            xr = x2[lo + r]
            yr = y2[lo + r]
            for j in range(CS):
                yr[j] = (xr[j] - lane_mean[j]) * lane_scale[j] + lane_bias[j]


@serial_and_parallel()
def _bn_backward_rows(x2, g2, S, weight, mean, invstd, gx2, grad_weight, grad_bias, training,
                      chunk_rows):
    N, CS = x2.shape
    C = CS // S
    m = N * S
    nchunks = (N + chunk_rows - 1) // chunk_rows
    lane_mean = np.empty(CS)
    for c in range(C):
        for s in range(S):
            lane_mean[c * S + s] = mean[c]
    part1 = np.empty((nchunks, C))
    part2 = np.empty((nchunks, C))
    for b in prange(nchunks):
        lo = b * chunk_rows
        rows = min(chunk_rows, N - lo)
        acc1 = np.zeros(CS)
        acc2 = np.zeros(CS)
        for r in range(rows):
            xr = x2[lo + r]
            gr = g2[lo + r]
            for j in range(CS):
                g = np.float64(gr[j])
                acc1[j] += g
                acc2[j] += g * (xr[j] - lane_mean[j])
        for c in range(C):
            s1 = 0.0
            s2 = 0.0
            for s in range(S):
                s1 += acc1[c * S + s]
                s2 += acc2[c * S + s]
            part1[b, c] = s1
            part2[b, c] = s2
    lane_a = np.empty(CS)
    lane_k = np.empty(CS)
    lane_c = np.empty(CS)
    for c in range(C):
        dbeta = 0.0
        dxm = 0.0
        for b in range(nchunks):
            dbeta += part1[b, c]
            dxm += part2[b, c]
        dgamma = dxm * invstd[c]
        grad_bias[c] = dbeta
        grad_weight[c] = dgamma
        w = np.float64(weight[c]) if weight.size > 0 else 1.0
        a = w * invstd[c]
        kx = -a * invstd[c] * dgamma / m if training else 0.0
        c0 = -a * dbeta / m if training else 0.0
        for s in range(S):
            lane_a[c * S + s] = a
            lane_k[c * S + s] = kx
            lane_c[c * S + s] = c0
    for b in prange(nchunks):
        lo = b * chunk_rows
        rows = min(chunk_rows, N - lo)
        for r in range(rows):
            xr = x2[lo + r]
            gr = g2[lo + r]
            dr = gx2[lo + r]
            for j in range(CS):
                dr[j] = lane_a[j] * gr[j] + lane_k[j] * (xr[j] - lane_mean[j]) + lane_c[j]


# ---- "channels" layout: x3 is (N, C, S) with large S ---------------------------------------------

@serial_and_parallel()
def _bn_train_channels(x3, weight, bias, y3, mean, invstd, running_mean, running_var, momentum,
                       eps):
    N, C, S = x3.shape
    m = N * S
    for c in prange(C):
        k = np.float64(x3[0, c, 0])
        acc1 = np.zeros(S)
        acc2 = np.zeros(S)
        for n in range(N):
            row = x3[n, c]
            for s in range(S):
                d = row[s] - k
                acc1[s] += d
                acc2[s] += d * d
        s1 = 0.0
        s2 = 0.0
        for s in range(S):
            s1 += acc1[s]
            s2 += acc2[s]
        _finish_stats(s1, s2, k, m, running_mean, running_var, momentum, eps, c, mean, invstd)
        w = np.float64(weight[c]) if weight.size > 0 else 1.0
        beta = np.float64(bias[c]) if bias.size > 0 else 0.0
        mu = mean[c]
        scale = invstd[c] * w
        for n in range(N):
            xr = x3[n, c]
            yr = y3[n, c]
            for s in range(S):
                yr[s] = (xr[s] - mu) * scale + beta


@serial_and_parallel()
def _bn_eval_channels(x3, weight, bias, running_mean, running_var, y3, mean, invstd, eps):
    N, C, S = x3.shape
    for c in prange(C):
        mu = np.float64(running_mean[c])
        inv = 1.0 / np.sqrt(np.float64(running_var[c]) + eps)
        mean[c] = mu
        invstd[c] = inv
        w = np.float64(weight[c]) if weight.size > 0 else 1.0
        beta = np.float64(bias[c]) if bias.size > 0 else 0.0
        scale = inv * w
        for n in range(N):
            xr = x3[n, c]
            yr = y3[n, c]
            for s in range(S):
                yr[s] = (xr[s] - mu) * scale + beta


@serial_and_parallel()
def _bn_backward_channels(x3, g3, weight, mean, invstd, gx3, grad_weight, grad_bias, training):
    N, C, S = x3.shape
    m = N * S
    for c in prange(C):
        mu = mean[c]
        acc1 = np.zeros(S)
        acc2 = np.zeros(S)
        for n in range(N):
            xr = x3[n, c]
            gr = g3[n, c]
            for s in range(S):
                g = np.float64(gr[s])
                acc1[s] += g
                acc2[s] += g * (xr[s] - mu)
        dbeta = 0.0
        dxm = 0.0
        for s in range(S):
            dbeta += acc1[s]
            dxm += acc2[s]
        dgamma = dxm * invstd[c]
        grad_bias[c] = dbeta
        grad_weight[c] = dgamma
        w = np.float64(weight[c]) if weight.size > 0 else 1.0
        a = w * invstd[c]
        kx = -a * invstd[c] * dgamma / m if training else 0.0
        c0 = -a * dbeta / m if training else 0.0
        for n in range(N):
            xr = x3[n, c]
            gr = g3[n, c]
            dr = gx3[n, c]
            for s in range(S):
                dr[s] = a * gr[s] + kx * (xr[s] - mu) + c0


# ---- the kernels ---------------------------------------------------------------------------------

def _layout(x):
    """"serial", "channels" or "rows" for an (N, C, S) array (module settings read per call)."""
    N, C, S = x.shape
    if x.size < TINY_ELEMENTS:
        return "serial"
    if S >= PLANE_MIN and C >= 2:
        return "channels"
    return "rows"


def _chunk_rows(x, layout):
    N, C, S = x.shape
    if layout == "serial":
        return N
    return max(1, -(-CHUNK_ELEMENTS // (C * S)))


def batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps):
    """See numpy_ref: batch statistics, fused normalize + affine, running statistics."""
    layout = _layout(x)
    if layout == "channels":
        _bn_train_channels.parallel(x, weight, bias, out, mean, invstd, running_mean,
                                    running_var, float(momentum), float(eps))
        return
    N, C, S = x.shape
    kernel = _bn_train_rows.serial if layout == "serial" else _bn_train_rows.parallel
    kernel(x.reshape(N, C * S), S, weight, bias, out.reshape(N, C * S), mean, invstd,
           running_mean, running_var, float(momentum), float(eps),
           _chunk_rows(x, layout))


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps):
    """See numpy_ref: normalize with the running statistics."""
    layout = _layout(x)
    if layout == "channels":
        _bn_eval_channels.parallel(x, weight, bias, running_mean, running_var, out, mean,
                                   invstd, float(eps))
        return
    N, C, S = x.shape
    kernel = _bn_eval_rows.serial if layout == "serial" else _bn_eval_rows.parallel
    kernel(x.reshape(N, C * S), S, weight, bias, running_mean, running_var,
           out.reshape(N, C * S), mean, invstd, float(eps), _chunk_rows(x, layout))


def batch_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training):
    """See numpy_ref: one pass for sum(dy) and sum(dy * (x - mean)), one pass for dx."""
    layout = _layout(x)
    if layout == "channels":
        _bn_backward_channels.parallel(x, grad_out, weight, mean, invstd, grad_in, grad_weight,
                                       grad_bias, bool(training))
        return
    N, C, S = x.shape
    kernel = _bn_backward_rows.serial if layout == "serial" else _bn_backward_rows.parallel
    kernel(x.reshape(N, C * S), grad_out.reshape(N, C * S), S, weight, mean, invstd,
           grad_in.reshape(N, C * S), grad_weight, grad_bias, bool(training),
           _chunk_rows(x, layout))
