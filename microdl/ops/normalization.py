"""Batch normalization: the op validates, views the input as (N, C, S) and calls the kernels.

With ``relu=True`` the op is BatchNorm followed by ReLU in one pass each way (y = max(y, 0);
backward masks dy where y == 0 before the formulas below): what nn.Sequential runs for a
BatchNorm module directly followed by a ReLU module. With ``sigmoid=True`` it is BatchNorm
followed by the sigmoid kernels, s = sigmoid(y) and dy = ds * s * (1 - s), as one op: one tape
node and one module call instead of two (an MLP step of the BatchNorm paper has three such
pairs).

Training: y = (x - mean) * invstd * weight + bias with the batch's mean and biased variance,
and the running statistics updated in place by the kernel. Eval: the running statistics.
Backward, with xhat = (x - mean) * invstd and m values per channel:
dbias = sum(dy), dweight = sum(dy * xhat), dx = weight * invstd * (dy - dbias/m - xhat*dweight/m)
(training) or dx = dy * weight * invstd (eval).
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import absent, contiguous

_FLOAT64 = np.dtype(np.float64)  # (a dtype, not the type: the allocator converts a type per call)


def _as_ncs(x):
    """(N, C), (N, C, L) or (N, C, H, W) as a C-contiguous (N, C, S) array (a view if possible)."""
    x = contiguous(x)
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


class BatchNorm(Function):
    """Inputs x, weight, bias (None when not affine); running_mean/var are buffers (or None),
    updated in place by the training kernels."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5, relu=False, sigmoid=False):
        dev = backend.for_arrays(x, weight, bias, running_mean, running_var)
        x3, none = _as_ncs(x), absent(dev, x.dtype)
        C = x3.shape[1]
        y, mean, invstd = dev.empty(x3.shape, x.dtype), dev.empty(C, _FLOAT64), \
            dev.empty(C, _FLOAT64)
        w = none if weight is None else weight
        b = none if bias is None else bias
        kern = dev.kernels("normalization")
        if training:
            rm = none if running_mean is None else running_mean
            rv = none if running_var is None else running_var
            train = kern.batch_norm_relu_forward_train if relu else kern.batch_norm_forward_train
            train(x3, w, b, y, mean, invstd, rm, rv, momentum, eps)
        else:
            evaluate = kern.batch_norm_relu_forward_eval if relu else kern.batch_norm_forward_eval
            evaluate(x3, w, b, running_mean, running_var, y, mean, invstd, eps)
        s = None
        if sigmoid:
            s = dev.empty(x3.shape, x.dtype)
            dev.kernels("activation").sigmoid_forward(y, s)
        ctx.save_for_backward(x3, w, mean, invstd, s, y if relu else None)
        ctx.training = training
        return (y if s is None else s).reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x3, w, mean, invstd, s, y = ctx.saved
        dev = backend.for_arrays(x3)
        C, grad_dtype = x3.shape[1], x3.dtype if w.size == 0 else w.dtype
        # NOTE: gx is allocated in the input's shape and the kernel writes through an (N, C, S)
        # view, so the engine can adopt gx, an array owning its memory, as a leaf's .grad
        # without a copy (16 MB a step at (64, 64, 32, 32))
        gx, gw, gb = dev.empty(g.shape, x3.dtype), dev.empty(C, grad_dtype), \
            dev.empty(C, grad_dtype)
        g3, gx3, kern = _as_ncs(g), gx.reshape(x3.shape), dev.kernels("normalization")
        if s is not None:  # through the sigmoid first: dy = ds * s * (1 - s)
            dy = dev.empty(x3.shape, x3.dtype)
            dev.kernels("activation").sigmoid_backward(s, g3, dy)
            g3 = dy
        if y is None:
            kern.batch_norm_backward(x3, g3, w, mean, invstd, gx3, gw, gb, ctx.training)
        else:
            kern.batch_norm_relu_backward(x3, y, g3, w, mean, invstd, gx3, gw, gb, ctx.training)
        needs = ctx.needs_input_grad
        return gx if needs[0] else None, gw if needs[1] else None, gb if needs[2] else None


# ---- LayerNorm, GroupNorm and InstanceNorm: per-row statistics (kernel family row_norm) --------

class RowNorm(Function):
    """x seen as (N, G, D, S) = ``view``: rows (n, g) of D * S values, normalized by their own
    mean and biased variance, then an affine per parameter p = g * D + d (shared over s):
    y = (x - mean) * invstd * weight[p] + bias[p] (weight, bias: G * D values, or None).
    LayerNorm is (rows, 1, M, 1), GroupNorm (N, G, C / G, S). Backward, gw = dy * weight:
    dx = invstd * (gw - mean(gw) - xhat * mean(gw * xhat)) per row;
    dweight = sum(dy * xhat), dbias = sum(dy) over n and s."""

    @staticmethod
    def forward(ctx, x, weight, bias, view=None, eps=1e-5):
        dev = backend.for_arrays(x, weight, bias)
        x4, none, params = contiguous(x).reshape(view), absent(dev, x.dtype), view[1] * view[2]
        y, mean, invstd = dev.empty(view, x.dtype), dev.empty(view[:2], np.float64), \
            dev.empty(view[:2], np.float64)
        w = none if weight is None else contiguous(weight).reshape(params)
        b = none if bias is None else contiguous(bias).reshape(params)
        if x4.size:
            dev.kernels("row_norm").row_norm_forward(x4, w, b, y, mean, invstd, eps)
        ctx.save_for_backward(x4, w, mean, invstd)
        ctx.shapes = (None if weight is None else weight.shape,
                      None if bias is None else bias.shape)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x4, w, mean, invstd = ctx.saved
        dev, needs, (weight_shape, bias_shape) = backend.for_arrays(x4), ctx.needs_input_grad, \
            ctx.shapes
        params = x4.shape[1] * x4.shape[2]
        # gx in the input's shape, written through the (N, G, D, S) view (BatchNorm's NOTE)
        gx = dev.empty(g.shape, x4.dtype)
        gw = dev.zeros(params, x4.dtype) if needs[1] else absent(dev, x4.dtype)
        gb = dev.zeros(params, x4.dtype) if needs[2] else absent(dev, x4.dtype)
        if x4.size:
            dev.kernels("row_norm").row_norm_backward(
                x4, contiguous(g).reshape(x4.shape), w, mean, invstd, gx.reshape(x4.shape), gw, gb)
        return (gx if needs[0] else None, gw.reshape(weight_shape) if needs[1] else None,
                gb.reshape(bias_shape) if needs[2] else None)
