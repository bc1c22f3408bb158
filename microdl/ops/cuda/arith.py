"""CUDA twins of the arithmetic ops (elementwise.py, reduce.py, shape.py, matmul.py).

Same Functions, same math (see each CPU op's docstring), on device arrays. Where numpy's
broadcasting would leave the engine a stretched gradient, a twin sums it back itself
(``sum_to``), so gradients always arrive in their input's shape. Every array a twin makes is
C-contiguous: transpose copies (a strided view would need strided kernels everywhere).
"""

import numpy as np

from .. import elementwise as ew
from .. import matmul as mm
from .. import reduce as rd
from .. import shape as sh
from ._arrays import (binary, broadcast_to, copy, cpu_dtype, empty, k, reduce_sum,
                      reduced_shape, resolve_shape, rows, sum_to, unary)


def _shapes(ctx, a, b):
    ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))


class Add(ew.Add):
    @staticmethod
    def forward(ctx, a, b):
        _shapes(ctx, a, b)
        return binary(a, b, "add")

    @staticmethod
    def backward(ctx, g):
        needs, (sa, sb) = ctx.needs_input_grad, ctx.shapes
        return sum_to(g, sa) if needs[0] else None, sum_to(g, sb) if needs[1] else None


class Sub(ew.Sub):
    @staticmethod
    def forward(ctx, a, b):
        _shapes(ctx, a, b)
        return binary(a, b, "sub")

    @staticmethod
    def backward(ctx, g):
        needs, (sa, sb) = ctx.needs_input_grad, ctx.shapes
        return (sum_to(g, sa) if needs[0] else None,
                sum_to(unary(g, "neg"), sb) if needs[1] else None)


class Mul(ew.Mul):
    @staticmethod
    def forward(ctx, a, b):
        _shapes(ctx, a, b)
        ctx.save_for_backward(a, b)
        return binary(a, b, "mul")

    @staticmethod
    def backward(ctx, g):
        (a, b), needs, (sa, sb) = ctx.saved, ctx.needs_input_grad, ctx.shapes
        return (sum_to(binary(g, b, "mul"), sa) if needs[0] else None,
                sum_to(binary(g, a, "mul"), sb) if needs[1] else None)


class Div(ew.Div):
    @staticmethod
    def forward(ctx, a, b):
        _shapes(ctx, a, b)
        ctx.save_for_backward(a, b)
        return binary(a, b, "div")

    @staticmethod
    def backward(ctx, g):
        (a, b), needs, (sa, sb) = ctx.saved, ctx.needs_input_grad, ctx.shapes
        da = sum_to(binary(g, b, "div"), sa) if needs[0] else None
        db = None
        if needs[1]:
            db = sum_to(unary(binary(binary(g, a, "mul"), binary(b, b, "mul"), "div"), "neg"), sb)
        return da, db


class Neg(ew.Neg):
    @staticmethod
    def forward(ctx, x):
        return unary(x, "neg")

    @staticmethod
    def backward(ctx, g):
        return unary(g, "neg")


class Pow(ew.Pow):
    @staticmethod
    def forward(ctx, x, exponent):
        ctx.save_for_backward(x)
        ctx.exponent = exponent
        # the CPU op's dtype rule (an integer x may become float, e.g. ** 0.5)
        out = empty(x.shape, cpu_dtype(ew.Pow, x, exponent=exponent))
        k("elementwise").unary(x, out, "pow", exponent)
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        p = ctx.exponent
        return binary(g, unary(unary(x, "pow", p - 1), "scale", p), "mul")


class Exp(ew.Exp):
    @staticmethod
    def forward(ctx, x):
        y = unary(x, "exp")
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        return binary(g, ctx.saved[0], "mul")


class Log(ew.Log):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return unary(x, "log")

    @staticmethod
    def backward(ctx, g):
        return binary(g, ctx.saved[0], "div")


class Abs(ew.Abs):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return unary(x, "abs")

    @staticmethod
    def backward(ctx, g):
        return binary(g, unary(ctx.saved[0], "sign"), "mul")


class Clone(ew.Clone):
    @staticmethod
    def forward(ctx, x):
        return copy(x)

    @staticmethod
    def backward(ctx, g):
        return g


class Cast(ew.Cast):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.source_dtype = x.dtype
        return copy(x, dtype)

    @staticmethod
    def backward(ctx, g):
        return copy(g, ctx.source_dtype)


class Dropout(ew.Dropout):
    """The mask is drawn on the host from the same generator as on the CPU (a cuda run drops
    the units a cpu run with the same seed drops) and sent to the device: a host-to-device copy,
    never a wait for the device."""

    @staticmethod
    def forward(ctx, x, p, rng):
        if p == 1.0:
            mask = np.zeros(x.shape, x.dtype)
        else:
            keep = rng.random(x.shape, dtype=np.float64) >= p
            mask = keep.astype(x.dtype) / np.asarray(1.0 - p, x.dtype)
        scaled_mask = k("memory").to_device(mask)
        ctx.save_for_backward(scaled_mask)
        return binary(x, scaled_mask, "mul")

    @staticmethod
    def backward(ctx, g):
        return binary(g, ctx.saved[0], "mul")


# ---- reductions --------------------------------------------------------------------------------
def _expand(g, ctx):
    """g (reduced) broadcast back to the input's shape."""
    keep = reduced_shape(ctx.input_shape, ctx.axes, True)
    return broadcast_to(g.reshape(keep), ctx.input_shape)


class Sum(rd.Sum):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = rd._normalized_axes(axis, x.ndim)
        ctx.keepdims, ctx.input_shape = keepdims, x.shape
        return reduce_sum(x, ctx.axes, keepdims, dtype=cpu_dtype(rd.Sum, x))

    @staticmethod
    def backward(ctx, g):
        return _expand(g, ctx)


class Mean(rd.Mean):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = rd._normalized_axes(axis, x.ndim)
        ctx.keepdims, ctx.input_shape = keepdims, x.shape
        ctx.count = int(np.prod([x.shape[a] for a in ctx.axes], dtype=np.int64))
        return reduce_sum(x, ctx.axes, keepdims, 1.0 / ctx.count if ctx.count else np.nan,
                          dtype=cpu_dtype(rd.Mean, x))  # an integer mean is float64

    @staticmethod
    def backward(ctx, g):
        return unary(_expand(g, ctx), "scale", 1.0 / ctx.count)


class Max(rd.Max):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            return rd.Max.forward(ctx, x, axis, keepdims)  # raises PyTorch's error
        ctx.axes = rd._normalized_axes(axis, x.ndim)
        ctx.keepdims, ctx.input_shape = keepdims, x.shape
        y = empty(reduced_shape(x.shape, ctx.axes, True), x.dtype)
        k("reduce").max_axes(x, y, ctx.axes)
        ctx.save_for_backward(x, y)
        return y if keepdims else y.reshape(reduced_shape(x.shape, ctx.axes, False))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        winners = binary(x, y, "eq")
        counts = reduce_sum(winners, ctx.axes, True)
        share = binary(winners, counts, "div")
        return binary(share, _expand(g, ctx), "mul")


# ---- shape -------------------------------------------------------------------------------------
class Reshape(sh.Reshape):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        target = resolve_shape(shape, x.size)
        if int(np.prod(target, dtype=np.int64)) != x.size or list(target).count(-1):
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {x.size}")
        return x.reshape(target)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.input_shape)


def _permuted(x, axes):
    out = empty(tuple(x.shape[a] for a in axes), x.dtype)
    k("elementwise").permute(x, out, axes)
    return out


class Transpose(sh.Transpose):
    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            return sh.Transpose.forward(ctx, np.empty(x.shape, np.bool_), axes)  # its error
        ctx.inverse = tuple(int(i) for i in np.argsort(axes))
        return _permuted(x, axes)

    @staticmethod
    def backward(ctx, g):
        return _permuted(g, ctx.inverse)


class GetItem(sh.GetItem):
    """The index is resolved on the host into flat positions (numpy's indexing rules, every
    kind of index), sent to the device, and gathered; backward scatters back with atomic adds."""

    @staticmethod
    def forward(ctx, x, index):
        positions = np.arange(x.size, dtype=np.int64).reshape(x.shape)[index]
        ctx.input_shape, ctx.dtype = x.shape, x.dtype
        flat_positions = k("memory").to_device(np.ascontiguousarray(positions))
        ctx.save_for_backward(flat_positions)
        out = empty(positions.shape, x.dtype)
        k("elementwise").take(x, flat_positions, out)
        return out

    @staticmethod
    def backward(ctx, g):
        (positions,) = ctx.saved
        dx = k("memory").zeros(ctx.input_shape, ctx.dtype)
        k("elementwise").put_add(g, positions, dx)
        return dx


# ---- matrix products ---------------------------------------------------------------------------
def _gemm(a, b, transpose_a=False, transpose_b=False, bias=None):
    m = a.shape[1] if transpose_a else a.shape[0]
    n = b.shape[0] if transpose_b else b.shape[1]
    out = empty((m, n), np.result_type(a.dtype, b.dtype))
    k("matmul").gemm(a, b, empty(0, out.dtype) if bias is None else bias, out, transpose_a,
                     transpose_b)
    return out


def _as_matrices(a, b):
    """a as (M, K), b as (K, N): 1-D operands promoted as matmul does; a stack a (..., K) with a
    1-D or 2-D b folds its batch into M. A stacked b has no CUDA path."""
    if b.ndim > 2:
        raise NotImplementedError("matmul with a stacked (3-D or more) right operand has no "
                                  "CUDA implementation in microdl; reshape it or use the CPU")
    a2 = a.reshape(1, a.shape[0]) if a.ndim == 1 else rows(a)
    b2 = b.reshape(b.shape[0], 1) if b.ndim == 1 else b
    return a2, b2


class MatMul(mm.MatMul):
    @staticmethod
    def forward(ctx, a, b):
        sa, sb = tuple(a.shape), tuple(b.shape)
        if a.ndim == 0 or b.ndim == 0 or sa[-1] != sb[0 if b.ndim == 1 else -2]:
            return mm.MatMul.forward(ctx, np.empty(a.shape), np.empty(b.shape))  # its error
        a2, b2 = _as_matrices(a, b)
        ctx.save_for_backward(a, b)
        out_shape = sa[:-1] + (sb[-1],) if b.ndim == 2 else sa[:-1]
        return _gemm(a2, b2).reshape(out_shape)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        a2, b2 = _as_matrices(a, b)
        g2 = g.reshape(a2.shape[0], b2.shape[1])
        da = _gemm(g2, b2, transpose_b=True).reshape(a.shape) if ctx.needs_input_grad[0] else None
        db = _gemm(a2, g2, transpose_a=True).reshape(b.shape) if ctx.needs_input_grad[1] else None
        return da, db


class Linear(mm.Linear):
    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if x.ndim == 0 or weight.ndim != 2 or tuple(x.shape)[-1] != weight.shape[1] or (
                bias is not None and bias.shape != (weight.shape[0],)):
            return mm.Linear.forward(ctx, np.empty(x.shape), np.empty(weight.shape),
                                     None if bias is None else np.empty(bias.shape))  # error
        ctx.save_for_backward(x, weight)
        return _gemm(rows(x), weight, transpose_b=True, bias=bias).reshape(
            tuple(x.shape)[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        needs = tuple(ctx.needs_input_grad) + (False,)
        g2, x2 = rows(g), rows(x)
        dx = _gemm(g2, weight).reshape(x.shape) if needs[0] else None
        dw = _gemm(g2, x2, transpose_a=True) if needs[1] else None
        db = reduce_sum(g2, (0,), False) if needs[2] else None
        return dx, dw, db


TWINS = {cpu: twin for cpu, twin in [
    (ew.Add, Add), (ew.Sub, Sub), (ew.Mul, Mul), (ew.Div, Div), (ew.Neg, Neg), (ew.Pow, Pow),
    (ew.Exp, Exp), (ew.Log, Log), (ew.Abs, Abs), (ew.Clone, Clone), (ew.Cast, Cast),
    (ew.Dropout, Dropout), (rd.Sum, Sum), (rd.Mean, Mean), (rd.Max, Max),
    (sh.Reshape, Reshape), (sh.Transpose, Transpose), (sh.GetItem, GetItem),
    (mm.MatMul, MatMul), (mm.Linear, Linear)]}
