"""Tensor methods: reductions (sum, mean, max/min, amax/amin, argmax/argmin, var, std, prod,
cumsum, all, any, logsumexp)."""

import numpy as np

from ..ops import elementwise, reduce
from ._common import _in_dtype

# NOTE: microdl.Tensor and microdl.tensor, set by tensor.py when it loads (tensor_methods.bind):
# these methods make tensors without importing tensor.py, which imports this module
Tensor = tensor = None


class ReductionMethods:
    """Tensor's reductions (a mixin of microdl.Tensor)."""

    # ---- reductions (numpy's axis/keepdims; PyTorch's dim/keepdim work too) --------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """The sum over ``dim`` (all when None); ``dtype``: the input is cast to it first."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return _in_dtype(reduce.Sum.apply(self._as_dtype(dtype), axis=axis, keepdims=keepdims),
                         dtype)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """The mean over ``dim`` (all when None); ``dtype`` (a float): the input is cast to it
        first."""
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Optional dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{elementwise.TORCH_NAMES[np.dtype(dtype)]}")
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return reduce.Mean.apply(self._as_dtype(dtype), axis=axis, keepdims=keepdims)

    def _as_dtype(self, dtype):
        """Itself, or cast to ``dtype`` on the tape (a reduction's ``dtype=`` argument: the input
        is cast, then summed; integers, which sum as int64, are cast back after: _in_dtype)."""
        if dtype is None or np.dtype(dtype) == self.array.dtype:
            return self
        return self.to(dtype=dtype)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """max(): the largest value (0-d; the gradient split among ties). max(dim): the named
        tuple (values, indices), the gradient going to the index. max(other): maximum(other).
        ``axis``/``keepdims`` are aliases of ``dim``/``keepdim``, as in PyTorch (the values
        over several dims at once: amax)."""
        return self._extreme(dim, keepdim, axis, keepdims, largest=True)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """min(), min(dim) -> (values, indices), min(other): as max."""
        return self._extreme(dim, keepdim, axis, keepdims, largest=False)

    def _extreme(self, dim, keepdim, axis, keepdims, largest):
        name = "max" if largest else "min"
        if isinstance(dim, Tensor):
            return getattr(self, name + "imum")(dim)
        dim, keepdim = _axis_args(dim, keepdim, axis, keepdims)
        if dim is None:
            return reduce.Extreme.apply(self, largest=largest, name=name)
        if isinstance(dim, tuple):
            raise TypeError(f"{name}(): argument 'dim' must be int, not tuple (over several "
                            f"dims: a{name})")
        values, indices = reduce.extreme_along(self, dim, bool(keepdim), largest)
        result = reduce.max_result if largest else reduce.min_result
        return result(values, Tensor._wrap(indices))

    def amax(self, dim=(), keepdim=False):
        """The largest values over ``dim`` (an int or a tuple; all when empty); the gradient is
        split evenly among ties."""
        axis = None if dim in ((), []) else (tuple(dim) if isinstance(dim, list) else dim)
        return reduce.Extreme.apply(self, axis=axis, keepdims=keepdim, largest=True, name="amax")

    def amin(self, dim=(), keepdim=False):
        """The smallest values over ``dim`` (an int or a tuple; all when empty); the gradient is
        split evenly among ties."""
        axis = None if dim in ((), []) else (tuple(dim) if isinstance(dim, list) else dim)
        return reduce.Extreme.apply(self, axis=axis, keepdims=keepdim, largest=False,
                                    name="amin")

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The int64 index of the first largest value: of all values flattened (dim None, a 0-d
        flat index) or along ``dim`` (``keepdim`` keeps it as size 1); no gradient.
        ``axis``/``keepdims`` are aliases."""
        dim, keepdim = _axis_args(dim, keepdim, axis, keepdims)
        return Tensor._wrap(reduce.arg_extreme(self.array, dim, keepdim, largest=True))

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """The int64 index of the first smallest value: of all values flattened (dim None, a 0-d
        flat index) or along ``dim`` (``keepdim`` keeps it as size 1); no gradient.
        ``axis``/``keepdims`` are aliases."""
        dim, keepdim = _axis_args(dim, keepdim, axis, keepdims)
        return Tensor._wrap(reduce.arg_extreme(self.array, dim, keepdim, largest=False))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sum((x - mean)^2) / max(0, n - correction) over ``dim`` (int, tuple or all);
        correction 1 (unbiased, the default) or 0 (unbiased=False); float64 accumulation."""
        return self._variance(dim, unbiased, keepdim, correction, root=False)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sqrt(var) (see var)."""
        return self._variance(dim, unbiased, keepdim, correction, root=True)

    def _variance(self, dim, unbiased, keepdim, correction, root):
        if isinstance(dim, bool):  # var(unbiased): PyTorch's other overload
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        dim = tuple(dim) if isinstance(dim, list) else dim
        return reduce.Var.apply(self, axis=dim, keepdims=bool(keepdim), correction=correction,
                                root=root)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """The product over ``dim`` (or all values); int64 for integer and bool tensors;
        ``dtype``: the input is cast to it first and the result has it."""
        if isinstance(dim, (tuple, list)):  # PyTorch's prod takes one int dim only
            raise TypeError(f"prod() received an invalid combination of arguments - got "
                            f"(dim={type(dim).__name__}, ), but expected one of:\n"
                            f" * (*, torch.dtype dtype = None)\n"
                            f" * (int dim, bool keepdim = False, *, torch.dtype dtype = None)\n")
        return _in_dtype(reduce.Prod.apply(self._as_dtype(dtype), axis=dim,
                                           keepdims=bool(keepdim)), dtype)

    def cumsum(self, dim, *, dtype=None):
        """y_i = x_0 + ... + x_i along ``dim``; int64 for integer and bool tensors; ``dtype``:
        the input is cast to it first."""
        return _in_dtype(reduce.Cumsum.apply(self._as_dtype(dtype), axis=dim), dtype)

    def all(self, dim=None, keepdim=False):
        """Whether every value is nonzero (over ``dim``): bool (uint8 for uint8 tensors)."""
        dim = tuple(dim) if isinstance(dim, list) else dim
        return Tensor._wrap(reduce.all_any(self.array, dim, bool(keepdim), any_=False))

    def any(self, dim=None, keepdim=False):
        """Whether some value is nonzero (over ``dim``): bool (uint8 for uint8 tensors)."""
        dim = tuple(dim) if isinstance(dim, list) else dim
        return Tensor._wrap(reduce.all_any(self.array, dim, bool(keepdim), any_=True))

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) over ``dim``, shifted by the (detached) max for stability:
        m + log(sum(exp(x - m))), m = 0 where the max is infinite (as PyTorch: an all -inf
        slice gives -inf, a +inf entry +inf). The gradient is softmax(x) over ``dim`` (NaN on
        those infinite slices, as PyTorch's exp(x - y))."""
        x = self if self.dtype.kind == "f" else self.float()
        dim = tuple(dim) if isinstance(dim, list) else dim
        if dim == () and not keepdim and x.ndim:
            # PyTorch 2.13 reduces all for dim=() but then fails to add back its kept max
            raise RuntimeError(f"output with shape [] doesn't match the broadcast shape "
                               f"[{', '.join(['1'] * x.ndim)}]")
        shift = x.amax(dim, keepdim=True).detach()
        shift = shift.masked_fill(shift.isinf(), 0)
        out = (x - shift).exp().sum(dim, keepdim=True).log() + shift
        if keepdim:
            return out
        return out.reshape(()) if dim == () else out.squeeze(dim)


def _axis_args(axis, keepdims, dim, keepdim):
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims)
