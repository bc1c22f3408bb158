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
from microdl._device import SAME_DEVICE


def test_tensors_move_and_read_back(rng):
    a = rng.standard_normal((2, 3)).astype(np.float32)
    t = microdl.tensor(a, device="cuda")
    assert t.device == "cuda:0" and t.shape == (2, 3) and t.dtype == np.float32
    assert "device='cuda:0'" in repr(t)
    np.testing.assert_array_equal(t.numpy(), a)
    np.testing.assert_array_equal(np.asarray(t), a)
    back = t.to("cpu")
    assert back.device == "cpu" and isinstance(back.array, np.ndarray)
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
    assert all(microdl._device.is_device_array(v) for s in opt2.state.values() for v in s.values())
    model.to("cpu")
    assert all(p.device == "cpu" for p in model.parameters())
    model(microdl.tensor(x.numpy())).sum().backward()


def test_each_op_is_one_function_for_every_device():
    """No per-device copies: every op is a Function subclass defined in microdl.ops (a family may
    share a base class, as the float math ops do), no op name is defined twice, and the package
    has no ops/cuda (the CUDA twins of version 0.1)."""
    import pathlib

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ops = [c for c in subclasses(autograd.Function) if c.__module__.startswith("microdl.")]
    assert ops and all(c.__module__.startswith("microdl.ops.") for c in ops), ops
    assert not any("cuda" in c.__module__ for c in ops)
    names = [f"{c.__module__}.{c.__qualname__}" for c in ops if "<locals>" not in c.__qualname__]
    assert len(names) == len(set(names))
    assert not (pathlib.Path(microdl.__file__).parent / "ops" / "cuda").exists()


def _python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, timeout=120)


def test_import_microdl_does_not_touch_cuda():
    # (numba-cuda's own path hook, _numba_cuda_redirector, loads at interpreter start-up)
    done = _python("import sys, microdl, microdl.nn, microdl.optim; "
                   "print(sorted(m for m in sys.modules if m.startswith(('numba.cuda', "
                   "'numba_cuda', 'microdl.kernels.cuda'))))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cuda_without_a_gpu_says_how_to_use_the_simulator():
    from numba import config

    if not config.ENABLE_CUDASIM:
        pytest.skip("a real GPU is in use: the no-GPU error cannot happen here")
    done = _python("import microdl\n"
                   "try:\n    microdl.tensor([1.0], device='cuda')\n"
                   "except RuntimeError as e:\n    print(e)\n")
    # a crash is a failure; only a run that raised nothing (a usable GPU) skips
    assert done.returncode == 0, done.stderr[-2000:]
    if not done.stdout.strip():
        pytest.skip("this machine has a usable GPU and driver: no error to check")
    assert "NUMBA_ENABLE_CUDASIM=1" in done.stdout


# ---- in-place fills of device arrays (a real DeviceNDArray takes no arr[...] = value) -----------
def test_the_strict_simulator_refuses_ellipsis_assignments():
    from numba import config, cuda

    if not config.ENABLE_CUDASIM:
        pytest.skip("a real GPU is in use: numba itself refuses the Ellipsis")
    a = cuda.device_array((2, 3), np.float32)
    for index in (Ellipsis, (Ellipsis, 0), (0, Ellipsis)):
        with pytest.raises(IndexError, match="Ellipsis"):
            a[index] = 0


def test_zero_grad_keeping_the_arrays_fills_them_on_the_device(rng):
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)).to("cuda")
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = microdl.tensor(rng.standard_normal((4, 3)), device="cuda")
    for zero_grad in (opt.zero_grad, model.zero_grad):
        model(x).sum().backward()
        grads = [p.grad for p in model.parameters()]
        zero_grad(set_to_none=False)
        assert [p.grad for p in model.parameters()] == grads  # the same tensors, in place
        for p in model.parameters():
            assert p.grad.device == "cuda:0"
            np.testing.assert_array_equal(p.grad.numpy(), np.zeros(p.shape))


def test_batchnorm_resets_and_init_fill_cuda_arrays(rng):
    bn = nn.BatchNorm1d(3).to("cuda")
    bn(microdl.tensor(rng.standard_normal((4, 3)) * 5 + 2, device="cuda"))
    for p in bn.parameters():
        nn.init.normal_(p)
    bn.reset_parameters()
    assert microdl._device.is_device_array(bn.running_mean)
    np.testing.assert_array_equal(microdl._device.host(bn.running_mean), np.zeros(3))
    np.testing.assert_array_equal(microdl._device.host(bn.running_var), np.ones(3))
    assert int(bn.num_batches_tracked) == 0
    np.testing.assert_array_equal(bn.weight.detach().numpy(), np.ones(3))
    np.testing.assert_array_equal(bn.bias.detach().numpy(), np.zeros(3))

    w = microdl.tensor(np.zeros((2, 3), np.float32), device="cuda")
    nn.init.constant_(w, 0.5)
    np.testing.assert_array_equal(w.numpy(), np.full((2, 3), 0.5, np.float32))
    microdl.manual_seed(5)
    nn.init.uniform_(w, -1, 1)
    microdl.manual_seed(5)
    expected = nn.init.uniform_(microdl.tensor(np.zeros((2, 3), np.float32)), -1, 1)
    assert w.device == "cuda:0" and w.dtype == np.float32
    np.testing.assert_array_equal(w.numpy(), expected.numpy())


# ---- 0-d tensors ---------------------------------------------------------------------------------
def test_a_0d_tensor_keeps_its_shape_on_cuda():
    assert microdl.tensor(3.0, device="cuda").shape == ()
    x = microdl.tensor(3.0, requires_grad=True)
    c = x.to("cuda")
    assert c.shape == () and c.device == "cuda:0" and c.item() == 3.0
    y = c * 2
    assert y.shape == ()
    y.backward()
    assert x.grad.shape == () and x.grad.item() == 2.0


def test_a_gradient_takes_its_inputs_dtype_on_the_device_too():
    """The CPU engine's rule (tests/test_autograd.py): the float64 gradient reaching a float32
    node is rounded to float32 there, so a.grad = 3 * float32(w) exactly."""
    w = np.random.default_rng(0).standard_normal(64)
    a = microdl.tensor(np.ones(64, np.float32), requires_grad=True, device="cuda")
    ((a * 3) * microdl.tensor(w, device="cuda")).sum().backward()
    assert a.grad.dtype == np.float32 and a.grad.device == "cuda:0"
    np.testing.assert_array_equal(a.grad.numpy(), np.float32(3) * w.astype(np.float32))


def test_fold_batchnorm_folds_a_cuda_model_into_a_cuda_model(rng):
    microdl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3),
                          nn.ReLU(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5), nn.BatchNorm1d(5))
    model.to("cuda")
    for _ in range(2):  # running statistics away from their initial values
        model(microdl.tensor(rng.standard_normal((4, 2, 4, 4)).astype(np.float32),
                             device="cuda"))
    model.eval()
    before = model.state_dict()
    folded = nn.utils.fold_batchnorm(model)
    assert isinstance(folded[1], nn.Identity) and isinstance(folded[5], nn.Identity)
    assert all(p.device == "cuda:0" for p in folded.parameters())
    assert folded[0].bias is not None  # made by the folding, on the device too
    x = microdl.tensor(rng.standard_normal((3, 2, 4, 4)).astype(np.float32), device="cuda")
    with microdl.no_grad():
        np.testing.assert_allclose(folded(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)
    assert all(p.device == "cuda:0" for p in model.parameters())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_a_host_0d_node_in_a_cuda_graph_rounds_its_gradient_too():
    """t = s * 3 stays on the host (a CPU 0-d tensor) and meets a float64 CUDA tensor: the
    float64 gradient reaching t is rounded to float32 there, as on the host and in PyTorch."""
    w = np.random.default_rng(0).standard_normal(64)
    s = microdl.tensor(np.float32(1.0), requires_grad=True)
    (s * 3 * microdl.tensor(w, device="cuda")).sum().backward()
    host = microdl.tensor(np.float32(1.0), requires_grad=True)
    (host * 3 * microdl.tensor(w)).sum().backward()
    assert s.grad.dtype == np.float32 and s.grad.device == "cpu"
    assert s.grad.item() == host.grad.item() == np.float32(3) * np.float32(w.sum())


def test_a_cpu_scalar_tensor_used_with_cuda_gets_a_cpu_grad():
    a = microdl.tensor(2.0, requires_grad=True)
    b = microdl.tensor(3.0, requires_grad=True)
    c = microdl.tensor([1.0, 2.0], requires_grad=True, device="cuda")
    (c * a + c * (b * 2)).sum().backward()  # a: a leaf; b: behind a CPU node
    for leaf, expected in ((a, 3.0), (b, 6.0)):
        assert leaf.grad.device == "cpu" and leaf.grad.shape == ()
        assert leaf.grad.item() == expected
    assert c.grad.device == "cuda:0"
    opt = optim.SGD([a, c], lr=0.5)
    opt.step()  # the CPU kernel took a's host gradient
    assert a.item() == 2.0 - 0.5 * 3.0


# ---- errors worded as PyTorch's ------------------------------------------------------------------
@pytest.mark.parametrize("shape,grad_shape", [((3,), (1,)), ((3,), (3, 1)), ((), (1,))])
def test_backward_with_a_wrong_shaped_grad_is_the_cpu_error(shape, grad_shape):
    messages = []
    for device in ("cpu", "cuda"):
        t = microdl.tensor(np.ones(shape), requires_grad=True, device=device)
        with pytest.raises(RuntimeError, match="Mismatch in shape") as info:
            (t * 2).backward(np.ones(grad_shape))
        messages.append(str(info.value))
        assert t.grad is None
    assert messages[0] == messages[1]


@pytest.mark.parametrize("moves", [("cuda", "cpu"), ("cpu", "cuda"), ("cuda", "cpu", "cuda")])
def test_sgd_momentum_follows_its_parameter_across_devices(moves, rng):
    x = rng.standard_normal((4, 3))

    def train(devices):
        microdl.manual_seed(0)
        model = nn.Linear(3, 2).double()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        for device in devices:
            model.to(device)
            opt.zero_grad()
            model(microdl.tensor(x, device=device)).sum().backward()
            opt.step()
            for p in model.parameters():
                assert opt.state[p]["momentum_buffer"].__class__ is p.array.__class__
        return [p.detach().numpy() for p in model.parameters()]

    for got, expected in zip(train(moves), train(["cpu"] * len(moves))):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_statistics_on_another_device_is_pytorchs_error(training, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    on_cuda = nn.BatchNorm1d(3, affine=False).to("cuda").train(training)
    on_cpu = nn.BatchNorm1d(3, affine=False).train(training)
    for bn, device in ((on_cuda, "cpu"), (on_cpu, "cuda")):
        with pytest.raises(RuntimeError) as info:
            bn(microdl.tensor(x, device=device))
        assert str(info.value) == SAME_DEVICE
    with pytest.raises(RuntimeError) as info:
        F.batch_norm(microdl.tensor(x), on_cuda.running_mean, None, training=True)
    assert str(info.value) == SAME_DEVICE
