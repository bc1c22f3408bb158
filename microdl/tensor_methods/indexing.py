"""Tensor methods: indexing along a dim (gather, scatter, index_select, index_add,
masked_select, take, nonzero), sorting (sort, argsort, topk, kthvalue, median, mode, unique),
linear algebra (mm, bmm, mv, dot, outer, diagonal, diag, tril, triu, trace, cumprod, norm) and
sampling (multinomial, bernoulli); the functions ``einsum`` and ``cdist``."""

import math
from collections import namedtuple

import numpy as np

from .. import backend
from .. import random as _random
from ..ops import indexing as _indexing, linalg as _linalg, matmul
from ..ops._arrays import broadcast_shapes
from ._common import _C_TYPE_NAMES, _TORCH_TYPES, _dim_index, _in_dtype
from .math import where

# NOTE: microdl.Tensor and microdl.tensor, set by tensor.py when it loads (tensor_methods.bind):
# these methods make tensors without importing tensor.py, which imports this module
Tensor = tensor = None


class IndexingMethods:
    """Tensor's indexing, sorting and linear algebra methods (a mixin of microdl.Tensor)."""

    # ---- indexing, sorting and linear algebra (gather, sort, topk, mm, norm, ...) ---------------
    def gather(self, dim, index, *, sparse_grad=False):
        """y[p] = self[p0, ..., index[p], ..., pn] along ``dim`` (index of self's rank, no larger
        than self off ``dim``); the gradient is added back at the same positions."""
        d = _dim_index(dim, self.ndim)
        if index.numel() == 0:  # PyTorch checks nothing more of an empty index (dtype, rank)
            return self.reshape(-1)[:0].reshape(tuple(index.shape))
        _indexing.check_along_axis("gather", self.array, index.array, d)
        return _indexing.Gather.apply(self, index=index.array, axis=d)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        """A copy of self with src[p] (or ``value``) written at (p0, ..., index[p], ..., pn)
        along ``dim``; reduce="add" adds instead (scatter_add). Of repeated positions the last
        written wins (PyTorch leaves that order unspecified)."""
        if reduce not in (None, "add"):
            raise NotImplementedError(f"scatter(reduce={reduce!r}): microdl supports "
                                      "reduce='add' only (scatter_add)")
        if src is not None and not isinstance(src, Tensor):
            src, value = None, src  # scatter(dim, index, value): PyTorch's other overload
        d = _dim_index(dim, self.ndim)
        if src is None:
            if value is None:
                raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
            src = Tensor._wrap(backend.of(self.array).full(index.shape, value, self.dtype))
        if src.dtype != self.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        if index.numel() == 0:  # PyTorch checks nothing more of an empty index (dtype, rank)
            return self.clone()
        _indexing.check_along_axis("scatter", self.array, index.array, d, src.array)
        return _indexing.Scatter.apply(self, src, index=index.array, axis=d,
                                       accumulate=reduce == "add")

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        """In place: self = scatter(dim, index, src or value, reduce=reduce); returns self."""
        return self._assign(self.scatter(dim, index, src, value, reduce=reduce))

    def scatter_add(self, dim, index, src):
        """A copy of self with src[p] added at (p0, ..., index[p], ..., pn) along ``dim``
        (repeats add up); the gradient of src is the output's gathered at index."""
        return self.scatter(dim, index, src, reduce="add")

    def scatter_add_(self, dim, index, src):
        """In place: self = scatter_add(dim, index, src); returns self."""
        return self._assign(self.scatter_add(dim, index, src))

    def _index_along(self, name, dim, index):
        """(dim normalized, the 1-D int64 index broadcast to the shape of the selection)."""
        d = _dim_index(dim, self.ndim)
        if index.ndim > 1:
            raise IndexError(f"{name}(): Index is supposed to be a vector")
        if index.dtype.kind not in "iu" or index.dtype.itemsize not in (4, 8):
            raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index")
        index = index.reshape(-1).long()
        shape = list(self.shape) or [1]
        values = _indexing.host_array(index.array)
        outside = (values < 0) | (values >= shape[d])  # PyTorch: no negative indices here
        if outside.any():
            bad = values[np.argmax(outside)]  # the first one, as PyTorch reports it
            if name != "index_select":
                raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size "
                                   f"{shape[d]}")
            if d == 1 and self.ndim > 1:  # PyTorch's CPU index_select has its own dim-1 path
                raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim="
                                   f"{shape[d]}")
            raise IndexError("index out of range in self")
        lines = [1] * len(shape)
        lines[d] = index.shape[0]
        shape[d] = index.shape[0]
        return d, index.reshape(lines).expand(*shape)

    def index_select(self, dim, index):
        """The slices of self at the positions ``index`` (a vector) along ``dim``; a 0-d self
        takes exactly one index and gives a 0-d result, as in PyTorch."""
        d, lines = self._index_along("index_select", dim, index)
        if not self.ndim and index.numel() != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{index.numel()} value(s)")
        return _indexing.Gather.apply(self, index=lines.array, axis=d).reshape(
            self.shape[:d] + (lines.shape[d],) + self.shape[d + 1:] if self.ndim else ())

    def index_add(self, dim, index, source, *, alpha=1):
        """A copy of self with alpha * source's slices added at positions ``index`` along
        ``dim`` (repeats add up). A 0-d self is one slot: a 0-d source added at one index."""
        d = _dim_index(dim, self.ndim)
        if not self.ndim:
            if source.ndim:
                raise RuntimeError(f"source tensor shape must match self tensor shape, "
                                   f"excluding the specified dimension. Got self.shape = [] "
                                   f"source.shape = {list(source.shape)}")
            if index.numel() != 1:  # PyTorch reads source.size(dim) of the 0-d source here
                raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
            if index.dtype.kind in "iu" and _indexing.host_array(index.array).item() != 0:
                raise IndexError("index out of range in self")
            return self.reshape(1).index_add(0, index.reshape(1), source.reshape(1),
                                             alpha=alpha).reshape(())
        if source.ndim and index.numel() != source.shape[d]:
            raise RuntimeError(f"index_add_(): Number of indices ({index.numel()}) should be "
                               f"equal to source.size(dim): ({source.shape[d]}), for dim: {d}")
        d, lines = self._index_along("index_add", dim, index)
        if source.shape != lines.shape:
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding "
                               f"the specified dimension. Got self.shape = {list(self.shape)} "
                               f"source.shape = {list(source.shape)}")
        source = source if alpha == 1 else source * alpha
        return _indexing.Scatter.apply(self, source, index=lines.array, axis=d,
                                       accumulate=True)

    def index_add_(self, dim, index, source, *, alpha=1):
        """In place: self = index_add(dim, index, source, alpha=alpha); returns self."""
        return self._assign(self.index_add(dim, index, source, alpha=alpha))

    def masked_select(self, mask):
        """The values of self where ``mask`` (bool, broadcast with self) is True, as a vector
        in C order."""
        mask = mask if isinstance(mask, Tensor) else tensor(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        shape = broadcast_shapes(mask.shape, self.shape)  # (PyTorch's error names mask "a")
        x = self if self.shape == shape else self.expand(*shape)
        chosen = np.broadcast_to(_indexing.host_array(mask.array), shape)
        return _indexing.Take.apply(x, positions=np.flatnonzero(chosen))

    def take(self, index):
        """self read as a vector at ``index`` (int64; negative counts from the end): the
        output has index's shape."""
        if index.dtype != np.int64:
            raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                               f"{_TORCH_TYPES.get(str(index.dtype), index.dtype)}")
        positions = _indexing.host_array(index.array).astype(np.int64)
        n = self.numel()
        outside = (positions < -n) | (positions >= n)
        if outside.any():
            raise IndexError(f"out of range: tried to access index {positions[outside][0]} on "
                             f"a tensor of {n} elements.")
        return _indexing.Take.apply(self, positions=positions % max(n, 1))

    def nonzero(self, *, as_tuple=False):
        """The int64 coordinates of the nonzero values, one row each in C order (as_tuple: one
        vector per dimension). Found on the host."""
        found = Tensor._wrap(_indexing.nonzero(self.array))
        if not as_tuple:
            return found
        if not self.ndim:  # PyTorch reads a 0-d tensor as a vector of one value here
            return (self.reshape(1).nonzero()[:, 0],)
        return tuple(found[:, d] for d in range(found.shape[1]))

    def argsort(self, dim=-1, descending=False, stable=False):
        """The int64 positions that sort self along ``dim`` (see sort)."""
        return self.sort(dim, descending, stable=stable).indices

    def sort(self, dim=-1, descending=False, *, stable=False):
        """(values, indices) sorted along ``dim``; NaN counts as the largest value. Always a
        stable sort (ties keep their order; PyTorch promises that with stable=True only). On
        cuda the order is found on the host (a copy there and back: numpy's sort); the values
        are gathered on the device, the gradient going back to the positions they came from."""
        order, d = _sort_order(self, dim, descending)
        return _sort_result(*self._taken_along(order, d))

    def _taken_along(self, order, d):
        """(values of self at positions ``order`` along d, the positions as a tensor)."""
        indices = Tensor._wrap(_indexing.to_device_of(self.array, order))
        return _indexing.Gather.apply(self, index=indices.array, axis=d), indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest (or smallest) along ``dim``, largest first
        (smallest first); NaN counts as the largest value. Always sorted."""
        d = _dim_index(dim, self.ndim)
        size = self.shape[d] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError("selected index k out of range")
        order, _ = _sort_order(self, d, descending=largest)
        return _topk_result(*self._taken_along(_first_along(order, d, k), d))

    def kthvalue(self, k, dim=-1, keepdim=False):
        """(values, indices) of the k-th smallest (k from 1) along ``dim``."""
        d = _dim_index(dim, self.ndim)
        size = self.shape[d] if self.ndim else 1
        if not 1 <= k <= size:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
        order, _ = _sort_order(self, d, descending=False)
        return self._picked_along(_kthvalue_result, order.take([k - 1], axis=d) if self.ndim
                                  else order, d, keepdim)

    def _picked_along(self, result, index, d, keepdim):
        """result(values, indices) at one position per line (``index``, 1 long on d)."""
        values, indices = self._taken_along(index, d)
        if not keepdim and self.ndim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return result(values, indices)

    def median(self, dim=None, keepdim=False):
        """median(): the lower median of all values (NaN if any is NaN). median(dim):
        (values, indices) of each line's lower median (a line holding NaN: its first NaN)."""
        host = _indexing.host_array(self.array)
        if dim is None:
            flat = host.reshape(-1)
            nan = np.flatnonzero(np.isnan(flat)) if flat.dtype.kind == "f" else []
            if flat.size == 0:
                return Tensor._wrap(_indexing.to_device_of(self.array, np.array(np.nan,
                                                                                self.dtype)))
            # PyTorch splits the gradient evenly among all the values equal to the median (all
            # the NaNs when it is NaN): take them all, then their max (exact, and amax splits
            # among ties) or, for NaNs, which never tie in amax, their mean
            if len(nan):
                return _indexing.Take.apply(self, positions=nan.astype(np.int64)).mean()
            median = flat[np.argsort(flat, kind="stable")[(flat.size - 1) // 2]]
            ties = np.flatnonzero(flat == median).astype(np.int64)
            return _indexing.Take.apply(self, positions=ties).amax()
        d = _dim_index(dim, self.ndim)
        order, _ = _sort_order(self, d, descending=False)
        line = host.reshape(host.shape or (1,))
        pick = order.reshape(line.shape).take([(line.shape[d] - 1) // 2], axis=d)
        if line.dtype.kind == "f":  # a line holding NaN: its first NaN
            nan = np.isnan(line)
            pick = np.where(nan.any(axis=d, keepdims=True),
                            np.argmax(nan, axis=d, keepdims=True), pick)
        return self._picked_along(_median_result, pick.reshape(pick.shape if self.ndim else ()),
                                  d, keepdim)

    def mode(self, dim=-1, keepdim=False):
        """(values, indices): the most frequent value of each line along ``dim`` (the smallest
        among equally frequent ones) and the last position it holds. Found on the host."""
        d = _dim_index(dim, self.ndim)
        host = _indexing.host_array(self.array)
        lines = np.moveaxis(host.reshape(host.shape or (1,)), d, -1)
        picks = np.empty(lines.shape[:-1], np.int64)
        for at in np.ndindex(lines.shape[:-1]):
            values, counts = np.unique(lines[at], return_counts=True)
            best = values[np.argmax(counts)]  # the first of the most frequent: the smallest
            picks[at] = np.flatnonzero(lines[at] == best)[-1]
        return self._picked_along(_mode_result, np.expand_dims(picks, d) if self.ndim
                                  else picks.reshape(()), d, keepdim)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (sorted; over ``dim``: the distinct slices), with the int64
        position of each value among them (return_inverse) and the counts (return_counts).
        Found on the host; not differentiable."""
        host = _indexing.host_array(self.array)
        if dim is not None:
            dim = _dim_index(dim, self.ndim)
        found = np.unique(host, return_inverse=True, return_counts=True, axis=dim)
        values, inverse, counts = found
        if dim is None:
            inverse = inverse.reshape(self.shape)
        as_tensor = lambda a, dtype: Tensor._wrap(  # noqa: E731
            _indexing.to_device_of(self.array, np.asarray(a, dtype)))
        out = [as_tensor(values, self.dtype)]
        if return_inverse:
            out.append(as_tensor(inverse.reshape(-1) if dim is not None else inverse,
                                 np.int64))
        if return_counts:
            out.append(as_tensor(counts, np.int64))
        return out[0] if len(out) == 1 else tuple(out)

    def mm(self, mat2):
        """The matrix product of two 2-D tensors of one dtype."""
        if self.ndim != 2:
            raise RuntimeError("self must be a matrix")
        if mat2.ndim != 2:
            raise RuntimeError("mat2 must be a matrix")
        if self.dtype != mat2.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_C_TYPE_NAMES.get(self.dtype, self.dtype)} != "
                               f"{_C_TYPE_NAMES.get(mat2.dtype, mat2.dtype)}")
        return matmul.MatMul.apply(self, mat2)

    def bmm(self, mat2):
        """Batched matrix products: (b, n, m) @ (b, m, p) -> (b, n, p)."""
        for name, t in (("batch1", self), ("batch2", mat2)):
            if t.ndim != 3:
                raise RuntimeError(f"{name} must be a 3D tensor")
        want = [self.shape[0], self.shape[2]]
        if list(mat2.shape[:2]) != want:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"{want} but got: {list(mat2.shape[:2])}.")
        if self.dtype != mat2.dtype:
            raise RuntimeError(f"expected scalar type {_TORCH_TYPES[str(self.dtype)]} but "
                               f"found {_TORCH_TYPES[str(mat2.dtype)]}")
        return matmul.MatMul.apply(self, mat2)

    def mv(self, vec):
        """The product of a 2-D tensor and a vector."""
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {self.ndim}, "
                               f"{vec.ndim}")
        if self.shape[1] != vec.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({self.shape[0]}), mat "
                               f"({self.shape[0]}x{self.shape[1]}), vec ({vec.shape[0]})")
        if self.dtype != vec.dtype:
            names = [_TORCH_TYPES[str(t.dtype)] for t in (self, self, vec)]
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                               f"{names[2]}, {names[0]}, and {names[2]}")
        return matmul.MatMul.apply(self, vec)

    def dot(self, other):
        """sum(self * other) of two vectors of one length and dtype (0-d)."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D "
                               "tensors")
        if self.dtype != other.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_TORCH_TYPES[str(self.dtype)]} and "
                               f"{_TORCH_TYPES[str(other.dtype)]}")
        if self.shape != other.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and "
                               f"src [{other.shape[0]}] to have the same number of elements, "
                               f"but got {self.shape[0]} and {other.shape[0]} elements "
                               "respectively")
        return _linalg.Einsum.apply(self, other, equation="i,i->")

    def outer(self, vec2):
        """y[i, j] = self[i] * vec2[j] (PyTorch's promoted dtype)."""
        for name, t in (("self", self), ("vec2", vec2)):
            if t.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The values x[..., i, ..., i + offset, ...] of dims dim1 and dim2, along a new last
        dimension (a copy; PyTorch gives a view)."""
        d1, d2 = _dim_index(dim1, self.ndim), _dim_index(dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        flat = np.arange(self.numel(), dtype=np.int64).reshape(self.shape)
        return _indexing.Take.apply(self, positions=np.ascontiguousarray(
            np.diagonal(flat, offset, d1, d2)))

    def diag(self, diagonal=0):
        """A vector: the square matrix with it on diagonal ``diagonal``. A matrix: that
        diagonal of it, as a vector."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        n, k = self.shape[0], diagonal
        size = n + abs(k)
        rows, cols = np.arange(n) + max(-k, 0), np.arange(n) + max(k, 0)
        return _indexing.Spread.apply(self, positions=(rows * size + cols).astype(np.int64),
                                      shape=(size, size))

    def tril(self, diagonal=0):
        """self with the values above diagonal ``diagonal`` of the last two dims set to 0."""
        return self._triangle(np.tril, "tril", diagonal)

    def triu(self, diagonal=0):
        """self with the values below diagonal ``diagonal`` of the last two dims set to 0."""
        return self._triangle(np.triu, "triu", diagonal)

    def _triangle(self, pick, name, diagonal):
        if self.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        keep = pick(np.ones(self.shape[-2:], np.bool_), diagonal)
        keep = Tensor._wrap(_indexing.to_device_of(self.array, keep))
        return where(keep, self, Tensor._wrap(_indexing.to_device_of(
            self.array, np.zeros((), self.dtype))))

    def tril_(self, diagonal=0):
        """In place: self = tril(self, diagonal); returns self."""
        return self._assign(self.tril(diagonal))

    def triu_(self, diagonal=0):
        """In place: self = triu(self, diagonal); returns self."""
        return self._assign(self.triu(diagonal))

    def trace(self):
        """The sum of the main diagonal of a matrix (int64 for integer matrices)."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def cumprod(self, dim, *, dtype=None):
        """y_i = x_0 * ... * x_i along ``dim`` (int64 for integer and bool tensors); the
        gradient is exact where x holds zeros. ``dtype``: the input is cast to it first and the
        result has it (integers multiply as int64, cast back after: the same bits mod 2^n)."""
        return _in_dtype(_linalg.Cumprod.apply(self._as_dtype(dtype), axis=dim), dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """torch.norm: the vector p-norm over ``dim`` (all values when None); "fro" is the
        2-norm. See microdl.linalg.vector_norm."""
        x = self if dtype is None else self.to(dtype=dtype)
        if p == "nuc":
            return _norm_by_svd(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
        return _vector_norm(x, 2.0 if p in ("fro", None) else p, dim, keepdim)

    # -- inverses, determinants and decompositions: microdl.linalg's (numpy.linalg on the host;
    #    a cuda tensor is copied to the host and the result back)
    def inverse(self):
        """torch.inverse: linalg.inv, A^-1."""
        return _linalg.Inverse.apply(_square(self, "linalg.inv"), name="linalg.inv")

    def det(self):
        """torch.det: linalg.det."""
        return _linalg.Det.apply(_square(self, "linalg.det"))

    def slogdet(self):
        """torch.slogdet: linalg.slogdet, (sign, log|det|)."""
        A = _square(self, "linalg.slogdet")
        return _Slogdet(_linalg.SlogdetSign.apply(A), _linalg.LogAbsDet.apply(A))

    def logdet(self):
        """torch.logdet: log det A (NaN where det < 0, -inf where det = 0)."""
        sign, logabsdet = self.slogdet()
        # + log(sign) (a constant): 0 where det > 0, NaN where det < 0
        return logabsdet + sign.detach().log()

    def cholesky(self, upper=False):
        """torch.cholesky: linalg.cholesky."""
        return _linalg.Cholesky.apply(_square(self, "linalg.cholesky"), upper=bool(upper))

    def svd(self, some=True, compute_uv=True):
        """torch.svd: (U, S, V) with V not transposed; some=True: reduced U and V;
        compute_uv=False: U and V are zeros (no gradient through them), as PyTorch."""
        A = _matrix(self, "linalg.svd")
        m, n = A.shape[-2:]
        if not compute_uv:
            k = min(m, n)
            dev = backend.for_arrays(A.array)
            zeros = [self._wrap(dev.to_here(np.zeros(A.shape[:-2] + (rows, k if some else rows),
                                                     A.dtype))) for rows in (m, n)]
            return _SVD(zeros[0], _linalg.SVDvals.apply(A), zeros[1])
        shapes = _linalg.decomposition_shapes("svd", m, n, not some)
        U, S, Vh = unpacked(_linalg.SVD.apply(A, full_matrices=not some), shapes)
        return _SVD(U, S, Vh.transpose(-2, -1))

    def pinverse(self, rcond=1e-15):
        """torch.pinverse: linalg.pinv with rtol=rcond (atol 0)."""
        return _linalg.Pinv.apply(_matrix(self, "linalg.pinv"), atol=0.0, rtol=rcond,
                                  hermitian=False)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """int64 category indices drawn with probabilities proportional to self (a vector, or
        one distribution per row), with microdl's generator; without replacement each category
        once (those of probability 0 last). Drawn on the host."""
        return _multinomial(self, num_samples, replacement)

    def bernoulli(self, p=None, *, generator=None):
        """1 with probability self (or ``p``, a number, for every value), else 0, in self's
        dtype, drawn with microdl's generator on the host."""
        return _bernoulli(self, p)


# ---- functions: indexing, sorting and linear algebra (einsum, outer, ...) -----------------------
# PyTorch's torch.return_types: named tuples (values, indices)
_sort_result = namedtuple("sort", ["values", "indices"])
_topk_result = namedtuple("topk", ["values", "indices"])
_kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
_median_result = namedtuple("median", ["values", "indices"])
_mode_result = namedtuple("mode", ["values", "indices"])


def _sort_order(x, dim, descending):
    """(the int64 host positions that sort x along dim, stably, NaN as the largest value; dim
    normalized). Descending: the ascending stable sort of the reversed line, reversed, so ties
    still keep their order."""
    d = _dim_index(dim, x.ndim)
    host = _indexing.host_array(x.array)
    line = host.reshape(host.shape or (1,))
    if descending:
        reversed_order = np.argsort(np.flip(line, d), axis=d, kind="stable")
        order = line.shape[d] - 1 - np.flip(reversed_order, d)
    else:
        order = np.argsort(line, axis=d, kind="stable")
    return np.ascontiguousarray(order, np.int64).reshape(host.shape), d


def _first_along(order, d, k):
    return np.ascontiguousarray(order.take(range(k), axis=d)) if order.ndim else order


_SVD = namedtuple("svd", ["U", "S", "V"])
_Slogdet = namedtuple("slogdet", ["sign", "logabsdet"])


def _matrix(A, name):
    _linalg.check_float(A, name)
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    return A


def _square(A, name):
    _linalg.check_float(A, name)
    _linalg.check_square(A, name)
    return A


def unpacked(packed, shapes):
    """The parts of a decomposition op's packed output (ops/linalg.py _pack), as views."""
    parts, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        parts.append(packed[..., start:start + size].reshape(*packed.shape[:-1], *shape))
        start += size
    return parts


def _norm_by_svd(A, ord, dim, keepdim):
    """The matrix norms of the singular values over the two dims ``dim``: "nuc" their sum,
    2 the largest, -2 the smallest."""
    rows, cols = (d % A.ndim for d in dim)
    values = _linalg.SVDvals.apply(_matrix(A.movedim((rows, cols), (-2, -1)),
                                           "linalg.matrix_norm"))
    out = values.sum(-1) if ord == "nuc" else (values.amax(-1) if ord == 2 else values.amin(-1))
    if keepdim:
        out = out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols))
    return out


def _vector_norm(x, ord, dim, keepdim):
    """The VectorNorm op over ``dim`` (None: all values; an int or a tuple)."""
    axis = tuple(dim) if isinstance(dim, list) else dim
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a number as ord, got {ord!r}")
    return _linalg.VectorNorm.apply(x, ord=float(ord), axis=axis, keepdims=bool(keepdim))


def _check_distributions(rows, totals, whole):
    """PyTorch's multinomial checks, in its order: ``whole`` (without replacement, or one
    sample) checks all values first, then the sums; otherwise its kernel goes row by row, each
    value (< 0, then inf or NaN; NaN fails the first), then the row's sum."""
    if whole:
        if not np.isfinite(rows).all() or (rows < 0).any():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element "
                               "< 0")
        if (totals <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        return
    for row, total in zip(rows, totals[:, 0]):
        bad = np.flatnonzero(~(row >= 0) | ~np.isfinite(row))
        if bad.size:
            first = row[bad[0]]
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               + ("entry < 0)" if not first >= 0 else
                                  "entry = infinity or NaN)"))
        if not total > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def _multinomial(probs, num_samples, replacement):
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if probs.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_TORCH_TYPES.get(str(probs.dtype), probs.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > probs.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if probs.shape[-1] > 2 ** 24:  # PyTorch's limit: categories are drawn in float32
        raise RuntimeError("number of categories cannot exceed 2^24")
    p = _indexing.host_array(probs.array).astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    totals = rows.sum(axis=1, keepdims=True)
    _check_distributions(rows, totals, whole=not replacement or num_samples == 1)
    rng = _random.default_generator()
    if replacement:  # inverse transform: each uniform draw to its category
        edges = np.cumsum(rows / totals, axis=1)
        draws = rng.random((rows.shape[0], num_samples))
        picks = np.stack([np.minimum(np.searchsorted(e, u, side="right"), rows.shape[1] - 1)
                          for e, u in zip(edges, draws)])
    else:  # exponential race: the k earliest arrivals, a category of probability 0 never first
        with np.errstate(divide="ignore"):
            arrivals = rng.exponential(size=rows.shape) / rows
        picks = np.argsort(arrivals, axis=1, kind="stable")[:, :num_samples]
    picks = picks.astype(np.int64).reshape(p.shape[:-1] + (num_samples,))
    return Tensor._wrap(_indexing.to_device_of(probs.array, picks))


def _bernoulli(x, p):
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                  f"'{_TORCH_TYPES.get(str(x.dtype), x.dtype)}'")
    chance = _indexing.host_array(x.array) if p is None else np.full(x.shape, float(p))
    if not ((chance >= 0) & (chance <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    drawn = (_random.default_generator().random(x.shape) < chance).astype(x.dtype)
    return Tensor._wrap(_indexing.to_device_of(x.array, drawn))


def einsum(equation, *operands):
    """Einstein summation as numpy's einsum spells it ("ij,jk->ik", "...ij,...jk", implicit
    outputs, repeated labels for diagonals; "..." and size-1 dims broadcast); operands of one
    dtype. The gradient of each operand is the einsum of the output's gradient with the others.
    Contracted without path optimisation on cuda (pairwise, left to right)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [t if isinstance(t, Tensor) else tensor(t) for t in operands]
    explicit, shapes = _linalg.einsum_plan(equation, [t.shape for t in operands])
    operands = [t if t.shape == s else t.expand(*s) for t, s in zip(operands, shapes)]
    return _linalg.Einsum.apply(*operands, equation=explicit)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M):
    (..., P, R); the gradient is 0 where a distance is 0, as in PyTorch."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t.ndim}D")
        if t.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_TORCH_TYPES.get(str(t.dtype), t.dtype)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return _vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1, False)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 0-d or 1-d tensors: output i holds tensors[i]'s values along axis i
    ("ij") of the shape (len(t0), len(t1), ...); "xy" swaps the first two axes. indexing=None
    is "ij" with PyTorch's UserWarning."""
    import warnings
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("torch.meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received:'
                           f' {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise RuntimeError("torch.meshgrid: expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(tensors) >= 2
    ordered = (tensors[1], tensors[0], *tensors[2:]) if swap else tensors
    shape = tuple(t.numel() for t in ordered)
    grids = []
    for axis, t in enumerate(ordered):
        view = [1] * len(shape)
        view[axis] = shape[axis]
        grids.append(t.reshape(*view).expand(*shape))
    if swap:
        grids = [grids[1], grids[0], *grids[2:]]  # back to the inputs' order
    return tuple(grids)


def _as_tensor_arg(value):
    return value if isinstance(value, Tensor) else tensor(value)


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each of ``elements`` is among ``test_elements`` (either may be a number), as
    bools of elements' shape; invert: whether it is not."""
    elements, test_elements = _as_tensor_arg(elements), _as_tensor_arg(test_elements)
    found = (elements.unsqueeze(-1) == test_elements.reshape(-1)).any(-1)
    return found.logical_not() if invert else found


def _insertion_points(sorted_sequence, values, right, out_int32):
    """How many of the sequence's values lie before each value: count(sequence < value), or
    count(sequence <= value) with ``right``; the sequence's last axis is searched."""
    if sorted_sequence.ndim <= 1:
        before = sorted_sequence.reshape(-1) <= values.unsqueeze(-1) if right else \
            sorted_sequence.reshape(-1) < values.unsqueeze(-1)
    else:
        sequence = sorted_sequence.unsqueeze(-2)
        before = sequence <= values.unsqueeze(-1) if right else sequence < values.unsqueeze(-1)
    counts = before.sum(dim=-1)
    return counts.to(dtype=np.int32) if out_int32 else counts


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each input value among the 1-D ``boundaries``: i with
    boundaries[i-1] < x <= boundaries[i] (right: boundaries[i-1] <= x < boundaries[i])."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return _insertion_points(boundaries, _as_tensor_arg(input), right, out_int32)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where each value would go in ``sorted_sequence`` (along its last axis; a 1-D sequence
    for any values, else the same leading dimensions) to keep it sorted: the first such place,
    the last with right=True or side="right"; ``sorter`` sorts an unsorted sequence."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites,"
                               " got side of left while right was True")
        right = side == "right"
    if sorter is not None:
        sorted_sequence = sorted_sequence.gather(-1, sorter)
    values = _as_tensor_arg(input)
    if sorted_sequence.ndim > 1 and tuple(sorted_sequence.shape[:-1]) != tuple(
            values.shape[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(sorted_sequence.shape)} and input value tensor "
                           f"{list(values.shape)}")
    return _insertion_points(sorted_sequence, values, right, out_int32)
