"""Elementwise arithmetic with numpy broadcasting; the engine sums gradients back to each shape.

Binary ops promote dtypes as PyTorch does (``promote``), not as numpy does; the result dtypes of
division and of exp/log on integers follow numpy's ufuncs (``true_divide_dtype``, ``float_dtype``).
Every op allocates on its inputs' device and calls the ``elementwise`` kernels (``_arrays``).
"""

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, copy, unary


def promote(a, b):
    """a and b cast to the result dtype of a binary op, PyTorch's rule:

    - a float operand decides over an integer or boolean one (float32 + int64 -> float32, where
      numpy gives float64);
    - between floats, an operand with dimensions decides over a 0-d one (float32 array * 0-d
      float64 -> float32); otherwise the wider float wins (float32 + float64 -> float64);
    - integers and booleans among themselves follow numpy.
    Python scalars arrive already in the tensor's dtype (``Tensor._operand``).
    """
    if a.dtype == b.dtype:
        return a, b
    a_float, b_float = a.dtype.kind == "f", b.dtype.kind == "f"
    if a_float != b_float:
        target = a.dtype if a_float else b.dtype
    elif a_float and (a.ndim == 0) != (b.ndim == 0):
        target = b.dtype if a.ndim == 0 else a.dtype
    else:
        return a, b
    return _as(a, target), _as(b, target)


def _as(x, dtype):
    return x if x.dtype == dtype else (x.astype(dtype) if isinstance(x, np.ndarray)
                                       else copy(x, dtype))


def result_dtype(a, b):
    """The dtype of a + b, a - b, a * b for promoted operands (numpy's for equal kinds)."""
    return a.dtype if a.dtype == b.dtype else np.result_type(a.dtype, b.dtype)


def true_divide_dtype(dtype):
    """Division gives a float: the operands' float dtype, float64 for integers (numpy's rule)."""
    return dtype if dtype.kind == "f" else np.dtype(np.float64)


def float_dtype(dtype):
    """exp/log of an integer or boolean: the smallest float holding it (numpy's ufunc rule)."""
    return dtype if dtype.kind == "f" else np.result_type(dtype, np.float16)


class Add(Function):
    """y = a + b;  da = g,  db = g (the engine sums each back to its input's shape)."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        return binary(a, b, "add", result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """y = a - b;  da = g,  db = -g."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        return binary(a, b, "sub", result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        return g, unary(g, "neg") if ctx.needs_input_grad[1] else None


class Mul(Function):
    """y = a * b;  da = g * b,  db = g * a."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return binary(a, b, "mul", result_dtype(a, b))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        da = binary(g, b, "mul", g.dtype) if ctx.needs_input_grad[0] else None
        db = binary(g, a, "mul", g.dtype) if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  da = g / b,  db = -g * a / b**2."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return binary(a, b, "div", true_divide_dtype(result_dtype(a, b)))

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


class Neg(Function):
    """y = -x;  dx = -g."""

    @staticmethod
    def forward(ctx, x):
        if x.dtype == np.bool_:
            raise TypeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                            "you are trying to invert a mask, use the `~` or `logical_not()` "
                            "operator instead.")
        return unary(x, "neg")

    @staticmethod
    def backward(ctx, g):
        return unary(g, "neg")


class Pow(Function):
    """y = x ** p (scalar p);  dx = g * p * x ** (p - 1) (0 for p = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        # NOTE: as PyTorch: an integer tensor keeps its dtype for an int exponent and becomes
        # float32 for a float one (the exponent cast to int64 made int ** 0.5 all ones)
        dtype = x.dtype
        if x.dtype.kind not in "fc" and not isinstance(exponent, (int, np.integer)):
            dtype = np.dtype(np.float32)
        elif x.dtype.kind not in "fc" and exponent < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return unary(x, "pow", dtype, exponent)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        p = ctx.exponent
        if p == 0:  # x ** -1 at x = 0 would make 0 * inf = NaN
            return unary(g, "scale", scalar=0.0)
        slope = unary(unary(x, "pow", scalar=p - 1), "scale", scalar=p)
        return binary(g, slope, "mul", g.dtype)


class Exp(Function):
    """y = exp(x);  dx = g * y."""

    @staticmethod
    def forward(ctx, x):
        y = unary(x, "exp", float_dtype(x.dtype))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return binary(g, y, "mul", g.dtype)


class Log(Function):
    """y = log(x);  dx = g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return unary(x, "log", float_dtype(x.dtype))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return binary(g, x, "div", g.dtype)


class Abs(Function):
    """y = |x|;  dx = g * sign(x) (0 at x = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return unary(x, "abs")

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return binary(g, unary(x, "sign"), "mul", g.dtype)


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
