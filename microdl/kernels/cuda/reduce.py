"""Sums, maxima, minima and products over any set of axes of a C-contiguous device array.

One block per output value (grid-stride over the outputs): its threads stride over the values
reduced into it, in float64, and a shared-memory tree combines them in a fixed order, so results
do not depend on the grid. Axes are described as (shape, element strides) pairs of the kept and
the reduced axes, padded to MAX_DIMS, so one compiled kernel serves every rank and axis set.
"""

import math

from numba import cuda, float64

from . import _config as config
from ._launch import flat, grid, specialized, tree_threads
from .elementwise import MAX_DIMS, _element_strides, _padded

SUM, MAX, MIN, PROD = 0, 1, 2, 3


@cuda.jit(device=True)
def _offset(index, shape, strides, base):
    for d in range(MAX_DIMS - 1, -1, -1):
        coord = index % shape[d]
        index //= shape[d]
        base += coord * strides[d]
    return base


@cuda.jit(device=True)
def _combine(op, acc, v):
    if op == SUM:
        return acc + v
    if op == PROD:
        return acc * v
    # NaN wins, as in numpy's max and min
    if op == MIN:
        return v if (v < acc or v != v) else acc
    return v if (v > acc or v != v) else acc


@cuda.jit(device=True)
def _identity(op):
    if op == SUM:
        return 0.0
    if op == PROD:
        return 1.0
    return math.inf if op == MIN else -math.inf


def _build(threads):
    @cuda.jit
    def kernel(x, out, kept_shape, kept_strides, red_shape, red_strides, count, op, scale):
        acc_shared = cuda.shared.array(threads, float64)
        t = cuda.threadIdx.x
        o = cuda.blockIdx.x
        while o < out.size:
            base = _offset(o, kept_shape, kept_strides, 0)
            acc = _identity(op)
            r = t
            while r < count:
                acc = _combine(op, acc, float64(x[_offset(r, red_shape, red_strides, base)]))
                r += threads
            acc_shared[t] = acc
            cuda.syncthreads()
            step = threads // 2
            while step > 0:
                if t < step:
                    acc_shared[t] = _combine(op, acc_shared[t], acc_shared[t + step])
                cuda.syncthreads()
                step //= 2
            if t == 0:
                out[o] = acc_shared[0] * scale
            cuda.syncthreads()
            o += cuda.gridDim.x
    return kernel


def _reduce(x, out, axes, op, scale):
    shape = tuple(x.shape)
    strides = _element_strides(shape)
    axes = tuple(sorted(a % max(len(shape), 1) for a in axes)) if shape else ()
    kept = [d for d in range(len(shape)) if d not in axes]
    count = 1
    for a in axes:
        count *= shape[a]
    if out.size != max(1, math.prod(shape[d] for d in kept)):
        raise ValueError(f"reduce: output of {out.size} values for input {shape} over axes {axes}")
    threads = tree_threads()
    kernel = specialized(_build, threads)
    blocks = min(max(1, out.size), config.MAX_BLOCKS)
    kernel[blocks, threads](
        flat(x), flat(out), _padded([shape[d] for d in kept], 1),
        _padded([strides[d] for d in kept], 0), _padded([shape[a] for a in axes], 1),
        _padded([strides[a] for a in axes], 0), count, op, scale)


@cuda.jit
def _arg_extreme_kernel(x, out, outer, length, inner, largest):
    # x viewed as (outer, length, inner); one thread per (outer, inner) pair
    i = cuda.grid(1)
    while i < outer * inner:
        o = i // inner
        j = i - o * inner
        base = o * length * inner + j
        best = x[base]
        arg = 0
        for r in range(1, length):
            v = x[base + r * inner]
            better = v > best if largest else v < best
            if (better or v != v) and best == best:
                best = v
                arg = r
        out[i] = arg
        i += cuda.gridsize(1)


def _lines(shape, axis):
    """(outer, length, inner): an array of ``shape`` viewed as lines along ``axis``."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def argmax_axis(x, out, axis):
    """out = index of the first maximum of x along ``axis`` (the first NaN if any, as numpy)."""
    outer, length, inner = _lines(tuple(x.shape), axis)
    _arg_extreme_kernel[grid(max(1, outer * inner))](flat(x), flat(out), outer, length, inner,
                                                     True)


def argmin_axis(x, out, axis):
    """out = index of the first minimum of x along ``axis`` (the first NaN if any, as numpy)."""
    outer, length, inner = _lines(tuple(x.shape), axis)
    _arg_extreme_kernel[grid(max(1, outer * inner))](flat(x), flat(out), outer, length, inner,
                                                     False)


@cuda.jit
def _cumsum_kernel(x, out, outer, length, inner, reverse):
    # one thread per line, adding in order (as numpy's cumsum), in out's dtype
    i = cuda.grid(1)
    while i < outer * inner:
        o = i // inner
        base = o * length * inner + (i - o * inner)
        for r in range(length):
            at = base + ((length - 1 - r) if reverse else r) * inner
            if r == 0:
                out[at] = x[at]
            else:
                out[at] = out[at + (inner if reverse else -inner)] + x[at]
        i += cuda.gridsize(1)


def cumsum_axis(x, out, axis, reverse=False):
    """out[..., i, ...] = sum of x[..., j, ...] for j <= i along ``axis`` (j >= i when
    ``reverse``), added in order in out's dtype."""
    outer, length, inner = _lines(tuple(x.shape), axis)
    _cumsum_kernel[grid(max(1, outer * inner))](flat(x), flat(out), outer, length, inner,
                                                bool(reverse))


@cuda.jit
def _along_axis_kernel(x, index, out, count, inner, length, put):
    # index and out viewed as (outer, count, inner), x as (outer, length, inner); one thread per
    # index entry. put: x is the target and out the values (positions are distinct per line).
    i = cuda.grid(1)
    while i < index.size:
        o = i // (count * inner)
        at = o * length * inner + index[i] * inner + (i % inner)
        if put:
            x[at] = out[i]
        else:
            out[i] = x[at]
        i += cuda.gridsize(1)


def take_along_axis(x, index, out, axis):
    """out[..., k, ...] = x[..., index[..., k, ...], ...] along ``axis`` (torch.gather)."""
    _, count, inner = _lines(tuple(index.shape), axis)
    _along_axis_kernel[grid(max(1, index.size))](flat(x), flat(index), flat(out), count, inner,
                                                 x.shape[axis], False)


def put_along_axis(values, index, out, axis):
    """out[..., index[..., k, ...], ...] = values[..., k, ...] along ``axis`` (distinct
    positions along each line)."""
    _, count, inner = _lines(tuple(index.shape), axis)
    _along_axis_kernel[grid(max(1, index.size))](flat(out), flat(index), flat(values), count,
                                                 inner, out.shape[axis], True)


def sum_axes(x, out, axes, scale=1.0):
    """out = scale * sum of x over ``axes`` (out holds the kept axes, in order; float64
    accumulation)."""
    _reduce(x, out, axes, SUM, float(scale))


def max_axes(x, out, axes):
    """out = max of x over ``axes`` (NaN if any value reduced into it is NaN)."""
    _reduce(x, out, axes, MAX, 1.0)


def min_axes(x, out, axes):
    """out = min of x over ``axes`` (NaN if any value reduced into it is NaN)."""
    _reduce(x, out, axes, MIN, 1.0)


def prod_axes(x, out, axes):
    """out = product of x over ``axes`` (float64 accumulation: integer products past 2**53
    round)."""
    _reduce(x, out, axes, PROD, 1.0)
