"""Device arrays: allocation, host <-> device copies, and recognising one."""

import numpy as np
from numba import cuda

from . import elementwise

# The simulator's arrays are not DeviceNDArrays, so the class is taken from a real allocation.
DEVICE_ARRAY = type(cuda.device_array(1, np.float32))


def is_device_array(array):
    return isinstance(array, DEVICE_ARRAY)


def empty(shape, dtype):
    """An uninitialised C-contiguous device array (shape: an int or a tuple)."""
    shape = (shape,) if np.ndim(shape) == 0 else shape
    return cuda.device_array(tuple(int(n) for n in shape), np.dtype(dtype))


def empty_like(array):
    return empty(array.shape, array.dtype)


def full(shape, value, dtype):
    out = empty(shape, dtype)
    elementwise.fill(out, value)
    return out


def zeros(shape, dtype):
    return full(shape, 0, dtype)


def to_device(array):
    """A device copy of a host array (made C-contiguous first, keeping its shape)."""
    return cuda.to_device(c_contiguous(array))


def c_contiguous(array):
    """array as a C-contiguous numpy array of the same shape.

    NOTE: not np.ascontiguousarray, which returns at least 1-D: a 0-d tensor sent to the GPU
    came back shaped (1,)."""
    array = np.asarray(array)
    return array if array.flags.c_contiguous else np.ascontiguousarray(array)


def to_host(array):
    """A host (numpy) copy of a device array; waits for the kernels that write it."""
    return array.copy_to_host()
