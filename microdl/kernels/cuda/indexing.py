"""Gather and scatter along one axis on device arrays (torch.gather, scatter, scatter_add).

One thread per line of the index along ``axis``: it walks the line in order, so a scatter with
repeated positions writes them in the order the CPU sets do (the last assignment wins; additions
in a fixed order) with no atomics, and results do not depend on the grid. Shapes are padded to
MAX_DIMS; the index (and values) may be shorter than the other array on any axis."""

import math

from numba import cuda

from ._launch import flat, grid
from .elementwise import MAX_DIMS, _element_strides, _padded


@cuda.jit
def _along_axis_kernel(target, index, values, line_shape, index_strides, target_strides,
                       count, index_step, target_step, lines, mode):
    # mode 0: values[p] = target[...] (gather); 1: target[...] = values[p]; 2: target[...] += ...
    line = cuda.grid(1)
    while line < lines:
        rest, at_index, at_target = line, 0, 0
        for d in range(MAX_DIMS - 1, -1, -1):
            coord = rest % line_shape[d]
            rest //= line_shape[d]
            at_index += coord * index_strides[d]
            at_target += coord * target_strides[d]
        for k in range(count):
            i = at_index + k * index_step
            t = at_target + index[i] * target_step
            if mode == 0:
                values[i] = target[t]
            elif mode == 1:
                target[t] = values[i]
            else:
                target[t] += values[i]
        line += cuda.gridsize(1)


def _launch(target, index, values, axis, mode):
    shape = tuple(index.shape)
    if math.prod(shape) == 0:
        return
    line_shape = shape[:axis] + (1,) + shape[axis + 1:]
    index_strides = _element_strides(shape)
    target_strides = _element_strides(tuple(target.shape))
    lines = math.prod(line_shape)
    _along_axis_kernel[grid(lines)](
        flat(target), flat(index), flat(values), _padded(line_shape, 1),
        _padded(index_strides, 0), _padded(target_strides, 0), shape[axis],
        index_strides[axis], target_strides[axis], lines, mode)


def gather_along_axis(x, index, out, axis):
    """out[p] = x[p0, ..., index[p], ..., pn] (torch.gather; out has index's shape)."""
    _launch(x, index, out, axis, 0)


def scatter_along_axis(values, index, out, axis, accumulate):
    """out[p0, ..., index[p], ..., pn] = values[p], or += when ``accumulate`` (each line in
    order: the last of repeated positions wins)."""
    _launch(out, index, values, axis, 2 if accumulate else 1)
