"""microdl's fix to numba's simulator (microdl/kernels/cuda/_simulator.py): a block's shared
array is one array, whichever of its threads asks first (the simulator's own allocation hands
the two threads of this test two arrays)."""

import threading
import time

import numpy as np
import pytest
from numba import config as numba_config

pytestmark = pytest.mark.skipif(not numba_config.ENABLE_CUDASIM,
                                reason="a fix to numba's simulator")


class _SlowLookups(dict):
    """Shared-array bookkeeping whose lookups yield the GIL, so a second thread always runs
    between one thread's lookup and its store: the window the simulator's race needs."""

    def get(self, key, default=None):
        found = super().get(key, default)
        time.sleep(0.01)
        return found


def _arrays_two_threads_get(allocate):
    from numba import float64
    from numba.cuda.simulator.kernelapi import FakeCUDAShared

    shared = FakeCUDAShared(0)
    shared._allocations = _SlowLookups()
    arrays = []

    def ask():
        arrays.append(allocate(shared, 4, float64))  # one call site for both threads

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return arrays


def test_loading_the_cuda_kernels_installs_the_guard():
    import microdl.kernels.cuda  # noqa: F401  (loading the kernels installs it)
    from microdl.kernels.cuda import _simulator
    from numba.cuda.simulator.kernelapi import FakeCUDAShared

    assert FakeCUDAShared.array is _simulator._locked_array
    assert _simulator.unguarded is not None


def test_threads_of_a_block_share_one_shared_array():
    from numba.cuda.simulator.kernelapi import FakeCUDAShared

    import microdl.kernels.cuda  # noqa: F401

    first, second = _arrays_two_threads_get(FakeCUDAShared.array)
    assert first is second
    assert first.shape == (4,) and first.dtype == np.float64


def test_the_simulators_own_allocation_has_the_race():
    """What the guard is for: with the lookup window held open, numba's unguarded allocation
    gives the two threads two different arrays (if numba fixes this, the guard can go)."""
    import microdl.kernels.cuda  # noqa: F401
    from microdl.kernels.cuda import _simulator

    first, second = _arrays_two_threads_get(_simulator.unguarded)
    assert first is not second
