"""Elementwise arithmetic with numpy broadcasting; the engine sums gradients back to each shape.

Binary ops promote dtypes as PyTorch does (``promote``), not as numpy does.
"""

import numpy as np

from ..autograd import Function


def promote(a, b):
    """a and b cast to the result dtype of a binary op, PyTorch's rule:

    - a float operand decides over an integer or boolean one (float32 + int64 -> float32, where
      numpy gives float64);
    - between floats, an operand with dimensions decides over a 0-d one (float32 array * 0-d
      float64 -> float32); otherwise the wider float wins (float32 + float64 -> float64);
    - integers and booleans among themselves follow numpy.
    Python scalars arrive already in the tensor's dtype (``Tensor._operand``).
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == b.dtype:
        return a, b
    a_float, b_float = a.dtype.kind == "f", b.dtype.kind == "f"
    if a_float != b_float:
        target = a.dtype if a_float else b.dtype
    elif a_float and (a.ndim == 0) != (b.ndim == 0):
        target = b.dtype if a.ndim == 0 else a.dtype
    else:
        return a, b
    return a.astype(target, copy=False), b.astype(target, copy=False)


class Add(Function):
    """y = a + b;  da = g,  db = g."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        return a + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    """y = a - b;  da = g,  db = -g."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        return a - b

    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    """y = a * b;  da = g * b,  db = g * a."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        da = g * b if ctx.needs_input_grad[0] else None
        db = g * a if ctx.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  da = g / b,  db = -g * a / b**2."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = promote(a, b)
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        da = g / b if ctx.needs_input_grad[0] else None
        db = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return da, db


class Neg(Function):
    """y = -x;  dx = -g."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    """y = x ** p (scalar p);  dx = g * p * x ** (p - 1)."""

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
        return np.power(x.astype(dtype, copy=False), np.asarray(exponent, dtype))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        p = np.asarray(ctx.exponent, x.dtype)
        return g * p * np.power(x, p - 1)


class Exp(Function):
    """y = exp(x);  dx = g * y."""

    @staticmethod
    def forward(ctx, x):
        y = np.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * y


class Log(Function):
    """y = log(x);  dx = g / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g / x


class Abs(Function):
    """y = |x|;  dx = g * sign(x) (0 at x = 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * np.sign(x)


class Clone(Function):
    """y = copy of x;  dx = g."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Cast(Function):
    """y = x as another float dtype;  dx = g cast back to x's dtype."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.source_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return g.astype(ctx.source_dtype)


class Dropout(Function):
    """Training: y = x * m / (1 - p) with m ~ Bernoulli(1 - p);  dx = g * m / (1 - p)."""

    @staticmethod
    def forward(ctx, x, p, rng):
        if p == 1.0:
            scaled_mask = np.zeros_like(x)
        else:
            keep = rng.random(x.shape, dtype=np.float64) >= p
            scaled_mask = keep.astype(x.dtype) / np.asarray(1.0 - p, x.dtype)
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, g):
        (scaled_mask,) = ctx.saved
        return g * scaled_mask
