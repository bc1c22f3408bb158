"""What the CUDA twins share: allocation, broadcasting arithmetic and reductions on device
arrays, through the CUDA kernel set (no numba import here)."""

import warnings

import numpy as np

from ... import backend
from ...autograd import Context
from .. import elementwise


def k(family):
    return backend.cuda_kernels(family)


def empty(shape, dtype):
    return k("memory").empty(shape, dtype)


def empty_like(array):
    return k("memory").empty(array.shape, array.dtype)


def broadcast_shape(a, b):
    return np.broadcast_shapes(getattr(a, "shape", ()), getattr(b, "shape", ()))


_CPU_DTYPES = {}


def cpu_dtype(function, *arrays, **hyper):
    """The dtype of what the CPU op ``function`` returns for inputs of these dtypes and ranks:
    its forward run on 1-element host stand-ins (once per combination, then cached), so a twin
    follows its CPU op's promotion (int / int -> float64, exp(int) -> float64, mean(int) ->
    float64, PyTorch's float-over-int rule) without restating it."""
    # (a hyper-parameter's type is part of the key: 2 == 2.0, but x ** 2 and x ** 2.0 may differ)
    key = (function, tuple((x.dtype, x.ndim) for x in arrays),
           tuple((name, type(v), v) for name, v in sorted(hyper.items())))
    dtype = _CPU_DTYPES.get(key)
    if dtype is None:
        stand_ins = [np.ones((1,) * x.ndim, x.dtype) for x in arrays]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = function.forward(Context(), *stand_ins, **hyper)
        dtype = _CPU_DTYPES[key] = np.asarray(out).dtype
    return dtype


_BINARY_OPS = {"add": elementwise.Add, "sub": elementwise.Sub, "mul": elementwise.Mul,
               "div": elementwise.Div}


def binary(a, b, op):
    """a op b with numpy broadcasting, in the dtypes the CPU op would use; a or b may be a host
    0-d array (how Tensor passes a Python number) or a Python number (taking the other's dtype).

    Operands are first cast as elementwise.promote casts them (a device operand by a copy, only
    when its dtype differs; a host one on the host), so e.g. float32 + 0-d float64 rounds as on
    the CPU; the output takes the dtype of the CPU op's result ("eq": the operands')."""
    if not hasattr(a, "dtype"):
        a = np.asarray(a, b.dtype)
    elif not hasattr(b, "dtype"):
        b = np.asarray(b, a.dtype)
    if a.dtype == b.dtype:
        operand_dtypes = (a.dtype, a.dtype)
    else:
        promoted = elementwise.promote(np.ones((1,) * min(a.ndim, 1), a.dtype),
                                       np.ones((1,) * min(b.ndim, 1), b.dtype))
        operand_dtypes = tuple(x.dtype for x in promoted)
    function = _BINARY_OPS.get(op)
    out_dtype = operand_dtypes[0] if function is None else cpu_dtype(function, a, b)
    a, b = (_as_operand(x, dtype) for x, dtype in zip((a, b), operand_dtypes))
    out = empty(broadcast_shape(a, b), out_dtype)
    k("elementwise").binary(a, b, out, op)
    return out


def _as_operand(x, dtype):
    """x cast to dtype for the binary kernel: a host 0-d array or numpy scalar (what a CPU op
    on 0-d arrays returns) becomes a Python number (the kernel's scalar argument), a device
    array of another dtype a device copy."""
    if isinstance(x, (np.ndarray, np.generic)):
        return x.astype(dtype, copy=False).item()
    return x if x.dtype == dtype else copy(x, dtype)


_UNARY_OPS = {"exp": elementwise.Exp, "log": elementwise.Log}


def unary(x, op, value=0.0):
    """f(x) for the unary kernel's ops; "exp" and "log" in their CPU op's output dtype (float
    for an integer x), the others in x's dtype."""
    function = _UNARY_OPS.get(op)
    out = empty(x.shape, x.dtype if function is None else cpu_dtype(function, x))
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


def reduce_sum(x, axes, keepdims, scale=1.0, dtype=None):
    """scale * sum of x over axes (normalized, sorted), shaped as numpy's keepdims says, in
    dtype (default: x's)."""
    out = empty(reduced_shape(x.shape, axes, keepdims), x.dtype if dtype is None else dtype)
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
