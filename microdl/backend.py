"""Devices as ops see them: a kernel set plus an allocator, picked from the arrays an op gets.

Every kernel set is a package with the same family files and function names
(``kernels/numpy_ref/activation.py``, ``kernels/cpu/activation.py`` and
``kernels/cuda/activation.py`` all define ``sigmoid_forward(x, out)``), so an op is written once::

    dev = backend.for_arrays(x)               # the device of its inputs
    y = dev.empty(x.shape, x.dtype)            # an output there
    dev.kernels("activation").sigmoid_forward(x, y)

On the CPU the kernel set is "numba" (default) or "numpy" (the readable reference):
``set_kernels("numpy")`` (or ``MICRODL_KERNELS=numpy`` in the environment) switches every op to
the plain numpy twins at run time, so a reader can step through the math in a debugger. Arrays
on device "cuda" always run the "cuda" set; that set and numba.cuda are imported only once a
CUDA tensor exists (``microdl._device.enable_cuda`` calls ``use_cuda``).
"""

import importlib
import os

import numpy as np


KERNEL_SETS = {"numba": "microdl.kernels.cpu", "numpy": "microdl.kernels.numpy_ref"}
# The kernels for tensors on device "cuda", whatever the CPU set in use.
CUDA_KERNELS = "microdl.kernels.cuda"
SAME_DEVICE = ("Expected all tensors to be on the same device, but found at least two devices, "
               "cuda:0 and cpu!")

_current = None
_families = {}
_cuda_families = {}
_kernel_hook = None  # set by microdl.profiler while a profile is active: times kernel calls


def _check_name(name):
    if name not in KERNEL_SETS:
        raise ValueError(
            f"unknown kernel set {name!r}: expected one of {sorted(KERNEL_SETS)} "
            "(set by microdl.set_kernels or the MICRODL_KERNELS environment variable)"
        )
    return name


def set_kernels(name):
    """Pick the CPU kernel set: "numba" (compiled, parallel) or "numpy" (the reference)."""
    global _current
    _current = _check_name(name)
    _families.clear()
    CPU.bind_memory()


def get_kernels():
    """The name of the CPU kernel set in use."""
    global _current
    if _current is None:
        _current = _check_name(os.environ.get("MICRODL_KERNELS", "numba"))
    return _current


def _cpu_module(family):
    module = _families.get(family)
    if module is None:
        module = _families[family] = importlib.import_module(
            f"{KERNEL_SETS[get_kernels()]}.{family}")
    return module


def _cuda_module(family):
    module = _cuda_families.get(family)
    if module is None:
        module = _cuda_families[family] = importlib.import_module(f"{CUDA_KERNELS}.{family}")
    return module


def kernels(family):
    """The module of kernel ``family`` (e.g. "activation") in the CPU kernel set in use."""
    module = _families.get(family) or _cpu_module(family)
    if _kernel_hook is not None:
        return _kernel_hook(module, family)
    return module


def cuda_kernels(family):
    """The module of ``family`` in the CUDA kernel set (imported when a CUDA tensor first needs
    it; importing it touches the CUDA driver or numba's simulator)."""
    module = _cuda_families.get(family) or _cuda_module(family)
    if _kernel_hook is not None:
        return _kernel_hook(module, family)
    return module


def kernel_module(kernel_set, family):
    """The module of ``family`` in a named kernel set ("numpy", "numba" or "cuda"), whatever
    set is in use (for tests, bench)."""
    if kernel_set == "cuda":
        return importlib.import_module(f"{CUDA_KERNELS}.{family}")
    return importlib.import_module(f"{KERNEL_SETS[_check_name(kernel_set)]}.{family}")


class Device:
    """Where arrays live, the kernels that run on them, and how outputs are allocated there.

    ``kernels(family)``: the kernel module of this device's set; ``empty(shape, dtype)``: an
    uninitialised C-contiguous array there, ``to_here(host_array)`` and ``to_host(array)``:
    copies in and out (the set's ``memory`` family; on the CPU large arrays come from the buffer
    pool, ``microdl._buffers``)."""

    def __init__(self, name, kernels, memory):
        self.name = name
        self.kernels = kernels
        self._memory = memory
        self.bind_memory()

    def bind_memory(self):
        """Take the allocator from the memory family of the set in use (again after
        set_kernels). NOTE: bound once, not looked up per call: every op output is allocated
        here, and the lookup cost ~0.4 us a call, ~5% of a small MLP's training step."""
        self.empty = self._memory("memory").empty

    def to_here(self, array):
        """A copy of a host array on this device (the host array itself, when C-contiguous,
        on the CPU)."""
        return self._memory("memory").to_here(array)

    def to_host(self, array):
        """A host copy of an array of this device."""
        return self._memory("memory").to_host(array)

    def empty_like(self, array):
        return self.empty(array.shape, array.dtype)

    def zeros(self, shape, dtype):
        return self.full(shape, 0, dtype)

    def full(self, shape, value, dtype):
        out = self.empty(shape, dtype)
        self.kernels("elementwise").fill(out, value)
        return out

    def __repr__(self):
        return f"Device({self.name!r})"


CPU = Device("cpu", kernels, _cpu_module)
_cuda = None  # the CUDA Device, once use_cuda() ran
_device_array = None  # the class of numba's device arrays (the simulator has its own)


def use_cuda(memory):
    """Make device "cuda" known (``memory``: microdl.kernels.cuda.memory). Called once, by
    microdl._device.enable_cuda."""
    global _cuda, _device_array
    _device_array = memory.DEVICE_ARRAY
    _cuda = Device("cuda:0", cuda_kernels, _cuda_module)


def is_cuda_enabled():
    return _cuda is not None


def for_device(name):
    """The Device named "cpu" or "cuda:0" (CUDA enabled already, by microdl._device)."""
    return CPU if name == "cpu" else _cuda


def is_device_array(array):
    return _device_array is not None and isinstance(array, _device_array)


def for_arrays(*arrays):
    """The Device of these arrays (None entries and Python numbers are skipped). Host 0-d arrays
    go with either device, as Python numbers do; host arrays with dimensions and device arrays
    together are PyTorch's "Expected all tensors to be on the same device" RuntimeError."""
    if _cuda is None:
        return CPU
    on_gpu = on_host = False
    for a in arrays:
        if isinstance(a, _device_array):
            on_gpu = True
        elif isinstance(a, np.ndarray) and a.ndim != 0:
            on_host = True
    if not on_gpu:
        return CPU
    if on_host:
        raise RuntimeError(SAME_DEVICE)
    return _cuda


def of(array):
    """The Device an array lives on."""
    if _device_array is not None and isinstance(array, _device_array):
        return _cuda
    return CPU
