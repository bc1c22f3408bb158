"""The conftest's fix to numba's simulator: a block's shared array is one array, whichever of
its threads asks first (the unfixed simulator could hand two threads two arrays)."""

import threading
import time

import numpy as np
import pytest
from numba import config as numba_config


class _SlowLookups(dict):
    """Shared-array bookkeeping whose lookups yield the GIL, so a second thread always runs
    between one thread's lookup and its store: the window the simulator's race needs."""

    def get(self, key, default=None):
        found = super().get(key, default)
        time.sleep(0.01)
        return found


@pytest.mark.skipif(not numba_config.ENABLE_CUDASIM, reason="a fix to numba's simulator")
def test_threads_of_a_block_share_one_shared_array():
    from numba import float64
    from numba.cuda.simulator.kernelapi import FakeCUDAShared

    shared = FakeCUDAShared(0)
    shared._allocations = _SlowLookups()
    arrays = []

    def ask():
        arrays.append(shared.array(4, float64))  # one call site for both threads

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert arrays[0] is arrays[1]
    assert arrays[0].shape == (4,) and arrays[0].dtype == np.float64
