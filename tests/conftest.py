import os
import sys

# NOTE: before anything imports numba, which reads this once: the CUDA tests run in numba's
# simulator unless MICRODL_TEST_REAL_CUDA=1 asks for the GPU.
if os.environ.get("MICRODL_TEST_REAL_CUDA") != "1":
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# No helper process compiling ahead when a test's fit or example meets an empty cache: the
# tests that need one turn it on themselves (test_warmup.py).
os.environ.setdefault("MICRODL_COMPILE_AHEAD", "0")

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


CUDA_TEST_LAUNCHES = dict(THREADS_PER_BLOCK=8, MAX_BLOCKS=3, TILE=4, BN_VALUES_PER_BLOCK=16)


@pytest.fixture
def shrunk_cuda(monkeypatch):
    """For a test that runs CUDA kernels outside tests/cuda: skip without a GPU (or the
    simulator), and shrink the launches as tests/cuda/conftest.py does, so the simulator (a
    Python thread per CUDA thread) stays quick and grid-stride loops and trees wrap on tiny
    shapes; the GIL switch interval drops for the same reason (threads meet at syncthreads)."""
    from numba import cuda

    if not cuda.is_available():
        pytest.skip("no CUDA GPU or driver (run with NUMBA_ENABLE_CUDASIM=1 for the simulator)")
    from microdl.kernels.cuda import _config as config

    for name, value in CUDA_TEST_LAUNCHES.items():
        monkeypatch.setattr(config, name, value)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)
