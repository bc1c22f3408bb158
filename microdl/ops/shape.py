"""Shape ops: reshape, transpose, indexing, blocks (narrow, cat, pad), expand, repeat, flip.
They move values; backward moves gradients back.

Reshape is a view of a C-contiguous array (numpy's and numba's device arrays both give one);
the others write new C-contiguous arrays through the ``elementwise`` kernels (permute, take,
put_add, broadcast_to) and the ``shape`` kernels (read_block, write_block), so every kernel
downstream may read its input flat on any device.
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import broadcast_to, contiguous, permuted, reduce_sum, resolve_shape


def check_shape(shape, size):
    """PyTorch's infer_size checks of a reshape target for ``size`` values: at most one -1,
    no other negative size, and a product that is ``size`` (or divides it, with the -1)."""
    shape = [int(n) for n in shape]
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for i, n in enumerate(shape):
        if n < -1:
            raise RuntimeError(f"invalid shape dimension {n} at index {i} of shape {shape}")
    known = math.prod(n for n in shape if n != -1)
    inferred = -1 in shape
    if size == known or (inferred and known > 0 and size % known == 0):
        if inferred and known == 0:
            raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {shape} "
                               "because the unspecified dimension size -1 can be any value and "
                               "is ambiguous")
        return
    raise RuntimeError(f"shape '{shape}' is invalid for input of size {size}")


class Reshape(Function):
    """y = x viewed with a new shape;  dx = g reshaped to x's shape."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        check_shape(shape, x.size)
        return contiguous(x).reshape(resolve_shape(shape, x.size))

    @staticmethod
    def backward(ctx, g):
        return contiguous(g).reshape(ctx.input_shape)


class Transpose(Function):
    """y = x with axes permuted;  dx = g with the inverse permutation."""

    @staticmethod
    def forward(ctx, x, axes=None):
        axes = tuple(range(x.ndim))[::-1] if axes is None else tuple(a % x.ndim for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise RuntimeError(
                f"permute: dims {axes} are not a permutation of the {x.ndim} dimensions of an "
                f"input of shape {x.shape}"
            )
        ctx.inverse = tuple(int(i) for i in np.argsort(axes))
        return permuted(x, axes)

    @staticmethod
    def backward(ctx, g):
        return permuted(g, ctx.inverse)


def _indexed_shape(shape, index):
    """The shape of x[index] for x of ``shape``, found on a zero-stride stand-in (no data);
    numpy's IndexError in PyTorch's words."""
    stand_in = np.lib.stride_tricks.as_strided(np.zeros(1, np.bool_), shape, (0,) * len(shape))
    try:
        return stand_in[index].shape
    except IndexError as error:
        raise IndexError(str(error).replace(" axis ", " dimension ")) from None


def _index_item(item):
    """One entry of an index, checked as PyTorch checks it: 0-d integer arrays act as ints,
    lists become arrays, float indices are errors."""
    if isinstance(item, (list, np.ndarray)):
        item = np.asarray(item)
        if item.dtype.kind in "iu" and item.ndim == 0:
            return int(item)
        if item.dtype.kind not in "iub" and item.size:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        return item.astype(np.int64) if item.dtype.kind != "b" else item
    if isinstance(item, (float, np.floating)):
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                         f"Variables are valid indices (got {type(item).__name__})")
    if isinstance(item, slice) and item.step is not None and item.step <= 0:
        raise ValueError("step must be greater than zero")
    return item


def torch_index(index, shape):
    """A numpy index that selects what PyTorch's x[index] does for x of ``shape``.

    The two differ where integers meet arrays: PyTorch applies an integer first, as a select
    that removes its dimension, so it never counts as an advanced index (x[0, :, [0, 1]] on a
    (2, 3, 4) x is (3, 2); numpy takes 0 and [0, 1] as two advanced indices split by a slice and
    puts their dimension first: (2, 3)). Such an index becomes the flat positions it reads (an
    int64 array), found in two numpy steps: the basic part (ints, slices, None, ...), then the
    arrays at the dimensions that remain."""
    items = tuple(_index_item(i) for i in (index if isinstance(index, tuple) else (index,)))
    arrays = [i for i in items if isinstance(i, np.ndarray)]
    ints = [i for i in items if isinstance(i, (int, np.integer)) and not isinstance(i, bool)]
    if not (arrays and ints):
        _indexed_shape(shape, items)
        return items
    basic, advanced = [], []
    for item in items:
        if isinstance(item, np.ndarray):
            dims = item.ndim if item.dtype == np.bool_ else 1
            basic += [slice(None)] * dims
            advanced.append(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            basic.append(item)
        else:
            basic.append(item)
            advanced.append(item if item is Ellipsis else slice(None))
    _indexed_shape(shape, tuple(basic))
    selected = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)[tuple(basic)]
    try:
        return selected[tuple(advanced)]
    except IndexError as error:
        raise IndexError(str(error).replace(" axis ", " dimension ")) from None


class GetItem(Function):
    """y = x[index] (PyTorch's indexing rules, see ``torch_index``);  dx = zeros like x with g
    added at index (repeated positions add up)."""

    @staticmethod
    def forward(ctx, x, index):
        index = torch_index(index, x.shape)
        if isinstance(index, np.ndarray):  # flat positions: read x flat
            ctx.flat = True
            x = contiguous(x).reshape(x.size)
            out_shape = index.shape
        else:
            ctx.flat = False
            out_shape = _indexed_shape(x.shape, index)
        ctx.index, ctx.input_shape, ctx.dtype = index, x.shape, x.dtype
        dev = backend.for_arrays(x)
        out = dev.empty(out_shape, x.dtype)
        dev.kernels("elementwise").take(x, index, out)
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.zeros(ctx.input_shape, ctx.dtype)
        dev.kernels("elementwise").put_add(contiguous(g), ctx.index, dx)
        return dx


class ReadBlock(Function):
    """y = x[o0 : o0 + n0, o1 : o1 + n1, ...] (narrow, split, chunk, unbind);
    dx = zeros like x with g written at the block."""

    @staticmethod
    def forward(ctx, x, offsets, shape):
        ctx.offsets, ctx.input_shape = tuple(offsets), x.shape
        dev = backend.for_arrays(x)
        out = dev.empty(tuple(shape), x.dtype)
        dev.kernels("shape").read_block(contiguous(x), out, ctx.offsets)
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.zeros(ctx.input_shape, g.dtype)
        dev.kernels("shape").write_block(contiguous(g), dx, ctx.offsets)
        return dx


def cat_dtype(dtypes):
    """PyTorch's result dtype of cat: the widest float if any input is a float, else numpy's
    promotion of the integers and booleans."""
    floats = [d for d in dtypes if d.kind == "f"]
    return np.result_type(*floats) if floats else np.result_type(*dtypes)


class Cat(Function):
    """y = the inputs one after another along ``axis`` (in their promoted dtype);
    dx_k = the block of g where input k went."""

    @staticmethod
    def forward(ctx, *xs, axis=0, dtype=None):
        dev = backend.for_arrays(*xs)
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        out = dev.empty(tuple(shape), dtype or cat_dtype([x.dtype for x in xs]))
        ctx.starts, ctx.shapes, start = [], [x.shape for x in xs], 0
        for x in xs:
            offsets = [0] * len(shape)
            offsets[axis] = start
            ctx.starts.append(tuple(offsets))
            dev.kernels("shape").write_block(contiguous(x), out, tuple(offsets))
            start += x.shape[axis]
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        g = contiguous(g)
        grads = []
        for offsets, shape, needed in zip(ctx.starts, ctx.shapes, ctx.needs_input_grad):
            if not needed:
                grads.append(None)
                continue
            dx = dev.empty(shape, g.dtype)
            dev.kernels("shape").read_block(g, dx, offsets)
            grads.append(dx)
        return tuple(grads)


class ConstantPad(Function):
    """y = x with ``before[d]`` values of ``value`` ahead of each axis d and ``after[d]`` behind
    (negative amounts crop);  dx = the block of g where x's kept values went."""

    @staticmethod
    def forward(ctx, x, before, after, value=0.0):
        dev = backend.for_arrays(x)
        # what survives a negative pad, where it starts in x and where it lands in y
        ctx.source = tuple(max(0, -b) for b in before)
        ctx.target = tuple(max(0, b) for b in before)
        ctx.kept = tuple(n - max(0, -b) - max(0, -a) for n, b, a in zip(x.shape, before, after))
        ctx.input_shape = x.shape
        out_shape = tuple(n + b + a for n, b, a in zip(x.shape, before, after))
        if min(ctx.kept, default=0) < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        x = contiguous(x)
        if ctx.kept != x.shape:
            block = dev.empty(ctx.kept, x.dtype)
            dev.kernels("shape").read_block(x, block, ctx.source)
            x = block
        out = dev.full(out_shape, value, x.dtype)
        dev.kernels("shape").write_block(x, out, ctx.target)
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        kept = dev.empty(ctx.kept, g.dtype)
        dev.kernels("shape").read_block(contiguous(g), kept, ctx.target)
        if ctx.kept == ctx.input_shape:
            return kept
        dx = dev.zeros(ctx.input_shape, g.dtype)
        dev.kernels("shape").write_block(kept, dx, ctx.source)
        return dx


class Expand(Function):
    """y = x broadcast to ``shape`` (written out);  dx = g summed over the stretched axes (the
    engine sums a gradient back to its input's shape)."""

    @staticmethod
    def forward(ctx, x, shape):
        return broadcast_to(x, tuple(shape))

    @staticmethod
    def backward(ctx, g):
        return g


class Repeat(Function):
    """y = x tiled ``repeats`` times along each axis (x first padded with leading 1s to the
    length of ``repeats``): an axis of n values repeated r times is read as (1, n), broadcast
    to (r, n) and flattened (an axis with r == 1 or n == 1 needs no pair: fewer dimensions for
    the kernels);  dx = g read that way, summed over the r axes."""

    @staticmethod
    def forward(ctx, x, repeats):
        shape = (1,) * (len(repeats) - x.ndim) + tuple(x.shape)
        ctx.input_shape = x.shape
        source, tiled, ctx.repeat_axes = [], [], []
        for r, n in zip(repeats, shape):
            if r != 1 and n != 1:
                ctx.repeat_axes.append(len(tiled))
                source += [1, n]
                tiled += [r, n]
            else:
                if r != 1:
                    ctx.repeat_axes.append(len(tiled))
                source.append(n)
                tiled.append(r * n)
        ctx.tiled = tuple(tiled)
        out = broadcast_to(contiguous(x).reshape(tuple(source)), ctx.tiled)
        return out.reshape(tuple(r * n for r, n in zip(repeats, shape)))

    @staticmethod
    def backward(ctx, g):
        summed = reduce_sum(contiguous(g).reshape(ctx.tiled), tuple(ctx.repeat_axes), False)
        return summed.reshape(ctx.input_shape)


class Flip(Function):
    """y = x reversed along ``axes``;  dx = g reversed along them (a flip is its own inverse)."""

    @staticmethod
    def forward(ctx, x, axes):
        ctx.index = tuple(slice(None, None, -1) if d in axes else slice(None)
                          for d in range(x.ndim))
        return _flipped(x, ctx.index)

    @staticmethod
    def backward(ctx, g):
        return _flipped(g, ctx.index)


def _flipped(x, index):
    dev = backend.for_arrays(x)
    out = dev.empty(x.shape, x.dtype)
    dev.kernels("elementwise").take(contiguous(x), index, out)
    return out
