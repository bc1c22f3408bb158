"""Tensors and modules on device "cuda": moving, reading back, errors worded as PyTorch's, and
the promise that ``import microdl`` never touches CUDA."""

import os
import subprocess
import sys

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl import autograd, optim
from microdl.device import SAME_DEVICE


def test_tensors_move_and_read_back(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    t = microdl.tensor(a, device="cuda")
    assert t.device == "cuda:0" and t.shape == (2, 3) and t.dtype == np.float32
    assert "device='cuda:0'" in repr(t)
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal(np.asarray(t), a)
    back = t.to("cpu")
    assert back.device == "cpu" and isinstance(back.data, np.ndarray)
    np.testing.assert_array_equal(back.numpy(), a)
    assert t.cuda() is t and t.to("cuda:0") is t
    assert t.cpu().device == "cpu"
    assert microdl.tensor(t).device == "cpu"  # torch.tensor(t) copies; microdl to the cpu
    assert microdl.tensor(t, device="cuda").tolist() == a.tolist()


def test_gradients_flow_back_across_devices():
    x = microdl.tensor([1.0, -2.0], requires_grad=True)
    y = (x.to("cuda") * 3).relu().sum()
    y.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0])


@pytest.mark.parametrize("mix", [
    lambda c, h: c + h,
    lambda c, h: h * c,
    lambda c, h: c @ h.T,
    lambda c, h: c + h.numpy(),
    lambda c, h: F.cross_entropy(c, np.array([0, 1])),
])
def test_mixing_devices_is_pytorchs_error(mix):
    c = microdl.tensor(np.ones((2, 2), np.float32), device="cuda")
    h = microdl.tensor(np.ones((2, 2), np.float32))
    with pytest.raises(RuntimeError) as info:
        mix(c, h)
    assert str(info.value) == SAME_DEVICE


def test_python_scalars_go_with_cuda_tensors():
    c = microdl.tensor([1.0, 2.0], device="cuda")
    np.testing.assert_array_equal((2 * c - 1 + c / 2).numpy(), [1.5, 4.0])


@pytest.mark.parametrize("name", ["gpu", "cuda:1"])
def test_unknown_devices_are_errors(name):
    with pytest.raises(RuntimeError, match="device"):
        microdl.tensor([1.0], device=name)


def test_module_to_moves_parameters_in_place_and_state_dict_reads_back(rng):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    params = list(model.parameters())
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.to("cuda")
    assert [id(p) for p in model.parameters()] == [id(p) for p in params]
    assert all(p.device == "cuda:0" for p in params)
    bn = model[1]
    assert isinstance(bn.num_batches_tracked, np.ndarray)  # read on the host every step
    x = microdl.tensor(rng.standard_normal((5, 3)).astype(np.float32), device="cuda")
    model(x).sum().backward()
    opt.step()
    state = model.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert int(state["1.num_batches_tracked"]) == 1
    opt_state = opt.state_dict()
    assert all(isinstance(v, np.ndarray) for s in opt_state["state"].values() for v in s.values())

    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to("cuda")
    other.load_state_dict(state)
    assert all(p.device == "cuda:0" for p in other.parameters())
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, state[key])
    opt2 = optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt_state)
    assert all(microdl.device.is_device_array(v) for s in opt2.state.values() for v in s.values())
    model.to("cpu")
    assert all(p.device == "cpu" for p in model.parameters())
    model(microdl.tensor(x.numpy())).sum().backward()


def test_every_op_has_a_cuda_twin():
    from microdl.ops.cuda import TWINS

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    cpu_ops = {c for c in subclasses(autograd.Function)
               if c.__module__.startswith("microdl.ops.")
               and not c.__module__.startswith("microdl.ops.cuda")}
    assert sorted(c.__name__ for c in cpu_ops - set(TWINS)) == []


def _python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_import_microdl_does_not_touch_cuda():
    # (numba-cuda's own path hook, _numba_cuda_redirector, loads at interpreter start-up)
    done = _python("import sys, microdl, microdl.nn, microdl.optim; "
                   "print(sorted(m for m in sys.modules if m.startswith(('numba.cuda', "
                   "'numba_cuda', 'microdl.kernels.cuda', 'microdl.ops.cuda'))))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cuda_without_a_gpu_says_how_to_use_the_simulator():
    from numba import config

    if not config.ENABLE_CUDASIM:
        pytest.skip("a real GPU is in use: the no-GPU error cannot happen here")
    done = _python("import microdl\n"
                   "try:\n    microdl.tensor([1.0], device='cuda')\n"
                   "except RuntimeError as e:\n    print(e)\n")
    if "Traceback" in done.stderr or not done.stdout.strip():
        pytest.skip(f"this machine has a usable GPU or driver: {done.stderr[-200:]}")
    assert "NUMBA_ENABLE_CUDASIM=1" in done.stdout
