"""Elementwise arithmetic on device arrays: what numpy's operators do for the CPU ops.

``binary`` broadcasts as numpy does: shapes are padded on the left to ``MAX_DIMS`` axes and an
operand's stride is 0 along an axis it stretches, so one grid-stride kernel covers every case.
Operands are C-contiguous device arrays or Python numbers.
"""

import math

import numpy as np
from numba import cuda

from ._launch import flat, grid

MAX_DIMS = 6
BINARY = {"add": 0, "sub": 1, "mul": 2, "div": 3, "eq": 4}
UNARY = {"neg": 0, "exp": 1, "log": 2, "abs": 3, "sign": 4, "pow": 5, "scale": 6}


@cuda.jit(device=True)
def _binary_op(op, a, b):
    if op == 0:
        return a + b
    if op == 1:
        return a - b
    if op == 2:
        return a * b
    if op == 3:
        return a / b
    return 1.0 if a == b else 0.0


@cuda.jit(device=True)
def _unary_op(op, x, s):
    if op == 0:
        return -x
    if op == 1:
        return math.exp(x)
    if op == 2:
        return math.log(x)
    if op == 3:
        return abs(x)
    if op == 4:
        # sign(NaN) is NaN, as in numpy
        return 1.0 if x > 0 else (-1.0 if x < 0 else (0.0 if x == 0 else x))
    if op == 5:
        return x ** s
    return x * s


@cuda.jit
def _fill_kernel(out, value):
    i = cuda.grid(1)
    while i < out.size:
        out[i] = value
        i += cuda.gridsize(1)


@cuda.jit
def _copy_kernel(x, out):
    i = cuda.grid(1)
    while i < out.size:
        out[i] = x[i]
        i += cuda.gridsize(1)


@cuda.jit
def _unary_kernel(x, out, op, s):
    i = cuda.grid(1)
    while i < out.size:
        out[i] = _unary_op(op, x[i], s)
        i += cuda.gridsize(1)


@cuda.jit
def _binary_same_kernel(a, b, out, op):
    i = cuda.grid(1)
    while i < out.size:
        out[i] = _binary_op(op, a[i], b[i])
        i += cuda.gridsize(1)


@cuda.jit
def _binary_scalar_kernel(x, s, out, op, scalar_first):
    i = cuda.grid(1)
    while i < out.size:
        if scalar_first:
            out[i] = _binary_op(op, s, x[i])
        else:
            out[i] = _binary_op(op, x[i], s)
        i += cuda.gridsize(1)


@cuda.jit
def _binary_broadcast_kernel(a, b, out, shape, a_strides, b_strides, op):
    i = cuda.grid(1)
    while i < out.size:
        rem = i
        ia = 0
        ib = 0
        for d in range(MAX_DIMS - 1, -1, -1):
            coord = rem % shape[d]
            rem //= shape[d]
            ia += coord * a_strides[d]
            ib += coord * b_strides[d]
        out[i] = _binary_op(op, a[ia], b[ib])
        i += cuda.gridsize(1)


@cuda.jit
def _permute_kernel(x, out, out_shape, x_strides):
    i = cuda.grid(1)
    while i < out.size:
        rem = i
        ix = 0
        for d in range(MAX_DIMS - 1, -1, -1):
            coord = rem % out_shape[d]
            rem //= out_shape[d]
            ix += coord * x_strides[d]
        out[i] = x[ix]
        i += cuda.gridsize(1)


@cuda.jit
def _take_kernel(x, index, out):
    i = cuda.grid(1)
    while i < out.size:
        out[i] = x[index[i]]
        i += cuda.gridsize(1)


@cuda.jit
def _put_add_kernel(values, index, out):
    i = cuda.grid(1)
    while i < values.size:
        # atomic: fancy indices may repeat (then the order of the additions is not fixed)
        cuda.atomic.add(out, index[i], values[i])
        i += cuda.gridsize(1)


def _padded(values, fill):
    if len(values) > MAX_DIMS:
        raise ValueError(f"CUDA elementwise kernels take at most {MAX_DIMS} dimensions "
                         f"(got {len(values)})")
    return (fill,) * (MAX_DIMS - len(values)) + tuple(int(v) for v in values)


def _element_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _broadcast_strides(shape, out_shape):
    """Element strides of a C-contiguous array of ``shape`` read as ``out_shape`` (numpy
    broadcasting): 0 along every axis it is stretched or lacks."""
    own = _element_strides(shape)
    lead = len(out_shape) - len(shape)
    return tuple(0 if d < lead or shape[d - lead] != out_shape[d] else own[d - lead]
                 for d in range(len(out_shape)))


def fill(out, value):
    """out[...] = value."""
    _fill_kernel[grid(out.size)](flat(out), value)


def copy(x, out):
    """out = x, converted to out's dtype (a copy or a cast)."""
    _copy_kernel[grid(out.size)](flat(x), flat(out))


def unary(x, out, op, scalar=0.0):
    """out = f(x) for op in "neg" (-x), "exp", "log", "abs", "sign", "pow" (x ** scalar),
    "scale" (x * scalar)."""
    _unary_kernel[grid(out.size)](flat(x), flat(out), UNARY[op], scalar)


def binary(a, b, out, op):
    """out = a op b with numpy broadcasting, for op in "add", "sub", "mul", "div" and "eq"
    (1 where a == b, else 0); a or b may be a Python number."""
    code = BINARY[op]
    blocks = grid(out.size)
    if not hasattr(b, "shape") or not hasattr(a, "shape"):
        scalar_first = not hasattr(a, "shape")
        array, scalar = (b, a) if scalar_first else (a, b)
        _binary_scalar_kernel[blocks](flat(array), scalar, flat(out), code, scalar_first)
    elif tuple(a.shape) == tuple(b.shape) == tuple(out.shape):
        _binary_same_kernel[blocks](flat(a), flat(b), flat(out), code)
    else:
        shape = tuple(out.shape)
        _binary_broadcast_kernel[blocks](
            flat(a), flat(b), flat(out), _padded(shape, 1),
            _padded(_broadcast_strides(tuple(a.shape), shape), 0),
            _padded(_broadcast_strides(tuple(b.shape), shape), 0), code)


def broadcast_to(x, out):
    """out = x broadcast to out's shape (numpy's rules), written C-contiguous."""
    _permute_kernel[grid(out.size)](flat(x), flat(out), _padded(tuple(out.shape), 1),
                                    _padded(_broadcast_strides(tuple(x.shape),
                                                              tuple(out.shape)), 0))


def _positions(shape, index):
    """The flat positions x[index] reads, resolved on the host with numpy's indexing rules and
    sent to the device (int64)."""
    positions = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[index]
    return cuda.to_device(np.ascontiguousarray(positions))


def take(x, index, out):
    """out = x[index] for a numpy index (ints, slices, None, Ellipsis, integer or boolean
    arrays: numpy's rules)."""
    positions = _positions(tuple(x.shape), index)
    _take_kernel[grid(out.size)](flat(x), flat(positions), flat(out))


def put_add(values, index, out):
    """out[index] += values, where repeated positions of the index add up (atomic adds)."""
    positions = _positions(tuple(out.shape), index)
    _put_add_kernel[grid(values.size)](flat(values), flat(positions), flat(out))


def permute(x, out, axes):
    """out = x.transpose(axes), written C-contiguous."""
    strides = _element_strides(tuple(x.shape))
    _permute_kernel[grid(out.size)](flat(x), flat(out), _padded(tuple(out.shape), 1),
                                    _padded(tuple(strides[a] for a in axes), 0))
