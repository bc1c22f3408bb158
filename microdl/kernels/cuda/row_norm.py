"""CUDA twins of numpy_ref/row_norm.py on a contiguous (N, G, D, S) device array, read as the
(R, L) matrix of its rows (R = N * G, L = D * S; row r's parameters start at (r % G) * D).

A block per row (blocks stride over rows past MAX_BLOCKS): its threads stride over the row
accumulating float64 sums, a shared-memory tree combines them, and the same block then writes
its row. Forward takes two such sums, the mean and then the squared deviations from it (two
passes, never E[x^2] - E[x]^2); backward takes sum(dy * w) and sum(dy * w * xhat) together.
grad_weight and grad_bias: a thread per parameter looping over samples and positions in a
fixed order, so no atomics and results never depend on scheduling.

NOTE: one block per row leaves most of a GPU idle when rows are few and long (a two-level
reduction, as BatchNorm's, would fix that; not needed by the examples yet).
"""

import math

from numba import cuda, float64

from . import _config as config
from ._launch import grid, specialized, tree_threads


@cuda.jit(device=True)
def _block_sum(shared, value, t, threads):
    """The sum of every thread's value, returned to all threads of the block."""
    shared[t] = value
    cuda.syncthreads()
    step = threads // 2
    while step > 0:
        if t < step:
            shared[t] += shared[t + step]
        cuda.syncthreads()
        step //= 2
    total = shared[0]
    cuda.syncthreads()  # everyone has read it before the next sum overwrites it
    return total


@cuda.jit(device=True)
def _parameter(array, p):
    return float64(array[p]) if array.size > 0 else 1.0


def _build_forward(threads):
    @cuda.jit
    def kernel(x2, weight, bias, y2, mean1, invstd1, eps, G, S):
        shared = cuda.shared.array(threads, float64)
        t = cuda.threadIdx.x
        R, L = x2.shape
        r = cuda.blockIdx.x
        while r < R:
            acc = 0.0
            j = t
            while j < L:
                acc += float64(x2[r, j])
                j += threads
            mu = _block_sum(shared, acc, t, threads) / L
            acc = 0.0
            j = t
            while j < L:
                d = float64(x2[r, j]) - mu
                acc += d * d
                j += threads
            inv = 1.0 / math.sqrt(_block_sum(shared, acc, t, threads) / L + eps)
            if t == 0:
                mean1[r] = mu
                invstd1[r] = inv
            p0 = (r % G) * (L // S)
            j = t
            while j < L:
                p = p0 + j // S
                shift = float64(bias[p]) if bias.size > 0 else 0.0
                y2[r, j] = (float64(x2[r, j]) - mu) * (inv * _parameter(weight, p)) + shift
                j += threads
            r += cuda.gridDim.x
    return kernel


def _build_backward(threads):
    @cuda.jit
    def kernel(x2, g2, weight, mean1, invstd1, dx2, G, S):
        shared = cuda.shared.array(threads, float64)
        t = cuda.threadIdx.x
        R, L = x2.shape
        r = cuda.blockIdx.x
        while r < R:
            mu, inv, p0 = mean1[r], invstd1[r], (r % G) * (L // S)
            a1 = 0.0
            a2 = 0.0
            j = t
            while j < L:
                gw = float64(g2[r, j]) * _parameter(weight, p0 + j // S)
                a1 += gw
                a2 += gw * (float64(x2[r, j]) - mu) * inv
                j += threads
            mean_gw = _block_sum(shared, a1, t, threads) / L
            mean_gwx = _block_sum(shared, a2, t, threads) / L
            j = t
            while j < L:
                gw = float64(g2[r, j]) * _parameter(weight, p0 + j // S)
                xhat = (float64(x2[r, j]) - mu) * inv
                dx2[r, j] = inv * (gw - mean_gw - xhat * mean_gwx)
                j += threads
            r += cuda.gridDim.x
    return kernel


@cuda.jit
def _parameter_sums_kernel(x4, g4, mean, invstd, grad_weight, grad_bias):
    N, G, D, S = x4.shape
    p = cuda.grid(1)
    while p < G * D:
        g, d = p // D, p % D
        sw = 0.0
        sb = 0.0
        for n in range(N):
            mu, inv = mean[n, g], invstd[n, g]
            for s in range(S):
                dy = float64(g4[n, g, d, s])
                sw += dy * ((float64(x4[n, g, d, s]) - mu) * inv)
                sb += dy
        if grad_weight.size > 0:
            grad_weight[p] = sw
        if grad_bias.size > 0:
            grad_bias[p] = sb
        p += cuda.gridsize(1)


def _rows(x):
    N, G, D, S = x.shape
    return x.reshape(N * G, D * S)


def _row_launch(R):
    threads = tree_threads()
    return min(R, config.MAX_BLOCKS), threads


def row_norm_forward(x, weight, bias, out, mean, invstd, eps):
    """Per row: mean, biased variance (two passes, float64), invstd = 1 / sqrt(var + eps);
    out = (x - mean) * invstd * weight + bias."""
    N, G, D, S = x.shape
    blocks, threads = _row_launch(N * G)
    specialized(_build_forward, threads)[blocks, threads](
        _rows(x), weight, bias, _rows(out), mean.reshape(N * G), invstd.reshape(N * G),
        float(eps), G, S)


def row_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias):
    """grad_in = invstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row, gw = dy * weight;
    grad_weight = sum(dy * xhat), grad_bias = sum(dy) per parameter (when not size 0)."""
    N, G, D, S = x.shape
    blocks, threads = _row_launch(N * G)
    specialized(_build_backward, threads)[blocks, threads](
        _rows(x), _rows(grad_out), weight, mean.reshape(N * G), invstd.reshape(N * G),
        _rows(grad_in), G, S)
    if grad_weight.size > 0 or grad_bias.size > 0:
        _parameter_sums_kernel[grid(G * D)](x, grad_out, mean, invstd, grad_weight, grad_bias)
