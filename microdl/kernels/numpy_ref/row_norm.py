"""Row normalizations (LayerNorm, GroupNorm, InstanceNorm) on a contiguous (N, G, D, S) view.

Each row (n, g) holds D * S values, normalized by its own mean and biased variance; then an
affine per parameter p = g * D + d, shared by the S values of that slot:

    LayerNorm:  (rows, 1, M, 1)      M = prod(normalized_shape), a parameter per element
    GroupNorm:  (N, G, C / G, S)     S = prod(spatial dims), a parameter per channel

``weight`` and ``bias`` hold G * D values, or are size 0 for weight 1 and bias 0. ``mean`` and
``invstd`` are float64 (N, G) arrays that forward fills and backward reads.
"""

import numpy as np


def _affine(weight, bias, x):
    """weight and bias as float64 (1, G, D, 1) arrays (ones and zeros when size 0)."""
    _, G, D, _ = x.shape
    w = weight.astype(np.float64) if weight.size else np.ones(G * D)
    b = bias.astype(np.float64) if bias.size else np.zeros(G * D)
    return w.reshape(1, G, D, 1), b.reshape(1, G, D, 1)


def row_norm_forward(x, weight, bias, out, mean, invstd, eps):
    """Per row r: mean = E[x_r], var = E[(x_r - mean)^2] (biased; two passes in float64, never
    E[x^2] - E[x]^2), invstd = 1 / sqrt(var + eps); out = (x - mean) * invstd * weight + bias."""
    xd = x.astype(np.float64)
    mu = xd.mean(axis=(2, 3), keepdims=True)
    var = ((xd - mu) ** 2).mean(axis=(2, 3), keepdims=True)
    inv = 1.0 / np.sqrt(var + eps)
    mean[...] = mu[:, :, 0, 0]
    invstd[...] = inv[:, :, 0, 0]
    w, b = _affine(weight, bias, x)
    np.copyto(out, (xd - mu) * inv * w + b, casting="unsafe")


def row_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias):
    """xhat = (x - mean) * invstd and gw = dy * weight; per row (means over its D * S values)

        grad_in = invstd * (gw - mean(gw) - xhat * mean(gw * xhat))

    and per parameter p = (g, d), summed over n and s (skipped where the array is size 0):
    grad_weight = sum(dy * xhat), grad_bias = sum(dy)."""
    dy = grad_out.astype(np.float64)
    mu, inv = mean[:, :, None, None], invstd[:, :, None, None]
    xhat = (x.astype(np.float64) - mu) * inv
    w, _ = _affine(weight, weight, x)
    gw = dy * w
    dx = inv * (gw - gw.mean(axis=(2, 3), keepdims=True)
                - xhat * (gw * xhat).mean(axis=(2, 3), keepdims=True))
    np.copyto(grad_in, dx, casting="unsafe")
    if grad_weight.size:
        grad_weight[...] = (dy * xhat).sum(axis=(0, 3)).reshape(-1)
    if grad_bias.size:
        grad_bias[...] = dy.sum(axis=(0, 3)).reshape(-1)
