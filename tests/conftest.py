import os

# NOTE: before anything imports numba, which reads this once: the CUDA tests run in numba's
# simulator unless MICRODL_TEST_REAL_CUDA=1 asks for the GPU.
if os.environ.get("MICRODL_TEST_REAL_CUDA") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np
import pytest

import microdl


@pytest.fixture(params=["numpy", "numba"])
def kernel_set(request):
    """Run a test once with each CPU kernel set, restoring the previous one afterwards."""
    previous = microdl.get_kernels()
    microdl.set_kernels(request.param)
    yield request.param
    microdl.set_kernels(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
