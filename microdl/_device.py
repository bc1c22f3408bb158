"""Devices: the public ``microdl.device`` (PyTorch's ``torch.device``), and moving arrays between
"cpu" (numpy arrays) and "cuda" (numba device arrays on GPU 0).

Ops never ask which device they run on: they get a ``backend.Device`` from their input arrays.
This module parses device names, enables CUDA on first use (nothing imports numba.cuda before
that, so ``import microdl`` works without a GPU) and copies arrays between host and device for
tensors, modules and optimizers. Internally a device is its canonical name, "cpu" or "cuda:0";
``device`` objects are what users pass and what ``Tensor.device`` returns.
"""

import re

import numpy as np

from . import backend

CPU, CUDA = "cpu", "cuda:0"
SAME_DEVICE = backend.SAME_DEVICE
SIMULATOR_HINT = ("To run the CUDA backend without a GPU (slowly: numba's simulator runs every "
                  "CUDA thread in Python), set NUMBA_ENABLE_CUDASIM=1 before numba is imported.")
DEVICE_TYPES = ("cpu", "cuda")
# PyTorch's grammar: a type, then optionally ":" and an index without leading zeros.
_DEVICE_STRING = re.compile(r"([a-zA-Z_]+)(?::(0|[1-9][0-9]*))?")


class device:
    """Where a tensor lives, as PyTorch spells it: ``device("cpu")``, ``device("cuda")``,
    ``device("cuda:0")``, ``device("cuda", 0)``; ``.type`` and ``.index`` (None when not given).

    Immutable and hashable. Two devices are equal when type and index are; unlike PyTorch, a
    device also equals a string naming the same device (``t.device == "cpu"``,
    ``t.device == "cuda:0"``), so it hashes as its string. ``device("cuda")`` (no index: "the
    current GPU") is not ``device("cuda:0")``, as in PyTorch; ``Tensor.device`` always carries the
    index ("cuda:0"), so compare a tensor's device with "cuda:0", or test ``.type == "cuda"``.
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):  # noqa: A002  PyTorch's parameter names
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): a device and an index cannot be given together")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            type, index = "cuda", int(type)  # PyTorch: a bare index names an accelerator
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got "
                            f"({_type_name(type)}), but expected one of:\n"
                            " * (microdl.device device)\n * (str type, int index = -1)")
        if index is not None and (not isinstance(index, (int, np.integer))
                                  or isinstance(index, bool)):
            raise TypeError(f"device(): argument 'index' (position 2) must be int, not "
                            f"{_type_name(index)}")
        if not type:
            raise RuntimeError("Device string must not be empty")
        match = _DEVICE_STRING.fullmatch(type)
        if match is None:
            raise RuntimeError(f"Invalid device string: '{type}'")
        name, index_in_string = match.groups()
        if name not in DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start "
                               f"of device string: {name}")
        if index_in_string is not None:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            index = int(index_in_string)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self._type, self._index = name, None if index is None else int(index)

    @property
    def type(self):
        """The device type: "cpu" or "cuda"."""
        return self._type

    @property
    def index(self):
        """The device index (0 for "cuda:0"), or None when none was given ("cpu", "cuda")."""
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other):
        if isinstance(other, str):
            # a valid name has one spelling ("cuda:0", never "cuda:00"), so comparing names is
            # comparing devices
            return other == str(self)
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self):
        return hash(str(self))  # equal to its string, so hashed as it

    def __reduce__(self):
        return device, (self._type, self._index)


def _type_name(value):
    return type(value).__name__


# What Tensor.device returns: one object per device, not a new one per call.
CPU_DEVICE, CUDA_DEVICE = device("cpu"), device("cuda", 0)


def parse(name):
    """"cpu" or "cuda:0" for a device or its name ("cpu", "cuda", "cuda:0", device("cuda", 0));
    CUDA is enabled on first use and raises RuntimeError where there is no GPU."""
    if isinstance(name, str) and name == CPU:  # the common case first: no device object made
        return CPU
    wanted = name if isinstance(name, device) else device(name)
    if wanted.type == "cpu":
        return CPU
    if wanted.index not in (None, 0):
        raise RuntimeError(f"CUDA error: invalid device ordinal (microdl uses one GPU, cuda:0; "
                           f"got '{wanted}')")
    enable_cuda()
    return CUDA


def device_of(array):
    """The ``device`` an array lives on (``Tensor.device``)."""
    return CPU_DEVICE if backend.of(array).name == CPU else CUDA_DEVICE


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


# the backend's own function, not a wrapper around it: the CPU training step asks this often
is_device_array = backend.is_device_array


def of(array):
    """The name of the device an array lives on."""
    return backend.of(array).name


def move(array, device):
    """``array`` on ``device`` (itself when it is already there; a copy otherwise)."""
    if not isinstance(device, str):
        device = parse(device)  # a device object (Tensor.device) to its name
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
