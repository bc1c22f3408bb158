"""What the ops share to make arrays on the device of their inputs: outputs of broadcasting
arithmetic, casts, copies and reductions, each an allocation (``Device.empty``) and one kernel
call. Nothing here knows a device: ``backend.for_arrays`` picks it from the arrays."""

import math

import numpy as np

from .. import backend

_ABSENT = {}


def out_shape(a, b):
    """The shape of a op b under numpy broadcasting (fast when the shapes agree)."""
    sa, sb = tuple(np.shape(a)), tuple(np.shape(b))
    if sa == sb or not sb:
        return sa
    if not sa:
        return sb
    return broadcast_shapes(sa, sb)


def broadcast_shapes(*shapes):
    """The broadcast of ``shapes``, folded left to right as PyTorch does, with its error: the
    shape so far is "tensor a", the next one "tensor b", and the dimension is counted in the
    result from the left (the first mismatch found scanning from the right)."""
    result = ()
    for shape in shapes:
        shape = tuple(shape)
        ndim = max(len(result), len(shape))
        a = (1,) * (ndim - len(result)) + result
        b = (1,) * (ndim - len(shape)) + shape
        for d in range(ndim - 1, -1, -1):
            if a[d] != b[d] and a[d] != 1 and b[d] != 1:
                raise RuntimeError(f"The size of tensor a ({a[d]}) must match the size of "
                                   f"tensor b ({b[d]}) at non-singleton dimension {d}")
        result = tuple(n if m == 1 else m for m, n in zip(a, b))
    return result


def _operand(x, dev):
    """A host 0-d array next to device arrays goes to the kernel as a number (as PyTorch takes a
    CPU scalar tensor with CUDA tensors)."""
    if dev is not backend.CPU and isinstance(x, np.ndarray):
        return x.item()
    return x


def binary(a, b, op, dtype):
    """a op b broadcast (an op of the elementwise ``binary`` kernel: "add", "mul", "eq",
    ...), as a new array of ``dtype``."""
    dev = backend.for_arrays(a, b)
    out = dev.empty(out_shape(a, b), dtype)
    dev.kernels("elementwise").binary(_operand(a, dev), _operand(b, dev), out, op)
    return out


def select(condition, x, y, dtype):
    """x where ``condition`` else y, broadcast together, as a new array of ``dtype``. Host 0-d
    arrays next to device arrays are sent there (the where kernel takes arrays only)."""
    dev = backend.for_arrays(condition, x, y)
    shape = broadcast_shapes(*(np.shape(v) for v in (condition, x, y)))
    if dev is not backend.CPU:
        condition, x, y = (dev.to_here(v) if isinstance(v, np.ndarray) else v
                           for v in (condition, x, y))
    out = dev.empty(shape, dtype)
    dev.kernels("elementwise").where(condition, x, y, out)
    return out


def unary(x, op, dtype=None, scalar=0.0):
    """f(x) for the elementwise kernel's unary ops, as a new array (of x's dtype by default)."""
    dev = backend.for_arrays(x)
    out = dev.empty(x.shape, x.dtype if dtype is None else dtype)
    dev.kernels("elementwise").unary(x, out, op, scalar)
    return out


def copy(x, dtype=None):
    """A C-contiguous copy of x (in ``dtype`` if given)."""
    dev = backend.for_arrays(x)
    out = dev.empty(x.shape, x.dtype if dtype is None else dtype)
    dev.kernels("elementwise").copy(x, out)
    return out


def contiguous(x):
    """x itself when C-contiguous, else a C-contiguous copy (kernels read arrays flat)."""
    return x if x.flags["C_CONTIGUOUS"] else copy(x)


def broadcast_to(x, shape):
    """x broadcast to ``shape``, written out as a new array."""
    dev = backend.for_arrays(x)
    out = dev.empty(shape, x.dtype)
    dev.kernels("elementwise").broadcast_to(x, out)
    return out


def permuted(x, axes):
    """x.transpose(axes) written out C-contiguous."""
    dev = backend.for_arrays(x)
    out = dev.empty(tuple(x.shape[a] for a in axes), x.dtype)
    dev.kernels("elementwise").permute(x, out, tuple(int(a) for a in axes))
    return out


def reduced_shape(shape, axes, keepdims):
    if keepdims:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes)


def reduce_sum(x, axes, keepdims, scale=1.0, dtype=None):
    """scale * sum of x over ``axes`` (normalized, sorted), shaped as numpy's keepdims says, in
    ``dtype`` (default: x's)."""
    dev = backend.for_arrays(x)
    out = dev.empty(reduced_shape(x.shape, axes, keepdims), x.dtype if dtype is None else dtype)
    dev.kernels("reduce").sum_axes(x, out, axes, scale)
    return out


def rows(a):
    """a (..., n) as a 2-D (rows, n) C-contiguous array."""
    a = contiguous(a)
    if a.ndim == 2:
        return a
    last = tuple(a.shape)[-1]  # a tuple: the simulator's shapes refuse negative indices
    return a.reshape(a.size // last if last else 0, last)


def resolve_shape(shape, size):
    """A reshape target with its -1 filled in (device arrays take explicit sizes only)."""
    shape = tuple(int(n) for n in shape)
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        shape = tuple(size // known if n == -1 and known else n for n in shape)
    return shape


def absent(dev, dtype):
    """A size-0 array on ``dev`` standing for an absent weight, bias or statistic (kernels take
    arrays, never None)."""
    key = (dev.name, dtype)
    array = _ABSENT.get(key)
    if array is None:
        array = _ABSENT[key] = dev.empty(0, dtype)
    return array
