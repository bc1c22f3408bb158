"""Gather and scatter along one axis (torch.gather, scatter, scatter_add), the specification.

For an index of the input's rank, position p = (p0, ..., pk, ..., pn) of the index names the
position of the other array that has p's coordinates everywhere but on ``axis``, where it has
index[p]. The index may be shorter than that array on any axis (torch's rule: no larger); the
kernels get indices already checked to lie in [0, size along axis)."""

import numpy as np


def _positions(index, axis):
    """The coordinates (a tuple of arrays of index's shape) that each entry of index names."""
    coords = list(np.indices(index.shape, sparse=True))
    coords[axis] = index
    return tuple(coords)


def gather_along_axis(x, index, out, axis):
    """out[p] = x[p0, ..., index[p], ..., pn] (torch.gather; out has index's shape)."""
    np.copyto(out, x[_positions(index, axis)], casting="unsafe")


def scatter_along_axis(values, index, out, axis, accumulate):
    """out[p0, ..., index[p], ..., pn] = values[p] (torch.scatter), or += values[p] when
    ``accumulate`` (torch.scatter_add: repeated positions add up). values has index's shape.
    Assignment takes the positions in C order, so the last of repeated positions wins."""
    positions = _positions(index, axis)
    if accumulate:
        np.add.at(out, positions, values.astype(out.dtype, copy=False))
        return
    flat = np.ravel_multi_index(np.broadcast_arrays(*positions), out.shape).ravel()
    out.reshape(-1)[flat] = values.astype(out.dtype, copy=False).ravel()  # last repeat wins
