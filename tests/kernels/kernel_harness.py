"""The kernel harness's parts (a module of its own, so test files can import them: each
conftest.py is imported as "conftest", and tests/ has one too)."""

import numpy as np
import pytest

from microdl.backend import kernel_module

# The SGD hyper-parameter combinations the optim tests run: (lr, momentum, dampening,
# weight_decay, nesterov).
SGD_OPTIONS = {
    "plain": (0.1, 0.0, 0.0, 0.0, False),
    "weight_decay": (0.1, 0.0, 0.0, 0.05, False),
    "momentum": (0.1, 0.9, 0.0, 0.0, False),
    "dampening": (0.05, 0.8, 0.3, 0.0, False),
    "nesterov": (0.1, 0.9, 0.0, 0.0, True),
    "nesterov_decay": (0.02, 0.7, 0.0, 0.01, True),
    "everything": (0.05, 0.8, 0.3, 0.01, False),
}

# The simulator runs ~3 ms per simulated thread: a case whose arrays hold more values than this
# runs on the CPU sets only (the large shapes are there for numba's parallel paths).
CUDA_MAX_ELEMENTS = 2000


class Host:
    """An argument that stays on the host for every set (a numpy index for take/put_add)."""

    def __init__(self, value):
        self.value = value


def _reference_arguments(args):
    return [a.copy() if isinstance(a, np.ndarray) else a.value if isinstance(a, Host) else a
            for a in args]


def reference(family, name, args):
    """Run the numpy reference kernel on copies of ``args``; return the copies (outputs
    filled)."""
    copies = _reference_arguments(args)
    getattr(kernel_module("numpy", family), name)(*copies)
    return copies


class KernelSet:
    """A kernel set under test: ``run`` calls one of its kernels, ``check`` compares it with
    the numpy reference."""

    def __init__(self, name):
        self.name = name

    def run(self, family, name, args):
        """Call the kernel on copies of the array arguments (device copies for cuda); return
        host copies of them all, in order, the other arguments as given."""
        copies = _reference_arguments(args)
        if self.name == "cuda":
            from microdl.kernels.cuda.memory import to_here

            on_device = [to_here(c) if isinstance(a, np.ndarray) else c
                         for a, c in zip(args, copies)]
            getattr(kernel_module("cuda", family), name)(*on_device)
            return [d.copy_to_host() if isinstance(a, np.ndarray) else d
                    for a, d in zip(args, on_device)]
        getattr(kernel_module(self.name, family), name)(*copies)
        return copies

    def check(self, family, name, args, rtol, atol=0.0):
        """Run ``family.name`` here and in the reference on the same arguments; every array
        argument must match afterwards (NaN where the reference has NaN). Returns the
        reference's arguments, for a backward case to build on."""
        if self.name == "cuda":
            size = sum(a.size for a in args if isinstance(a, np.ndarray))
            if size > CUDA_MAX_ELEMENTS:
                pytest.skip("too many values for the CUDA simulator (a CPU-only shape)")
        expected = reference(family, name, args)
        got = self.run(family, name, args)
        for i, (e, g) in enumerate(zip(expected, got)):
            if isinstance(e, np.ndarray):
                assert g.dtype == e.dtype and g.shape == e.shape, f"{name} argument {i}"
                np.testing.assert_allclose(g, e, rtol=rtol, atol=atol,
                                           err_msg=f"{self.name} {family}.{name} argument {i}")
        return expected
