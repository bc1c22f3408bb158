"""Indexing ops: gather / scatter / scatter_add along an axis (index_select and index_add are
gathers and scatter-adds of an index broadcast along the other axes), and reads at flat
positions chosen on the host (take, masked_select, diagonal) with their adjoint, Spread (diag of
a vector). Gradients move values back the way they came: a gather's is a scatter-add."""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous, copy

_INT64 = np.dtype(np.int64)


def _host(array):
    return backend.for_arrays(array).to_host(array) if not isinstance(array, np.ndarray) \
        else array


def check_index_bounds(index, size, axis):
    """PyTorch's error for an index outside [0, size) along ``axis`` (read on the host: the
    bounds are a question the caller must answer before a kernel writes anywhere)."""
    values = _host(index)
    if values.size and (values.min() < 0 or values.max() >= size):
        bad = values.min() if values.min() < 0 else values.max()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {size}")


def check_along_axis(name, x, index, axis, other=None):
    """torch.gather / scatter's checks of an index against x (and src)."""
    if index.dtype.kind not in "iu" or index.dtype.itemsize not in (4, 8):
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    if index.ndim != max(x.ndim, 1) and not (index.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           f"{'input' if other is None else 'self'} tensor")
    if other is not None and max(other.ndim, 1) != max(index.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    line = lambda shape: list(shape) or [1]  # noqa: E731 (a 0-d array read as 1 value)
    for d, n in enumerate(line(index.shape)):
        if d != axis and n > line(x.shape)[d]:
            if other is None:
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(index.shape)} to be no larger than self "
                                   f"{list(x.shape)} apart from dimension {axis}")
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(x.shape)} apart from dimension {axis} and to be no "
                               f"larger size than src {list(other.shape)}")
        if other is not None and n > line(other.shape)[d]:
            raise RuntimeError(f"Expected index {list(index.shape)} to be no larger than self "
                               f"{list(x.shape)} apart from dimension {axis} and to be no "
                               f"larger size than src {list(other.shape)}")
    check_index_bounds(index, line(x.shape)[axis], axis)


def _as_lines(x, index):
    """x and index as arrays of one rank (0-d ones read as 1 value), the index int64 and
    C-contiguous."""
    x = x.reshape(1) if x.ndim == 0 else x
    index = index.reshape(x.shape[:0] + (index.size,)) if index.ndim == 0 else index
    if index.dtype != _INT64:
        index = copy(index, _INT64)
    return contiguous(x), contiguous(index)


def gather(x, index, axis):
    dev = backend.for_arrays(x, index)
    x, index = _as_lines(x, index)
    out = dev.empty(index.shape, x.dtype)
    dev.kernels("indexing").gather_along_axis(x, index, out, axis)
    return out


def scatter_into(target, values, index, axis, accumulate):
    """target (C-contiguous, written in place) with values scattered at index along axis."""
    dev = backend.for_arrays(target, values, index)
    lines, index = _as_lines(target, index)
    values = contiguous(values).reshape(index.shape)
    dev.kernels("indexing").scatter_along_axis(values, index, lines, axis, accumulate)
    return target


def _crop(src, shape):
    """src's leading block of ``shape`` (torch reads src only where the index reaches)."""
    if tuple(src.shape) == tuple(shape):
        return contiguous(src)
    dev = backend.for_arrays(src)
    out = dev.empty(tuple(shape), src.dtype)
    dev.kernels("shape").read_block(contiguous(src), out, (0,) * len(shape))
    return out


def _pad(block, shape):
    """block written at the start of zeros of ``shape`` (the adjoint of _crop)."""
    if tuple(block.shape) == tuple(shape):
        return block
    dev = backend.for_arrays(block)
    out = dev.zeros(tuple(shape), block.dtype)
    dev.kernels("shape").write_block(contiguous(block), out, (0,) * len(shape))
    return out


class Gather(Function):
    """y[p] = x[p0, ..., index[p], ..., pn] (torch.gather);  dx = zeros with g added at the
    same positions (repeats add up)."""

    @staticmethod
    def forward(ctx, x, index, axis=0):
        ctx.index, ctx.axis, ctx.input_shape = index, axis, x.shape
        return gather(x, index, axis).reshape(index.shape)

    @staticmethod
    def backward(ctx, g):
        dx = backend.for_arrays(g).zeros(ctx.input_shape, g.dtype)
        return scatter_into(dx, g, ctx.index, ctx.axis, accumulate=True)


class Scatter(Function):
    """y = x with src[p] written (or, ``accumulate``, added) at (p0, ..., index[p], ..., pn)
    along ``axis`` (torch.scatter / scatter_add; src read on index's shape only).
    dx = g (scatter: zero where a value was written over);  dsrc = g gathered at index."""

    @staticmethod
    def forward(ctx, x, src, index, axis=0, accumulate=False):
        ctx.index, ctx.axis, ctx.accumulate, ctx.src_shape = index, axis, accumulate, src.shape
        return scatter_into(copy(x), _crop(src, index.shape), index, axis, accumulate)

    @staticmethod
    def backward(ctx, g):
        need_x, need_src = ctx.needs_input_grad[:2]
        dx = dsrc = None
        if need_x:
            dx = g
            if not ctx.accumulate:  # what was written over got no gradient
                dev = backend.for_arrays(g)
                dx = scatter_into(copy(g), dev.zeros(ctx.index.shape, g.dtype), ctx.index,
                                  ctx.axis, accumulate=False)
        if need_src:
            dsrc = _pad(gather(g, ctx.index, ctx.axis).reshape(ctx.index.shape),
                        ctx.src_shape)
        return dx, dsrc


class Take(Function):
    """y = x.flat[positions] (a host array of flat positions: take, masked_select, diagonal);
    dx = zeros with g added at positions (repeats add up)."""

    @staticmethod
    def forward(ctx, x, positions):
        ctx.positions, ctx.input_shape = positions, x.shape
        dev = backend.for_arrays(x)
        out = dev.empty(positions.shape, x.dtype)
        dev.kernels("elementwise").take(contiguous(x).reshape(x.size), positions, out)
        return out

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.zeros(math.prod(ctx.input_shape), g.dtype)
        dev.kernels("elementwise").put_add(contiguous(g), ctx.positions, dx)
        return dx.reshape(ctx.input_shape)


class Spread(Function):
    """y = zeros of ``shape`` with x added at the flat ``positions`` (a host array of x's shape;
    diag of a vector): Take's adjoint;  dx = g.flat[positions]."""

    @staticmethod
    def forward(ctx, x, positions, shape):
        ctx.positions = positions
        dev = backend.for_arrays(x)
        y = dev.zeros(math.prod(shape), x.dtype)
        dev.kernels("elementwise").put_add(contiguous(x), positions, y)
        return y.reshape(tuple(shape))

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        dx = dev.empty(ctx.positions.shape, g.dtype)
        dev.kernels("elementwise").take(contiguous(g).reshape(g.size), ctx.positions, dx)
        return dx


def nonzero(x):
    """The (n, ndim) int64 coordinates of x's nonzero values, in C order (found on the host and
    sent back to x's device)."""
    dev = backend.for_arrays(x)
    found = np.ascontiguousarray(np.argwhere(_host(x)), dtype=_INT64)
    return found if dev is backend.CPU else dev.to_here(found)


def host_array(x):
    """x's values on the host (for choices made there: masks, sort orders)."""
    return _host(x)


def to_device_of(like, host):
    """A host array moved to the device of ``like`` (a 0-d one stays 0-d: not
    np.ascontiguousarray, which makes it 1-d)."""
    dev = backend.for_arrays(like)
    host = np.asarray(host, order="C")
    return host if dev is backend.CPU else dev.to_here(host)
