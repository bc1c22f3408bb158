"""Devices by name: "cpu" (numpy arrays) and "cuda" (numba device arrays on GPU 0), and moving
arrays between them.

Ops never ask which device they run on: they get a ``backend.Device`` from their input arrays.
This module parses device names, enables CUDA on first use (nothing imports numba.cuda before
that, so ``import microdl`` works without a GPU) and copies arrays between host and device for
tensors, modules and optimizers.
"""

import numpy as np

from . import backend

CPU, CUDA = "cpu", "cuda:0"
SAME_DEVICE = backend.SAME_DEVICE
SIMULATOR_HINT = ("To run the CUDA backend without a GPU (slowly: numba's simulator runs every "
                  "CUDA thread in Python), set NUMBA_ENABLE_CUDASIM=1 before numba is imported.")


def parse(device):
    """"cpu" or "cuda:0" for a device name ("cpu", "cuda", "cuda:0"); CUDA is enabled on first
    use and raises RuntimeError where there is no GPU."""
    name = str(device)
    if name == CPU:
        return CPU
    if name in ("cuda", CUDA):
        enable_cuda()
        return CUDA
    if name.startswith("cuda:"):
        raise RuntimeError(f"CUDA error: invalid device ordinal (microdl uses one GPU, cuda:0; "
                           f"got {name!r})")
    raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {name}")


def enable_cuda():
    """Load the CUDA kernel set's memory family and make device "cuda" known (once)."""
    if backend.is_cuda_enabled():
        return
    try:
        from numba import cuda
    except ImportError as missing:
        raise RuntimeError(f"CUDA was asked for but numba.cuda cannot be imported ({missing}); "
                           "install the extra: pip install 'microdl[cuda]'. "
                           + SIMULATOR_HINT) from None
    if not cuda.is_available():
        raise RuntimeError("CUDA was asked for but no NVIDIA GPU and driver were found "
                           "(numba.cuda.is_available() is False). " + SIMULATOR_HINT)
    from numba import config

    # Small grids are normal here (a BatchNorm1d of 100 channels); numba would warn on each.
    config.CUDA_LOW_OCCUPANCY_WARNINGS = 0
    from .kernels.cuda import memory

    backend.use_cuda(memory)


def is_device_array(array):
    return backend.is_device_array(array)


def of(array):
    """The name of the device an array lives on."""
    return backend.of(array).name


def move(array, device):
    """``array`` on ``device`` (itself when it is already there; a copy otherwise)."""
    here = backend.of(array)
    if here.name == device:
        return array
    if device == CPU:
        return here.to_host(array)
    return backend.for_device(device).to_here(np.asarray(array))


def host(array):
    """The array itself on the host; a host copy of a device array (waits for the device)."""
    return backend.of(array).to_host(array) if is_device_array(array) else array


def host_copy(array):
    """A numpy copy of a host or device array."""
    return backend.of(array).to_host(array) if is_device_array(array) else \
        np.array(array, copy=True)


def copy_into(target, value):
    """target[...] = value (a host array or number, broadcast) for a host or device target, cast
    to its dtype.

    NOTE: never ``target[...] =`` on a device array: numba's DeviceNDArray indexes through its
    dummyarray, which fails on an Ellipsis (the simulator's arrays accept it)."""
    if not is_device_array(target):
        target[...] = value  # numpy casts and broadcasts
        return
    value = np.asarray(value).astype(target.dtype, copy=False)
    if value.ndim == 0:
        fill_(target, value.item())
    else:
        target.copy_to_device(np.ascontiguousarray(np.broadcast_to(value, target.shape)))


def fill_(array, value):
    """array[...] = value (a number) in place, on the array's device."""
    backend.of(array).kernels("elementwise").fill(array, value)


def astype(array, dtype):
    """array cast to dtype (a copy), on the array's own device."""
    dev = backend.of(array)
    out = dev.empty(array.shape, dtype)
    dev.kernels("elementwise").copy(array, out)
    return out
