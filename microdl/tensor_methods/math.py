"""Tensor methods: arithmetic by name (add, sub, mul, div, pow, ...), comparisons and logic
(eq, lt, isclose, logical_and, bitwise_or, ...), elementwise math (exp, log, sqrt, sin, floor,
clamp, ...), masked_fill and the casts (half, long, int, bool, type); the function ``where``.

The operators themselves (``a + b``, ``a @ b``, ...) are in tensor.py; the named forms here call
them."""

from collections import namedtuple

import numpy as np

from .._memory_format import preserve_format as _preserve_format
from ..ops import elementwise
from ._common import _C_TYPE_NAMES
from .shape import cat

# PyTorch's torch.return_types for cummax and cummin: named tuples (values, indices)
_cummax_result = namedtuple("cummax", ["values", "indices"])
_cummin_result = namedtuple("cummin", ["values", "indices"])

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
        """self * other, elementwise with broadcasting;  dself = g * other, dother = g * self."""
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
        """self / other (div without rounding_mode): integer inputs give float32;
        dself = g / other, dother = -g * self / other**2."""
        return self / other

    def floor_divide(self, other):
        """floor(self / other), elementwise (integers stay integers, rounded towards -inf as
        PyTorch >= 1.13); not differentiable: backward raises, as PyTorch's."""
        return self // other

    def remainder(self, other):
        """self - other * floor(self / other): the result takes other's sign, as Python's %;
        dself = g, dother = -g * floor(self / other)."""
        return self % other

    def neg(self):
        """y = -x;  dx = -g (a bool tensor is refused, as PyTorch). Alias: negative."""
        return -self

    negative = neg

    def pow(self, exponent):
        """self ** exponent (a number or a tensor, broadcast);  dself = g * p * self**(p - 1),
        dexponent = g * y * log(self). An int exponent keeps an integer tensor's dtype; a float
        one gives float32."""
        return self ** exponent

    def matmul(self, other):
        """self @ other with PyTorch's matmul rules: (..., n, k) @ (..., k, m) -> (..., n, m),
        leading dims broadcast, a 1-D operand taken as a row (left) or column (right) and
        squeezed back;  dself = g @ other^T, dother = self^T @ g."""
        return self @ other

    def exp(self):
        """y = exp(x), elementwise;  dx = g * y. Integer and bool tensors are computed in
        float32."""
        return elementwise.Exp.apply(self)

    def log(self):
        """y = log(x) (natural), elementwise;  dx = g / x. Integers give float32."""
        return elementwise.Log.apply(self)

    def sqrt(self):
        """y = sqrt(x), elementwise;  dx = g / (2 y) (inf at 0, as PyTorch). Integers give
        float32."""
        return elementwise.Sqrt.apply(self)

    def abs(self):
        """y = |x|, elementwise;  dx = g * sign(x) (0 at x = 0, as PyTorch); bool tensors are
        refused."""
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
        if not _comparable(other):  # t == None, t == "a", t == [1, 2]: False, as PyTorch
            return NotImplemented
        return self._compare(other, "eq")

    def __ne__(self, other):
        if not _comparable(other):
            return NotImplemented
        return self._compare(other, "ne")

    def __lt__(self, other):
        return self._compare(other, "lt")

    def __le__(self, other):
        return self._compare(other, "le")

    def __gt__(self, other):
        return self._compare(other, "gt")

    def __ge__(self, other):
        return self._compare(other, "ge")

    def eq(self, other):
        """self == other elementwise (broadcast; compared in the promoted dtype), a bool tensor;
        no gradient (the operator ==)."""
        return self._compare(other, "eq")

    def ne(self, other):
        """self != other elementwise (broadcast; compared in the promoted dtype), a bool tensor;
        no gradient (ne, not_equal; the operator !=)."""
        return self._compare(other, "ne")

    def lt(self, other):
        """self < other elementwise (broadcast; compared in the promoted dtype), a bool tensor;
        no gradient (lt, less; the operator <)."""
        return self._compare(other, "lt")

    def le(self, other):
        """self <= other elementwise (broadcast; compared in the promoted dtype), a bool tensor;
        no gradient (le, less_equal; the operator <=)."""
        return self._compare(other, "le")

    def gt(self, other):
        """self > other elementwise (broadcast; compared in the promoted dtype), a bool tensor;
        no gradient (gt, greater; the operator >)."""
        return self._compare(other, "gt")

    def ge(self, other):
        """self >= other elementwise (broadcast; compared in the promoted dtype), a bool tensor;
        no gradient (ge, greater_equal; the operator >=)."""
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
        """isclose(self, other, rtol, atol, equal_nan).all() as a Python bool:
        |self - other| <= atol + rtol * |other| everywhere (both of one dtype)."""
        return elementwise.all_true(self.isclose(other, rtol, atol, equal_nan).array)

    def logical_not(self):
        """x == 0 elementwise (any dtype), a bool tensor; no gradient."""
        return Tensor._wrap(elementwise.logical_not(self.array))

    def logical_and(self, other):
        """(self != 0) and (other != 0) elementwise (any dtypes, broadcast), a bool tensor; no
        gradient."""
        return elementwise.Logical.apply(self, self._operand(other), op="and")

    def logical_or(self, other):
        """(self != 0) or (other != 0) elementwise (any dtypes, broadcast), a bool tensor; no
        gradient."""
        return elementwise.Logical.apply(self, self._operand(other), op="or")

    def logical_xor(self, other):
        """(self != 0) xor (other != 0) elementwise (any dtypes, broadcast), a bool tensor; no
        gradient."""
        return elementwise.Logical.apply(self, self._operand(other), op="xor")

    def __invert__(self):
        return Tensor._wrap(elementwise.bitwise_not(self.array))

    def bitwise_not(self):
        """~x: -x - 1 for integers, logical not for bools; floats raise NotImplementedError, as
        PyTorch."""
        return Tensor._wrap(elementwise.bitwise_not(self.array, operator=False))

    def __and__(self, other):
        """self & other bit by bit (integers and bools; floats refused), in the promoted dtype;
        no gradient. Also bitwise_and."""
        return elementwise.Bitwise.apply(self, self._operand(other), op="and")

    def __or__(self, other):
        """self | other bit by bit (integers and bools; floats refused), in the promoted dtype;
        no gradient. Also bitwise_or."""
        return elementwise.Bitwise.apply(self, self._operand(other), op="or")

    def __xor__(self, other):
        """self ^ other bit by bit (integers and bools; floats refused), in the promoted dtype;
        no gradient. Also bitwise_xor."""
        return elementwise.Bitwise.apply(self, self._operand(other), op="xor")

    def __rand__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="and")

    def __ror__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="or")

    def __rxor__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="xor")

    bitwise_and, bitwise_or, bitwise_xor = __and__, __or__, __xor__

    def isnan(self):
        """x != x (NaN) elementwise, a bool tensor (all False for integers and bools)."""
        return Tensor._wrap(elementwise.is_value(self.array, "isnan"))

    def isinf(self):
        """x == +-inf elementwise, a bool tensor (all False for integers and bools)."""
        return Tensor._wrap(elementwise.is_value(self.array, "isinf"))

    def isfinite(self):
        """Neither NaN nor +-inf, elementwise, a bool tensor (all True for integers and bools)."""
        return Tensor._wrap(elementwise.is_value(self.array, "isfinite"))

    def square(self):
        """y = x ** 2;  dx = 2 g x. Integers stay integers; a bool tensor gives int64."""
        return self ** 2

    def rsqrt(self):
        """y = 1 / sqrt(x), elementwise;  dx = -g * y**3 / 2. Integers give float32."""
        return elementwise.Rsqrt.apply(self)

    def reciprocal(self):
        """y = 1 / x, elementwise;  dx = -g * y**2. Integers give float32."""
        return elementwise.Reciprocal.apply(self)

    def sin(self):
        """y = sin(x), elementwise;  dx = g * cos(x). Integers give float32."""
        return elementwise.Sin.apply(self)

    def cos(self):
        """y = cos(x), elementwise;  dx = -g * sin(x). Integers give float32."""
        return elementwise.Cos.apply(self)

    def tan(self):
        """y = tan(x), elementwise;  dx = g * (1 + y**2). Integers give float32."""
        return elementwise.Tan.apply(self)

    def log2(self):
        """y = log2(x), elementwise;  dx = g / (x ln 2). Integers give float32."""
        return elementwise.Log2.apply(self)

    def log10(self):
        """y = log10(x), elementwise;  dx = g / (x ln 10). Integers give float32."""
        return elementwise.Log10.apply(self)

    def log1p(self):
        """y = log(1 + x), elementwise, accurate for small x;  dx = g / (1 + x)."""
        return elementwise.Log1p.apply(self)

    def expm1(self):
        """y = exp(x) - 1, elementwise, accurate for small x;  dx = g * (y + 1)."""
        return elementwise.Expm1.apply(self)

    def floor(self):
        """y = floor(x) (the largest integer <= x); integers pass unchanged, bools are refused;
        dx = 0."""
        return elementwise.StepFunction.apply(self, op="floor")

    def ceil(self):
        """y = ceil(x) (the smallest integer >= x); integers pass unchanged, bools are refused;
        dx = 0."""
        return elementwise.StepFunction.apply(self, op="ceil")

    def trunc(self):
        """y = x rounded towards 0; integers pass unchanged, bools are refused;  dx = 0. Alias:
        fix."""
        return elementwise.StepFunction.apply(self, op="trunc")

    fix = trunc

    def round(self, decimals=0):
        """Nearest integer, halves to even (as PyTorch); ``decimals`` rounds x * 10**decimals."""
        if decimals == 0:
            return elementwise.StepFunction.apply(self, op="round")
        scale = 10.0 ** decimals
        return (self * scale).round() / scale

    def sign(self):
        """y = -1, 0 or 1 by the sign of x (a bool tensor is returned as it is);  dx = 0."""
        return elementwise.StepFunction.apply(self, op="sign")

    def maximum(self, other):
        """max(self, other) elementwise, broadcast (NaN wins);  the gradient goes to the larger,
        g / 2 to each on a tie."""
        return elementwise.Maximum.apply(self, self._operand(other))

    def minimum(self, other):
        """min(self, other) elementwise, broadcast (NaN wins);  the gradient goes to the smaller,
        g / 2 to each on a tie."""
        return elementwise.Minimum.apply(self, self._operand(other))

    def clamp(self, min=None, max=None):
        """min(max(self, min), max); either bound a number or a tensor, or None."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        _, low, high = _numbers_as_arrays(self, min, max)
        return elementwise.Clamp.apply(self, low, high)

    clip = clamp

    def clamp_(self, min=None, max=None):
        """In place: self = clamp(self, min, max); returns self. Alias: clip_."""
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
        """In place: self = masked_fill(self, mask, value); returns self."""
        return self._assign(self.masked_fill(mask, value))

    # ---- more math: inverse trigonometric, hyperbolic, erf, composites ------------------------
    def erf(self):
        """y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t**2) dt;
        dx = g * 2/sqrt(pi) * exp(-x**2). Integers give float32."""
        return elementwise.Erf.apply(self)

    def erfc(self):
        """y = erfc(x) = 1 - erf(x);  dx = -g * 2/sqrt(pi) * exp(-x**2). Integers give float32."""
        return elementwise.Erfc.apply(self)

    def erfinv(self):
        """y with erf(y) = x (+-inf at +-1, NaN outside [-1, 1]);  dx = g * sqrt(pi)/2 *
        exp(y**2)."""
        return elementwise.Erfinv.apply(self)

    def atan(self):
        """y = atan(x), in (-pi/2, pi/2);  dx = g / (1 + x**2). Alias: arctan."""
        return elementwise.Atan.apply(self)

    def asin(self):
        """y = asin(x), NaN outside [-1, 1];  dx = g / sqrt(1 - x**2). Alias: arcsin."""
        return elementwise.Asin.apply(self)

    def acos(self):
        """y = acos(x), NaN outside [-1, 1];  dx = -g / sqrt(1 - x**2). Alias: arccos."""
        return elementwise.Acos.apply(self)

    def sinh(self):
        """y = sinh(x);  dx = g * cosh(x). Integers give float32."""
        return elementwise.Sinh.apply(self)

    def cosh(self):
        """y = cosh(x);  dx = g * sinh(x). Integers give float32."""
        return elementwise.Cosh.apply(self)

    def asinh(self):
        """y = asinh(x);  dx = g / sqrt(x**2 + 1). Alias: arcsinh."""
        return elementwise.Asinh.apply(self)

    def acosh(self):
        """y = acosh(x), NaN below 1;  dx = g / sqrt(x**2 - 1). Alias: arccosh."""
        return elementwise.Acosh.apply(self)

    def atanh(self):
        """y = atanh(x), NaN outside [-1, 1];  dx = g / (1 - x**2). Alias: arctanh."""
        return elementwise.Atanh.apply(self)

    arctan, arcsin, arccos, arcsinh, arccosh, arctanh = atan, asin, acos, asinh, acosh, atanh

    def exp2(self):
        """y = 2 ** x;  dx = g * y * ln 2. Integers give float32."""
        return elementwise.Exp2.apply(self)

    def atan2(self, other):
        """The angle of the point (other, self), in (-pi, pi]."""
        return elementwise.Atan2.apply(self, self._operand(other))

    arctan2 = atan2

    def hypot(self, other):
        """sqrt(self**2 + other**2), floats only."""
        return elementwise.Hypot.apply(self, self._operand(other))

    def logaddexp(self, other):
        """log(exp(self) + exp(other)), computed as m + log1p(exp(-|self - other|)) with
        m = max(self, other); equal infinities give that infinity (as PyTorch)."""
        other = other if isinstance(other, Tensor) else Tensor._wrap(np.asarray(other))
        a = self if self.dtype.kind == "f" else self.to(dtype=np.float32)
        b = other if other.dtype.kind == "f" else other.to(dtype=a.dtype)
        same_infinity = a.isinf() & (a == b)
        safe_b = where(same_infinity, 0.0, b)
        safe_a = where(same_infinity, 0.0, a)
        formula = safe_a.maximum(safe_b) + (-(safe_a - safe_b).abs()).exp().log1p()
        return where(same_infinity, a, formula)

    def lerp(self, end, weight):
        """self + weight * (end - self) (weight a number or a tensor)."""
        if isinstance(end, Tensor) and end.dtype != self.dtype:
            raise RuntimeError(f"expected dtype {_C_TYPE_NAMES.get(self.dtype)} for `end` but "
                               f"got dtype {_C_TYPE_NAMES.get(end.dtype)}")
        return self + weight * (end - self)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN -> ``nan``, +inf -> ``posinf`` (default: the dtype's largest value), -inf ->
        ``neginf`` (default: its lowest); integers and booleans come back unchanged (a copy).
        The gradient passes where self is finite."""
        if self.dtype.kind != "f":
            return self.clone()
        info = np.finfo(self.dtype)
        posinf = float(info.max) if posinf is None else posinf
        neginf = float(info.min) if neginf is None else neginf
        y = where(self.isnan(), np.asarray(nan, self.dtype), self)
        y = where(self == float("inf"), np.asarray(posinf, self.dtype), y)
        return where(self == float("-inf"), np.asarray(neginf, self.dtype), y)

    def addcmul(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 * tensor2."""
        return self + value * (tensor1 * tensor2) if value != 1 else self + tensor1 * tensor2

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """self + value * tensor1 / tensor2 (integer tensor1 and tensor2 refused, as PyTorch)."""
        if tensor1.dtype.kind in "biu" and tensor2.dtype.kind in "biu":
            raise RuntimeError("Integer division with addcdiv is no longer supported, and in a "
                               "future release addcdiv will perform a true division of tensor1 "
                               "and tensor2. The historic addcdiv behavior can be implemented "
                               "as (input + value * torch.trunc(tensor1 / tensor2)).to(input."
                               "dtype) for integer inputs and as (input + value * tensor1 / "
                               "tensor2) for float inputs. The future addcdiv behavior is just "
                               "the latter implementation: (input + value * tensor1 / tensor2), "
                               "for all dtypes.")
        return self + value * (tensor1 / tensor2) if value != 1 else self + tensor1 / tensor2

    def _beta_plus_alpha(self, product, beta, alpha):
        """beta * self + alpha * product; beta = 0 ignores self (NaN and inf in it too)."""
        if product.dtype.kind in "iu" and self.dtype.kind in "iu":
            beta, alpha = int(beta), int(alpha)  # as PyTorch: integer tensors truncate them
        scaled = product if alpha == 1 else product * alpha
        if beta == 0:  # self * 0 keeps the shape, dtype and a zero gradient; NaN * 0 made 0
            zero = self * 0
            return scaled + (zero.nan_to_num(0.0, 0.0, 0.0) if zero.dtype.kind == "f" else zero)
        return scaled + (self if beta == 1 else self * beta)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """beta * self + alpha * (mat1 @ mat2)."""
        return self._beta_plus_alpha(mat1.mm(mat2), beta, alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        """beta * self + alpha * (mat @ vec)."""
        return self._beta_plus_alpha(mat.mv(vec), beta, alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """beta * self + alpha * (batch1 @ batch2), batch by batch."""
        return self._beta_plus_alpha(batch1.bmm(batch2), beta, alpha)

    def roll(self, shifts, dims=None):
        """Elements shifted by ``shifts`` along ``dims`` (wrapping around); no dims: over the
        flattened tensor, shape kept."""
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        if dims is None:
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                                   f"dims:0")
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:{len(dims)}")
        if self.ndim == 0:
            raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
        result = self
        for shift, dim in zip(shifts, dims):
            size = result.shape[dim]
            if size == 0 or shift % size == 0:
                continue
            cut = size - shift % size
            result = cat([result.narrow(dim, cut, size - cut), result.narrow(dim, 0, cut)], dim)
        return result if result is not self else self.clone()

    def count_nonzero(self, dim=None):
        """How many elements are not zero (over ``dim``, an int or a tuple, or all), int64."""
        nonzero = self != 0
        return nonzero.sum(dim=dim) if dim is not None else nonzero.sum()

    def xlogy(self, other):
        """self * log(other), 0 where self is 0 (unless other is NaN)."""
        return elementwise.Xlogy.apply(self, self._operand(other))

    def rot90(self, k=1, dims=(0, 1)):
        """Rotation by 90 degrees k times in the plane of ``dims``, from the first axis toward
        the second."""
        dims = tuple(dims)
        if len(dims) != 2:
            raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.ndim < 2:
            raise RuntimeError(f"expected total dims >= 2, but got total dims = {self.ndim}")
        first, second = (d % self.ndim if -self.ndim <= d < self.ndim else d for d in dims)
        if first == second:
            raise RuntimeError(f"expected rotation dims to be different, but got dim0 = "
                               f"{first} and dim1 = {second}")
        k %= 4
        if k == 1:
            return self.flip(second).transpose(first, second)
        if k == 2:
            return self.flip(first, second)
        if k == 3:
            return self.flip(first).transpose(first, second)
        return self.clone()

    def argwhere(self):
        """The indices of the nonzero elements, one row each (int64, (count, ndim))."""
        return self.nonzero()

    def var_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """(var, mean) over ``dim``, as var() and mean() give them."""
        if isinstance(dim, bool):  # var_mean(x, True): PyTorch's (input, unbiased) overload
            dim, unbiased = None, dim
        return (self.var(dim, unbiased, keepdim, correction=correction),
                self.mean(dim=dim, keepdim=keepdim))

    def std_mean(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """(std, mean) over ``dim``, as std() and mean() give them."""
        if isinstance(dim, bool):  # std_mean(x, True): the (input, unbiased) overload
            dim, unbiased = None, dim
        return (self.std(dim, unbiased, keepdim, correction=correction),
                self.mean(dim=dim, keepdim=keepdim))

    def bincount(self, weights=None, minlength=0):
        """How many times each value 0..max(self) occurs in the 1-D non-negative integer self
        (at least ``minlength`` bins), int64; with ``weights``: their sums per value (float32
        weights stay float32, any other dtype gives float64, as PyTorch)."""
        if self.dtype.kind == "f":
            raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                      f"'{elementwise.TORCH_NAMES[self.dtype]}'")
        if self.ndim != 1 or self.dtype.kind == "b" or (self.numel() and self.min().item() < 0):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError("minlength should be >= 0")
        length = max(int(self.max().item()) + 1 if self.numel() else 0, minlength)
        dtype = np.dtype(np.int64) if weights is None else (
            weights.dtype if weights.dtype == np.float32 else np.dtype(np.float64))
        counts = tensor(np.zeros(length, dtype)).to(self.device)
        values = tensor(np.ones(self.shape, dtype)).to(self.device) if weights is None \
            else weights.to(dtype=dtype)
        return counts.scatter_add(0, self.long(), values) if self.numel() else counts

    def histc(self, bins=100, min=0, max=0):
        """Counts of self's values in ``bins`` equal bins over [min, max] (both 0: the data's
        range), values outside left out, in self's (float) dtype."""
        if self.dtype.kind != "f":
            raise NotImplementedError(f'"histogram_cpu" not implemented for '
                                      f"'{elementwise.TORCH_NAMES[self.dtype]}'")
        if bins <= 0:
            raise RuntimeError("torch.histc(): bins must be > 0, but got " + str(bins) +
                               " for dimension 0")
        low, high = float(min), float(max)
        if low == high and self.numel():
            low, high = self.min().item(), self.max().item()
        if low == high:
            low, high = low - 1, high + 1
        if low > high:
            raise RuntimeError(f"torch.histc(): max must be larger than min, but got min {low}"
                               f" max {high}")
        flat = self.detach().reshape(-1)
        inside = (flat >= low) & (flat <= high)
        position = ((flat - low) * (bins / (high - low))).floor().long().clamp(0, bins - 1)
        counts = tensor(np.zeros(bins, self.dtype)).to(self.device)
        return counts.scatter_add(0, position, inside.to(dtype=self.dtype))

    # in place: self = the out-of-place result (optimizer and EMA code: addcmul_, lerp_, ...)
    def lerp_(self, end, weight):
        """In place: self = self + weight * (end - self) (lerp); returns self."""
        return self._assign(self.lerp(end, weight))

    def addcmul_(self, tensor1, tensor2, *, value=1):
        """In place: self = self + value * tensor1 * tensor2 (addcmul); returns self."""
        return self._assign(self.addcmul(tensor1, tensor2, value=value))

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        """In place: self = self + value * tensor1 / tensor2 (addcdiv; integer tensor1 and
        tensor2 refused, as PyTorch); returns self."""
        return self._assign(self.addcdiv(tensor1, tensor2, value=value))

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        """In place: self = beta * self + alpha * (mat1 @ mat2) (addmm; beta = 0 ignores self's
        NaN and inf); returns self."""
        return self._assign(self.addmm(mat1, mat2, beta=beta, alpha=alpha))

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        """In place: self = beta * self + alpha * (mat @ vec) (addmv; beta = 0 ignores self's
        NaN and inf); returns self."""
        return self._assign(self.addmv(mat, vec, beta=beta, alpha=alpha))

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        """In place: self = beta * self + alpha * (batch1 @ batch2), batch by batch (baddbmm;
        beta = 0 ignores self's NaN and inf); returns self."""
        return self._assign(self.baddbmm(batch1, batch2, beta=beta, alpha=alpha))

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        """In place: self = nan_to_num(self, nan, posinf, neginf) (NaN -> nan, +-inf -> posinf /
        neginf, default the dtype's largest / lowest); returns self."""
        return self._assign(self.nan_to_num(nan, posinf, neginf))

    def atan2_(self, other):
        """In place: self = atan2(self, other), the angle of (other, self) in (-pi, pi];
        d/dself = other / (self**2 + other**2). Alias: arctan2_. Returns self."""
        return self._assign(self.atan2(other))

    def hypot_(self, other):
        """In place: self = sqrt(self**2 + other**2), floats only;  d/dself = self / y.
        Returns self."""
        return self._assign(self.hypot(other))

    def xlogy_(self, other):
        """In place: self = self * log(other), 0 where self is 0 (unless other is NaN);
        d/dself = log(other). Returns self."""
        return self._assign(self.xlogy(other))

    def erf_(self):
        """In place: self = erf(self);  dx = g * 2/sqrt(pi) * exp(-x**2). An integer self is
        refused (the float result can't be cast back). Returns self."""
        return self._assign(self.erf())

    def erfc_(self):
        """In place: self = erfc(self) = 1 - erf(self);  dx = -g * 2/sqrt(pi) * exp(-x**2). An
        integer self is refused (the float result can't be cast back). Returns self."""
        return self._assign(self.erfc())

    def erfinv_(self):
        """In place: self = erfinv(self) (+-inf at +-1, NaN outside [-1, 1]);
        dx = g * sqrt(pi)/2 * exp(y**2). Returns self."""
        return self._assign(self.erfinv())

    def exp2_(self):
        """In place: self = 2 ** self;  dx = g * y * ln 2. An integer self is refused (the float
        result can't be cast back). Returns self."""
        return self._assign(self.exp2())

    def atan_(self):
        """In place: self = atan(self), in (-pi/2, pi/2);  dx = g / (1 + x**2). Alias: arctan_.
        Returns self."""
        return self._assign(self.atan())

    def asin_(self):
        """In place: self = asin(self), NaN outside [-1, 1];  dx = g / sqrt(1 - x**2).
        Alias: arcsin_. Returns self."""
        return self._assign(self.asin())

    def acos_(self):
        """In place: self = acos(self), NaN outside [-1, 1];  dx = -g / sqrt(1 - x**2).
        Alias: arccos_. Returns self."""
        return self._assign(self.acos())

    def sinh_(self):
        """In place: self = sinh(self);  dx = g * cosh(x). An integer self is refused (the float
        result can't be cast back). Returns self."""
        return self._assign(self.sinh())

    def cosh_(self):
        """In place: self = cosh(self);  dx = g * sinh(x). An integer self is refused (the float
        result can't be cast back). Returns self."""
        return self._assign(self.cosh())

    def asinh_(self):
        """In place: self = asinh(self);  dx = g / sqrt(x**2 + 1). Alias: arcsinh_. Returns self."""
        return self._assign(self.asinh())

    def acosh_(self):
        """In place: self = acosh(self), NaN below 1;  dx = g / sqrt(x**2 - 1). Alias: arccosh_.
        Returns self."""
        return self._assign(self.acosh())

    def atanh_(self):
        """In place: self = atanh(self), NaN outside [-1, 1];  dx = g / (1 - x**2).
        Alias: arctanh_. Returns self."""
        return self._assign(self.atanh())

    arctan_, arcsin_, arccos_, arctan2_ = atan_, asin_, acos_, atan2_
    arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_

    def cummax(self, dim):
        """(values, indices): the running maximum along ``dim`` and where it was reached (the
        latest position on a tie; NaN, once met, stays); the gradient goes to those positions."""
        return self._running_extreme(dim, "maximum", _cummax_result)

    def cummin(self, dim):
        """(values, indices): the running minimum along ``dim`` (as cummax)."""
        return self._running_extreme(dim, "minimum", _cummin_result)

    def _running_extreme(self, dim, op, result):
        dim = dim % self.ndim if self.ndim else 0
        x = self.detach() if self.ndim else self.detach().reshape(1)
        n = x.shape[dim]
        if n == 0:
            empty = tensor(np.zeros(self.shape, np.int64)).to(self.device)
            return result(self.clone(), empty)

        def scan(values, combine):
            # Hillis-Steele: after the step of offset s each entry combines the 2s entries up
            # to it; the first s entries combine with themselves (max and min are idempotent)
            offset = 1
            while offset < n:
                shifted = cat([values.narrow(dim, 0, offset),
                               values.narrow(dim, 0, n - offset)], dim)
                values = getattr(values, combine)(shifted)
                offset *= 2
            return values

        running = scan(x, op)
        # a record (x equal to the running value, or NaN) marks where the running value was
        # last set; the index is the latest record up to each position
        record = (x == running) | x.isnan() if x.dtype.kind == "f" else x == running
        shape = [1] * x.ndim
        shape[dim] = n
        positions = tensor(np.arange(n, dtype=np.int64).reshape(shape)).to(self.device)
        indices = scan(where(record, positions, 0), "maximum")
        source = self if self.ndim else self.reshape(1)
        values = source.gather(dim, indices)
        if not self.ndim:
            return result(values.reshape(()), indices.reshape(()))
        return result(values, indices)

    def half(self, memory_format=_preserve_format):
        """self cast to float16 (itself when it already is); on the tape."""
        return self.to(dtype=np.float16, memory_format=memory_format)

    def long(self, memory_format=_preserve_format):
        """self cast to int64 (itself when it already is)."""
        return self.to(dtype=np.int64, memory_format=memory_format)

    def int(self, memory_format=_preserve_format):
        """self cast to int32 (itself when it already is)."""
        return self.to(dtype=np.int32, memory_format=memory_format)

    def short(self, memory_format=_preserve_format):
        """self cast to int16 (itself when it already is)."""
        return self.to(dtype=np.int16, memory_format=memory_format)

    def bool(self, memory_format=_preserve_format):
        """self cast to bool, x != 0 (itself when it already is)."""
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
        if isinstance(dtype, type) and isinstance(getattr(dtype, "dtype", None), np.dtype):
            dtype = dtype.dtype  # a legacy type class: microdl.FloatTensor names float32
        return self.to(dtype=dtype)


# ---- functions over several tensors (where; cat and stack: shape.py) -----------------------------
def _comparable(other):
    """Whether == and != compare elementwise with ``other``: a tensor, a real number or a numeric
    numpy array. PyTorch answers NotImplemented for anything else (None, a str, a list, any
    object), and Python then compares identities (==: False, !=: True)."""
    if isinstance(other, (Tensor, np.ndarray, np.generic)):
        return not isinstance(other, (np.ndarray, np.generic)) or other.dtype.kind in "biuf"
    return isinstance(other, (bool, int, float))


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
