"""Batch normalization: the op validates, views the input as (N, C, S) and calls the kernels.

With ``relu=True`` the op is BatchNorm followed by ReLU in one pass each way (y = max(y, 0);
backward masks dy where y == 0 before the formulas below): what nn.Sequential runs for a
BatchNorm module directly followed by a ReLU module.

Training: y = (x - mean) * invstd * weight + bias with the batch's mean and biased variance,
and the running statistics updated in place by the kernel. Eval: the running statistics.
Backward, with xhat = (x - mean) * invstd and m values per channel:
dbias = sum(dy), dweight = sum(dy * xhat), dx = weight * invstd * (dy - dbias/m - xhat*dweight/m)
(training) or dx = dy * weight * invstd (eval).
"""

import numpy as np

from .. import _buffers, backend
from ..autograd import Function

_EMPTY = {}


def _empty(dtype):
    """A size-0 array standing for an absent weight, bias or running statistic."""
    array = _EMPTY.get(dtype)
    if array is None:
        array = _EMPTY[dtype] = np.empty(0, dtype)
    return array


def _as_ncs(x):
    """(N, C), (N, C, L) or (N, C, H, W) as a C-contiguous (N, C, S) array (a view if possible)."""
    if not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)
    shape = x.shape
    if len(shape) == 3:
        return x
    return x.reshape(shape[0], shape[1], -1)


def run_forward(ctx, kernels, x3, weight, bias, running_mean, running_var, training, momentum,
                eps, relu, y, mean, invstd, none):
    """Call the forward kernel that fits (train or eval, with or without the fused ReLU) on
    buffers the caller allocated on its device (``none``: its size-0 array for an absent
    weight, bias or statistic), and save what backward needs. Shared by the CUDA twin."""
    w = none if weight is None else weight
    b = none if bias is None else bias
    if training:
        rm = none if running_mean is None else running_mean
        rv = none if running_var is None else running_var
        train = kernels.batch_norm_relu_forward_train if relu else kernels.batch_norm_forward_train
        train(x3, w, b, y, mean, invstd, rm, rv, momentum, eps)
    else:
        evaluate = kernels.batch_norm_relu_forward_eval if relu else kernels.batch_norm_forward_eval
        evaluate(x3, w, b, running_mean, running_var, y, mean, invstd, eps)
    ctx.save_for_backward(x3, w, mean, invstd, y if relu else None)
    ctx.training = training


def run_backward(ctx, kernels, g3, gx, gw, gb, grad_shape):
    """Call the backward kernel that fits into the caller's buffers; the gradients asked for."""
    x3, w, mean, invstd, y = ctx.saved
    if y is None:
        kernels.batch_norm_backward(x3, g3, w, mean, invstd, gx, gw, gb, ctx.training)
    else:
        kernels.batch_norm_relu_backward(x3, y, g3, w, mean, invstd, gx, gw, gb, ctx.training)
    needs = ctx.needs_input_grad
    return (gx.reshape(grad_shape) if needs[0] else None, gw if needs[1] else None,
            gb if needs[2] else None)


def grad_dtype(x3, w):
    """The dtype of the weight and bias gradients (x's when there is no weight)."""
    return x3.dtype if w.size == 0 else w.dtype


class BatchNorm(Function):
    """Inputs x, weight, bias (None when not affine); running_mean/var are buffers (or None)."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5, relu=False):
        x3 = _as_ncs(x)
        C = x3.shape[1]
        y = _buffers.empty(x3.shape, x.dtype)
        run_forward(ctx, backend.kernels("normalization"), x3, weight, bias, running_mean,
                    running_var, training, momentum, eps, relu, y, np.empty(C), np.empty(C),
                    _empty(x.dtype))
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x3, w = ctx.saved[:2]
        C = x3.shape[1]
        gx = _buffers.empty(x3.shape, x3.dtype)
        gw, gb = np.empty(C, grad_dtype(x3, w)), np.empty(C, grad_dtype(x3, w))
        return run_backward(ctx, backend.kernels("normalization"), _as_ncs(g), gx, gw, gb,
                            g.shape)
