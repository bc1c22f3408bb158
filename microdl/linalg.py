"""torch.linalg's norms: vector norms of any order, and the matrix norms that need no singular
values (Frobenius, the max column sum (ord 1) and max row sum (ord inf), and their minima)."""

import math

from .tensor import Tensor, tensor
from .tensor_methods.indexing import _vector_norm

__all__ = ["vector_norm", "matrix_norm", "norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x|^ord)^(1/ord) over ``dim`` (all values when None; an int or a tuple); ord inf:
    max |x|, -inf: min |x|, 0: the count of nonzeros. Float tensors only."""
    x = x if isinstance(x, Tensor) else tensor(x)
    return _vector_norm(x if dtype is None else x.to(dtype=dtype), ord, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The norm of the matrices over the two dims ``dim``: "fro" (sqrt of the sum of squares),
    1 / -1 (the largest / smallest sum of |a| down a column), inf / -inf (along a row).
    "nuc", 2 and -2 need singular values, which microdl does not compute."""
    A = A if isinstance(A, Tensor) else tensor(A)
    A = A if dtype is None else A.to(dtype=dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    rows, cols = (d % A.ndim for d in dim)
    if ord == "fro":
        return _vector_norm(A, 2.0, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm(ord={ord!r}) needs a singular value "
                                  "decomposition, which microdl does not have")
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    summed, across = (rows, cols) if abs(ord) == 1 else (cols, rows)
    sums = A.abs().sum(dim=summed, keepdim=keepdim)
    if not keepdim and across > summed:
        across -= 1
    if ord > 0 and sums.shape[across] == 0:
        # PyTorch: the largest of no sums is 0, a constant (no gradient reaches A)
        return sums.sum(dim=across, keepdim=keepdim).detach()
    return sums.amax(across, keepdim=keepdim) if ord > 0 else sums.amin(across, keepdim=keepdim)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """ord None: the 2-norm of all values (dim None), of vectors (an int dim) or the Frobenius
    norm (two dims). Else a vector norm (a vector, or an int dim) or a matrix norm (a matrix,
    or two dims)."""
    A = A if isinstance(A, Tensor) else tensor(A)
    dims = (dim,) if isinstance(dim, int) else (None if dim is None else tuple(dim))
    if ord is None:
        return vector_norm(A, 2, dims if dims is None or len(dims) == 1 else dims, keepdim,
                           dtype=dtype)
    if (dims is None and A.ndim == 2) or (dims is not None and len(dims) == 2) or \
            isinstance(ord, str):
        return matrix_norm(A, ord, dims or (-2, -1), keepdim, dtype=dtype)
    if dims is None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {A.ndim}D.")
    return vector_norm(A, ord, dims, keepdim, dtype=dtype)
