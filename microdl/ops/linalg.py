"""Linear-algebra ops: Einstein sums (the gradient of each operand is the einsum of the output
gradient with the others), cumulative products (a gradient exact with zeros) and vector norms
(PyTorch's masked formulas at 0). Matrix products are ops/matmul.py's."""

import math
import string

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, broadcast_to, contiguous, reduce_sum, select, unary
from .reduce import _normalized_axes, sum_dtype

_LETTERS = set(string.ascii_letters)


# ---- einsum ------------------------------------------------------------------------------------
def _parse_term(term, position, equation):
    """The labels of one term, with "..." kept as one "." entry."""
    labels, i = [], 0
    while i < len(term):
        if term.startswith("...", i):
            if "." in labels:
                raise RuntimeError("einsum(): found '.' for operand "
                                   f"{position} that is not part of any ellipsis")
            labels.append(".")
            i += 3
        elif term[i] in _LETTERS:
            labels.append(term[i])
            i += 1
        else:
            raise RuntimeError(f"einsum(): invalid subscript given at index "
                               f"{equation.index(term[i])} in the equation string, subscripts "
                               "must be in [a-zA-Z]")
    return labels


def einsum_plan(equation, shapes):
    """(an explicit equation of letters only, the shape each operand broadcasts to) for numpy-
    style ``equation`` over operands of ``shapes``: "..." becomes unused letters (right-aligned,
    broadcast), an implicit output is the ellipsis then the labels seen once, sorted; a label of
    size 1 broadcasts against the others, as in PyTorch."""
    equation = equation.replace(" ", "")
    left, arrow, right = equation.partition("->")
    terms = left.split(",")
    if len(terms) != len(shapes):
        more = "more" if len(shapes) > len(terms) else "fewer"
        raise RuntimeError(f"einsum(): {more} operands were provided than specified in the "
                           "equation")
    parsed = [_parse_term(t, k, equation) for k, t in enumerate(terms)]
    spare = iter(sorted(_LETTERS - set(equation), reverse=True))
    ellipsis_dims = max([len(s) - len(p) + 1 for p, s in zip(parsed, shapes) if "." in p],
                        default=0)
    ellipsis = "".join(next(spare) for _ in range(ellipsis_dims))[::-1]
    inputs, sizes, targets = [], {}, []
    for k, (labels, shape) in enumerate(zip(parsed, shapes)):
        named = len(labels) - ("." in labels)
        if ("." not in labels and named != len(shape)) or named > len(shape):
            unless = "" if "." in labels else " and no ellipsis was given"
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({len(shape)}) for "
                               f"operand {k}{unless}")
        own = "".join(ellipsis[ellipsis_dims - (len(shape) - named):] if label == "." else label
                      for label in labels)
        seen = {}
        for label, n in zip(own, shape):
            if label in seen and seen[label] != n:
                raise RuntimeError(f"einsum(): subscript {label} is repeated for operand {k} "
                                   f"but the sizes don't match, {n} != {seen[label]}")
            seen[label] = n
            known = sizes.get(label, 1)
            if n != 1 and known != 1 and n != known:
                raise RuntimeError(f"einsum(): subscript {label} has size {n} for operand {k} "
                                   f"which does not broadcast with previously seen size {known}")
            sizes[label] = max(known, n) if n != 1 else known
        inputs.append(own)
    for own, shape in zip(inputs, shapes):
        targets.append(tuple(sizes[label] if n == 1 else n for label, n in zip(own, shape)))
    if arrow:
        output = right.replace("...", ellipsis)
        for label in output:
            if label not in _LETTERS:
                raise RuntimeError("einsum(): invalid subscript given at index "
                                   f"{equation.index(label)} in the equation string, "
                                   "subscripts must be in [a-zA-Z]")
            if output.count(label) > 1:
                raise RuntimeError(f"einsum(): output subscript {label} appears more than once "
                                   "in the output")
            if label not in sizes:
                raise RuntimeError(f"einsum(): output subscript {label} does not appear in the "
                                   "equation for any input operand")
    else:
        counts = "".join(inputs)
        output = ellipsis + "".join(sorted(label for label in set(counts)
                                           if counts.count(label) == 1 and label not in ellipsis))
    return ",".join(inputs) + "->" + output, targets


def einsum_arrays(arrays, equation, dtype):
    """The einsum kernel's result as a new array (equation explicit, letters only)."""
    inputs, output = equation.split("->")
    sizes = {label: n for labels, a in zip(inputs.split(","), arrays)
             for label, n in zip(labels, a.shape)}
    dev = backend.for_arrays(*arrays)
    out = dev.empty(tuple(sizes[label] for label in output), dtype)
    dev.kernels("linalg").einsum(tuple(contiguous(a) for a in arrays), out, equation)
    return out


def _diagonal_positions(labels, shape):
    """The flat positions in an array of ``shape`` (labelled ``labels``, some repeated) of each
    combination of its distinct labels: where a gradient over the distinct labels lands."""
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    distinct = list(dict.fromkeys(labels))
    steps = [sum(int(s) for l, s in zip(labels, strides) if l == d) for d in distinct]
    grid = np.indices([shape[labels.index(d)] for d in distinct])
    return np.tensordot(np.array(steps, np.int64), grid, axes=1).astype(np.int64)


class Einsum(Function):
    """y = einsum(equation, *operands) (explicit, letters only: see einsum_plan);
    d operand_k = einsum of g and the other operands onto operand_k's labels, broadcast along
    labels only it has, and put on the diagonal where a label repeats in it."""

    @staticmethod
    def forward(ctx, *operands, equation):
        dtypes = {a.dtype for a in operands}
        if len(dtypes) > 1:
            first, other = operands[0].dtype, next(a.dtype for a in operands
                                                   if a.dtype != operands[0].dtype)
            raise RuntimeError(f"expected scalar type {_torch_name(first)} but found "
                               f"{_torch_name(other)}")
        ctx.equation = equation
        ctx.save_for_backward(*operands)
        return einsum_arrays(operands, equation, operands[0].dtype)

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved
        inputs, output = ctx.equation.split("->")
        inputs = inputs.split(",")
        grads = []
        for k, (labels, x) in enumerate(zip(inputs, operands)):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [a for j, a in enumerate(operands) if j != k]
            other_labels = [t for j, t in enumerate(inputs) if j != k]
            distinct = "".join(dict.fromkeys(labels))
            reached = "".join(l for l in distinct if l in output + "".join(other_labels))
            grad = einsum_arrays([g] + others, ",".join([output] + other_labels) + "->"
                                 + reached, g.dtype)
            distinct_shape = tuple(x.shape[labels.index(l)] for l in distinct)
            if reached != distinct:  # labels only this operand has: summed, so broadcast back
                grad = broadcast_to(grad.reshape(tuple(n if l in reached else 1 for l, n in
                                                       zip(distinct, distinct_shape))),
                                    distinct_shape)
            if distinct != labels:  # a repeated label: the gradient lies on that diagonal
                dev = backend.for_arrays(g)
                dx = dev.zeros(x.size, g.dtype)
                dev.kernels("elementwise").put_add(
                    contiguous(grad), _diagonal_positions(labels, x.shape), dx)
                grad = dx.reshape(x.shape)
            grads.append(grad)
        return tuple(grads)


_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _torch_name(dtype):
    return _TORCH_NAMES.get(str(dtype), str(dtype))


# ---- cumulative product --------------------------------------------------------------------------
class Cumprod(Function):
    """y_i = x_0 * ... * x_i along ``axis`` (int64 for integer and bool x);
    dx_k = (x_0 ... x_(k-1)) * sum_(i >= k) g_i x_(k+1) ... x_i (exact with zeros)."""

    @staticmethod
    def forward(ctx, x, axis=0):
        axes = _normalized_axes(axis, x.ndim)
        ctx.axis = axes[0] if axes else 0
        dev = backend.for_arrays(x)
        line = contiguous(x if x.ndim else x.reshape(1))
        y = dev.empty(line.shape, sum_dtype(x.dtype))
        dev.kernels("linalg").cumprod_axis(line, y, ctx.axis)
        ctx.save_for_backward(line)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        dev = backend.for_arrays(g)
        dx = dev.empty(x.shape, g.dtype)
        dev.kernels("linalg").cumprod_backward(x, contiguous(g).reshape(x.shape), dx, ctx.axis)
        return dx.reshape(g.shape)


# ---- vector norms ------------------------------------------------------------------------------
class VectorNorm(Function):
    """y = (sum |x|^p)^(1/p) over ``axes`` (all when None); p = inf: max |x|, -inf: min |x|,
    0: the count of nonzeros. The gradient is PyTorch's: p = +-inf: g sgn(x) [|x| = y] / (ties);
    p < 1: g sgn(x) |x|^(p-1) y^(1-p) (0 where x = 0); p < 2: g sgn(x) |x|^(p-1) / y^(p-1);
    else g x |x|^(p-2) / y^(p-1) (both 0 where y = 0); p = 0: none."""

    @staticmethod
    def forward(ctx, x, ord=2.0, axis=None, keepdims=False):
        if x.dtype.kind != "f":
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                               f"as input. Got {_torch_name(x.dtype)}")
        axes = _normalized_axes(axis, x.ndim)
        ctx.ord, ctx.axes = float(ord), axes
        dev = backend.for_arrays(x)
        size = unary(x, "abs")
        kept = tuple(1 if d in axes else n for d, n in enumerate(x.shape))
        if math.isinf(ctx.ord):
            y = dev.empty(kept, x.dtype)
            reducer = "max_axes" if ctx.ord > 0 else "min_axes"
            getattr(dev.kernels("reduce"), reducer)(size, y, axes)
        elif ctx.ord == 0:
            y = reduce_sum(binary(size, 0, "ne", x.dtype), axes, True)
        elif ctx.ord == 1:
            y = reduce_sum(size, axes, True)
        elif ctx.ord == 2:
            y = unary(reduce_sum(binary(x, x, "mul", x.dtype), axes, True), "sqrt")
        else:
            y = unary(reduce_sum(unary(size, "pow", scalar=ctx.ord), axes, True), "pow",
                      scalar=1.0 / ctx.ord)
        ctx.save_for_backward(x, size, y)
        return y if keepdims else y.reshape(tuple(n for d, n in enumerate(x.shape)
                                                  if d not in axes))

    @staticmethod
    def backward(ctx, g):
        if ctx.ord == 0:
            return None
        x, size, y = ctx.saved
        p, dtype = ctx.ord, x.dtype
        g = g.reshape(y.shape)
        sign = unary(x, "sign")
        if math.isinf(p):
            winners = binary(size, y, "eq", dtype)
            ties = reduce_sum(winners, ctx.axes, True)
            scaled = binary(sign, winners, "mul", dtype)
            scale = binary(g, ties, "div", dtype)
        elif p < 1:
            power = unary(size, "pow", scalar=p - 1)
            scaled = select(binary(x, 0, "eq", np.dtype(np.bool_)), np.zeros((), dtype),
                            binary(sign, power, "mul", dtype), dtype)
            scale = binary(g, unary(y, "pow", scalar=1 - p), "mul", dtype)
        else:
            if p < 2:
                scaled = binary(sign, unary(size, "pow", scalar=p - 1), "mul", dtype)
            else:
                scaled = x if p == 2 else binary(x, unary(size, "pow", scalar=p - 2), "mul",
                                                 dtype)
            ratio = binary(g, y if p == 2 else unary(y, "pow", scalar=p - 1), "div", dtype)
            zero = np.zeros((), dtype)
            scale = select(binary(y, 0, "eq", np.dtype(np.bool_)), zero, ratio, dtype)
        return binary(scaled, scale, "mul", dtype)
