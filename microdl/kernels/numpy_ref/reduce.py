"""Reductions over axes, the specification: numpy's sum, max and argmax writing into ``out``."""

import numpy as np


def sum_axes(x, out, axes, scale=1.0):
    """out = scale * sum of x over ``axes`` (out holds the kept axes, in order), summed as numpy
    sums: pairwise in x's dtype for floats, as 64-bit integers for booleans and integers."""
    total = np.add.reduce(x, axis=tuple(axes))
    if scale != 1.0:
        total = total * scale
    np.copyto(out, total.reshape(out.shape), casting="unsafe")


def max_axes(x, out, axes):
    """out = max of x over ``axes`` (NaN if any value reduced into it is NaN)."""
    np.copyto(out, np.reshape(x.max(axis=tuple(axes)), out.shape))


def argmax_axis(x, out, axis):
    """out = index of the first maximum of x along ``axis`` (the first NaN if any, as numpy)."""
    np.copyto(out, np.argmax(x, axis=axis))
