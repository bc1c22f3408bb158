"""Grid sizes, flat views and per-setting kernel builds shared by the CUDA kernel families."""

import numpy as np

from . import config

_BUILT = {}


def grid(n):
    """(blocks, threads) for a grid-stride loop over n items."""
    threads = config.THREADS_PER_BLOCK
    blocks = min(max(1, (n + threads - 1) // threads), config.MAX_BLOCKS)
    return blocks, threads


def flat(array):
    """A 1-D view of a C-contiguous device array (the CUDA ops make no other kind)."""
    if not array.is_c_contiguous():
        raise ValueError("CUDA kernels take C-contiguous device arrays")
    return array if array.ndim == 1 else array.reshape(array.size)


def specialized(builder, *settings):
    """``builder(*settings)`` compiled once per distinct settings (e.g. the block size, which
    sizes shared memory and must be a compile-time constant)."""
    key = (builder, settings)
    kernel = _BUILT.get(key)
    if kernel is None:
        kernel = _BUILT[key] = builder(*settings)
    return kernel


def numba_type(dtype):
    from numba import from_dtype

    return from_dtype(np.dtype(dtype))

