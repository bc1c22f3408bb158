"""``microdl.cuda``: PyTorch's ``torch.cuda`` questions, answered without importing numba.cuda.

``is_available()`` asks the NVIDIA driver itself, through ctypes: it loads ``libcuda`` (the
path in ``NUMBA_CUDA_DRIVER`` when set, as numba does), calls ``cuInit`` and counts devices.
On a machine without the driver the load fails at once, so the answer "no" costs well under a
millisecond, where importing numba.cuda to ask would cost about a second.

Numba's simulator (``NUMBA_ENABLE_CUDASIM=1``) does not count as a GPU here: a script that picks
``"cuda" if microdl.cuda.is_available() else "cpu"`` should not move its training into a Python
simulation of every CUDA thread. The simulator still runs tensors asked onto ``device="cuda"``
explicitly (the test suite's way of exercising the CUDA kernels).

microdl uses one GPU, cuda:0, so ``device_count()`` is 1 on a machine with one GPU or more.
(This module is not ``microdl/kernels/cuda/``, the CUDA kernel set.)
"""

import ctypes
import functools
import os

import numpy as np

from . import backend

_DRIVER_NAMES = ("libcuda.so.1", "libcuda.so", "nvcuda.dll", "libcuda.dylib")


@functools.lru_cache(maxsize=None)
def _driver_device_count():
    """The number of GPUs the CUDA driver reports: 0 without a driver or a GPU (asked once)."""
    if os.environ.get("NUMBA_DISABLE_CUDA", "0") not in ("", "0"):
        return 0
    driver = _load_driver()
    if driver is None:
        return 0
    count = ctypes.c_int(0)
    try:
        if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0  # e.g. CUDA_ERROR_NO_DEVICE when CUDA_VISIBLE_DEVICES hides them all
    except AttributeError:  # a library of that name without the driver API
        return 0
    return count.value


def _load_driver():
    names = [os.environ["NUMBA_CUDA_DRIVER"]] if os.environ.get("NUMBA_CUDA_DRIVER") \
        else _DRIVER_NAMES
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def is_available():
    """True when an NVIDIA GPU and its driver are present (the simulator does not count)."""
    return device_count() > 0


def device_count():
    """1 when a GPU is present (microdl uses cuda:0 only), else 0."""
    return min(_driver_device_count(), 1)


def current_device():
    """The index of the GPU microdl uses: 0."""
    return 0


def synchronize(device=None):
    """Wait until the GPU has finished the work queued so far (nothing to wait for when no CUDA
    tensor exists yet)."""
    if backend.is_cuda_enabled():
        from numba import cuda

        cuda.synchronize()


def manual_seed(seed):
    """A no-op that checks ``seed``: microdl draws every random number on the host, from the
    generator ``microdl.manual_seed`` seeds (a CUDA tensor's dropout mask too), so there is no
    separate CUDA generator to seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer (got {seed!r})")


manual_seed_all = manual_seed
