"""Batch normalization: the op validates, views the input as (N, C, S) and calls the kernels.

Training: y = (x - mean) * invstd * weight + bias with the batch's mean and biased variance,
and the running statistics updated in place by the kernel. Eval: the running statistics.
Backward, with xhat = (x - mean) * invstd and m values per channel:
dbias = sum(dy), dweight = sum(dy * xhat), dx = weight * invstd * (dy - dbias/m - xhat*dweight/m)
(training) or dx = dy * weight * invstd (eval).
"""

import sys

import numpy as np

from .. import backend
from ..autograd import Function

_EMPTY = {}
_POOL = []
POOL_MIN_BYTES = 1 << 20
POOL_SIZE = 8


def _empty(dtype):
    """A size-0 array standing for an absent weight, bias or running statistic."""
    array = _EMPTY.get(dtype)
    if array is None:
        array = _EMPTY[dtype] = np.empty(0, dtype)
    return array


def _output(shape, dtype, nbytes):
    """np.empty, except that large arrays come from a small pool when nobody else holds them.

    NOTE: fresh multi-MiB arrays get unmapped pages (writing one costs several times the copy,
    ~10x above 32 MiB); a pooled array is reused only when the pool's reference is the last one
    (no tensor, saved context, view or user variable holds it), so nothing live is overwritten.
    """
    if nbytes < POOL_MIN_BYTES:
        return np.empty(shape, dtype)
    for i in range(len(_POOL)):
        # 2 = the pool's list slot + getrefcount's own argument: nobody else holds it
        if sys.getrefcount(_POOL[i]) == 2 and _POOL[i].shape == shape and \
                _POOL[i].dtype == dtype:
            return _POOL[i]
    array = np.empty(shape, dtype)
    _POOL.append(array)
    if len(_POOL) > POOL_SIZE:
        del _POOL[0]
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
                momentum=0.1, eps=1e-5):
        x3 = _as_ncs(x)
        C = x3.shape[1]
        empty = _empty(x.dtype)
        w = empty if weight is None else weight
        b = empty if bias is None else bias
        y = _output(x3.shape, x.dtype, x.nbytes)
        mean = np.empty(C)
        invstd = np.empty(C)
        kernels = backend.kernels("normalization")
        if training:
            rm = empty if running_mean is None else running_mean
            rv = empty if running_var is None else running_var
            kernels.batch_norm_forward_train(x3, w, b, y, mean, invstd, rm, rv, momentum, eps)
        else:
            kernels.batch_norm_forward_eval(x3, w, b, running_mean, running_var, y, mean,
                                            invstd, eps)
        ctx.save_for_backward(x3, w, mean, invstd)
        ctx.training = training
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x3, w, mean, invstd = ctx.saved
        g3 = _as_ncs(g)
        gx = _output(x3.shape, x3.dtype, x3.nbytes)
        C = x3.shape[1]
        gdtype = x3.dtype if w.size == 0 else w.dtype
        gw = np.empty(C, gdtype)
        gb = np.empty(C, gdtype)
        backend.kernels("normalization").batch_norm_backward(x3, g3, w, mean, invstd, gx, gw,
                                                             gb, ctx.training)
        needs = ctx.needs_input_grad
        return (gx.reshape(g.shape) if needs[0] else None, gw if needs[1] else None,
                gb if needs[2] else None)
