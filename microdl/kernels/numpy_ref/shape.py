"""Copies of rectangular blocks, the specification: the slices that cat, stack, split, narrow
and pad move values through (a block of ``out`` read from, or of ``out`` written with, an
array at given offsets)."""

import numpy as np


def _block(offsets, shape):
    # the Ellipsis keeps a 0-d block a (writable) 0-d array rather than a scalar
    return (Ellipsis,) + tuple(slice(start, start + n) for start, n in zip(offsets, shape))


def read_block(x, out, offsets):
    """out = x[o0 : o0 + out.shape[0], o1 : o1 + out.shape[1], ...] for offsets (o0, o1, ...)."""
    np.copyto(out, x[_block(offsets, out.shape)], casting="unsafe")


def write_block(x, out, offsets):
    """out[o0 : o0 + x.shape[0], o1 : o1 + x.shape[1], ...] = x (cast to out's dtype); the rest
    of out is left as it is."""
    np.copyto(out[_block(offsets, x.shape)], x, casting="unsafe")
