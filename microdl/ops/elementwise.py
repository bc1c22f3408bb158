"""Elementwise math with numpy broadcasting and PyTorch's dtypes; the engine sums gradients back
to each input's shape.

Dtypes follow PyTorch (``result_type``): a float operand decides over integers and booleans
(float32 + int64 -> float32, where numpy gives float64); an operand with dimensions decides over
a 0-d one of the same category, and a 0-d one over a Python number (float32 tensor * 0-d
float64 -> float32; int32 tensor + 5 -> int32; bool tensor + 5 -> int64; int tensor + 0.5 ->
float32, PyTorch's default float dtype). Division and the float math functions (exp, sqrt,
sin, ...) of integers and booleans give float32. Every op allocates on its inputs' device and
calls the ``elementwise`` kernels (``_arrays``).
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, copy, select, unary

_BOOL = np.dtype(np.bool_)
DEFAULT_FLOAT = np.dtype(np.float32)
# the dtype PyTorch gives a Python number ("wrapped number") of each kind
_WRAPPED = {"b": _BOOL, "i": np.dtype(np.int64), "u": np.dtype(np.int64), "f": DEFAULT_FLOAT}
# PyTorch's names of the dtypes, for its error messages ("Long did not match Float")
TORCH_NAMES = {np.dtype(np.float16): "Half", np.dtype(np.float32): "Float",
               np.dtype(np.float64): "Double", np.dtype(np.uint8): "Byte",
               np.dtype(np.int8): "Char", np.dtype(np.int16): "Short",
               np.dtype(np.int32): "Int", np.dtype(np.int64): "Long", _BOOL: "Bool"}


# PyTorch's C++ names of the dtypes, for "value cannot be converted to type X without overflow"
C_NAMES = {np.dtype(np.float16): "c10::Half", np.dtype(np.float32): "float",
           np.dtype(np.float64): "double", np.dtype(np.uint8): "uint8_t",
           np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
           np.dtype(np.int32): "int", np.dtype(np.int64): "int64_t", _BOOL: "bool"}


def checked_scalar(value, dtype):
    """The Python number ``value`` as PyTorch's checked_convert takes it into ``dtype`` (a fill
    value: masked_fill): a complex with an imaginary part, a value outside the dtype's range
    (NaN and inf included for integers; an unsigned dtype also takes -max..-1, wrapping) is
    "value cannot be converted to type ... without overflow"; any value fits a bool."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) \
            and not -2 ** 63 <= int(value) < 2 ** 63:
        raise OverflowError("int too big to convert")
    if dtype == _BOOL:
        return bool(value)
    overflow = RuntimeError(f"value cannot be converted to type {C_NAMES.get(dtype, dtype)} "
                            "without overflow")
    if isinstance(value, (complex, np.complexfloating)):
        if value.imag != 0:
            raise overflow
        value = value.real
    if dtype.kind == "f":
        if math.isfinite(value) and abs(value) > float(np.finfo(dtype).max):
            raise overflow
        return value
    info = np.iinfo(dtype)
    lowest = -int(info.max) if dtype.kind == "u" and not isinstance(value, float) else info.min
    if not lowest <= value <= info.max:  # NaN compares false: an overflow too
        raise overflow
    return value


# ---- dtype promotion -----------------------------------------------------------------------------
def is_number(value):
    """A Python or numpy scalar number (PyTorch takes both as "wrapped numbers")."""
    return isinstance(value, (bool, int, float, np.number, np.bool_))


def promote_types(a, b):
    """torch.promote_types: a float dtype wins over an integer or bool one (int64, float32 ->
    float32; numpy says float64); otherwise numpy's rule (int32, int64 -> int64; uint8, int8 ->
    int16; float32, float64 -> float64; bool, x -> x)."""
    if a == b:
        return a
    a_float, b_float = a.kind == "f", b.kind == "f"
    if a_float != b_float:
        return a if a_float else b
    return np.promote_types(a, b)


def _combine(higher, lower):
    """PyTorch's combine_categories: the higher-priority group's dtype, unless the lower group
    is of a higher category (bool < integer < float)."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """torch.result_type of arrays and Python numbers (None entries skipped): arrays with
    dimensions come first, then 0-d arrays, then numbers (``_combine``)."""
    dims = zero_dim = numbers = None
    for value in operands:
        if value is None:
            continue
        if is_number(value):
            dtype = _WRAPPED[np.asarray(value).dtype.kind]
            numbers = dtype if numbers is None else promote_types(numbers, dtype)
        elif value.ndim == 0:
            zero_dim = value.dtype if zero_dim is None else promote_types(zero_dim, value.dtype)
        else:
            dims = value.dtype if dims is None else promote_types(dims, value.dtype)
    return _combine(dims, _combine(zero_dim, numbers))


def numbers_as_arrays(*operands):
    """The operands with each Python number made a 0-d array of the operands' result type (so
    array-level promotion then gives PyTorch's answer); arrays and None unchanged."""
    if not any(is_number(v) for v in operands):
        return operands
    dtype = result_type(*operands)
    return tuple(np.asarray(v, dtype) if is_number(v) else v for v in operands)


def promote(a, b):
    """a and b cast to their ``result_type``."""
    if a.dtype == b.dtype:
        return a, b
    target = result_type(a, b)
    return _as(a, target), _as(b, target)


def _as(x, dtype):
    return x if x.dtype == dtype else (x.astype(dtype) if isinstance(x, np.ndarray)
                                       else copy(x, dtype))


def result_dtype(a, b):
    """The dtype of a + b, a - b, a * b for promoted operands."""
    return a.dtype if a.dtype == b.dtype else result_type(a, b)


def float_dtype(dtype):
    """The dtype of a / b, exp, sqrt, ...: a float keeps its dtype, integers and booleans give
    float32 (PyTorch's default float dtype)."""
    return dtype if dtype.kind == "f" else DEFAULT_FLOAT


true_divide_dtype = float_dtype


def _not_for_bool(name, dtype, kernel=None):
    if dtype == _BOOL:
        raise NotImplementedError(f'"{kernel or name + "_cpu"}" not implemented for \'Bool\'')


def _check_integer_divisor(b):
    """PyTorch refuses integer division by zero (floats give inf or NaN)."""
    if b.dtype.kind in "biu" and not np.all(backend.of(b).to_host(b) if backend.is_device_array(b)
                                            else b):
        raise RuntimeError("ZeroDivisionError")


def _zero(dtype):
    return np.zeros((), dtype)


def _mask(a, b, op):
    return binary(a, b, op, _BOOL)


def _keep_where(mask, g):
    """g where mask, else 0."""
    return select(mask, g, _zero(g.dtype), g.dtype)


def _zero_where(mask, g):
    """0 where mask, else g."""
    return select(mask, _zero(g.dtype), g, g.dtype)


def _zeros_like(g):
    return backend.of(g).full(g.shape, 0, g.dtype)


# ---- arithmetic ----------------------------------------------------------------------------------
class Add(Function):
    """y = a + b (bool + bool: a or b, as PyTorch);  da = g,  db = g."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        return binary(a, b, "or" if a.dtype == _BOOL else "add", a.dtype)

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """y = a - b;  da = g,  db = -g. No booleans, as PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        if a.dtype == _BOOL and b.dtype == _BOOL:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        if a.dtype == _BOOL or b.dtype == _BOOL:
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                               "supported. If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        a, b = promote(a, b)
        return binary(a, b, "sub", a.dtype)

    @staticmethod
    def backward(ctx, g):
        return g, unary(g, "neg") if ctx.needs_input_grad[1] else None


class Mul(Function):
    """y = a * b (bool * bool: a and b);  da = g * b,  db = g * a."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return binary(a, b, "and" if a.dtype == _BOOL else "mul", a.dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        da = binary(g, b, "mul", g.dtype) if ctx.needs_input_grad[0] else None
        db = binary(g, a, "mul", g.dtype) if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b, computed in a float dtype (int / int -> float32);  da = g / b,
    db = -g * a / b**2."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        target = float_dtype(a.dtype)
        a, b = _as(a, target), _as(b, target)
        ctx.save_for_backward(a, b)
        return binary(a, b, "div", target)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        da = binary(g, b, "div", g.dtype) if ctx.needs_input_grad[0] else None
        db = None
        if ctx.needs_input_grad[1]:
            ga_over_bb = binary(binary(g, a, "mul", g.dtype), binary(b, b, "mul", g.dtype),
                                "div", g.dtype)
            db = unary(ga_over_bb, "neg")
        return da, db


class DivRounded(Function):
    """y = a / b rounded ("floor": toward -inf, "trunc": toward 0), in the promoted dtype
    (integers stay integers);  da = db = 0 (a step function), as PyTorch."""

    @staticmethod
    def forward(ctx, a, b, rounding_mode):
        a, b = promote(a, b)
        _not_for_bool("div_" + rounding_mode, a.dtype)
        _check_integer_divisor(b)
        return binary(a, b, "floor_div" if rounding_mode == "floor" else "trunc_div", a.dtype)

    @staticmethod
    def backward(ctx, g):
        return _zeros_like(g), _zeros_like(g)


class FloorDivide(DivRounded):
    """y = a // b = floor(a / b); PyTorch gives it no derivative (div(rounding_mode="floor")
    has a zero one)."""

    @staticmethod
    def forward(ctx, a, b):
        return DivRounded.forward(ctx, a, b, "floor")

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


class Remainder(Function):
    """y = a % b = a - b * floor(a / b) (the sign of b, as Python);  da = g,
    db = -g * floor(a / b)."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        _not_for_bool("remainder", a.dtype)
        _check_integer_divisor(b)
        ctx.save_for_backward(a, b)
        return binary(a, b, "remainder", a.dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        db = None
        if ctx.needs_input_grad[1]:
            db = unary(binary(g, binary(a, b, "floor_div", a.dtype), "mul", g.dtype), "neg")
        return g, db


class Neg(Function):
    """y = -x;  dx = -g."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype == _BOOL:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return unary(x, "neg")

    @staticmethod
    def backward(ctx, g):
        return unary(g, "neg")


class Pow(Function):
    """y = x ** p (p a number);  dx = g * p * x ** (p - 1) (0 for p = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, exponent):
        # NOTE: as PyTorch: an integer tensor keeps its dtype for an int exponent and becomes
        # float32 for a float one; bool ** 2 is int64
        dtype = result_type(x, exponent)
        if dtype == _BOOL:  # bool ** True is x, bool ** False all True
            return copy(x) if exponent else backend.of(x).full(x.shape, True, _BOOL)
        if dtype.kind != "f" and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        return unary(_as(x, dtype), "pow", dtype, exponent)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        p = ctx.exponent
        if p == 0:  # x ** -1 at x = 0 would make 0 * inf = NaN
            return _zeros_like(g)
        slope = unary(unary(x, "pow", scalar=p - 1), "scale", scalar=p)
        return binary(g, slope, "mul", g.dtype)


class PowTensor(Function):
    """y = a ** b, both arrays (a number base arrives as a 0-d array);
    da = g * b * a ** (b - 1) (0 where b = 0),  db = g * y * log(a) (0 where a = 0 and b >= 0),
    as PyTorch."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        _not_for_bool("pow", a.dtype, kernel="pow")
        y = binary(a, b, "pow", a.dtype)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved
        da = db = None
        if ctx.needs_input_grad[0]:
            slope = binary(b, binary(a, binary(b, 1, "sub", b.dtype), "pow", a.dtype), "mul",
                           a.dtype)
            da = select(_mask(b, 0, "eq"), _zero(g.dtype), binary(g, slope, "mul", g.dtype),
                        g.dtype)
        if ctx.needs_input_grad[1]:
            # NOTE: log(0) and 0 * inf are masked below; numpy's warnings about them are noise
            with np.errstate(divide="ignore", invalid="ignore"):
                g_y_log_a = binary(binary(g, y, "mul", g.dtype), unary(a, "log"), "mul",
                                   g.dtype)
            base_zero = binary(_mask(a, 0, "eq"), _mask(b, 0, "ge"), "and", _BOOL)
            db = select(base_zero, _zero(g.dtype), g_y_log_a, g.dtype)
        return da, db


class Abs(Function):
    """y = |x|;  dx = g * sign(x) (0 at x = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        _not_for_bool("abs", x.dtype)
        ctx.save_for_backward(x)
        return unary(x, "abs")

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return binary(g, unary(x, "sign"), "mul", g.dtype)


def _maximum(a, b):
    return binary(a, b, "or" if a.dtype == _BOOL else "maximum", a.dtype)


def _minimum(a, b):
    return binary(a, b, "and" if a.dtype == _BOOL else "minimum", a.dtype)


def _split_between(g, a, b, a_loses, b_loses):
    """The gradient of a max or min: g to the winner, g / 2 to each on a tie (PyTorch)."""
    shared = select(_mask(a, b, "eq"), unary(g, "scale", scalar=0.5), g, g.dtype)
    return _zero_where(_mask(a, b, a_loses), shared), _zero_where(_mask(a, b, b_loses), shared)


class Maximum(Function):
    """y = max(a, b) (NaN wins);  da = g where a > b, db = g where b > a, g / 2 each on a tie."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return _maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return _split_between(g, a, b, a_loses="lt", b_loses="gt")


class Minimum(Function):
    """y = min(a, b) (NaN wins);  da = g where a < b, db = g where b < a, g / 2 each on a tie."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return _minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return _split_between(g, a, b, a_loses="gt", b_loses="lt")


class Clamp(Function):
    """y = min(max(x, low), high) (either bound may be None; NaN stays NaN; low > high gives
    high);  dx = g where low <= x <= high, dlow = g where x < low < high, dhigh = g where
    x > high or high < low (PyTorch's split)."""

    @staticmethod
    def forward(ctx, x, low, high):
        dtype = result_type(x, low, high)
        x, low, high = (None if v is None else _as(v, dtype) for v in (x, low, high))
        ctx.save_for_backward(x, low, high)
        y = x if low is None else _maximum(x, low)
        return y if high is None else _minimum(y, high)

    @staticmethod
    def backward(ctx, g):
        x, low, high = ctx.saved
        if high is None:
            return _keep_where(_mask(x, low, "ge"), g), _keep_where(_mask(x, low, "lt"), g), None
        if low is None:
            return _keep_where(_mask(x, high, "le"), g), None, _keep_where(_mask(x, high, "gt"), g)
        inside = binary(_mask(x, low, "ge"), _mask(x, high, "le"), "and", _BOOL)
        below = binary(_mask(x, low, "lt"), _mask(low, high, "lt"), "and", _BOOL)
        above = binary(_mask(x, high, "gt"), _mask(high, low, "lt"), "or", _BOOL)
        return _keep_where(inside, g), _keep_where(below, g), _keep_where(above, g)


class Where(Function):
    """y = x where condition else y (broadcast), in result_type(x, y) or ``dtype``;
    dx = g where condition, dy = g elsewhere."""

    @staticmethod
    def forward(ctx, condition, x, y, dtype=None):
        if condition.dtype != _BOOL:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {TORCH_NAMES.get(condition.dtype)}")
        ctx.save_for_backward(condition)
        return select(condition, x, y, result_type(x, y) if dtype is None else dtype)

    @staticmethod
    def backward(ctx, g):
        (condition,) = ctx.saved
        return None, _keep_where(condition, g), _zero_where(condition, g)


# ---- float math functions ------------------------------------------------------------------------
class _FloatMath(Function):
    """y = f(x) for the unary kernel's float function ``op``: integers and booleans are computed
    in float32 (PyTorch's default dtype), floats in their own;  dx = g * slope(x, y)."""

    op = None

    @classmethod
    def forward(cls, ctx, x):
        x = _as(x, float_dtype(x.dtype))
        y = unary(x, cls.op)
        ctx.save_for_backward(x, y)
        return y

    @classmethod
    def backward(cls, ctx, g):
        x, y = ctx.saved
        return binary(g, cls.slope(x, y), "mul", g.dtype)


class Exp(_FloatMath):
    """y = exp(x);  dx = g * y."""
    op = "exp"

    @staticmethod
    def slope(x, y):
        return y


class Expm1(_FloatMath):
    """y = exp(x) - 1;  dx = g * (y + 1)."""
    op = "expm1"

    @staticmethod
    def slope(x, y):
        return binary(y, 1, "add", y.dtype)


class Log(_FloatMath):
    """y = log(x);  dx = g / x."""
    op = "log"

    @staticmethod
    def slope(x, y):
        return unary(x, "reciprocal")


class Log2(_FloatMath):
    """y = log2(x);  dx = g / (x ln 2)."""
    op = "log2"

    @staticmethod
    def slope(x, y):
        return unary(unary(x, "reciprocal"), "scale", scalar=1 / math.log(2))


class Log10(_FloatMath):
    """y = log10(x);  dx = g / (x ln 10)."""
    op = "log10"

    @staticmethod
    def slope(x, y):
        return unary(unary(x, "reciprocal"), "scale", scalar=1 / math.log(10))


class Log1p(_FloatMath):
    """y = log(1 + x);  dx = g / (1 + x)."""
    op = "log1p"

    @staticmethod
    def slope(x, y):
        return unary(binary(x, 1, "add", x.dtype), "reciprocal")


class Sqrt(_FloatMath):
    """y = sqrt(x);  dx = g / (2 y) (inf at 0, as PyTorch)."""
    op = "sqrt"

    @staticmethod
    def slope(x, y):
        return unary(unary(y, "reciprocal"), "scale", scalar=0.5)


class Rsqrt(_FloatMath):
    """y = 1 / sqrt(x);  dx = -g * y**3 / 2."""
    op = "rsqrt"

    @staticmethod
    def slope(x, y):
        return unary(unary(y, "pow", scalar=3.0), "scale", scalar=-0.5)


class Reciprocal(_FloatMath):
    """y = 1 / x;  dx = -g * y**2."""
    op = "reciprocal"

    @staticmethod
    def slope(x, y):
        return unary(binary(y, y, "mul", y.dtype), "neg")


class Sin(_FloatMath):
    """y = sin(x);  dx = g * cos(x)."""
    op = "sin"

    @staticmethod
    def slope(x, y):
        return unary(x, "cos")


class Cos(_FloatMath):
    """y = cos(x);  dx = -g * sin(x)."""
    op = "cos"

    @staticmethod
    def slope(x, y):
        return unary(unary(x, "sin"), "neg")


class Tan(_FloatMath):
    """y = tan(x);  dx = g * (1 + y**2)."""
    op = "tan"

    @staticmethod
    def slope(x, y):
        return binary(binary(y, y, "mul", y.dtype), 1, "add", y.dtype)


class StepFunction(Function):
    """y = floor, ceil, trunc, round (halves to even) or sign of x: integers pass through
    unchanged (sign: -1, 0, 1), booleans are refused as PyTorch refuses them (sign(bool) is the
    bool);  dx = 0 (a step function)."""

    @staticmethod
    def forward(ctx, x, op):
        if op == "sign":
            return copy(x) if x.dtype == _BOOL else unary(x, "sign")
        _not_for_bool(op, x.dtype, kernel=f"{op}_vml_cpu" if op in ("floor", "trunc", "ceil")
                      else f"{op}_cpu")
        return unary(x, op) if x.dtype.kind == "f" else copy(x)

    @staticmethod
    def backward(ctx, g):
        return _zeros_like(g)


# ---- comparisons, logic, bits (no gradient: bool or integer outputs) ---------------------------
def is_value(x, op):
    """isnan, isinf or isfinite of x, as a bool array (integers and booleans are finite)."""
    if x.dtype.kind == "f":
        return unary(x, op, _BOOL)
    return backend.of(x).full(x.shape, op == "isfinite", _BOOL)


class Compare(Function):
    """y = a op b (op: "eq", "ne", "lt", "le", "gt", "ge") in the promoted dtype, as bools."""

    @staticmethod
    def forward(ctx, a, b, op):
        a, b = promote(a, b)
        return binary(a, b, op, _BOOL)


def truth(x):
    """x != 0 as bools (x itself when bool)."""
    return x if x.dtype == _BOOL else binary(x, 0, "ne", _BOOL)


class Logical(Function):
    """y = truth(a) op truth(b) (op: "and", "or", "xor"), any dtypes, as bools."""

    @staticmethod
    def forward(ctx, a, b, op):
        return binary(truth(a), truth(b), op, _BOOL)


def logical_not(x):
    """x == 0 as bools."""
    return binary(x, 0, "eq", _BOOL) if x.dtype != _BOOL else binary(x, False, "eq", _BOOL)


class Bitwise(Function):
    """y = a op b bit by bit (op: "and", "or", "xor"), integers and booleans only."""

    @staticmethod
    def forward(ctx, a, b, op):
        a, b = promote(a, b)
        if a.dtype.kind == "f":
            raise NotImplementedError(f'"bitwise_{op}_cpu" not implemented for '
                                      f"'{TORCH_NAMES.get(a.dtype)}'")
        return binary(a, b, op, a.dtype)


def bitwise_not(x, operator=True):
    """~x: logical not of booleans, -x - 1 of integers (floats: the ``~`` operator's TypeError,
    or bitwise_not()'s NotImplementedError, as PyTorch)."""
    if x.dtype.kind == "f" and operator:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    if x.dtype.kind == "f":
        raise NotImplementedError(f'"bitwise_not_cpu" not implemented for '
                                  f"'{TORCH_NAMES.get(x.dtype)}'")
    return logical_not(x) if x.dtype == _BOOL else unary(x, "bitwise_not")


def isclose(a, b, rtol, atol, equal_nan):
    """|a - b| <= atol + rtol * |b| (finite), or a == b (infinities), or both NaN with
    ``equal_nan``; a and b must share a dtype (PyTorch: "Long did not match Float")."""
    if a.dtype != b.dtype:
        raise RuntimeError(f"{TORCH_NAMES.get(a.dtype)} did not match "
                           f"{TORCH_NAMES.get(b.dtype)}")
    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if not tolerance >= 0:  # printed as C++ prints a double (-1, -0.4)
            raise RuntimeError(f"{name} must be greater than or equal to zero, but got "
                               f"{float(tolerance):g}")
    close = binary(a, b, "eq", _BOOL)
    if equal_nan and a.dtype.kind == "f":
        both_nan = binary(unary(a, "isnan", _BOOL), unary(b, "isnan", _BOOL), "and", _BOOL)
        close = binary(close, both_nan, "or", _BOOL)
    if rtol == 0 and atol == 0:
        return close
    if a.dtype.kind != "f":  # integer differences could overflow; torch measures them as floats
        a, b = _as(a, DEFAULT_FLOAT), _as(b, DEFAULT_FLOAT)
    allowed = binary(unary(unary(b, "scale", scalar=rtol), "abs"), atol, "add", a.dtype)
    actual = unary(binary(a, b, "sub", a.dtype), "abs")
    within = binary(unary(actual, "isfinite", _BOOL), binary(actual, allowed, "le", _BOOL),
                    "and", _BOOL)
    return binary(close, within, "or", _BOOL)


def all_true(mask):
    """Whether every value of a bool array is true, as a Python bool (read on the host)."""
    host = backend.of(mask).to_host(mask) if backend.is_device_array(mask) else mask
    return bool(np.all(host))


class Clone(Function):
    """y = copy of x;  dx = g."""

    @staticmethod
    def forward(ctx, x):
        return copy(x)

    @staticmethod
    def backward(ctx, g):
        return g


class Cast(Function):
    """y = x as another dtype;  dx = g cast back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.source_dtype = x.dtype
        return copy(x, dtype)

    @staticmethod
    def backward(ctx, g):
        return copy(g, ctx.source_dtype)


class ToDevice(Function):
    """y = x copied to another device ("cpu" or "cuda:0");  dx = g copied back to x's."""

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = backend.of(x)
        return backend.for_device(device).to_here(ctx.source.to_host(x))

    @staticmethod
    def backward(ctx, g):
        return ctx.source.to_here(backend.of(g).to_host(g))


class Dropout(Function):
    """Training: y = x * m / (1 - p) with m ~ Bernoulli(1 - p);  dx = g * m / (1 - p).

    The mask is drawn on the host from microdl's generator whatever x's device (a cuda run drops
    the units a cpu run with the same seed drops) and copied there."""

    @staticmethod
    def forward(ctx, x, p, rng):
        if p == 1.0:
            scaled_mask = np.zeros(x.shape, x.dtype)
        else:
            keep = rng.random(x.shape, dtype=np.float64) >= p
            scaled_mask = keep.astype(x.dtype) / np.asarray(1.0 - p, x.dtype)
        scaled_mask = backend.of(x).to_here(scaled_mask)
        ctx.save_for_backward(scaled_mask)
        return binary(x, scaled_mask, "mul", x.dtype)

    @staticmethod
    def backward(ctx, g):
        (scaled_mask,) = ctx.saved
        return binary(g, scaled_mask, "mul", g.dtype)


# ---- more float math (inverse trigonometric, hyperbolic, erf) -----------------------------------
def _square(x):
    return binary(x, x, "mul", x.dtype)


def _one_minus_square(x):
    return unary(binary(_square(x), 1, "sub", x.dtype), "neg")


class Atan(_FloatMath):
    """y = atan(x);  dx = g / (1 + x**2)."""
    op = "atan"

    @staticmethod
    def slope(x, y):
        return unary(binary(_square(x), 1, "add", x.dtype), "reciprocal")


class Asin(_FloatMath):
    """y = asin(x);  dx = g / sqrt(1 - x**2)."""
    op = "asin"

    @staticmethod
    def slope(x, y):
        return unary(_one_minus_square(x), "rsqrt")


class Acos(_FloatMath):
    """y = acos(x);  dx = -g / sqrt(1 - x**2)."""
    op = "acos"

    @staticmethod
    def slope(x, y):
        return unary(unary(_one_minus_square(x), "rsqrt"), "neg")


class Sinh(_FloatMath):
    """y = sinh(x);  dx = g * cosh(x)."""
    op = "sinh"

    @staticmethod
    def slope(x, y):
        return unary(x, "cosh")


class Cosh(_FloatMath):
    """y = cosh(x);  dx = g * sinh(x)."""
    op = "cosh"

    @staticmethod
    def slope(x, y):
        return unary(x, "sinh")


class Asinh(_FloatMath):
    """y = asinh(x);  dx = g / sqrt(x**2 + 1)."""
    op = "asinh"

    @staticmethod
    def slope(x, y):
        return unary(binary(_square(x), 1, "add", x.dtype), "rsqrt")


class Acosh(_FloatMath):
    """y = acosh(x);  dx = g / sqrt(x**2 - 1)."""
    op = "acosh"

    @staticmethod
    def slope(x, y):
        return unary(binary(_square(x), 1, "sub", x.dtype), "rsqrt")


class Atanh(_FloatMath):
    """y = atanh(x);  dx = g / (1 - x**2)."""
    op = "atanh"

    @staticmethod
    def slope(x, y):
        return unary(_one_minus_square(x), "reciprocal")


class Exp2(_FloatMath):
    """y = 2 ** x;  dx = g * y * ln 2."""
    op = "exp2"

    @staticmethod
    def slope(x, y):
        return unary(y, "scale", scalar=math.log(2))


class Erf(_FloatMath):
    """y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t**2) dt;  dx = g * 2/sqrt(pi) * exp(-x**2)."""
    op = "erf"

    @staticmethod
    def slope(x, y):
        return unary(unary(unary(_square(x), "neg"), "exp"), "scale", scalar=2 / math.sqrt(math.pi))


class Erfc(_FloatMath):
    """y = erfc(x) = 1 - erf(x);  dx = -g * 2/sqrt(pi) * exp(-x**2)."""
    op = "erfc"

    @staticmethod
    def slope(x, y):
        return unary(unary(unary(_square(x), "neg"), "exp"), "scale",
                     scalar=-2 / math.sqrt(math.pi))


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a), in a float dtype;
    da = g * b / (a**2 + b**2),  db = -g * a / (a**2 + b**2)."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        target = float_dtype(a.dtype)
        a, b = _as(a, target), _as(b, target)
        ctx.save_for_backward(a, b)
        return binary(a, b, "atan2", target)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        radius2 = binary(_square(a), _square(b), "add", a.dtype)
        g_over = binary(g, radius2, "div", g.dtype)
        da = binary(g_over, b, "mul", g.dtype) if ctx.needs_input_grad[0] else None
        db = unary(binary(g_over, a, "mul", g.dtype), "neg") if ctx.needs_input_grad[1] else None
        return da, db


class Hypot(Function):
    """y = sqrt(a**2 + b**2), floats only (PyTorch has no integer kernel);  da = g * a / y,
    db = g * b / y."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        if a.dtype.kind != "f":
            raise NotImplementedError(f'"hypot_cpu" not implemented for '
                                      f"'{TORCH_NAMES.get(a.dtype)}'")
        y = binary(a, b, "hypot", a.dtype)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved
        g_over = binary(g, y, "div", g.dtype)
        da = binary(g_over, a, "mul", g.dtype) if ctx.needs_input_grad[0] else None
        db = binary(g_over, b, "mul", g.dtype) if ctx.needs_input_grad[1] else None
        return da, db


def _xlogy_zero(a, b):
    """Where xlogy is 0 whatever log(b) is: a = 0 and b not NaN."""
    return binary(_mask(a, 0, "eq"), logical_not(unary(b, "isnan", _BOOL)), "and", _BOOL)


class Xlogy(Function):
    """y = a * log(b), 0 where a = 0 and b is not NaN, in a float dtype;
    da = g * xlogy(a != 0, b) (g log b, 0 where a = 0 unless b is NaN),  db = g * a / b (as
    PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        target = float_dtype(a.dtype)
        a, b = _as(a, target), _as(b, target)
        ctx.save_for_backward(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            product = binary(a, unary(b, "log"), "mul", target)
        return select(_xlogy_zero(a, b), _zero(target), product, target)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        da = db = None
        if ctx.needs_input_grad[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                da = _zero_where(_xlogy_zero(a, b), binary(g, unary(b, "log"), "mul", g.dtype))
        if ctx.needs_input_grad[1]:
            db = binary(binary(g, a, "mul", g.dtype), b, "div", g.dtype)
        return da, db


class Erfinv(_FloatMath):
    """y = erfinv(x), erf(y) = x;  dx = g * sqrt(pi)/2 * exp(y**2)."""
    op = "erfinv"

    @staticmethod
    def slope(x, y):
        return unary(unary(_square(y), "exp"), "scale", scalar=math.sqrt(math.pi) / 2)
