"""Elementwise arithmetic, the specification: numpy's own operators writing into ``out``.

``a`` and ``b`` broadcast as numpy does; either may be a Python number. The caller chose
``out``'s shape and dtype (the op states the dtype rule); results are cast into it. The ops
promote both operands to one dtype first (PyTorch's rule), so a kernel sees one input dtype;
the arithmetic ops get no booleans (the ops send bool + bool to "or", bool * bool to "and").
"""

import math

import numpy as np

# name -> numpy ufunc ("pow" and "trunc_div" are written out in binary)
_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
           "floor_div": np.floor_divide, "remainder": np.remainder,
           "maximum": np.maximum, "minimum": np.minimum,
           "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal,
           "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
           "atan2": np.arctan2, "hypot": np.hypot}

_MAY_WARN = {"div", "floor_div", "trunc_div", "remainder", "pow", "atan2", "hypot"}

# op -> numpy ufunc for the float math functions: float in, float out (the op casts ints first)
_FLOAT_MATH = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
               "tan": np.tan, "log2": np.log2, "log10": np.log10, "log1p": np.log1p,
               "expm1": np.expm1, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
               "round": np.rint,  # rint: halves to even, as torch.round
               "atan": np.arctan, "asin": np.arcsin, "acos": np.arccos, "sinh": np.sinh,
               "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
               "exp2": np.exp2,
               # numpy has no erf: Python's math.erf, one element at a time (the specification)
               "erf": np.frompyfunc(math.erf, 1, 1), "erfc": np.frompyfunc(math.erfc, 1, 1)}


def _erfinv_scalar(x):
    """The y with erf(y) = x: Giles' single-precision polynomial ("Approximating the erfinv
    function", 2010) refined by two Newton steps on erf(y) - x; +-inf at +-1, NaN outside
    [-1, 1]. Plain math on one float, so the numba and cuda sets compile this same function."""
    if not -1.0 <= x <= 1.0:
        return math.nan
    if x == 1.0 or x == -1.0:
        return math.copysign(math.inf, x)
    w = -math.log((1.0 - x) * (1.0 + x))
    if w < 5.0:
        w = w - 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    y = p * x
    for _ in range(2):  # Newton: d erf / dy = 2 / sqrt(pi) * exp(-y^2)
        y = y - (math.erf(y) - x) / (1.1283791670955126 * math.exp(-y * y))
    return y


_FLOAT_MATH["erfinv"] = np.frompyfunc(lambda v: _erfinv_scalar(float(v)), 1, 1)
_PLAIN_UNARY = {"neg": np.negative, "abs": np.abs}
_PREDICATES = {"isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite}


def fill(out, value):
    """out[...] = value."""
    out[...] = value


def copy(x, out):
    """out = x, converted to out's dtype (a copy or a cast)."""
    np.copyto(out, x, casting="unsafe")


def unary(x, out, op, scalar=0.0):
    """out = f(x). Any numeric x: "neg" (-x), "abs", "sign" (-1, 0 or 1; 0 for NaN, as torch),
    "pow" (x ** scalar), "scale" (x * scalar), "bitwise_not" (-x - 1, i.e. ~x on integers).
    Float x only: "exp", "log", "sqrt", "rsqrt" (1 / sqrt x), "reciprocal" (1 / x), "sin",
    "cos", "tan", "log2", "log10", "log1p" (log(1 + x)), "expm1" (exp(x) - 1), "floor", "ceil",
    "trunc", "round" (halves to even), "atan", "asin", "acos", "sinh", "cosh", "asinh",
    "acosh", "atanh", "exp2" (2 ** x), "erf" (2/sqrt(pi) * integral_0^x exp(-t^2) dt),
    "erfc" (1 - erf x), "erfinv" (y with erf y = x); and into a bool out: "isnan", "isinf",
    "isfinite"."""
    if op in _PLAIN_UNARY:  # the hot path: no errstate context (about 1 us a call)
        _PLAIN_UNARY[op](x, out=out, casting="unsafe")
        return
    with np.errstate(all="ignore"):  # inf and NaN results are the answer, as in torch
        if op == "pow":
            x = x.astype(out.dtype, copy=False)
            np.power(x, np.asarray(scalar, out.dtype), out=out)
        elif op == "scale":
            np.multiply(x, np.asarray(scalar, out.dtype), out=out, casting="unsafe")
        elif op == "sign":
            np.copyto(out, np.sign(np.nan_to_num(x, nan=0)), casting="unsafe")
        elif op == "bitwise_not":
            np.subtract(np.negative(x), 1, out=out, casting="unsafe")
        elif op == "rsqrt":
            np.divide(1, np.sqrt(x), out=out, casting="unsafe")
        elif op == "reciprocal":
            np.divide(1, x, out=out, casting="unsafe")
        elif op in _PREDICATES:
            _PREDICATES[op](x, out=out)
        elif op in ("erf", "erfc", "erfinv"):  # frompyfunc gives objects: cast into out
            np.copyto(out, _FLOAT_MATH[op](x), casting="unsafe")
        else:
            _FLOAT_MATH[op](x, out=out, casting="unsafe")


def binary(a, b, out, op):
    """out = a op b with numpy broadcasting; a or b may be a Python number.

    Arithmetic (ints or floats): "add", "sub", "mul", "div" (true division), "floor_div"
    (floor(a / b)), "trunc_div" (a / b rounded toward 0), "remainder" (a - b * floor(a / b),
    the sign of b, as Python and torch), "pow" (a ** b; for integers a negative power is 1 / a**|b|
    truncated toward 0, as torch: 1 for a = 1, +-1 for a = -1, else 0), "maximum", "minimum"
    (NaN wins); floats only: "atan2" (the angle of the point (b, a)), "hypot" (sqrt(a² + b²)).
    Comparisons, any dtype, 1 where true: "eq", "ne", "lt", "le", "gt", "ge".
    Bitwise, ints or bools: "and", "or", "xor". Integer division by 0 is the op's to refuse."""
    if op not in _MAY_WARN:  # the hot path (add, mul, ...): no errstate context
        _BINARY[op](a, b, out=out, casting="unsafe")
        return
    with np.errstate(all="ignore"):  # inf and NaN results are the answer, as in torch
        if op == "pow":
            np.copyto(out, _power(np.asarray(a), np.asarray(b), out.dtype), casting="unsafe")
        elif op == "trunc_div":
            if out.dtype.kind == "f":
                np.copyto(out, np.trunc(np.true_divide(a, b)), casting="unsafe")
            else:
                quotient = np.floor_divide(a, b)
                inexact = np.remainder(a, b) != 0
                np.copyto(out, quotient + (inexact & ((np.asarray(a) < 0) != (np.asarray(b) < 0))),
                          casting="unsafe")
        else:
            _BINARY[op](a, b, out=out, casting="unsafe")


def _power(a, b, dtype):
    if dtype.kind == "f":
        return np.power(a.astype(dtype), b.astype(dtype))
    a, b = np.broadcast_arrays(a.astype(dtype), b.astype(dtype))
    negative = b < 0
    result = np.power(a, np.where(negative, 0, b))
    minus_one_power = np.where(np.remainder(b, 2) == 0, 1, -1).astype(dtype)
    return np.where(negative, np.where(a == 1, 1, np.where(a == -1, minus_one_power, 0)), result)


def where(condition, x, y, out):
    """out = x where condition else y, all three broadcast to out's shape (condition bool)."""
    np.copyto(out, np.where(condition, x, y), casting="unsafe")


def broadcast_to(x, out):
    """out = x broadcast to out's shape (numpy's rules)."""
    np.copyto(out, x, casting="unsafe")  # copyto broadcasts x to out's shape


def take(x, index, out):
    """out = x[index] for a numpy index (ints, slices, None, Ellipsis, integer or boolean
    arrays: numpy's rules)."""
    np.copyto(out, x[index], casting="unsafe")


def put_add(values, index, out):
    """out[index] += values, where repeated positions of the index add up (np.add.at)."""
    np.add.at(out, index, values)


def permute(x, out, axes):
    """out = x.transpose(axes)."""
    np.copyto(out, x.transpose(axes), casting="unsafe")
