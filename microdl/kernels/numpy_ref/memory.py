"""Where arrays live: allocation and copies to and from the host (numpy: the host itself)."""

import numpy as np


def empty(shape, dtype):
    """An uninitialised C-contiguous array of ``shape`` (an int or a tuple) and ``dtype``."""
    return np.empty(shape, dtype)


def to_here(array):
    """A host array on this set's device, C-contiguous (keeping its shape, 0-d too); on the host
    that is the array itself when it already is C-contiguous."""
    array = np.asarray(array)
    return array if array.flags.c_contiguous else np.array(array, order="C")


def to_host(array):
    """A host (numpy) copy of an array of this set's device."""
    return np.array(array, copy=True)
