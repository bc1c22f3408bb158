"""Batch normalization on a contiguous (N, C, S) view: channel axis 1, statistics over N and S.

The op reshapes (N, C), (N, C, L) and (N, C, H, W) inputs to (N, C, S). ``weight`` and ``bias``
of size 0 stand for gamma = 1 and beta = 0 (affine=False); ``running_mean`` and ``running_var``
of size 0 mean the running statistics are not tracked. ``mean`` and ``invstd`` are float64
arrays of C values that forward fills and backward reads; m = N * S values per channel.
"""

import numpy as np


def _affine(weight, bias, channels):
    w = weight.astype(np.float64) if weight.size else np.ones(channels)
    b = bias.astype(np.float64) if bias.size else np.zeros(channels)
    return w[None, :, None], b[None, :, None]


def batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps):
    """mean = E[x], var = E[(x - mean)^2] (biased), invstd = 1 / sqrt(var + eps);
    out = (x - mean) * invstd * weight + bias.

    When tracked: running_mean = (1 - momentum) * running_mean + momentum * mean;
    running_var = (1 - momentum) * running_var + momentum * var * m / (m - 1) (unbiased).
    """
    m = x.shape[0] * x.shape[2]
    xd = x.astype(np.float64)
    mu = xd.mean(axis=(0, 2))
    # NOTE: two passes, never E[x^2] - E[x]^2.
    var = ((xd - mu[None, :, None]) ** 2).mean(axis=(0, 2))
    mean[...] = mu
    invstd[...] = 1.0 / np.sqrt(var + eps)
    w, b = _affine(weight, bias, x.shape[1])
    np.copyto(out, (xd - mu[None, :, None]) * invstd[None, :, None] * w + b, casting="unsafe")
    if running_mean.size:
        running_mean[...] = (1 - momentum) * running_mean + momentum * mu
        running_var[...] = (1 - momentum) * running_var + momentum * var * m / (m - 1)


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps):
    """mean = running_mean, invstd = 1 / sqrt(running_var + eps);
    out = (x - mean) * invstd * weight + bias."""
    mean[...] = running_mean
    invstd[...] = 1.0 / np.sqrt(running_var.astype(np.float64) + eps)
    w, b = _affine(weight, bias, x.shape[1])
    xhat = (x.astype(np.float64) - mean[None, :, None]) * invstd[None, :, None]
    np.copyto(out, xhat * w + b, casting="unsafe")


def batch_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training):
    """xhat = (x - mean) * invstd;  grad_bias = sum(dy);  grad_weight = sum(dy * xhat);
    training: grad_in = weight * invstd * (dy - grad_bias / m - xhat * grad_weight / m);
    eval (mean and invstd are constants): grad_in = dy * weight * invstd.
    """
    m = x.shape[0] * x.shape[2]
    dy = grad_out.astype(np.float64)
    xhat = (x.astype(np.float64) - mean[None, :, None]) * invstd[None, :, None]
    dbeta = dy.sum(axis=(0, 2))
    dgamma = (dy * xhat).sum(axis=(0, 2))
    grad_bias[...] = dbeta
    grad_weight[...] = dgamma
    w, _ = _affine(weight, weight, x.shape[1])
    scale = w * invstd[None, :, None]
    if training:
        dx = scale * (dy - dbeta[None, :, None] / m - xhat * dgamma[None, :, None] / m)
    else:
        dx = scale * dy
    np.copyto(grad_in, dx, casting="unsafe")


def batch_norm_relu_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                                  momentum, eps):
    """BatchNorm then ReLU: out = max(batch_norm_forward_train's out, 0)."""
    batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps)
    np.maximum(out, 0, out=out)


def batch_norm_relu_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd,
                                 eps):
    """out = max(batch_norm_forward_eval's out, 0)."""
    batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps)
    np.maximum(out, 0, out=out)


def batch_norm_relu_backward(x, out, grad_out, weight, mean, invstd, grad_in, grad_weight,
                             grad_bias, training):
    """The ReLU's gradient first (0 where out <= 0, else dy, so a NaN output passes dy on, as
    PyTorch's threshold_backward does; out is the fused forward's output), then
    batch_norm_backward."""
    masked = np.where(out <= 0, np.zeros_like(grad_out), grad_out)
    batch_norm_backward(x, masked, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training)
