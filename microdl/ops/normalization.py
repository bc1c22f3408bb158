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


class BatchNorm(Function):
    """Inputs x, weight, bias (None when not affine); running_mean/var are buffers (or None)."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5, relu=False):
        x3 = _as_ncs(x)
        C = x3.shape[1]
        empty = _empty(x.dtype)
        w = empty if weight is None else weight
        b = empty if bias is None else bias
        y = _buffers.empty(x3.shape, x.dtype)
        mean = np.empty(C)
        invstd = np.empty(C)
        kernels = backend.kernels("normalization")
        if training:
            rm = empty if running_mean is None else running_mean
            rv = empty if running_var is None else running_var
            train = (kernels.batch_norm_relu_forward_train if relu
                     else kernels.batch_norm_forward_train)
            train(x3, w, b, y, mean, invstd, rm, rv, momentum, eps)
        else:
            evaluate = (kernels.batch_norm_relu_forward_eval if relu
                        else kernels.batch_norm_forward_eval)
            evaluate(x3, w, b, running_mean, running_var, y, mean, invstd, eps)
        ctx.save_for_backward(x3, w, mean, invstd, y if relu else None)
        ctx.training = training
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x3, w, mean, invstd, y = ctx.saved
        g3 = _as_ncs(g)
        gx = _buffers.empty(x3.shape, x3.dtype)
        C = x3.shape[1]
        gdtype = x3.dtype if w.size == 0 else w.dtype
        gw = np.empty(C, gdtype)
        gb = np.empty(C, gdtype)
        kernels = backend.kernels("normalization")
        if y is None:
            kernels.batch_norm_backward(x3, g3, w, mean, invstd, gx, gw, gb, ctx.training)
        else:
            kernels.batch_norm_relu_backward(x3, y, g3, w, mean, invstd, gx, gw, gb,
                                             ctx.training)
        needs = ctx.needs_input_grad
        return (gx.reshape(g.shape) if needs[0] else None, gw if needs[1] else None,
                gb if needs[2] else None)
