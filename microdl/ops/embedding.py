"""Embedding lookup: rows of a weight matrix picked by integer indices, through the elementwise
``take`` / ``put_add`` kernels (the indices stay on the host, as the kernels take them)."""

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, contiguous


class Embedding(Function):
    """y[..., :] = weight[indices[...], :].

    dweight[k] = sum of g[p] over the positions p with indices[p] == k (repeated indices add
    up); the padding_idx row (None: none) gets no gradient; with scale_grad_by_freq each sum
    is divided by how often k occurs in indices. ``indices``: a host int64 array, in range."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx=None, scale_grad_by_freq=False):
        dev = backend.for_arrays(weight)
        flat = indices.reshape(-1)
        out = dev.empty((flat.size, weight.shape[1]), weight.dtype)
        dev.kernels("elementwise").take(contiguous(weight), (flat,), out)
        ctx.indices, ctx.weight_shape = flat, weight.shape
        ctx.padding_idx, ctx.scale_grad_by_freq = padding_idx, scale_grad_by_freq
        return out.reshape(*indices.shape, weight.shape[1])

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        indices = ctx.indices
        g = contiguous(g).reshape(indices.size, ctx.weight_shape[1])
        if ctx.padding_idx is not None and np.any(indices == ctx.padding_idx):
            kept = np.flatnonzero(indices != ctx.padding_idx)
            g, indices = _rows(g, kept, dev), indices[kept]
        if ctx.scale_grad_by_freq:
            counts = np.bincount(ctx.indices, minlength=ctx.weight_shape[0])
            scale = (1.0 / counts[indices]).astype(g.dtype).reshape(-1, 1)
            g = binary(g, dev.to_here(scale), "mul", g.dtype)
        dweight = dev.zeros(ctx.weight_shape, g.dtype)
        dev.kernels("elementwise").put_add(g, (indices,), dweight)
        return dweight, None


def _rows(g, rows, dev):
    out = dev.empty((rows.size, g.shape[1]), g.dtype)
    dev.kernels("elementwise").take(g, (rows,), out)
    return out
