"""Distance functions: cosine_similarity and pairwise_distance."""

import numpy as np


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) over ``dim`` (inputs broadcast). As
    PyTorch, the clamp to eps is outside autograd: the gradient is that of the unclamped norms."""
    x1, x2 = _broadcast_pair(x1, x2)

    def clamped_norm(x):
        norm = x.norm(2, dim=dim, keepdim=True)
        return norm + (norm.detach().clamp(min=eps) - norm.detach())

    return ((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2))).sum(dim=dim)


def _broadcast_pair(x1, x2):
    if tuple(x1.shape) == tuple(x2.shape):
        return x1, x2
    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    return x1.expand(*shape), x2.expand(*shape)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension (of the larger input)."""
    dim = max(x1.ndim, x2.ndim) - 1
    return (x1 - x2 + eps).norm(p, dim=dim, keepdim=keepdim)
