"""CUDA tests: numba's simulator by default (tests/conftest.py sets NUMBA_ENABLE_CUDASIM=1 before
numba loads), a real GPU with MICRODL_TEST_REAL_CUDA=1. Every test here is marked ``cuda``.

Launch settings shrink so the simulator (a Python thread per CUDA thread) stays quick and so
grid-stride loops wrap, trees have several levels and BatchNorm's statistics take the two-level
path even on tiny shapes. In the simulator, device arrays are made strict: an attribute a real
DeviceNDArray lacks (numpy's .sum, .astype, ...) raises, instead of quietly running on the host,
and so does an Ellipsis index in an assignment (``arr[...] = 0``), which a real DeviceNDArray's
dummyarray cannot resolve.
"""

import pathlib
import sys

import numpy as np
import pytest

HERE = pathlib.Path(__file__).parent

# What a real numba DeviceNDArray offers (instance and class attributes).
DEVICE_ARRAY_ATTRIBUTES = {
    "shape", "strides", "dtype", "ndim", "size", "nbytes", "alloc_size", "stream", "flags", "T",
    "transpose", "reshape", "ravel", "view", "copy_to_host", "copy_to_device", "split",
    "is_c_contiguous", "is_f_contiguous", "getitem", "setitem", "squeeze", "bind",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in pathlib.Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.cuda)


def _cuda_or_skip():
    try:
        from numba import cuda
    except ImportError as missing:  # pragma: no cover - numba is a dependency
        pytest.skip(f"numba.cuda cannot be imported: {missing}")
    if not cuda.is_available():
        pytest.skip("no CUDA GPU or driver (run with NUMBA_ENABLE_CUDASIM=1 for the simulator)")
    return cuda


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    _cuda_or_skip()
    from microdl.kernels.cuda import _config as config

    for name, value in dict(THREADS_PER_BLOCK=8, MAX_BLOCKS=3, TILE=4,
                            BN_VALUES_PER_BLOCK=16).items():
        monkeypatch.setattr(config, name, value)


@pytest.fixture(autouse=True)
def quick_thread_switches():
    """The simulator runs a block's threads as Python threads that meet at every syncthreads;
    with the default 5 ms GIL switch interval each meeting waits out several switches (a
    shared-memory reduction took ~0.4 s a launch; 5x less with 0.1 ms)."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)


@pytest.fixture(autouse=True)
def strict_simulator(monkeypatch):
    from numba import config as numba_config

    if not numba_config.ENABLE_CUDASIM:
        return
    from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray

    forward = FakeCUDAArray.__getattr__

    def strict_getattr(self, name):
        if name not in DEVICE_ARRAY_ATTRIBUTES:
            raise AttributeError(f"a real DeviceNDArray has no attribute {name!r}")
        return forward(self, name)

    monkeypatch.setattr(FakeCUDAArray, "__getattr__", strict_getattr)

    assign = FakeCUDAArray.__setitem__

    def strict_setitem(self, index, value):
        # (kernels write through here too: the test is kept to two cheap checks)
        if index is Ellipsis or (type(index) is tuple and any(i is Ellipsis for i in index)):
            raise IndexError("a real DeviceNDArray takes no Ellipsis index (numba's dummyarray "
                             "fails on it): fill or copy through microdl._device instead")
        return assign(self, index, value)

    monkeypatch.setattr(FakeCUDAArray, "__setitem__", strict_setitem)


@pytest.fixture
def rng():
    return np.random.default_rng(7)
