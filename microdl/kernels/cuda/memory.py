"""Device memory: allocation and host <-> device copies (numba device arrays on GPU 0)."""

import numpy as np
from numba import cuda

# The simulator's arrays are not DeviceNDArrays, so the class is taken from a real allocation.
DEVICE_ARRAY = type(cuda.device_array(1, np.float32))


def empty(shape, dtype):
    """An uninitialised C-contiguous device array of ``shape`` (an int or a tuple) and
    ``dtype``."""
    shape = (shape,) if np.ndim(shape) == 0 else shape
    return cuda.device_array(tuple(int(n) for n in shape), np.dtype(dtype))


def to_here(array):
    """A device copy of a host array (made C-contiguous first, keeping its shape).

    NOTE: not np.ascontiguousarray, which returns at least 1-D: a 0-d tensor sent to the GPU
    came back shaped (1,)."""
    array = np.asarray(array)
    return cuda.to_device(array if array.flags.c_contiguous else np.array(array, order="C"))


def to_host(array):
    """A host (numpy) copy of a device array; waits for the kernels that write it."""
    return array.copy_to_host()
