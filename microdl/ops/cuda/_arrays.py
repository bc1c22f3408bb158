"""What the CUDA twins share: allocation, broadcasting arithmetic and reductions on device
arrays, through the CUDA kernel set (no numba import here)."""

import numpy as np

from ... import backend
from .. import elementwise


def k(family):
    return backend.cuda_kernels(family)


def empty(shape, dtype):
    return k("memory").empty(shape, dtype)


def empty_like(array):
    return k("memory").empty(array.shape, array.dtype)


def scalar(value):
    """A host 0-d array (how Tensor passes Python numbers) as a Python number; arrays pass."""
    return value.item() if isinstance(value, np.ndarray) else value


def broadcast_shape(a, b):
    return np.broadcast_shapes(getattr(a, "shape", ()), getattr(b, "shape", ()))


def result_dtype(a, b):
    """The CPU ops' promotion rule (elementwise.promote), decided on host stand-ins of the same
    dtypes and rank kind (0-d or not); a Python number takes the array's dtype."""
    arrays = [x for x in (a, b) if hasattr(x, "dtype")]
    if len(arrays) == 1:
        return arrays[0].dtype
    stand_ins = [np.zeros((1,) * min(x.ndim, 1), x.dtype) for x in arrays]
    promoted = elementwise.promote(*stand_ins)
    return np.result_type(*(x.dtype for x in promoted))


def binary(a, b, op):
    """a op b with numpy broadcasting; a or b may be a host 0-d array or a Python number."""
    a, b = scalar(a), scalar(b)
    out = empty(broadcast_shape(a, b), result_dtype(a, b))
    k("elementwise").binary(a, b, out, op)
    return out


def unary(x, op, value=0.0):
    out = empty_like(x)
    k("elementwise").unary(x, out, op, value)
    return out


def copy(x, dtype=None):
    out = empty(x.shape, x.dtype if dtype is None else dtype)
    k("elementwise").copy(x, out)
    return out


def broadcast_to(x, shape):
    out = empty(shape, x.dtype)
    k("elementwise").broadcast_to(x, out)
    return out


def sum_to(g, shape):
    """Undo numpy broadcasting: g summed over the axes that broadcasting added or stretched."""
    shape = tuple(shape)
    if tuple(g.shape) == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and g.shape[lead + i] != 1)
    out = empty(shape, g.dtype)
    k("reduce").sum_axes(g, out, axes)
    return out


def reduce_sum(x, axes, keepdims, scale=1.0):
    """scale * sum of x over axes (normalized, sorted), shaped as numpy's keepdims says."""
    out = empty(reduced_shape(x.shape, axes, keepdims), x.dtype)
    k("reduce").sum_axes(x, out, axes, scale)
    return out


def reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes)


def rows(a):
    """a (..., n) as a 2-D (rows, n) view (a C-contiguous reshape)."""
    last = tuple(a.shape)[-1]  # a tuple: the simulator's shapes refuse negative indices
    return a.reshape(a.size // last if last else 0, last)


def resolve_shape(shape, size):
    """A reshape target with its -1 filled in (device arrays take explicit sizes only)."""
    shape = tuple(int(n) for n in shape)
    if -1 in shape:
        known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
        shape = tuple(size // known if n == -1 and known else n for n in shape)
    return shape
