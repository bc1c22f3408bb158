"""CUDA twins of numpy_ref/normalization.py on a contiguous (N, C, S) device array.

Statistics: a (P, C) grid of blocks, P = ceil(m / BN_VALUES_PER_BLOCK) blocks per channel
(m = N * S values). Each block's threads stride over its share of the channel, accumulating in
float64 the sums of d = x - k and d^2 with the per-channel shift k = x[0, c, 0] (as the numba
CPU kernels do: the shift keeps the cancellation in var = (S2 - S1^2 / m) / m harmless), and a
shared-memory tree combines them. With P = 1 that is one block per channel; with P > 1 (large
channels) each block writes partial sums and a second kernel, one thread per channel, merges
them in block order, so results never depend on scheduling. That kernel also finishes mean,
invstd and the running statistics and writes per-channel constants in x's dtype; a grid-stride
pass then applies the fused normalize + affine y = (x - mean) * (invstd * weight) + bias.

Backward runs the same shape of reduction over dy and dy * (x - mean), then one elementwise pass
dx = a * dy + k * (x - mean) + c0 with a = weight * invstd, k = -a * invstd * dgamma / m and
c0 = -a * dbeta / m (k = c0 = 0 in eval mode).
"""

import math

import numpy as np
from numba import cuda, float64

from . import _config as config
from ._launch import grid, specialized, tree_threads


@cuda.jit(device=True)
def _tree_sum2(s1, s2, t, threads):
    step = threads // 2
    while step > 0:
        if t < step:
            s1[t] += s1[t + step]
            s2[t] += s2[t + step]
        cuda.syncthreads()
        step //= 2


def _build_sums(threads):
    @cuda.jit
    def kernel(x, g, centre, part, chunk, grad_mode):
        # statistics (grad_mode False): sums of d and d^2, d = x - x[0, c, 0];
        # backward (grad_mode True): sums of g and g * (x - centre[c])
        s1 = cuda.shared.array(threads, float64)
        s2 = cuda.shared.array(threads, float64)
        t, p, c = cuda.threadIdx.x, cuda.blockIdx.x, cuda.blockIdx.y
        n_, s_ = x.shape[0], x.shape[2]
        k = centre[c] if grad_mode else float64(x[0, c, 0])
        lo = p * chunk
        hi = min(lo + chunk, n_ * s_)
        a1 = 0.0
        a2 = 0.0
        i = lo + t
        while i < hi:
            n = i // s_
            s = i - n * s_
            d = float64(x[n, c, s]) - k
            if grad_mode:
                e = float64(g[n, c, s])
                a1 += e
                a2 += e * d
            else:
                a1 += d
                a2 += d * d
            i += threads
        s1[t] = a1
        s2[t] = a2
        cuda.syncthreads()
        _tree_sum2(s1, s2, t, threads)
        if t == 0:
            part[0, c, p] = s1[0]
            part[1, c, p] = s2[0]
    return kernel


@cuda.jit
def _finish_train_kernel(x, part, weight, bias, running_mean, running_var, momentum, eps,
                         mean, invstd, consts):
    c = cuda.grid(1)
    # grid-stride: grid() caps the blocks at MAX_BLOCKS, so threads may be fewer than channels
    while c < mean.size:
        m = x.shape[0] * x.shape[2]
        sum1 = 0.0
        sum2 = 0.0
        for p in range(part.shape[2]):
            sum1 += part[0, c, p]
            sum2 += part[1, c, p]
        mu = sum1 / m
        var = max((sum2 - sum1 * mu) / m, 0.0)
        mean[c] = float64(x[0, c, 0]) + mu
        invstd[c] = 1.0 / math.sqrt(var + eps)
        if running_mean.size > 0:
            running_mean[c] = (1.0 - momentum) * running_mean[c] + momentum * mean[c]
            running_var[c] = (1.0 - momentum) * running_var[c] + momentum * var * m / (m - 1)
        consts[0, c] = mean[c]
        consts[1, c] = invstd[c] * (float64(weight[c]) if weight.size > 0 else 1.0)
        consts[2, c] = bias[c] if bias.size > 0 else 0.0
        c += cuda.gridsize(1)


@cuda.jit
def _finish_eval_kernel(weight, bias, running_mean, running_var, eps, mean, invstd, consts):
    c = cuda.grid(1)
    # grid-stride: grid() caps the blocks at MAX_BLOCKS, so threads may be fewer than channels
    while c < mean.size:
        mean[c] = running_mean[c]
        invstd[c] = 1.0 / math.sqrt(float64(running_var[c]) + eps)
        consts[0, c] = mean[c]
        consts[1, c] = invstd[c] * (float64(weight[c]) if weight.size > 0 else 1.0)
        consts[2, c] = bias[c] if bias.size > 0 else 0.0
        c += cuda.gridsize(1)


@cuda.jit
def _normalize_ncs_kernel(x, consts, out, channels, plane):
    i = cuda.grid(1)
    while i < x.size:
        c = (i // plane) % channels
        out[i] = (x[i] - consts[0, c]) * consts[1, c] + consts[2, c]
        i += cuda.gridsize(1)


@cuda.jit
def _finish_backward_kernel(part, weight, mean, invstd, m, training, grad_weight, grad_bias,
                            consts):
    c = cuda.grid(1)
    # grid-stride: grid() caps the blocks at MAX_BLOCKS, so threads may be fewer than channels
    while c < mean.size:
        dbeta = 0.0
        dxm = 0.0
        for p in range(part.shape[2]):
            dbeta += part[0, c, p]
            dxm += part[1, c, p]
        dgamma = dxm * invstd[c]
        grad_bias[c] = dbeta
        grad_weight[c] = dgamma
        a = invstd[c] * (float64(weight[c]) if weight.size > 0 else 1.0)
        consts[0, c] = mean[c]
        consts[1, c] = a
        consts[2, c] = -a * invstd[c] * dgamma / m if training else 0.0
        consts[3, c] = -a * dbeta / m if training else 0.0
        c += cuda.gridsize(1)


@cuda.jit
def _grad_input_kernel(x, g, consts, gx, channels, plane):
    i = cuda.grid(1)
    while i < x.size:
        c = (i // plane) % channels
        gx[i] = consts[1, c] * g[i] + consts[2, c] * (x[i] - consts[0, c]) + consts[3, c]
        i += cuda.gridsize(1)


def _channel_sums(x, g, centre, grad_mode):
    """(2, C, P) float64 partial sums of the channels of x (see the module docstring)."""
    n_, c_, s_ = x.shape
    m = n_ * s_
    blocks_per_channel = max(1, -(-m // config.BN_VALUES_PER_BLOCK))
    chunk = -(-m // blocks_per_channel)
    part = cuda.device_array((2, c_, blocks_per_channel), np.float64)
    threads = tree_threads()
    specialized(_build_sums, threads)[(blocks_per_channel, c_), threads](
        x, g, centre, part, chunk, grad_mode)
    return part


def _flat(array):
    return array.reshape(array.size)


def batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps):
    """mean = E[x], var = E[(x - mean)^2] (biased), invstd = 1 / sqrt(var + eps);
    out = (x - mean) * invstd * weight + bias; running statistics updated in place when tracked
    (running_var with var * m / (m - 1))."""
    c_ = x.shape[1]
    part = _channel_sums(x, x, mean, False)
    consts = cuda.device_array((3, c_), x.dtype)
    _finish_train_kernel[grid(c_)](x, part, weight, bias, running_mean, running_var,
                                   float(momentum), float(eps), mean, invstd, consts)
    _normalize_ncs_kernel[grid(x.size)](_flat(x), consts, _flat(out), c_, x.shape[2])


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps):
    """mean = running_mean, invstd = 1 / sqrt(running_var + eps);
    out = (x - mean) * invstd * weight + bias."""
    c_ = x.shape[1]
    consts = cuda.device_array((3, c_), x.dtype)
    _finish_eval_kernel[grid(c_)](weight, bias, running_mean, running_var, float(eps), mean,
                                  invstd, consts)
    _normalize_ncs_kernel[grid(x.size)](_flat(x), consts, _flat(out), c_, x.shape[2])


def batch_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training):
    """xhat = (x - mean) * invstd;  grad_bias = sum(dy);  grad_weight = sum(dy * xhat);
    training: grad_in = weight * invstd * (dy - grad_bias / m - xhat * grad_weight / m);
    eval: grad_in = dy * weight * invstd."""
    c_ = x.shape[1]
    part = _channel_sums(x, grad_out, mean, True)
    consts = cuda.device_array((4, c_), x.dtype)
    _finish_backward_kernel[grid(c_)](part, weight, mean, invstd, x.shape[0] * x.shape[2],
                                      bool(training), grad_weight, grad_bias, consts)
    _grad_input_kernel[grid(x.size)](_flat(x), _flat(grad_out), consts, _flat(grad_in), c_,
                                     x.shape[2])


# ---- BatchNorm followed by ReLU -------------------------------------------------------------
# The CPU kernels fuse the clamp and the mask into their passes; here the pair is the plain
# kernels plus one elementwise launch each way (a fused CUDA version is left for a GPU session).

@cuda.jit
def _clamp_at_zero_kernel(y):
    i = cuda.grid(1)
    while i < y.size:
        if y[i] < 0:  # NaN is not < 0: it stays
            y[i] = 0
        i += cuda.gridsize(1)


@cuda.jit
def _relu_mask_kernel(out, g, masked):
    i = cuda.grid(1)
    while i < out.size:
        masked[i] = 0 if out[i] <= 0 else g[i]  # a NaN output passes dy on, as PyTorch does
        i += cuda.gridsize(1)


def batch_norm_relu_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                                  momentum, eps):
    """out = max(batch_norm_forward_train's out, 0)."""
    batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps)
    _clamp_at_zero_kernel[grid(out.size)](_flat(out))


def batch_norm_relu_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd,
                                 eps):
    """out = max(batch_norm_forward_eval's out, 0)."""
    batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps)
    _clamp_at_zero_kernel[grid(out.size)](_flat(out))


def batch_norm_relu_backward(x, out, grad_out, weight, mean, invstd, grad_in, grad_weight,
                             grad_bias, training):
    """batch_norm_backward of dy masked to 0 where the fused output is <= 0."""
    masked = cuda.device_array(grad_out.shape, grad_out.dtype)
    _relu_mask_kernel[grid(out.size)](_flat(out), _flat(grad_out), _flat(masked))
    batch_norm_backward(x, masked, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training)
