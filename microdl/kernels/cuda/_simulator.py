"""A fix to numba's CUDA simulator, applied when microdl's CUDA kernels load under
``NUMBA_ENABLE_CUDASIM=1`` (nothing changes on a real GPU).

The simulator makes a block's shared array on the first thread's call: it looks the calling
line up in a dict and, when absent, stores a fresh ``np.empty`` there. A thread switch between
the lookup and the store gives two threads of one block two different arrays, and the values
written into the one that gets replaced are lost: a shared-memory reduction then sums
uninitialised memory (a CI run of a CUDA training step saw its loss off by 2%, once in ~30
runs). A lock makes the lookup and the store one step, as on a GPU, where a block's shared
memory exists before any of its threads runs.
"""

import sys
import threading

import numpy as np

_lock = threading.Lock()


def _locked_array(self, shape, dtype):
    """FakeCUDAShared.array with the lookup and the store under one lock."""
    if shape == 0:  # dynamic shared memory: one buffer made up front, nothing to race on
        return unguarded(self, shape, dtype)
    from numba.core import types
    from numba.np import numpy_support

    # keyed by the calling line, as the simulator does (one shared array per line)
    caller = sys._getframe(1)
    site = (caller.f_code.co_filename, caller.f_lineno)
    with _lock:
        array = self._allocations.get(site)
        if array is None:
            if isinstance(dtype, types.Type):
                dtype = numpy_support.as_dtype(dtype)
            array = self._allocations[site] = np.empty(shape, dtype)
    return array


unguarded = None  # the simulator's own FakeCUDAShared.array, once guard() has run


def guard():
    """Install the locked shared-array allocation if numba's simulator is on (idempotent)."""
    global unguarded
    from numba import config

    if not config.ENABLE_CUDASIM or unguarded is not None:
        return
    from numba.cuda.simulator.kernelapi import FakeCUDAShared

    unguarded = FakeCUDAShared.array
    FakeCUDAShared.array = _locked_array
