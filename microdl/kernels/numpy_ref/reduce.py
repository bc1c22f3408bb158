"""Reductions over axes, the specification: numpy's sum, max, min, prod, arg-extremes and
cumulative sums writing into ``out``, and the gather/scatter along one axis that max(dim) and
min(dim) use for their values and gradients."""

import numpy as np


def sum_axes(x, out, axes, scale=1.0):
    """out = scale * sum of x over ``axes`` (out holds the kept axes, in order), summed as numpy
    sums: pairwise in x's dtype for floats, as 64-bit integers for booleans and integers."""
    if scale == 1.0 and out.dtype == x.dtype and x.dtype.kind == "f" and \
            out.ndim == x.ndim - len(axes):
        # NOTE: straight into out, the same sum (~3 us a call saved: a Linear's bias gradient)
        np.add.reduce(x, axis=tuple(axes), out=out)
        return
    total = np.add.reduce(x, axis=tuple(axes))
    if scale != 1.0 and scale and abs(scale) != np.inf:
        total = total * scale  # finite and nonzero: no 0 * inf, no errstate (2 us a mean)
    elif scale != 1.0:
        with np.errstate(invalid="ignore"):  # 0 * inf: a variance with no degrees of freedom
            total = total * scale
    np.copyto(out, total.reshape(out.shape), casting="unsafe")


def max_axes(x, out, axes):
    """out = max of x over ``axes`` (NaN if any value reduced into it is NaN)."""
    np.copyto(out, np.reshape(x.max(axis=tuple(axes)), out.shape))


def min_axes(x, out, axes):
    """out = min of x over ``axes`` (NaN if any value reduced into it is NaN)."""
    np.copyto(out, np.reshape(x.min(axis=tuple(axes)), out.shape))


def prod_axes(x, out, axes):
    """out = product of x over ``axes`` (in out's dtype: 64-bit integers for integer x)."""
    np.copyto(out, np.reshape(np.prod(x, axis=tuple(axes), dtype=out.dtype), out.shape))


def argmax_axis(x, out, axis):
    """out = index of the first maximum of x along ``axis`` (the first NaN if any, as numpy)."""
    np.copyto(out, np.argmax(x, axis=axis))


def argmin_axis(x, out, axis):
    """out = index of the first minimum of x along ``axis`` (the first NaN if any, as numpy)."""
    np.copyto(out, np.argmin(x, axis=axis))


def cumsum_axis(x, out, axis, reverse=False):
    """out[..., i, ...] = sum of x[..., j, ...] for j <= i along ``axis`` (j >= i when
    ``reverse``: the gradient of a cumulative sum), added in order in out's dtype."""
    if reverse:
        x = np.flip(x, axis)
        np.copyto(out, np.flip(np.cumsum(x, axis=axis, dtype=out.dtype), axis))
    else:
        np.cumsum(x, axis=axis, dtype=out.dtype, out=out)


def take_along_axis(x, index, out, axis):
    """out[..., k, ...] = x[..., index[..., k, ...], ...] along ``axis`` (torch.gather): index
    has x's rank and out's shape."""
    np.copyto(out, np.take_along_axis(x, index, axis=axis))


def put_along_axis(values, index, out, axis):
    """out[..., index[..., k, ...], ...] = values[..., k, ...] along ``axis`` (index has values'
    shape and distinct positions along each line; other values of out are left as they are)."""
    np.put_along_axis(out, index, values, axis=axis)
