"""Elementwise arithmetic on device arrays: what numpy's operators do for the CPU ops.

``binary`` and ``where`` broadcast as numpy does: shapes are padded on the left to ``MAX_DIMS``
axes and an operand's stride is 0 along an axis it stretches, so one grid-stride kernel covers
every case. Operands are C-contiguous device arrays or Python numbers (``binary``).
"""

import math

import numpy as np
from numba import cuda

from ..numpy_ref.elementwise import _erfinv_scalar as _erfinv_math  # one definition
from ._launch import flat, grid, specialized

MAX_DIMS = 6


# ---- the ops, one device function each ----------------------------------------------------------
# NOTE: each op gets kernels of its own (built on first use, ``_binary_kernels``), not one kernel
# switching on an op code: numba types every branch of such a switch for every dtype, so one
# float op there turned integer results into float64 (exact only below 2**53) and a bitwise op
# there would not compile for floats at all.

@cuda.jit(device=True)
def _add(a, b):
    return a + b


@cuda.jit(device=True)
def _sub(a, b):
    return a - b


@cuda.jit(device=True)
def _mul(a, b):
    return a * b


@cuda.jit(device=True)
def _div(a, b):
    return a / b


@cuda.jit(device=True)
def _floor_div(a, b):
    return a // b  # Python's floor division, for ints and floats


@cuda.jit(device=True)
def _trunc_div(a, b):
    quotient = a // b
    if quotient < 0 and quotient * b != a:
        quotient += 1  # floor and truncation differ for an inexact negative quotient
    return quotient


@cuda.jit(device=True)
def _remainder(a, b):
    return a % b  # Python's rule: the sign of b


@cuda.jit(device=True)
def _float_power(a, b):
    return a ** b


@cuda.jit(device=True)
def _int_power(a, b):
    """a ** b for integers by squaring; a negative power truncates 1 / a**|b| toward 0."""
    if b < 0:
        if a == 1:
            return a
        if a == -1:
            return a if b % 2 != 0 else -a
        return a - a
    result = a - a + 1
    base = a
    while b > 0:
        if b % 2 == 1:
            result *= base
        base *= base
        b //= 2
    return result


@cuda.jit(device=True)
def _maximum(a, b):
    return a if (a > b or a != a) else b  # NaN wins, as numpy and torch


@cuda.jit(device=True)
def _minimum(a, b):
    return a if (a < b or a != a) else b


@cuda.jit(device=True)
def _eq(a, b):
    return a == b


@cuda.jit(device=True)
def _ne(a, b):
    return a != b


@cuda.jit(device=True)
def _lt(a, b):
    return a < b


@cuda.jit(device=True)
def _le(a, b):
    return a <= b


@cuda.jit(device=True)
def _gt(a, b):
    return a > b


@cuda.jit(device=True)
def _ge(a, b):
    return a >= b


@cuda.jit(device=True)
def _and(a, b):
    return a & b


@cuda.jit(device=True)
def _or(a, b):
    return a | b


@cuda.jit(device=True)
def _xor(a, b):
    return a ^ b


@cuda.jit(device=True)
def _atan2(a, b):
    return math.atan2(a, b)


@cuda.jit(device=True)
def _hypot(a, b):
    return math.hypot(a, b)


BINARY = {"atan2": _atan2, "hypot": _hypot,
          "add": _add, "sub": _sub, "mul": _mul, "div": _div, "floor_div": _floor_div,
          "trunc_div": _trunc_div, "remainder": _remainder, "pow": _float_power,
          "int_pow": _int_power, "maximum": _maximum, "minimum": _minimum,
          "eq": _eq, "ne": _ne, "lt": _lt, "le": _le, "gt": _gt, "ge": _ge,
          "and": _and, "or": _or, "xor": _xor}


@cuda.jit(device=True)
def _neg(x, s):
    return -x


@cuda.jit(device=True)
def _abs(x, s):
    return abs(x)


@cuda.jit(device=True)
def _sign(x, s):
    return 1 if x > 0 else (-1 if x < 0 else 0)  # 0 for NaN, as torch


@cuda.jit(device=True)
def _pow(x, s):
    return x ** s


@cuda.jit(device=True)
def _scale(x, s):
    return x * s


@cuda.jit(device=True)
def _bitwise_not(x, s):
    return -x - 1


@cuda.jit(device=True)
def _exp(x, s):
    return math.exp(x)


@cuda.jit(device=True)
def _log(x, s):
    return math.log(x)


@cuda.jit(device=True)
def _sqrt(x, s):
    return math.sqrt(x)


@cuda.jit(device=True)
def _rsqrt(x, s):
    return 1 / math.sqrt(x)


@cuda.jit(device=True)
def _reciprocal(x, s):
    return 1 / x


@cuda.jit(device=True)
def _sin(x, s):
    return math.sin(x)


@cuda.jit(device=True)
def _cos(x, s):
    return math.cos(x)


@cuda.jit(device=True)
def _tan(x, s):
    return math.tan(x)


@cuda.jit(device=True)
def _log2(x, s):
    return math.log2(x)


@cuda.jit(device=True)
def _log10(x, s):
    return math.log10(x)


@cuda.jit(device=True)
def _log1p(x, s):
    return math.log1p(x)


@cuda.jit(device=True)
def _expm1(x, s):
    return math.expm1(x)


# NOTE: the rounding functions pass inf and NaN through and give a zero x's sign, written out:
# math.floor is a float function on the device but Python's int function in the simulator.

@cuda.jit(device=True)
def _signed_zero(r, x):
    return math.copysign(0.0, x) if r == 0 else r


@cuda.jit(device=True)
def _floor(x, s):
    return x if math.isinf(x) or math.isnan(x) else _signed_zero(math.floor(x), x)


@cuda.jit(device=True)
def _ceil(x, s):
    return x if math.isinf(x) or math.isnan(x) else _signed_zero(math.ceil(x), x)


@cuda.jit(device=True)
def _trunc(x, s):
    if math.isinf(x) or math.isnan(x):
        return x
    # floor/ceil, not math.trunc: the simulator's numpy scalars have no __trunc__
    return _signed_zero(math.floor(x) if x >= 0 else math.ceil(x), x)


@cuda.jit(device=True)
def _round(x, s):
    """Halves to even, as torch.round (and numpy's rint)."""
    if math.isinf(x) or math.isnan(x):
        return x
    r = math.floor(x)
    rest = x - r
    if rest > 0.5 or (rest == 0.5 and r - 2 * math.floor(r / 2) != 0):
        r += 1
    return _signed_zero(r, x)


@cuda.jit(device=True)
def _isnan(x, s):
    return math.isnan(x)


@cuda.jit(device=True)
def _isinf(x, s):
    return math.isinf(x)


@cuda.jit(device=True)
def _isfinite(x, s):
    return not (math.isinf(x) or math.isnan(x))


@cuda.jit(device=True)
def _atan(x, s):
    return math.atan(x)


@cuda.jit(device=True)
def _asin(x, s):
    return math.asin(x)


@cuda.jit(device=True)
def _acos(x, s):
    return math.acos(x)


@cuda.jit(device=True)
def _sinh(x, s):
    return math.sinh(x)


@cuda.jit(device=True)
def _cosh(x, s):
    return math.cosh(x)


@cuda.jit(device=True)
def _asinh(x, s):
    return math.asinh(x)


@cuda.jit(device=True)
def _acosh(x, s):
    return math.acosh(x)


@cuda.jit(device=True)
def _atanh(x, s):
    return math.atanh(x)


@cuda.jit(device=True)
def _exp2(x, s):
    return 2.0 ** x


@cuda.jit(device=True)
def _erf(x, s):
    return math.erf(x)


@cuda.jit(device=True)
def _erfc(x, s):
    return math.erfc(x)


_erfinv_scalar = cuda.jit(device=True)(_erfinv_math)


@cuda.jit(device=True)
def _erfinv(x, s):
    return _erfinv_scalar(float(x))


UNARY = {"erfinv": _erfinv, "atan": _atan, "asin": _asin, "acos": _acos, "sinh": _sinh,
         "cosh": _cosh, "asinh": _asinh, "acosh": _acosh, "atanh": _atanh, "exp2": _exp2,
         "erf": _erf,
         "erfc": _erfc, "neg": _neg, "abs": _abs, "sign": _sign, "pow": _pow, "scale": _scale,
         "bitwise_not": _bitwise_not, "exp": _exp, "log": _log, "sqrt": _sqrt, "rsqrt": _rsqrt,
         "reciprocal": _reciprocal, "sin": _sin, "cos": _cos, "tan": _tan, "log2": _log2,
         "log10": _log10, "log1p": _log1p, "expm1": _expm1, "floor": _floor, "ceil": _ceil,
         "trunc": _trunc, "round": _round, "isnan": _isnan, "isinf": _isinf,
         "isfinite": _isfinite}


def _unary_kernel(op):
    f = UNARY[op]

    @cuda.jit
    def kernel(x, out, s):
        i = cuda.grid(1)
        while i < out.size:
            out[i] = f(x[i], s)
            i += cuda.gridsize(1)
    return kernel


def _binary_kernels(op):
    """The three layouts of ``a op b``: same shapes, an array and a number, and broadcast
    (shapes padded to MAX_DIMS, stride 0 along a stretched axis)."""
    f = BINARY[op]

    @cuda.jit
    def same(a, b, out):
        i = cuda.grid(1)
        while i < out.size:
            out[i] = f(a[i], b[i])
            i += cuda.gridsize(1)

    @cuda.jit
    def with_scalar(x, s, out, scalar_first):
        i = cuda.grid(1)
        while i < out.size:
            if scalar_first:
                out[i] = f(s, x[i])
            else:
                out[i] = f(x[i], s)
            i += cuda.gridsize(1)

    @cuda.jit
    def broadcast(a, b, out, shape, a_strides, b_strides):
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
            out[i] = f(a[ia], b[ib])
            i += cuda.gridsize(1)
    return same, with_scalar, broadcast


@cuda.jit
def _where_kernel(condition, x, y, out, shape, c_strides, x_strides, y_strides):
    i = cuda.grid(1)
    while i < out.size:
        rem = i
        ic = 0
        ix = 0
        iy = 0
        for d in range(MAX_DIMS - 1, -1, -1):
            coord = rem % shape[d]
            rem //= shape[d]
            ic += coord * c_strides[d]
            ix += coord * x_strides[d]
            iy += coord * y_strides[d]
        out[i] = x[ix] if condition[ic] else y[iy]
        i += cuda.gridsize(1)


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
    """out = f(x) for the ops of the numpy reference's ``unary`` (same names, same results)."""
    kernel = specialized(_unary_kernel, op)
    kernel[grid(out.size)](flat(x), flat(out), scalar)


def binary(a, b, out, op):
    """out = a op b with numpy broadcasting, for the ops of the numpy reference's ``binary``; a
    or b may be a Python number."""
    if op == "pow" and out.dtype.kind != "f":
        op = "int_pow"
    same, with_scalar, broadcast = specialized(_binary_kernels, op)
    blocks = grid(out.size)
    if not hasattr(b, "shape") or not hasattr(a, "shape"):
        scalar_first = not hasattr(a, "shape")
        array, scalar = (b, a) if scalar_first else (a, b)
        with_scalar[blocks](flat(array), scalar, flat(out), scalar_first)
    elif tuple(a.shape) == tuple(b.shape) == tuple(out.shape):
        same[blocks](flat(a), flat(b), flat(out))
    else:
        shape = tuple(out.shape)
        broadcast[blocks](flat(a), flat(b), flat(out), _padded(shape, 1),
                          _padded(_broadcast_strides(tuple(a.shape), shape), 0),
                          _padded(_broadcast_strides(tuple(b.shape), shape), 0))


def where(condition, x, y, out):
    """out = x where condition else y, all three device arrays broadcast to out's shape."""
    shape = tuple(out.shape)
    strides = [_padded(_broadcast_strides(tuple(v.shape), shape), 0) for v in (condition, x, y)]
    _where_kernel[grid(out.size)](flat(condition), flat(x), flat(y), flat(out),
                                  _padded(shape, 1), *strides)


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
