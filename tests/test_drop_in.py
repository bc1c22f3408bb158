"""The drop-in surface: a PyTorch script runs with ``import torch`` renamed ``import microdl as
torch``. Devices, ``microdl.cuda``, the module aliases, the creation functions, and the small
frictions a newcomer meets (profiler reachable, bench --only, example file modes), checked
against PyTorch where it has an answer."""

import copy
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import microdl
from microdl import nn

ROOT = Path(__file__).resolve().parents[1]


def run_python(code, **env):
    """Run ``code`` in a fresh interpreter from the checkout; its stdout."""
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---- microdl.device -------------------------------------------------------------------------

DEVICE_ARGS = [("cpu",), ("cuda",), ("cuda:0",), ("cuda", 0), ("cuda:1",), ("cuda", 2),
               ("cpu:0",), ("cuda", None)]


@pytest.mark.parametrize("args", DEVICE_ARGS, ids=str)
def test_device_matches_torch(args):
    torch = pytest.importorskip("torch")
    ours, theirs = microdl.device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert microdl.device(ours) == ours  # a device from a device


def test_device_equality_and_hash():
    assert microdl.device("cuda", 0) == microdl.device("cuda:0")
    assert microdl.device("cuda") != microdl.device("cuda:0")  # as in PyTorch
    # microdl's choice: a device also equals the string naming it, and hashes as it
    assert microdl.device("cpu") == "cpu" and "cpu" == microdl.device("cpu")
    assert microdl.device("cuda:0") == "cuda:0" and microdl.device("cuda:0") != "cuda"
    assert microdl.device("cuda") == "cuda" and microdl.device("cpu") != "gpu"
    assert microdl.device("cpu") != 0 and microdl.device("cpu") != None  # noqa: E711
    assert {microdl.device("cuda", 0): 1}["cuda:0"] == 1
    assert len({microdl.device("cpu"), microdl.device("cpu"), "cpu"}) == 1
    with pytest.raises(AttributeError):
        microdl.device("cpu").type = "cuda"


def test_device_pickles_and_copies():
    d = microdl.device("cuda", 0)
    assert pickle.loads(pickle.dumps(d)) == d and copy.deepcopy(d) == d


BAD_DEVICES = [("gpu",), ("CUDA",), ("gpu:0",), ("cuda:x",), ("cuda:-1",), ("cuda:00",),
               (" cuda",), ("cuda:",), ("cuda:0:0",), ("",), ("float32",), ("cuda", -1),
               ("cuda:0", 0), (3.0,), (None,), ("cuda", "0")]


@pytest.mark.parametrize("args", BAD_DEVICES, ids=str)
def test_bad_devices_raise_as_torch(args):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        torch.device(*args)
    with pytest.raises(type(theirs.value)) as ours:
        microdl.device(*args)
    # PyTorch lists its many device types; microdl its two
    expected = str(theirs.value).splitlines()[0].replace("torch.device", "microdl.device")
    if "Expected one of" in expected:
        expected = "Expected one of cpu, cuda device type" + expected.split("device type")[1]
    assert str(ours.value).splitlines()[0] == expected


def test_tensor_device_is_a_device_equal_to_its_name():
    t = microdl.zeros(2)
    assert isinstance(t.device, microdl.device) and t.device.type == "cpu"
    assert t.device == "cpu" and t.device == microdl.device("cpu") and str(t.device) == "cpu"
    made = microdl.tensor([1.0], device=microdl.device("cpu"))
    assert made.device == "cpu"


# ---- Tensor.to and Module.to ----------------------------------------------------------------

TO_FORMS = {
    "device string": lambda fw, x: x.to("cpu"),
    "device object": lambda fw, x: x.to(fw.device("cpu")),
    "dtype": lambda fw, x: x.to(fw.float64),
    "dtype keyword": lambda fw, x: x.to(dtype=fw.int32),
    "device and dtype": lambda fw, x: x.to("cpu", fw.float64),
    "device object and dtype": lambda fw, x: x.to(fw.device("cpu"), dtype=fw.float16),
    "other tensor": lambda fw, x: x.to(fw.ones(2, dtype=fw.int64)),
    "python float": lambda fw, x: x.to(float),
    "python int": lambda fw, x: x.to(int),
    "python bool": lambda fw, x: x.to(bool),
    "non_blocking": lambda fw, x: x.to("cpu", non_blocking=True),
}


@pytest.mark.parametrize("form", TO_FORMS)
def test_to_forms_match_torch(form):
    torch = pytest.importorskip("torch")
    values = [1.5, -2.0, 0.0]
    ours = TO_FORMS[form](microdl, microdl.tensor(values))
    theirs = TO_FORMS[form](torch, torch.tensor(values))
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.device == "cpu"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_to_returns_itself_unless_copy_is_asked_for():
    x = microdl.tensor([1.0, 2.0])
    assert x.to("cpu") is x and x.to(microdl.float32) is x and x.to(x) is x
    copied = x.to("cpu", copy=True)
    assert copied is not x and np.shares_memory(copied.numpy(), x.numpy()) is False


def test_to_keeps_the_gradient_path():
    x = microdl.tensor([1.0, 2.0], requires_grad=True)
    x.to(microdl.device("cpu"), microdl.float64).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_to_rejects_bad_arguments():
    x = microdl.tensor([1.0])
    with pytest.raises(RuntimeError, match="Invalid device string: 'float32'"):
        x.to("float32")  # as PyTorch: a string is a device
    with pytest.raises(TypeError, match="invalid combination"):
        x.to(3.5)
    with pytest.raises(TypeError, match="unexpected keyword argument 'layout'"):
        x.to("cpu", layout=None)
    with pytest.raises(TypeError, match="multiple values for argument 'dtype'"):
        x.to("cpu", microdl.float64, dtype=microdl.float32)


def test_module_to_takes_a_device_object():
    model = nn.Linear(3, 2)
    assert model.to(microdl.device("cpu")) is model
    assert all(p.device == "cpu" for p in model.parameters())


# ---- microdl.cuda ---------------------------------------------------------------------------

def test_cuda_questions_need_neither_numba_cuda_nor_numba():
    out = run_python("import sys, microdl\n"
                     "before = set(sys.modules)\n"
                     "print(microdl.cuda.is_available(), microdl.cuda.device_count())\n"
                     "print('numba.cuda' in sys.modules,\n"
                     "      sorted(m for m in set(sys.modules) - before if 'numba' in m))")
    answer, imported = out.splitlines()
    assert imported == "False []"
    assert answer in ("False 0", "True 1")


def test_the_simulator_does_not_count_as_a_gpu():
    code = "import microdl\nprint(microdl.cuda.is_available())"
    plain = run_python(code, NUMBA_ENABLE_CUDASIM="0")
    assert run_python(code, NUMBA_ENABLE_CUDASIM="1") == plain
    assert run_python(code, NUMBA_DISABLE_CUDA="1").strip() == "False"


class FakeDriver:
    """The two driver calls microdl.cuda makes, answering ``count`` GPUs."""

    def __init__(self, count, init_status=0):
        self.count, self.init_status = count, init_status

    def cuInit(self, flags):  # noqa: N802  the driver's names
        return self.init_status

    def cuDeviceGetCount(self, pointer):  # noqa: N802
        pointer._obj.value = self.count
        return 0


@pytest.mark.parametrize("driver, available, count", [
    (None, False, 0), (FakeDriver(1), True, 1), (FakeDriver(4), True, 1),
    (FakeDriver(0), False, 0), (FakeDriver(2, init_status=100), False, 0)])
def test_cuda_answers_follow_the_driver(monkeypatch, driver, available, count):
    monkeypatch.delenv("NUMBA_DISABLE_CUDA", raising=False)
    monkeypatch.setattr(microdl.cuda, "_load_driver", lambda: driver)
    microdl.cuda._driver_device_count.cache_clear()
    try:
        assert microdl.cuda.is_available() is available
        assert microdl.cuda.device_count() == count
    finally:
        microdl.cuda._driver_device_count.cache_clear()


def test_cuda_manual_seed_is_a_checked_no_op():
    microdl.manual_seed(3)
    first = microdl.rand(3).numpy()
    microdl.manual_seed(3)
    microdl.cuda.manual_seed(7)
    microdl.cuda.manual_seed_all(7)
    np.testing.assert_array_equal(microdl.rand(3).numpy(), first)
    with pytest.raises(ValueError, match="non-negative integer"):
        microdl.cuda.manual_seed(-1)
    assert microdl.cuda.current_device() == 0
    microdl.cuda.synchronize()


# ---- aliases --------------------------------------------------------------------------------

def test_functional_under_nn_is_the_same_module():
    import microdl.nn.functional as F
    from microdl.nn import functional as G
    from microdl.nn.functional import relu

    assert F is G is microdl.functional and relu is microdl.functional.relu
    assert microdl.nn.functional is microdl.functional


def test_fresh_process_imports_the_torch_paths():
    out = run_python("import microdl.nn.functional as F\n"
                     "from microdl.utils.data import DataLoader, Dataset, TensorDataset\n"
                     "import microdl, microdl.utils.data as D\n"
                     "print(F is microdl.functional, DataLoader is microdl.data.DataLoader,\n"
                     "      D.Dataset is microdl.data.Dataset, D.TensorDataset is TensorDataset)")
    assert out.split() == ["True"] * 4


def test_utils_data_holds_the_data_classes():
    from microdl.utils import data

    assert data.DataLoader is microdl.data.DataLoader
    assert data.TensorDataset is microdl.data.TensorDataset
    assert data.Dataset is microdl.data.Dataset


# ---- creation functions: values and dtypes against PyTorch ------------------------------------

CREATIONS = {
    "arange(5)": lambda fw: fw.arange(5),
    "arange(1, 2.5, 0.5)": lambda fw: fw.arange(1, 2.5, 0.5),
    "arange(0, 1, 0.1)": lambda fw: fw.arange(0, 1, 0.1),
    "arange(10, 0, -3)": lambda fw: fw.arange(10, 0, -3),
    "arange(-1.3, 7.9, 0.7) float64": lambda fw: fw.arange(-1.3, 7.9, 0.7, dtype=fw.float64),
    "arange(5) float32": lambda fw: fw.arange(5, dtype=fw.float32),
    "arange(0., 5., 1.5) int64": lambda fw: fw.arange(0.0, 5.0, 1.5, dtype=fw.int64),
    "arange(3, 3)": lambda fw: fw.arange(3, 3),
    "full int": lambda fw: fw.full((2, 3), 3),
    "full bool": lambda fw: fw.full((2,), True),
    "full float": lambda fw: fw.full([2, 2], 2.5),
    "full dtype": lambda fw: fw.full((3,), 7, dtype=fw.float64),
    "eye(3)": lambda fw: fw.eye(3),
    "eye(2, 4) int32": lambda fw: fw.eye(2, 4, dtype=fw.int32),
    "eye(0)": lambda fw: fw.eye(0),
    "linspace(0, 1, 5)": lambda fw: fw.linspace(0, 1, 5),
    "linspace(-3.3, 17.1, 101)": lambda fw: fw.linspace(-3.3, 17.1, 101),
    "linspace(2, -7.77, 1000)": lambda fw: fw.linspace(2, -7.77, 1000),
    "linspace(0, 10, 5) int64": lambda fw: fw.linspace(0, 10, 5, dtype=fw.int64),
    "linspace(0, 10, 1)": lambda fw: fw.linspace(0, 10, 1),
    "linspace(0, 10, 0)": lambda fw: fw.linspace(0, 10, 0),
    "zeros(2, 3)": lambda fw: fw.zeros(2, 3),
    "zeros((2, 3)) int32": lambda fw: fw.zeros((2, 3), dtype=fw.int32),
    "zeros([]) scalar": lambda fw: fw.zeros([]),
    "ones([2, 1]) float64": lambda fw: fw.ones([2, 1], dtype=fw.float64),
    "ones(shape) bool": lambda fw: fw.ones(fw.zeros(2, 2).shape, dtype=fw.bool),
    "zeros_like float64": lambda fw: fw.zeros_like(fw.ones(2, 3, dtype=fw.float64)),
    "ones_like int32 as float32": lambda fw: fw.ones_like(fw.zeros(2, dtype=fw.int32),
                                                          dtype=fw.float32),
    "full_like int32": lambda fw: fw.full_like(fw.zeros(3, dtype=fw.int32), 2.7),
    "full_like float": lambda fw: fw.full_like(fw.zeros(2, 2), -1.5),
}


@pytest.mark.parametrize("name", CREATIONS)
def test_creation_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = CREATIONS[name](microdl), CREATIONS[name](torch)
    assert isinstance(ours, microdl.Tensor) and not ours.requires_grad
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.shape == tuple(theirs.shape)
    if ours.dtype == np.float64:  # PyTorch's fused multiply-add: the last bit may differ
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, atol=1e-15)
    else:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


SHAPED = {
    "empty": lambda fw: fw.empty(2, 3),
    "empty float64": lambda fw: fw.empty((4,), dtype=fw.float64),
    "empty_like": lambda fw: fw.empty_like(fw.zeros(3, 1, dtype=fw.int32)),
    "rand": lambda fw: fw.rand(3, 4),
    "rand float64": lambda fw: fw.rand((5,), dtype=fw.float64),
    "randn": lambda fw: fw.randn(2, 3, 4),
    "randn float16": lambda fw: fw.randn(6, dtype=fw.float16),
    "rand_like": lambda fw: fw.rand_like(fw.zeros(2, dtype=fw.float64)),
    "randn_like": lambda fw: fw.randn_like(fw.zeros(3, 2)),
    "randint(5, (3,))": lambda fw: fw.randint(5, (3,)),
    "randint(2, 9, (2, 2))": lambda fw: fw.randint(2, 9, (2, 2)),
    "randint float32": lambda fw: fw.randint(0, 4, (6,), dtype=fw.float32),
    "randint keywords": lambda fw: fw.randint(low=1, high=3, size=(4,)),
    "randperm(7)": lambda fw: fw.randperm(7),
    "randperm int32": lambda fw: fw.randperm(4, dtype=fw.int32),
}


@pytest.mark.parametrize("name", SHAPED)
def test_uninitialised_and_random_shapes_and_dtypes_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = SHAPED[name](microdl), SHAPED[name](torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.shape == tuple(theirs.shape)


def test_random_draws_follow_manual_seed_and_their_ranges():
    draws = {}
    for attempt in range(2):
        microdl.manual_seed(11)
        draws[attempt] = [microdl.rand(500).numpy(), microdl.randn(500).numpy(),
                          microdl.randint(3, 8, (500,)).numpy(), microdl.randperm(50).numpy()]
    for first, second in zip(draws[0], draws[1]):
        np.testing.assert_array_equal(first, second)
    uniform, normal, integers, permutation = draws[0]
    assert 0 <= uniform.min() and uniform.max() < 1 and 0.4 < uniform.mean() < 0.6
    assert abs(normal.mean()) < 0.2 and 0.8 < normal.std() < 1.2
    assert set(integers.tolist()) == {3, 4, 5, 6, 7}
    assert sorted(permutation.tolist()) == list(range(50))
    # draws come from microdl's generator, so the global seed decides them
    microdl.manual_seed(11)
    expected = np.random.default_rng(11).random(500, dtype=np.float32)
    np.testing.assert_array_equal(microdl.rand(500).numpy(), expected)


def test_a_generator_keyword_draws_from_it():
    a = microdl.rand(4, generator=np.random.default_rng(5)).numpy()
    b = microdl.rand(4, generator=np.random.default_rng(5)).numpy()
    np.testing.assert_array_equal(a, b)


def test_requires_grad_and_device_keywords():
    w = microdl.randn(3, 2, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2), 2, np.float32))
    for made in (microdl.zeros(2, device="cpu"), microdl.arange(3, device=microdl.device("cpu")),
                 microdl.full((1,), 2.0, device="cpu"), microdl.eye(2, device=None)):
        assert made.device == "cpu"
    with pytest.raises(RuntimeError, match="floating point"):
        microdl.ones(2, dtype=microdl.int64, requires_grad=True)


BAD_CREATIONS = {
    "arange step 0": lambda fw: fw.arange(0, 5, 0),
    "arange wrong sign": lambda fw: fw.arange(5, 0, 1),
    "zeros negative": lambda fw: fw.ones(-1, 2),
    "rand negative": lambda fw: fw.rand(2, -3),
    "zeros float size": lambda fw: fw.zeros(2.0),
    "full size int": lambda fw: fw.full(3, 1.0),
    "rand int64": lambda fw: fw.rand(2, dtype=fw.int64),
    "randn int64": lambda fw: fw.randn(2, dtype=fw.int64),
    "randint low >= high": lambda fw: fw.randint(5, 2, (3,)),
    "randint size int": lambda fw: fw.randint(5, 3),
    "randperm negative": lambda fw: fw.randperm(-1),
    "linspace negative steps": lambda fw: fw.linspace(0, 1, -1),
    "eye negative": lambda fw: fw.eye(-1),
    "eye float": lambda fw: fw.eye(2.5),
    "zeros bad device": lambda fw: fw.zeros(2, device="gpu"),
}


@pytest.mark.parametrize("name", BAD_CREATIONS)
def test_bad_creation_arguments_raise_as_torch(name):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        BAD_CREATIONS[name](torch)
    with pytest.raises(type(theirs.value)):
        BAD_CREATIONS[name](microdl)


def test_small_names():
    torch = pytest.importorskip("torch")
    assert microdl.get_default_dtype() == microdl.float32
    assert str(microdl.get_default_dtype()) == str(torch.get_default_dtype()).split(".")[1]
    assert microdl.is_tensor(microdl.zeros(1)) and not microdl.is_tensor(np.zeros(1))
    assert microdl.numel(microdl.zeros(2, 3)) == 6


def test_cuda_creation_allocates_on_the_device(shrunk_cuda):
    for made in (microdl.zeros(2, 3, device="cuda"), microdl.full((4,), 2.5, device="cuda:0"),
                 microdl.arange(5, device=microdl.device("cuda", 0)),
                 microdl.rand(3, device="cuda"), microdl.empty(2, device="cuda")):
        assert made.device == "cuda:0" and not isinstance(made.array, np.ndarray)
    np.testing.assert_array_equal(microdl.full((4,), 2.5, device="cuda").numpy(),
                                  np.full(4, 2.5, np.float32))
    ones = microdl.ones_like(microdl.zeros(3, device="cuda"))
    assert ones.device == "cuda:0" and ones.tolist() == [1.0, 1.0, 1.0]
    on_cuda = microdl.tensor([1.0, 2.0]).to(microdl.device("cuda"))
    assert on_cuda.device == microdl.device("cuda", 0) and on_cuda.device == "cuda:0"
    assert on_cuda.to(microdl.zeros(1)).device == "cpu"  # to(other): other's device


# ---- friction -------------------------------------------------------------------------------

def test_profiler_is_reachable_from_import_microdl():
    out = run_python("import microdl\nprint(callable(microdl.profiler.profile))")
    assert out.strip() == "True"


def test_a_first_call_compile_is_its_own_profile_row():
    numba = pytest.importorskip("numba")
    from microdl import profiler

    @numba.njit
    def add_one(x):  # a new function: its first call compiles
        return x + 1.0

    with profiler.profile() as prof:
        with profiler.record_function("first"):
            add_one(1.0)
        with profiler.record_function("second"):
            add_one(2.0)
    rows = {row.name: row for row in prof.rows()}
    compile_row = rows[profiler.COMPILE_ROW]
    assert compile_row.calls == 1 and compile_row.backend == "numba"
    first = rows["first"]
    assert first.total >= compile_row.total  # the compile ran inside it ...
    assert abs(first.self_time - (first.total - compile_row.total)) < 1e-9  # ... not in its self
    with profiler.profile() as again:
        add_one(3.0)
    assert profiler.COMPILE_ROW not in {row.name for row in again.rows()}


def test_bench_only_without_a_match_lists_the_names():
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--no-torch", "--only",
                           "no such row"], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 2
    assert "--only 'no such row' matches no bench row" in done.stderr
    assert "sigmoid fwd+bwd 60x100" in done.stderr and "startup" in done.stderr
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "("],
                          capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 2 and "not a regular expression" in done.stderr


def test_bench_names_cover_the_self_measuring_families():
    sys.path.insert(0, str(ROOT))
    from bench import startup, threads

    assert startup.names(quick=True)[0] == "startup"
    assert threads.names(quick=True, torch=False) == ["threads: MLP+BN step microdl defaults",
                                                      "threads: MLP+BN step libgomp/OpenBLAS "
                                                      "defaults"]


def test_example_json_gets_a_plain_files_mode(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    from common import write_json

    previous = os.umask(0o022)
    try:
        path = write_json(tmp_path / "figures.json", {"a": 1})
        (tmp_path / "plot.png").write_bytes(b"")  # as matplotlib opens its files
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE((tmp_path / "plot.png").stat()
                                                             .st_mode)
    assert path.read_text().strip().startswith("{") and not list(tmp_path.glob("*.tmp"))
