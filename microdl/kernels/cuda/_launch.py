"""Grid sizes, flat views and per-setting kernel builds shared by the CUDA kernel families."""

import numpy as np

from . import _config as config

_BUILT = {}


def grid(n):
    """(blocks, threads) for a grid-stride loop over n items."""
    threads = config.THREADS_PER_BLOCK
    blocks = min(max(1, (n + threads - 1) // threads), config.MAX_BLOCKS)
    return blocks, threads


def tree_threads():
    """THREADS_PER_BLOCK for a kernel that sums in a shared-memory tree: the trees halve the
    active threads each level, so any other size than a power of two would drop values (6
    threads summed 12 values to the sum of 8) instead of failing."""
    threads = config.THREADS_PER_BLOCK
    if threads < 1 or threads & (threads - 1):
        raise ValueError(f"config.THREADS_PER_BLOCK must be a power of two (the shared-memory "
                         f"reductions halve it), got {threads}")
    return threads


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

