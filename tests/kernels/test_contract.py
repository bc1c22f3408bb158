"""Every kernel set exports the same families, function names and signatures as numpy_ref."""

import importlib
import inspect
import pkgutil

import pytest

import microdl.kernels.numpy_ref as numpy_ref

FAMILIES = sorted(m.name for m in pkgutil.iter_modules(numpy_ref.__path__)
                  if not m.name.startswith("_"))
# The CUDA set is imported for real (numba's simulator unless MICRODL_TEST_REAL_CUDA=1, see
# tests/conftest.py), so its @cuda.jit kernels are checked to load as well.
OTHER_SETS = ["microdl.kernels.cpu", pytest.param("microdl.kernels.cuda", marks=pytest.mark.cuda)]


def public_kernels(module):
    return {name: fn for name, fn in vars(module).items()
            if inspect.isfunction(fn) and not name.startswith("_")
            and fn.__module__ == module.__name__}


def test_there_are_kernel_families():
    assert {"activation", "softmax"} <= set(FAMILIES)


@pytest.mark.parametrize("package", OTHER_SETS)
@pytest.mark.parametrize("family", FAMILIES)
def test_same_names_and_signatures_as_the_reference(package, family):
    if package.endswith("cuda"):
        from numba import cuda

        if not cuda.is_available():
            pytest.skip("no CUDA GPU or driver and NUMBA_ENABLE_CUDASIM is not set")
    reference = public_kernels(importlib.import_module(f"microdl.kernels.numpy_ref.{family}"))
    twin = public_kernels(importlib.import_module(f"{package}.{family}"))
    assert sorted(twin) == sorted(reference)
    for name, fn in reference.items():
        assert list(inspect.signature(twin[name]).parameters) == \
            list(inspect.signature(fn).parameters), name


@pytest.mark.parametrize("family", FAMILIES)
def test_reference_kernels_state_their_math(family):
    for name, fn in public_kernels(
            importlib.import_module(f"microdl.kernels.numpy_ref.{family}")).items():
        assert fn.__doc__ and fn.__doc__.strip(), f"{family}.{name} has no formula docstring"
