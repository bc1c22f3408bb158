"""Tensor methods: arithmetic by name (add, sub, mul, div, pow, ...), comparisons and logic
(eq, lt, isclose, logical_and, bitwise_or, ...), elementwise math (exp, log, sqrt, sin, floor,
clamp, ...), masked_fill and the casts (half, long, int, bool, type); the function ``where``.

The operators themselves (``a + b``, ``a @ b``, ...) are in tensor.py; the named forms here call
them."""

import numpy as np

from .._memory_format import preserve_format as _preserve_format
from ..ops import elementwise
from ._common import _C_TYPE_NAMES

# NOTE: microdl.Tensor and microdl.tensor, set by tensor.py when it loads (tensor_methods.bind):
# these methods make tensors without importing tensor.py, which imports this module
Tensor = tensor = None


class MathMethods:
    """Tensor's arithmetic by name, comparisons, elementwise math and casts (a mixin of
    microdl.Tensor)."""

    # ---- arithmetic (by name; the operators are in tensor.py) ------------------------------------
    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        return self + self._times_alpha(other, alpha)

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        return self - self._times_alpha(other, alpha)

    subtract = sub

    def _times_alpha(self, other, alpha):
        if alpha == 1 and not isinstance(alpha, float):
            return other
        other = other if isinstance(other, Tensor) else self._operand(other)
        dtype = elementwise.result_type(self.array, getattr(other, "array", other))
        if dtype.kind != "f" and isinstance(alpha, (float, np.floating)):
            raise RuntimeError("For integral input tensors, argument alpha must not be a "
                               "floating point number.")
        return other * alpha if isinstance(other, Tensor) else Tensor._wrap(other) * alpha

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        """self / other; rounding_mode "trunc" or "floor" rounds the quotient (integers stay
        integers) and has a zero gradient."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                               f"'floor' but found '{rounding_mode}'")
        return elementwise.DivRounded.apply(self, self._operand(other),
                                            rounding_mode=rounding_mode)

    divide = div

    def true_divide(self, other):
        return self / other

    def floor_divide(self, other):
        return self // other

    def remainder(self, other):
        return self % other

    def neg(self):
        return -self

    negative = neg

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        return self @ other

    def exp(self):
        return elementwise.Exp.apply(self)

    def log(self):
        return elementwise.Log.apply(self)

    def sqrt(self):
        return elementwise.Sqrt.apply(self)

    def abs(self):
        return elementwise.Abs.apply(self)

    # ---- comparisons and elementwise math (more) -----------------------------------------------
    __hash__ = object.__hash__  # identity, as PyTorch: tensors stay usable as dict keys

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with "
                               f"{'no values' if self.array.size == 0 else 'more than one value'}"
                               f" is ambiguous")
        return bool(self.item())

    def _compare(self, other, op):
        return elementwise.Compare.apply(self, self._operand(other), op=op)

    def __eq__(self, other):
        try:
            return self._compare(other, "eq")
        except TypeError:  # t == None, t == "a": False, as PyTorch
            return NotImplemented

    def __ne__(self, other):
        try:
            return self._compare(other, "ne")
        except TypeError:
            return NotImplemented

    def __lt__(self, other):
        return self._compare(other, "lt")

    def __le__(self, other):
        return self._compare(other, "le")

    def __gt__(self, other):
        return self._compare(other, "gt")

    def __ge__(self, other):
        return self._compare(other, "ge")

    def eq(self, other):
        return self._compare(other, "eq")

    def ne(self, other):
        return self._compare(other, "ne")

    def lt(self, other):
        return self._compare(other, "lt")

    def le(self, other):
        return self._compare(other, "le")

    def gt(self, other):
        return self._compare(other, "gt")

    def ge(self, other):
        return self._compare(other, "ge")

    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge

    def equal(self, other):
        """True when both have the same shape and values (a Python bool; NaN != NaN)."""
        if tuple(self.shape) != tuple(other.shape):
            return False
        return elementwise.all_true(self.eq(other).array)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol * |other| elementwise (both of one dtype)."""
        return Tensor._wrap(elementwise.isclose(self.array, other.array, rtol, atol, equal_nan))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return elementwise.all_true(self.isclose(other, rtol, atol, equal_nan).array)

    def logical_not(self):
        return Tensor._wrap(elementwise.logical_not(self.array))

    def logical_and(self, other):
        return elementwise.Logical.apply(self, self._operand(other), op="and")

    def logical_or(self, other):
        return elementwise.Logical.apply(self, self._operand(other), op="or")

    def logical_xor(self, other):
        return elementwise.Logical.apply(self, self._operand(other), op="xor")

    def __invert__(self):
        return Tensor._wrap(elementwise.bitwise_not(self.array))

    def bitwise_not(self):
        return Tensor._wrap(elementwise.bitwise_not(self.array, operator=False))

    def __and__(self, other):
        return elementwise.Bitwise.apply(self, self._operand(other), op="and")

    def __or__(self, other):
        return elementwise.Bitwise.apply(self, self._operand(other), op="or")

    def __xor__(self, other):
        return elementwise.Bitwise.apply(self, self._operand(other), op="xor")

    def __rand__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="and")

    def __ror__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="or")

    def __rxor__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="xor")

    bitwise_and, bitwise_or, bitwise_xor = __and__, __or__, __xor__

    def isnan(self):
        return Tensor._wrap(elementwise.is_value(self.array, "isnan"))

    def isinf(self):
        return Tensor._wrap(elementwise.is_value(self.array, "isinf"))

    def isfinite(self):
        return Tensor._wrap(elementwise.is_value(self.array, "isfinite"))

    def square(self):
        return self ** 2

    def rsqrt(self):
        return elementwise.Rsqrt.apply(self)

    def reciprocal(self):
        return elementwise.Reciprocal.apply(self)

    def sin(self):
        return elementwise.Sin.apply(self)

    def cos(self):
        return elementwise.Cos.apply(self)

    def tan(self):
        return elementwise.Tan.apply(self)

    def log2(self):
        return elementwise.Log2.apply(self)

    def log10(self):
        return elementwise.Log10.apply(self)

    def log1p(self):
        return elementwise.Log1p.apply(self)

    def expm1(self):
        return elementwise.Expm1.apply(self)

    def floor(self):
        return elementwise.StepFunction.apply(self, op="floor")

    def ceil(self):
        return elementwise.StepFunction.apply(self, op="ceil")

    def trunc(self):
        return elementwise.StepFunction.apply(self, op="trunc")

    fix = trunc

    def round(self, decimals=0):
        """Nearest integer, halves to even (as PyTorch); ``decimals`` rounds x * 10**decimals."""
        if decimals == 0:
            return elementwise.StepFunction.apply(self, op="round")
        scale = 10.0 ** decimals
        return (self * scale).round() / scale

    def sign(self):
        return elementwise.StepFunction.apply(self, op="sign")

    def maximum(self, other):
        return elementwise.Maximum.apply(self, self._operand(other))

    def minimum(self, other):
        return elementwise.Minimum.apply(self, self._operand(other))

    def clamp(self, min=None, max=None):
        """min(max(self, min), max); either bound a number or a tensor, or None."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        _, low, high = _numbers_as_arrays(self, min, max)
        return elementwise.Clamp.apply(self, low, high)

    clip = clamp

    def clamp_(self, min=None, max=None):
        return self._assign(self.clamp(min, max))

    clip_ = clamp_

    def where(self, condition, other):
        """self where condition else other (PyTorch's Tensor.where)."""
        return where(condition, self, other)

    def masked_fill(self, mask, value):
        """self with ``value`` (a number or a 0-d tensor) where the bool ``mask`` is True."""
        mask = mask if isinstance(mask, Tensor) else Tensor._wrap(np.asarray(mask))
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                               f"dtype {_C_TYPE_NAMES.get(mask.dtype, mask.dtype)}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        if isinstance(value, (int, float, complex, np.number, np.bool_)):  # as PyTorch checks
            value = elementwise.checked_scalar(value, self.dtype)
        value = value if isinstance(value, Tensor) else np.asarray(value)
        return elementwise.Where.apply(mask, value, self, dtype=self.dtype)

    def masked_fill_(self, mask, value):
        return self._assign(self.masked_fill(mask, value))

    def half(self, memory_format=_preserve_format):
        return self.to(dtype=np.float16, memory_format=memory_format)

    def long(self, memory_format=_preserve_format):
        return self.to(dtype=np.int64, memory_format=memory_format)

    def int(self, memory_format=_preserve_format):
        return self.to(dtype=np.int32, memory_format=memory_format)

    def short(self, memory_format=_preserve_format):
        return self.to(dtype=np.int16, memory_format=memory_format)

    def bool(self, memory_format=_preserve_format):
        return self.to(dtype=np.bool_, memory_format=memory_format)

    def type(self, dtype=None, non_blocking=False):
        """No argument: PyTorch's type name ("torch.FloatTensor"); a dtype or such a name:
        this tensor cast to it."""
        if dtype is None:
            prefix = "torch." if self.device == "cpu" else "torch.cuda."
            return f"{prefix}{elementwise.TORCH_NAMES[self.dtype]}Tensor"
        if isinstance(dtype, str):
            name = dtype.rsplit(".", 1)[-1].removesuffix("Tensor")
            by_name = {v: k for k, v in elementwise.TORCH_NAMES.items()}
            if name not in by_name:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = by_name[name]
        return self.to(dtype=dtype)


# ---- functions over several tensors (where; cat and stack: shape.py) -----------------------------
def where(condition, input, other):
    """``input`` where ``condition`` (a bool tensor) else ``other``, broadcast together; either
    may be a number. The dtype is PyTorch's result type of the two; gradients flow to both."""
    condition = condition if isinstance(condition, Tensor) else Tensor._wrap(np.asarray(condition))
    _, x, y = _numbers_as_arrays(condition, input, other)
    return elementwise.Where.apply(condition, x, y)


def _numbers_as_arrays(*values):
    """``values`` with Python numbers made 0-d arrays of the dtype PyTorch gives an op over all
    of them (tensors, arrays and None stay)."""
    arrays = elementwise.numbers_as_arrays(*(v.array if isinstance(v, Tensor) else v
                                             for v in values))
    return [v if isinstance(v, Tensor) else a for v, a in zip(values, arrays)]
