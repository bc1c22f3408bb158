"""``python -m microdl.warmup`` reaches every CPU kernel (checked without compiling them all)."""

import importlib
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from microdl import warmup

FAMILIES = warmup.families()
DTYPES = [np.float32, np.float64]


def test_it_walks_every_family_of_the_cpu_kernels():
    assert {"activation", "conv", "normalization", "optim", "pool", "softmax"} <= set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_exported_kernel_has_a_warm_up_example(family):
    module = importlib.import_module(f"{warmup.PACKAGE}.{family}")
    for dtype in DTYPES:
        calls = warmup.examples(family, dtype, module)
        missing = sorted(set(warmup.public_kernels(module)) - set(calls))
        assert not missing, f"add warm-up examples for {family}: {missing}"


@pytest.mark.parametrize("family", FAMILIES)
def test_examples_are_valid_calls_of_the_reference_kernels(family):
    # NOTE: the numpy reference states the contract; running it costs no compilation.
    reference = importlib.import_module(f"microdl.kernels.numpy_ref.{family}")
    for dtype in DTYPES:
        for name, calls in warmup.examples(family, dtype).items():
            assert calls, f"{family}.{name}"
            for args in calls:
                getattr(reference, name)(*args)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_compiled_function_is_found_and_cached_on_disk(family):
    module = importlib.import_module(f"{warmup.PACKAGE}.{family}")
    found = warmup.dispatchers(module)
    assert found
    for serial, parallel in warmup.twins(module):
        assert any(d is serial for d in found.values())
        assert any(d is parallel for d in found.values())
    for name, dispatcher in found.items():
        assert type(dispatcher._cache).__name__ != "NullCache", f"{name}: needs cache=True"


def _fake_family():
    """A kernel module of one jitted kernel, ``double``, compiled for nothing yet."""
    module = types.ModuleType("fake_kernels")

    def double(x, out):
        for i in range(x.size):
            out[i] = 2 * x[i]

    double.__module__ = module.__name__
    module.double = njit(double)
    return module


def test_unwarmed_lists_what_no_call_has_compiled_for_a_dtype():
    module = _fake_family()
    assert warmup.unwarmed(module, DTYPES) == ["fake_kernels.double (float32)",
                                               "fake_kernels.double (float64)"]
    x = np.ones(3, np.float32)
    module.double(x, np.empty_like(x))
    assert warmup.unwarmed(module, DTYPES) == ["fake_kernels.double (float64)"]


def test_unwarmed_skips_the_dtypes_a_build_does_not_serve():
    module = _fake_family()
    module.DTYPE_ONLY = {"double": ("float32",)}
    assert warmup.unwarmed(module, DTYPES) == ["fake_kernels.double (float32)"]
    x = np.ones(3, np.float32)
    module.double(x, np.empty_like(x))
    assert warmup.unwarmed(module, DTYPES) == []


@pytest.mark.parametrize("family", ["activation", "softmax"])
def test_warm_up_reaches_every_build_of_the_families_with_float32_loops(family):
    # their float32-only builds and the builds only other dtypes take (DTYPE_ONLY)
    report = warmup.warm_family(family, DTYPES)
    assert report["problems"] == []


def test_warm_up_command_on_one_family(capsys):
    assert warmup.main(["--only", "^optim$", "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "optim:" in out and "total:" in out
    module = importlib.import_module(f"{warmup.PACKAGE}.optim")
    assert warmup.unwarmed(module, [np.float32]) == []
    # both builds, although the example's size only selects the serial one
    for serial, parallel in warmup.twins(module):
        assert set(serial.signatures) == set(parallel.signatures) != set()


def test_a_first_run_is_told_that_kernels_are_compiling(tmp_path):
    # An empty NUMBA_CACHE_DIR is a first-ever run: nothing compiled, so the notice prints.
    import os
    import subprocess
    import sys

    code = ("import sys; from microdl import warmup; "
            "print(warmup.compiled_before()); warmup.announce_first_run(sys.stdout)")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines() == ["False", warmup.FIRST_RUN_MESSAGE]


def test_fit_says_so_once_on_a_first_run(monkeypatch, capsys):
    from microdl import nn
    from microdl.data import DataLoader, TensorDataset
    from microdl.optim import SGD
    from microdl.train import fit

    model = nn.Linear(3, 2)
    loader = DataLoader(TensorDataset(np.zeros((4, 3), np.float32), np.zeros(4, np.int64)),
                        batch_size=2)
    for compiled, expected in ((False, 1), (True, 0)):
        monkeypatch.setattr(warmup, "_announced", [])  # (an earlier test's fit may have said it)
        monkeypatch.setattr(warmup, "compiled_before", lambda compiled=compiled: compiled)
        fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), loader, 2)
        assert capsys.readouterr().err.count(warmup.FIRST_RUN_MESSAGE) == expected
    monkeypatch.setattr(warmup, "compiled_before", lambda: False)
    monkeypatch.setattr(warmup, "_announced", [])
    fit(model, nn.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), loader, 1,
        progress=False)  # progress=False prints nothing at all
    assert warmup.FIRST_RUN_MESSAGE not in capsys.readouterr().err


def test_a_first_run_starts_one_helper_compiling_ahead(monkeypatch, capsys):
    import subprocess

    started = []

    class FakeProcess:
        def __init__(self, command, **kwargs):
            started.append((command, kwargs))

        def poll(self):
            return 0

    from microdl import nn

    mlp = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Sigmoid(), nn.Linear(3, 2))
    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(warmup, "_helpers", [])
    monkeypatch.setattr(warmup, "_announced", [])
    monkeypatch.delenv(warmup.AHEAD_SWITCH, raising=False)
    monkeypatch.setattr(warmup, "compiled_before", lambda: True)
    assert warmup.compile_ahead() is None and not warmup.announce_first_run(model=mlp)
    monkeypatch.setattr(warmup, "compiled_before", lambda: False)
    assert warmup.announce_first_run(sys.stdout) and not started  # no model: the notice only
    assert not warmup.announce_first_run(sys.stdout, model=mlp)  # the notice once a process
    (command, kwargs), = started
    assert command[1:] == ["-m", "microdl.warmup", "--ahead", "--only",
                           "^(activation|normalization|optim|softmax)$"]
    assert kwargs["stdout"] is subprocess.DEVNULL and kwargs["stderr"] is subprocess.DEVNULL
    package_root = str(Path(warmup.__file__).resolve().parents[1])
    assert kwargs["env"]["PYTHONPATH"].split(os.pathsep)[0] == package_root
    assert warmup.compile_ahead() is None  # one helper a process
    monkeypatch.setattr(warmup, "_helpers", [])
    assert isinstance(warmup.compile_ahead(), FakeProcess)
    assert started[-1][0][1:] == ["-m", "microdl.warmup", "--ahead"]  # no model: the whole plan
    monkeypatch.setattr(warmup, "_helpers", [])
    monkeypatch.setenv(warmup.AHEAD_SWITCH, "0")
    assert warmup.compile_ahead(check=False) is None and len(started) == 2
    monkeypatch.delenv(warmup.AHEAD_SWITCH)

    def no_interpreter(command, **kwargs):
        raise FileNotFoundError(command[0])

    monkeypatch.setattr(subprocess, "Popen", no_interpreter)
    assert warmup.compile_ahead(check=False) is None  # training goes on without a helper


def test_the_helper_compiles_its_plan_into_the_cache(tmp_path):
    # a fresh process on an empty cache runs the helper's work on a one-kernel plan; a second
    # one then finds that kernel's float32 build in the cache (it compiles nothing)
    import os
    import subprocess

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    ahead = ("from microdl import warmup; "
             "warmup.run_ahead([('optim', 'sgd_update_')])")
    subprocess.run([sys.executable, "-c", ahead], env=env, check=True)
    check = ("import numpy as np; from microdl.kernels.cpu import optim; "
             "p = np.ones(3, np.float32); optim.sgd_update_(p, p.copy(), None, 0.1, 0, 0, 0, "
             "False, False); print(sum(optim._sgd.serial.stats.cache_misses.values()), "
             "sum(optim._sgd.serial.stats.cache_hits.values()))")
    out = subprocess.run([sys.executable, "-c", check], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["0", "1"]


def test_conv_examples_reach_the_winograd_layout(monkeypatch):
    """Winograd's passes live in a private module: the conv examples must take its layout."""
    from microdl.kernels.cpu import _blas
    from microdl.kernels.cpu import conv

    monkeypatch.setattr(_blas, "manages_blas", lambda: True)
    taken = []
    choose = conv._layout
    monkeypatch.setattr(conv, "_layout", lambda *args: taken.append(choose(*args)) or taken[-1])
    monkeypatch.setattr(conv, "_winograd_forward", lambda *args: None)
    monkeypatch.setattr(conv, "_winograd_backward", lambda *args: None)
    calls = warmup.examples("conv", np.float32, conv)
    for name in ("conv2d_forward", "conv2d_backward"):
        for args in calls[name]:
            if len(args[0]) >= conv.SAMPLE_BLOCKS:
                getattr(conv, name)(*args)
    assert taken == ["winograd", "winograd"]
