"""Every kernel set has every family, with the same kernel names and parameter names.

The families are read from the folders, not from a list kept by hand: every module file of
``microdl/kernels/{numpy_ref,cpu,cuda}`` whose name does not start with ``_`` is a family, and a
family found in any set must exist in all three. Modules private to one set (``_jit``,
``_launch``, ...) start with an underscore.
"""

import importlib
import inspect
import pathlib

import pytest

import microdl

KERNELS_DIR = pathlib.Path(microdl.__file__).resolve().parent / "kernels"
SETS = ("numpy_ref", "cpu", "cuda")
REFERENCE = "numpy_ref"


def families_of(kernel_set):
    return {path.stem for path in (KERNELS_DIR / kernel_set).glob("*.py")
            if not path.stem.startswith("_")}


FAMILIES = sorted(set().union(*(families_of(name) for name in SETS)))


def with_marks(kernel_set, *rest):
    """A parameter set, marked ``cuda`` when importing it loads numba.cuda (the simulator in
    CI, see tests/conftest.py)."""
    marks = [pytest.mark.cuda] if kernel_set == "cuda" else []
    return pytest.param(kernel_set, *rest, marks=marks, id="-".join((kernel_set, *rest)))


def load_family(kernel_set, family):
    if kernel_set == "cuda":
        from numba import cuda

        if not cuda.is_available():
            pytest.skip("no CUDA GPU or driver and NUMBA_ENABLE_CUDASIM is not set")
    return importlib.import_module(f"microdl.kernels.{kernel_set}.{family}")


def public_kernels(module):
    """{name: python function} of the module's public kernels.

    A kernel is a public function (or Numba dispatcher) defined in a family module of some set:
    a fast set may re-export a numpy_ref function where numpy already is the fast path, while
    numpy/math names and helpers from private modules (``_jit.flat``, ``_blas.run_blocks``)
    are not kernels.
    """
    kernels = {}
    for name, value in vars(module).items():
        function = getattr(value, "py_func", value)  # a Numba dispatcher wraps the Python one
        if name.startswith("_") or not inspect.isfunction(function):
            continue
        origin = function.__module__ or ""
        if origin.startswith("microdl.kernels.") and \
                not any(part.startswith("_") for part in origin.split(".")):
            kernels[name] = function
    return kernels


def parameter_names(function):
    return list(inspect.signature(function).parameters)


def test_the_folders_hold_kernel_families():
    # Guards the derivation itself: a wrong path would make every check below vacuous.
    assert {"activation", "softmax", "normalization"} <= set(FAMILIES), FAMILIES


@pytest.mark.parametrize("kernel_set, family",
                         [with_marks(s, f) for s in SETS for f in FAMILIES])
def test_every_set_has_every_family(kernel_set, family):
    present = families_of(kernel_set)
    having = [name for name in SETS if family in families_of(name)]
    assert family in present, (f"kernel set {kernel_set!r} has no family {family!r} "
                               f"(microdl/kernels/{kernel_set}/{family}.py is missing; "
                               f"present in: {', '.join(having)})")


@pytest.mark.parametrize("kernel_set, family",
                         [with_marks(s, f) for s in SETS if s != REFERENCE for f in FAMILIES])
def test_same_kernels_and_parameters_as_the_reference(kernel_set, family):
    missing = [name for name in (REFERENCE, kernel_set) if family not in families_of(name)]
    if missing:
        # the family test above fails for this; comparing nothing would only repeat it
        pytest.skip(f"{family} is missing from {' and '.join(missing)}: "
                    "see test_every_set_has_every_family")
    reference = public_kernels(load_family(REFERENCE, family))
    twin = public_kernels(load_family(kernel_set, family))
    problems = [f"missing in {kernel_set}: {name}" for name in sorted(set(reference) - set(twin))]
    problems += [f"not in {REFERENCE}: {name}" for name in sorted(set(twin) - set(reference))]
    problems += [f"{name}: {kernel_set} takes {parameter_names(twin[name])}, "
                 f"{REFERENCE} takes {parameter_names(function)}"
                 for name, function in sorted(reference.items())
                 if name in twin and parameter_names(twin[name]) != parameter_names(function)]
    assert reference, f"{REFERENCE}.{family} has no public kernels"
    assert not problems, f"{kernel_set}.{family} differs from {REFERENCE}.{family}:\n  " + \
        "\n  ".join(problems)


@pytest.mark.parametrize("family", FAMILIES)
def test_reference_kernels_state_their_math(family):
    if family not in families_of(REFERENCE):
        pytest.skip(f"{family} is missing from {REFERENCE}: see test_every_set_has_every_family")
    undocumented = sorted(name for name, function in
                          public_kernels(load_family(REFERENCE, family)).items()
                          if not (function.__doc__ and function.__doc__.strip()))
    assert not undocumented, f"{REFERENCE}.{family} kernels with no formula docstring: " \
        f"{undocumented}"
