"""torch.linalg: vector and matrix norms, inverses, solves, determinants and the Cholesky, QR,
eigh and SVD decompositions. The decompositions are LAPACK calls through numpy.linalg on the
host: a cuda input is copied to the host and the result copied back (microdl/ops/linalg.py)."""

import math
from collections import namedtuple

import numpy as np

from .ops import linalg as _ops
from .ops.linalg import LinAlgError
from .tensor import Tensor, tensor
from .tensor_methods.indexing import _Slogdet as SlogdetResult
from .tensor_methods.indexing import _norm_by_svd, _vector_norm, unpacked as _unpacked

__all__ = ["vector_norm", "matrix_norm", "norm", "inv", "solve", "det", "slogdet", "cholesky",
           "qr", "eigh", "eigvalsh", "svd", "svdvals", "pinv", "matrix_rank", "LinAlgError"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """(sum |x|^ord)^(1/ord) over ``dim`` (all values when None; an int or a tuple); ord inf:
    max |x|, -inf: min |x|, 0: the count of nonzeros. Float tensors only."""
    x = x if isinstance(x, Tensor) else tensor(x)
    return _vector_norm(x if dtype is None else x.to(dtype=dtype), ord, dim, keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The norm of the matrices over the two dims ``dim``: "fro" (sqrt of the sum of squares),
    1 / -1 (the largest / smallest sum of |a| down a column), inf / -inf (along a row).
    "nuc": the sum of singular values, 2 / -2: the largest / smallest (svdvals)."""
    A = A if isinstance(A, Tensor) else tensor(A)
    A = A if dtype is None else A.to(dtype=dtype)
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    rows, cols = (d % A.ndim for d in dim)
    if ord == "fro":
        return _vector_norm(A, 2.0, (rows, cols), keepdim)
    if ord in ("nuc", 2, -2):
        return _norm_by_svd(A, ord, (rows, cols), keepdim)
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


# ---- inverses, solves, determinants and decompositions (numpy.linalg on the host) -------------
def _matrix(A, name, square=True, what="A"):
    A = A if isinstance(A, Tensor) else tensor(A)
    _ops.check_float(A, name)
    if square:
        _ops.check_square(A, name, what)
    elif A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
    return A


def inv(A):
    """A^-1 of each matrix of A (..., n, n); gradient -A^-T g A^-T. Host LAPACK (a cuda input
    is copied to the host and back). LinAlgError for a singular matrix."""
    return _ops.Inverse.apply(_matrix(A, "linalg.inv"), name="linalg.inv")


def solve(A, B, *, left=True):
    """X with A X = B (left) or X A = B (left=False); B (..., n, k) or a batch of vectors
    (..., n), batch dims broadcast. Host LAPACK (a cuda input is copied to the host and
    back)."""
    A = _matrix(A, "linalg.solve")
    B = B if isinstance(B, Tensor) else tensor(B)
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found "
                           f"A of type {_ops._torch_name(A.dtype)} and B of type "
                           f"{_ops._torch_name(B.dtype)} instead")
    vector = B.ndim == 1 or (left and B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        B = B.unsqueeze(-1)
    n = A.shape[-1]
    rows = B.shape[-2] if left else B.shape[-1]
    if rows != n:
        a_shape, b_shape = "x".join(map(str, A.shape[-2:])), "x".join(map(str, B.shape[-2:]))
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({a_shape} and {b_shape})")
    try:
        batch = tuple(np.broadcast_shapes(A.shape[:-2], B.shape[:-2]))
    except ValueError:
        a_batch, b_batch = A.shape[:-2], B.shape[:-2]
        width = max(len(a_batch), len(b_batch))
        a_batch = (1,) * (width - len(a_batch)) + tuple(a_batch)
        b_batch = (1,) * (width - len(b_batch)) + tuple(b_batch)
        dim = next(d for d in range(width - 1, -1, -1)
                   if 1 not in (a_batch[d], b_batch[d]) and a_batch[d] != b_batch[d])
        raise RuntimeError(f"The size of tensor a ({b_batch[dim]}) must match the size of "
                           f"tensor b ({a_batch[dim]}) at non-singleton dimension "
                           f"{dim}") from None
    A = A.expand(*batch, n, n)
    B = B.expand(*batch, *B.shape[-2:])
    if left:
        X = _ops.Solve.apply(A, B)
    else:
        X = _ops.Solve.apply(A.transpose(-2, -1), B.transpose(-2, -1)).transpose(-2, -1)
    return X.squeeze(-1) if vector else X


def det(A):
    """det A of each matrix; gradient g cof(A) (= g det(A) A^-T, through the SVD so singular
    matrices get one). Host LAPACK (a cuda input is copied to the host and back)."""
    return _ops.Det.apply(_matrix(A, "linalg.det"))


def slogdet(A):
    """(sign, log|det A|) of each matrix; sign is -1, 0 or 1 (no gradient), logabsdet's
    gradient g A^-T. Host LAPACK (a cuda input is copied to the host and back)."""
    A = _matrix(A, "linalg.slogdet")
    return SlogdetResult(_ops.SlogdetSign.apply(A), _ops.LogAbsDet.apply(A))


def cholesky(A, *, upper=False):
    """L with A = L L^T (L^T when upper) from the lower triangle of A; LinAlgError naming the
    first leading minor that is not positive-definite. Host LAPACK (a cuda input is copied to
    the host and back)."""
    return _ops.Cholesky.apply(_matrix(A, "linalg.cholesky"), upper=bool(upper))


QRResult = namedtuple("qr", ["Q", "R"])
EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("svd", ["U", "S", "Vh"])


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, mode "reduced" (Q (m, k)), "complete" (Q (m, m)) or "r" (R only,
    Q empty). Host LAPACK (a cuda input is copied to the host and back)."""
    A = _matrix(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    m, n = A.shape[-2:]
    shapes = _ops.decomposition_shapes("qr", m, n, "complete" if mode == "complete"
                                       else "reduced")
    if mode == "r":
        from .autograd import no_grad  # noqa: PLC0415
        with no_grad():
            _, R = _unpacked(_ops.QR.apply(A, mode="reduced"), shapes)
        return QRResult(tensor(np.zeros((0,), A.dtype)).to(A.device), R.contiguous())
    Q, R = _unpacked(_ops.QR.apply(A, mode=mode), shapes)
    return QRResult(Q, R)


def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of the symmetric matrices read from
    the UPLO triangle. Gradients are ill-defined for repeated eigenvalues (as PyTorch, they
    come out inf/NaN). Host LAPACK (a cuda input is copied to the host and back)."""
    A = _matrix(A, "linalg.eigh")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    n = A.shape[-1]
    L, V = _unpacked(_ops.Eigh.apply(A, UPLO=UPLO), _ops.decomposition_shapes("eigh", n, n,
                                                                               None))
    return EighResult(L, V)


def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of eigh."""
    return eigh(A, UPLO).eigenvalues


def svd(A, full_matrices=True, *, driver=None):
    """(U, S, Vh) with A = U diag(S) Vh, S descending; full_matrices: U (m, m) and Vh (n, n).
    Gradients are ill-defined for repeated singular values. Host LAPACK (a cuda input is
    copied to the host and back)."""
    A = _matrix(A, "linalg.svd", square=False)
    m, n = A.shape[-2:]
    shapes = _ops.decomposition_shapes("svd", m, n, bool(full_matrices))
    return SVDResult(*_unpacked(_ops.SVD.apply(A, full_matrices=bool(full_matrices)), shapes))


def svdvals(A, *, driver=None):
    """The singular values (descending) of each matrix; gradient U diag(g) Vh."""
    return _ops.SVDvals.apply(_matrix(A, "linalg.svdvals", square=False))


def _tolerances(A, atol, rtol, name):
    """PyTorch's rule: rtol defaults to eps * max(m, n) when atol is None or 0, else to 0."""
    def value(t):
        return np.asarray(t.detach().cpu().array if isinstance(t, Tensor) else t, np.float64)
    if rtol is None:
        rtol = (np.finfo(A.dtype).eps * max(A.shape[-2:]) if atol is None or
                not np.any(value(atol) > 0) else 0.0)
    return (0.0 if atol is None else value(atol)), value(rtol)


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None):
    """The pseudo-inverse through the SVD (eigh when hermitian), singular values <=
    max(atol, rtol * s_max) treated as 0; the positional ``rcond`` is rtol with atol 0 (a
    tensor of tolerances broadcasts against the batch). Host LAPACK (a cuda input is copied to
    the host and back)."""
    A = _matrix(A, "linalg.pinv", square=False)
    if rcond is not None:
        atol, rtol = 0.0, rcond
    atol, rtol = _tolerances(A, atol, rtol, "linalg.pinv")
    return _ops.Pinv.apply(A, atol=atol, rtol=rtol, hermitian=bool(hermitian))


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False):
    """The number of singular values > max(atol, rtol * s_max) (int64, no gradient)."""
    A = _matrix(A, "linalg.matrix_rank", square=False)
    atol, rtol = _tolerances(A, atol, rtol, "linalg.matrix_rank")
    a = np.asarray(A.detach().cpu().array)
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    tol = np.maximum(np.asarray(atol)[..., None], np.asarray(rtol)[..., None] * smax)
    return tensor((s > tol).sum(axis=-1).astype(np.int64)).to(A.device)
