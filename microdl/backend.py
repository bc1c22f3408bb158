"""Which kernel set runs an op: on the CPU "numba" (default) or "numpy" (the readable reference);
on a GPU (a tensor on device "cuda") always "cuda", through the ops' CUDA twins (ops/cuda/).

Every kernel set is a package with the same family files and function names
(``kernels/numpy_ref/activation.py`` and ``kernels/cpu/activation.py`` both define
``sigmoid_forward(x, out)``), so an op asks for a family and calls a function by name::

    backend.kernels("activation").sigmoid_forward(x, out)

``set_kernels("numpy")`` (or ``MICRODL_KERNELS=numpy`` in the environment) switches every op to
the plain numpy twins at run time, so a reader can step through the math in a debugger.
"""

import importlib
import os

KERNEL_SETS = {"numba": "microdl.kernels.cpu", "numpy": "microdl.kernels.numpy_ref"}
# The kernels for tensors on device "cuda", whatever the CPU set in use.
CUDA_KERNELS = "microdl.kernels.cuda"

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


def get_kernels():
    """The name of the CPU kernel set in use."""
    global _current
    if _current is None:
        _current = _check_name(os.environ.get("MICRODL_KERNELS", "numba"))
    return _current


def kernels(family):
    """The module of kernel ``family`` (e.g. "activation") in the kernel set in use."""
    module = _families.get(family)
    if module is None:
        module = importlib.import_module(f"{KERNEL_SETS[get_kernels()]}.{family}")
        _families[family] = module
    if _kernel_hook is not None:
        return _kernel_hook(module, family)
    return module


def cuda_kernels(family):
    """The module of ``family`` in the CUDA kernel set (imported when a CUDA tensor first needs
    it; importing it touches the CUDA driver or numba's simulator)."""
    module = _cuda_families.get(family)
    if module is None:
        module = _cuda_families[family] = importlib.import_module(f"{CUDA_KERNELS}.{family}")
    return module


def kernel_module(kernel_set, family):
    """The module of ``family`` in a named kernel set ("numpy", "numba" or "cuda"), whatever
    set is in use (for tests, bench)."""
    if kernel_set == "cuda":
        return cuda_kernels(family)
    return importlib.import_module(f"{KERNEL_SETS[_check_name(kernel_set)]}.{family}")
