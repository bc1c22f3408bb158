"""Reductions over axes on the ``reduce`` kernels: sum, mean, max/min (all values, amax/amin,
and max(dim)/min(dim) with their indices), var/std, prod, cumsum, all/any, argmax/argmin."""

import math
import warnings
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, broadcast_to, copy, reduce_sum, reduced_shape, unary

# PyTorch's torch.return_types.max / .min: (values, indices), unpackable, fields by name.
max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])

_TORCH_DTYPE_NAMES = {"b": "Bool", "u1": "Byte", "i1": "Char", "i2": "Short", "i4": "Int",
                      "i8": "Long"}


def _normalized_axes(axis, ndim):
    """``axis`` (None, an int or a sequence) as sorted non-negative axes; None and an empty
    sequence both mean every axis, as PyTorch's dim=None / dim=[] (all/any differ: all_any)."""
    axes = () if axis is None else (axis,) if np.ndim(axis) == 0 else tuple(axis)
    if not axes:
        return tuple(range(ndim))
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                f"{max(ndim, 1) - 1}], but got {a})"
            )
    wrapped = [a % max(ndim, 1) for a in axes]
    for i, a in enumerate(wrapped):
        if a in wrapped[:i]:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return tuple(sorted(wrapped)) if ndim else ()


def _expand_back(g, input_shape, axes):
    """A reduced gradient broadcast back over the reduced axes to the input's shape."""
    return broadcast_to(g.reshape(reduced_shape(input_shape, axes, True)), input_shape)


def _kept(g, input_shape, axes):
    """A reduced gradient with the reduced axes kept as 1s (it broadcasts against the input)."""
    return g.reshape(reduced_shape(input_shape, axes, True))


def sum_dtype(dtype):
    """PyTorch's sum (and prod, cumsum) dtype: booleans and integers add up as int64, floats keep
    theirs."""
    return np.dtype(np.int64) if dtype.kind in "biu" else dtype


def _torch_name(dtype):
    return _TORCH_DTYPE_NAMES.get(dtype.str[1:] if dtype.kind != "b" else "b", str(dtype))


class Sum(Function):
    """y = sum of x over axes;  dx = g broadcast back over those axes."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalized_axes(axis, x.ndim)
        ctx.input_shape = x.shape
        return reduce_sum(x, ctx.axes, keepdims, dtype=sum_dtype(x.dtype))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.input_shape, ctx.axes)


class Mean(Function):
    """y = sum of x over axes / n;  dx = g / n broadcast back."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        if x.dtype.kind != "f":
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either "
                               f"a floating point or complex dtype. Got: {_torch_name(x.dtype)}")
        ctx.axes = _normalized_axes(axis, x.ndim)
        ctx.input_shape = x.shape
        ctx.count = math.prod(x.shape[a] for a in ctx.axes)
        return reduce_sum(x, ctx.axes, keepdims, 1.0 / ctx.count if ctx.count else np.nan)

    @staticmethod
    def backward(ctx, g):
        return unary(_expand_back(g, ctx.input_shape, ctx.axes), "scale",
                     scalar=1.0 / ctx.count)


class Extreme(Function):
    """y = max (``largest``) or min of x over axes (max(), amax, amin);
    dx = g split evenly among the elements equal to the extreme."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, largest=True, name="max"):
        if x.size == 0 and axis is None:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0. Specify the reduction dim with the 'dim' "
                               "argument.")
        ctx.axes = _normalized_axes(axis, x.ndim)
        for a in ctx.axes:
            if x.shape[a] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")
        dev = backend.for_arrays(x)
        y = dev.empty(reduced_shape(x.shape, ctx.axes, True), x.dtype)
        dev.kernels("reduce").max_axes(x, y, ctx.axes) if largest else \
            dev.kernels("reduce").min_axes(x, y, ctx.axes)
        ctx.save_for_backward(x, y)
        return y if keepdims else y.reshape(reduced_shape(x.shape, ctx.axes, False))

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        winners = binary(x, y, "eq", x.dtype)
        share = binary(winners, reduce_sum(winners, ctx.axes, True), "div", x.dtype)
        return binary(share, _expand_back(g, x.shape, ctx.axes), "mul", x.dtype)


def _line_axis(x, dim, name):
    """``dim`` normalized for a reduction along one axis; a 0-d x is read as 1 value long."""
    axes = _normalized_axes(dim, x.ndim)  # a 0-d x takes dim 0 or -1, as in PyTorch
    axis = axes[0] if axes else 0
    if x.ndim and x.shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
    return axis


def arg_extreme(x, dim=None, keepdim=False, largest=True):
    """The index of the first maximum (``largest``) or minimum of x (int64), over all values
    (dim None: a flat index) or along ``dim``. Not differentiable: a plain function."""
    name = "argmax" if largest else "argmin"
    dev = backend.for_arrays(x)
    kernel = getattr(dev.kernels("reduce"), name + "_axis")
    if dim is None:
        if x.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        out = dev.empty((), np.int64)
        kernel(x.reshape(x.size), out, 0)
        return out.reshape((1,) * x.ndim) if keepdim else out
    axis = _line_axis(x, dim, name)
    line = x if x.ndim else x.reshape(1)
    out = dev.empty(line.shape[:axis] + line.shape[axis + 1:], np.int64)
    kernel(line, out, axis)
    kept = x.shape[:axis] + (1,) + x.shape[axis + 1:] if x.ndim else ()
    return out.reshape(kept) if keepdim else out


class TakeAlong(Function):
    """y = x at ``index`` along ``axis`` (index has x's rank, 1 long on ``axis``: the winners of
    max(dim)/min(dim));  dx = zeros with g put back at index (one position per line)."""

    @staticmethod
    def forward(ctx, x, index, axis=0, keepdims=False):
        # a 0-d x (and its 0-d index) read as one value along axis 0
        line, lines_index = (x, index) if x.ndim else (x.reshape(1), index.reshape(1))
        ctx.index, ctx.axis, ctx.input_shape = lines_index, axis, x.shape
        dev = backend.for_arrays(x, index)
        y = dev.empty(lines_index.shape, x.dtype)
        dev.kernels("reduce").take_along_axis(line, lines_index, y, axis)
        return y.reshape(index.shape if keepdims else reduced_shape(x.shape, (axis,), False))

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.zeros(ctx.input_shape or (1,), g.dtype)
        values = g.reshape(ctx.index.shape)
        dev.kernels("reduce").put_along_axis(values, ctx.index, dx, ctx.axis)
        return dx.reshape(ctx.input_shape), None


def extreme_along(x_tensor, dim, keepdim, largest):
    """max(dim) / min(dim) as PyTorch: (values, indices), the gradient of values going to the
    index chosen (the first extreme, or the first NaN)."""
    x = x_tensor.array
    indices = arg_extreme(x, dim, keepdim=True, largest=largest)
    axis = _line_axis(x, dim, "max" if largest else "min")
    values = TakeAlong.apply(x_tensor, indices, axis=axis, keepdims=keepdim)
    if not keepdim:
        indices = indices.reshape(reduced_shape(x.shape, (axis,), False))
    return values, indices


class Var(Function):
    """var = sum((x - mean)^2) / max(0, n - correction), std = sqrt(var), both accumulated in
    float64 over two passes (never E[x^2] - E[x]^2);
    dvar/dx = 2 (x - mean) / (n - correction), dstd/dx = (x - mean) / ((n - correction) std)
    (0 where std is 0, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False, correction=1, root=False):
        if x.dtype.kind != "f":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        ctx.axes = _normalized_axes(axis, x.ndim)
        count = math.prod(x.shape[a] for a in ctx.axes)
        ctx.dof = max(0, count - correction)
        if ctx.dof == 0:
            warnings.warn(f"{'std' if root else 'var'}(): degrees of freedom is <= 0. "
                          "Correction should be strictly less than the reduction factor (input "
                          "numel divided by output numel).", UserWarning, stacklevel=3)
        wide, dtype = np.dtype(np.float64), x.dtype
        x = x if x.dtype == wide else copy(x, wide)
        mean = reduce_sum(x, ctx.axes, True, 1.0 / count if count else np.nan, wide)
        centered = binary(x, mean, "sub", wide)
        y = reduce_sum(binary(centered, centered, "mul", wide), ctx.axes, keepdims,
                       1.0 / ctx.dof if ctx.dof else math.inf)
        y = copy(unary(y, "pow", scalar=0.5) if root else y, dtype)  # rounded once, at the end
        ctx.root = root
        ctx.save_for_backward(copy(centered, y.dtype), y)
        return y

    @staticmethod
    def backward(ctx, g):
        centered, y = ctx.saved
        shape = centered.shape
        g = _kept(g, shape, ctx.axes)
        if ctx.root:  # d sqrt(v) = dv / (2 std); std + (std == 0) keeps 0 / 0 out
            std = _kept(y, shape, ctx.axes)
            g = binary(g, binary(std, binary(std, 0.0, "eq", std.dtype), "add", std.dtype),
                       "div", centered.dtype)
            scale = 1.0 / ctx.dof if ctx.dof else math.inf
        else:
            scale = 2.0 / ctx.dof if ctx.dof else math.inf
        return unary(binary(centered, g, "mul", centered.dtype), "scale", scalar=scale)


class Prod(Function):
    """y = product of x over axes. dx_i = g * (product of the others): y / x_i when a line has no
    zero; at a line's one zero, the product of the rest; 0 elsewhere (and everywhere on a line
    with two zeros or more)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.axes = _normalized_axes(axis, x.ndim)
        dev = backend.for_arrays(x)
        y = dev.empty(reduced_shape(x.shape, ctx.axes, keepdims), sum_dtype(x.dtype))
        dev.kernels("reduce").prod_axes(x, y, ctx.axes)
        ctx.save_for_backward(x)
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        dev = backend.for_arrays(x)
        dtype = x.dtype
        zeros = binary(x, 0.0, "eq", dtype)
        zero_count = reduce_sum(zeros, ctx.axes, True)
        nonzero = binary(x, zeros, "add", dtype)  # the zeros read as ones
        product_of_nonzero = dev.empty(zero_count.shape, dtype)
        dev.kernels("reduce").prod_axes(nonzero, product_of_nonzero, ctx.axes)
        # who gets a gradient: everyone on a zero-free line, the zero itself on a one-zero line
        gets = binary(binary(zero_count, 0.0, "eq", dtype),
                      binary(zeros, binary(zero_count, 1.0, "eq", dtype), "mul", dtype),
                      "add", dtype)
        others = binary(product_of_nonzero, nonzero, "div", dtype)
        return binary(binary(others, gets, "mul", dtype), _kept(g, x.shape, ctx.axes), "mul",
                      dtype)


class Cumsum(Function):
    """y_i = sum of x_j for j <= i along ``axis``;  dx_i = sum of g_j for j >= i."""

    @staticmethod
    def forward(ctx, x, axis=0):
        axes = _normalized_axes(axis, x.ndim)
        ctx.axis = axes[0] if axes else 0
        dev = backend.for_arrays(x)
        line = x if x.ndim else x.reshape(1)
        y = dev.empty(line.shape, sum_dtype(x.dtype))
        dev.kernels("reduce").cumsum_axis(line, y, ctx.axis, False)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        line = g if g.ndim else g.reshape(1)
        dx = dev.empty(line.shape, g.dtype)
        dev.kernels("reduce").cumsum_axis(line, dx, ctx.axis, True)
        return dx.reshape(g.shape)


def all_any(x, axis=None, keepdims=False, any_=False):
    """all (every value nonzero) or any (some value nonzero) over axes, as bool (uint8 for a
    uint8 input, as PyTorch keeps it). Not differentiable. An empty ``axis`` reduces nothing
    (PyTorch's all/any with dim=(): x != 0, unlike sum's dim=() which reduces all)."""
    empty = axis is not None and np.ndim(axis) != 0 and len(axis) == 0
    axes = () if empty else _normalized_axes(axis, x.ndim)
    # count the values that decide: zeros for all, nonzeros for any
    zeros = binary(x, 0, "eq", np.dtype(np.int64))
    counted = reduce_sum(zeros, axes, keepdims)
    out_dtype = np.dtype(np.uint8) if x.dtype == np.uint8 else np.dtype(np.bool_)
    if any_:  # some value is nonzero: fewer zeros than values
        count = math.prod(x.shape[a] for a in axes)
        return binary(binary(counted, count, "eq", np.dtype(np.int64)), 0, "eq", out_dtype)
    return binary(counted, 0, "eq", out_dtype)
