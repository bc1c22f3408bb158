"""Adam, AdamW, RMSprop, Adadelta, Adagrad against torch.optim: values over 20 steps for every
option that changes the arithmetic, state (names, values, state_dict round trips, devices),
schedulers, and the constructors' errors. SGD's constructor errors are checked here too."""

import inspect
import types

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl import optim
from microdl.kernels.numpy_ref import optim as numpy_ref_optim

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 20

# (microdl optimizer, torch optimizer name, keyword arguments). Each row changes the
# arithmetic: weight decay, amsgrad, maximize, momentum, centered, lerp weights on both sides of
# 0.5 (torch.lerp switches formula there), lr_decay, initial accumulator.
CASES = [
    (optim.Adam, "Adam", {}),
    (optim.Adam, "Adam", dict(lr=0.01, weight_decay=0.1)),
    (optim.Adam, "Adam", dict(lr=0.01, amsgrad=True)),
    (optim.Adam, "Adam", dict(lr=0.01, maximize=True, weight_decay=0.05, amsgrad=True)),
    (optim.Adam, "Adam", dict(lr=0.02, betas=(0.3, 0.6), eps=1e-3)),
    (optim.Adam, "Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (optim.AdamW, "AdamW", {}),
    (optim.AdamW, "AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    (optim.AdamW, "AdamW", dict(lr=0.01, maximize=True, betas=(0.2, 0.9))),
    (optim.RMSprop, "RMSprop", {}),
    (optim.RMSprop, "RMSprop", dict(weight_decay=0.1)),
    (optim.RMSprop, "RMSprop", dict(momentum=0.9)),
    (optim.RMSprop, "RMSprop", dict(centered=True)),
    (optim.RMSprop, "RMSprop", dict(centered=True, momentum=0.5, maximize=True, alpha=0.3,
                                    weight_decay=0.01)),
    (optim.Adadelta, "Adadelta", {}),
    (optim.Adadelta, "Adadelta", dict(lr=0.5, weight_decay=0.1)),
    (optim.Adadelta, "Adadelta", dict(rho=0.3, maximize=True, eps=1e-4)),
    (optim.Adagrad, "Adagrad", {}),
    (optim.Adagrad, "Adagrad", dict(weight_decay=0.1, lr=0.1)),
    (optim.Adagrad, "Adagrad", dict(lr_decay=0.1, initial_accumulator_value=0.5)),
    (optim.Adagrad, "Adagrad", dict(maximize=True, eps=1e-3)),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}"
       for _, name, kw in CASES]


def start_values(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    grads = [[rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
             for _ in range(STEPS)]
    return params, grads


def torch_run(name, kwargs, params, grads, steps=STEPS):
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    opt = getattr(torch.optim, name)(ts, **kwargs)
    for step in grads[:steps]:
        for t, g in zip(ts, step):
            t.grad = torch.tensor(g)
        opt.step()
    return ts, opt


def ours_run(cls, kwargs, params, grads, steps=STEPS):
    ps = [nn.Parameter(p.copy()) for p in params]
    opt = cls(ps, **kwargs)
    run_ours(opt, ps, grads[:steps])
    return ps, opt


def run_ours(opt, ps, grads):
    for step in grads:
        for p, g in zip(ps, step):
            p.grad = microdl.tensor(g)
        opt.step()


def assert_state_matches(ours, theirs, ps, ts, rtol):
    for p, t in zip(ps, ts):
        mine, ref = ours.state[p], theirs.state[t]
        assert list(mine) == list(ref)
        assert float(mine["step"]) == float(ref["step"])
        assert mine["step"].dtype == np.float32 and mine["step"].shape == ()
        for key in ref:
            if key != "step":
                np.testing.assert_allclose(mine[key], ref[key].numpy(), rtol=rtol, atol=1e-7,
                                           err_msg=key)


@pytest.mark.parametrize("cls, name, kwargs", CASES, ids=IDS)
def test_twenty_float32_steps_match_torch(cls, name, kwargs):
    params, grads = start_values()
    ts, theirs = torch_run(name, kwargs, params, grads)
    ps, ours = ours_run(cls, kwargs, params, grads)
    for p, t in zip(ps, ts):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert_state_matches(ours, theirs, ps, ts, rtol=1e-5)


@pytest.fixture
def torch_sqrt_in_numpy_ref(monkeypatch):
    """numpy_ref's optim kernels with PyTorch's float32 sqrt, which (MKL on the CPU) is not
    correctly rounded: the one op where numpy and PyTorch round differently."""
    def torch_sqrt(x):
        return torch.from_numpy(np.ascontiguousarray(x)).sqrt().numpy()

    patched = types.SimpleNamespace(**{k: getattr(np, k) for k in dir(np)
                                       if not k.startswith("__")})
    patched.sqrt = torch_sqrt
    monkeypatch.setattr(numpy_ref_optim, "np", patched)
    previous = microdl.get_kernels()
    microdl.set_kernels("numpy")
    yield
    microdl.set_kernels(previous)


@pytest.mark.parametrize("cls, name, kwargs", CASES, ids=IDS)
def test_the_reference_follows_torchs_order_of_operations_bit_for_bit(
        cls, name, kwargs, torch_sqrt_in_numpy_ref):
    params, grads = start_values(seed=1)
    ts, _ = torch_run(name, kwargs, params, grads)
    ps, _ = ours_run(cls, kwargs, params, grads)
    for p, t in zip(ps, ts):
        np.testing.assert_array_equal(p.array, t.detach().numpy())


@pytest.mark.parametrize("cls, name, kwargs", CASES[::3], ids=IDS[::3])
def test_float64_matches_torch(cls, name, kwargs):
    params, grads = start_values(seed=2, dtype=np.float64)
    ts, _ = torch_run(name, kwargs, params, grads)
    ps, _ = ours_run(cls, kwargs, params, grads)
    for p, t in zip(ps, ts):
        assert p.dtype == np.float64
        np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls, name, kwargs", CASES[::2], ids=IDS[::2])
def test_state_dict_round_trip_mid_run_continues_identically(cls, name, kwargs, tmp_path):
    params, grads = start_values(seed=3)
    ps, ours = ours_run(cls, kwargs, params, grads, steps=8)
    microdl.save({"params": [p.array for p in ps], "opt": ours.state_dict()},
                 tmp_path / "c.npz")
    run_ours(ours, ps, grads[8:])

    saved = microdl.load(tmp_path / "c.npz")
    clone = [nn.Parameter(a) for a in saved["params"]]
    resumed = cls(clone, lr=0.123)  # hyper-parameters come from the file
    resumed.load_state_dict(saved["opt"])
    assert resumed.param_groups[0]["lr"] == ours.param_groups[0]["lr"]
    run_ours(resumed, clone, grads[8:])
    for p, q in zip(ps, clone):
        np.testing.assert_array_equal(p.array, q.array)
    assert float(resumed.state[clone[0]]["step"]) == STEPS


@pytest.mark.parametrize("cls, name, kwargs", CASES[1::4], ids=IDS[1::4])
def test_state_dict_layout_matches_torch_and_torch_state_loads(cls, name, kwargs):
    params, grads = start_values(seed=4)
    ts, theirs = torch_run(name, kwargs, params, grads, steps=5)
    ps, ours = ours_run(cls, kwargs, params, grads, steps=5)
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert mine["state"].keys() == ref["state"].keys()
    for i in ref["state"]:
        assert list(mine["state"][i]) == list(ref["state"][i])
    for group, ref_group in zip(mine["param_groups"], ref["param_groups"]):
        assert set(group) == set(ref_group)
        assert all(group[k] == ref_group[k] for k in group), group

    # torch's state (tensors as arrays, 'step' a 0-d float32) continues in microdl as in torch
    fresh = [nn.Parameter(t.detach().numpy().copy()) for t in ts]
    loaded = cls(fresh)
    loaded.load_state_dict({
        "state": {i: {k: v.numpy() for k, v in s.items()} for i, s in ref["state"].items()},
        "param_groups": ref["param_groups"]})
    run_ours(loaded, fresh, grads[5:])
    for step in grads[5:]:
        for t, g in zip(ts, step):
            t.grad = torch.tensor(g)
        theirs.step()
    for p, t in zip(fresh, ts):
        np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_param_groups_with_their_own_hyper_parameters_match_torch():
    params, grads = start_values(seed=5)
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    theirs = torch.optim.RMSprop([{"params": ts[:2]}, {"params": ts[2:], "lr": 0.1,
                                                        "centered": True}], momentum=0.5)
    ps = [nn.Parameter(p.copy()) for p in params]
    ours = optim.RMSprop([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.1, "centered": True}],
                         momentum=0.5)
    assert [sorted(g) for g in ours.param_groups] == [sorted(g) for g in theirs.param_groups]
    for step in grads:
        for t, p, g in zip(ts, ps, step):
            t.grad, p.grad = torch.tensor(g), microdl.tensor(g)
        theirs.step()
        ours.step()
    for p, t in zip(ps, ts):
        # lr 0.1: torch's sqrt, an ulp off here and there, moves a value near 0 by 3e-7
        np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-6, atol=1e-6)
    assert "grad_avg" in ours.state[ps[2]] and "grad_avg" not in ours.state[ps[0]]


def test_training_a_model_matches_torch():
    torch.set_num_threads(1)
    ref_model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(),
                                    torch.nn.Linear(4, 3))
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    model.load_state_dict({k: v.numpy() for k, v in ref_model.state_dict().items()})
    ref = torch.optim.AdamW(ref_model.parameters(), lr=0.05, amsgrad=True)
    opt = optim.AdamW(model.parameters(), lr=0.05, amsgrad=True)
    rng = np.random.default_rng(0)
    for _ in range(10):
        x, y = rng.random((8, 5), dtype=np.float32), rng.integers(0, 3, 8)
        ref.zero_grad()
        torch.nn.functional.cross_entropy(ref_model(torch.tensor(x)), torch.tensor(y)).backward()
        ref.step()
        opt.zero_grad()
        F.cross_entropy(model(microdl.tensor(x)), y).backward()
        opt.step()
    for (name, value), ref_value in zip(model.state_dict().items(),
                                        ref_model.state_dict().values()):
        np.testing.assert_allclose(value, ref_value.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_parameters_without_gradient_get_no_update_and_no_state():
    a, b = nn.Parameter(np.ones(3, np.float32)), nn.Parameter(np.ones(2, np.float32))
    a.grad = microdl.tensor(np.ones(3, np.float32))
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    assert list(opt.state) == [a]
    np.testing.assert_array_equal(b.array, np.ones(2))
    np.testing.assert_allclose(a.array, np.full(3, 0.9), rtol=1e-6)  # first Adam step: -lr


def test_adagrad_makes_its_state_at_construction_as_torch_does():
    a, b = nn.Parameter(np.zeros(2, np.float32)), nn.Parameter(np.zeros(3, np.float32))
    opt = optim.Adagrad([a], initial_accumulator_value=0.25)
    ref = torch.optim.Adagrad([torch.zeros(2, requires_grad=True)],
                              initial_accumulator_value=0.25)
    assert opt.state_dict()["state"].keys() == ref.state_dict()["state"].keys() == {0}
    np.testing.assert_array_equal(opt.state[a]["sum"], [0.25, 0.25])
    assert float(opt.state[a]["step"]) == 0
    # a group added later gets its state at its first step, from the constructor's value
    opt.add_param_group({"params": [b], "initial_accumulator_value": 9.0})
    assert not opt.state.get(b)
    b.grad = microdl.tensor(np.ones(3, np.float32))
    opt.step()
    np.testing.assert_array_equal(opt.state[b]["sum"], np.full(3, 1.25))


@pytest.mark.parametrize("scheduler, args", [("StepLR", dict(step_size=3, gamma=0.5)),
                                             ("MultiStepLR", dict(milestones=[2, 5])),
                                             ("CosineAnnealingLR", dict(T_max=4))])
@pytest.mark.parametrize("cls, name, kwargs", [CASES[1], CASES[11], CASES[19]],
                         ids=[IDS[1], IDS[11], IDS[19]])
def test_schedulers_drive_the_adaptive_optimizers_as_in_torch(scheduler, args, cls, name,
                                                              kwargs):
    params, grads = start_values(seed=6)
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    theirs = getattr(torch.optim, name)(ts, **kwargs)
    their_schedule = getattr(torch.optim.lr_scheduler, scheduler)(theirs, **args)
    ps = [nn.Parameter(p.copy()) for p in params]
    ours = cls(ps, **kwargs)
    our_schedule = getattr(optim.lr_scheduler, scheduler)(ours, **args)
    for step in grads[:8]:
        for t, p, g in zip(ts, ps, step):
            t.grad, p.grad = torch.tensor(g), microdl.tensor(g)
        theirs.step()
        ours.step()
        their_schedule.step()
        our_schedule.step()
        assert our_schedule.get_last_lr() == pytest.approx(their_schedule.get_last_lr(),
                                                           rel=1e-12)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert ours.state_dict()["param_groups"][0]["initial_lr"] == kwargs.get(
        "lr", theirs.defaults["lr"])


def test_a_one_element_tensor_lr_works_as_in_torch():
    params, grads = start_values(seed=7)
    ts, _ = torch_run("Adam", dict(lr=torch.tensor(0.01)), params, grads, steps=5)
    ps, ours = ours_run(optim.Adam, dict(lr=microdl.tensor(0.01)), params, grads, steps=5)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.array, t.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_closure_loss_is_returned():
    p = nn.Parameter(np.array([2.0], np.float32))
    opt = optim.Adadelta([p])

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with microdl.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and p.grad is not None


@pytest.mark.cuda
@pytest.mark.parametrize("cls, kwargs", [(optim.Adam, dict(amsgrad=True, lr=0.1)),
                                         (optim.RMSprop, dict(centered=True, momentum=0.5)),
                                         (optim.Adadelta, {}), (optim.Adagrad, {})])
def test_state_follows_its_parameter_across_devices(cls, kwargs, shrunk_cuda):
    x = np.random.default_rng(8).standard_normal((4, 3))

    def train(devices):
        microdl.manual_seed(0)
        model = nn.Linear(3, 2).double()
        opt = cls(model.parameters(), **kwargs)
        for device in devices:
            model.to(device)
            opt.zero_grad()
            model(microdl.tensor(x, device=device)).sum().backward()
            opt.step()
            for p in model.parameters():
                for name, value in opt.state[p].items():
                    expected = np.ndarray if name == "step" else p.array.__class__
                    assert value.__class__ is expected, name
        return [p.detach().numpy() for p in model.parameters()], opt.state_dict()

    (got, got_state), (want, want_state) = train(["cuda", "cpu", "cuda"]), train(["cpu"] * 3)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    for i, state in want_state["state"].items():
        for name, value in state.items():
            np.testing.assert_allclose(got_state["state"][i][name], value, rtol=1e-12)


# ---- constructor errors: microdl's against torch's ---------------------------------------------
def outcome(make):
    try:
        make()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error).__name__, str(error)
    return "ok", ""


INVALID = {
    "SGD": [dict(lr=-1), dict(lr=None), dict(momentum=-0.5), dict(weight_decay=-1),
            dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.1),
            dict(momentum=-1, nesterov=True), dict(lr=-1, momentum=-1),
            dict(foo=1)],
    "Adam": [dict(lr=-1), dict(lr=None), dict(eps=-1e-8), dict(betas=(1.0, 0.9)),
             dict(betas=(0.9, -0.1)), dict(betas=(0, 0.9)), dict(weight_decay=-1),
             dict(betas=(0.9, 1)), dict(eps=None)],
    "AdamW": [dict(lr=-0.5), dict(betas=(0.9, 1.5)), dict(weight_decay=-0.1),
              dict(decoupled_weight_decay=True)],
    "RMSprop": [dict(lr=-1), dict(lr=None), dict(eps=-1), dict(momentum=-1),
                dict(weight_decay=-1), dict(alpha=-0.1), dict(alpha=None)],
    "Adadelta": [dict(lr=-1), dict(lr=None), dict(rho=1.5), dict(rho=-0.1), dict(eps=-1),
                 dict(weight_decay=-1)],
    "Adagrad": [dict(lr=-1), dict(lr=None), dict(lr_decay=-1), dict(weight_decay=-1),
                dict(initial_accumulator_value=-1), dict(eps=-1)],
}
INVALID_CASES = [(name, kw) for name, rows in INVALID.items() for kw in rows]


@pytest.mark.parametrize("name, kwargs", INVALID_CASES,
                         ids=[f"{n}-{kw}" for n, kw in INVALID_CASES])
def test_invalid_arguments_raise_torchs_error(name, kwargs):
    theirs = outcome(lambda: getattr(torch.optim, name)(
        [torch.zeros(2, requires_grad=True)], **kwargs))
    ours = outcome(lambda: getattr(optim, name)([nn.Parameter(np.zeros(2, np.float32))],
                                                **kwargs))
    assert theirs[0] != "ok"
    assert ours == theirs


@pytest.mark.parametrize("name", sorted(INVALID))
def test_signatures_are_torchs(name):
    """Same parameters, order, kinds (positional or keyword-only) and defaults as torch.optim."""
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(getattr(torch.optim, name)).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.values()]


FLAGS = {"SGD": ["foreach", "differentiable", "fused"],
         "Adam": ["foreach", "capturable", "differentiable", "fused"],
         "AdamW": ["foreach", "capturable", "differentiable", "fused"],
         "RMSprop": ["foreach", "capturable", "differentiable"],
         "Adadelta": ["foreach", "capturable", "differentiable"],
         "Adagrad": ["foreach", "differentiable", "fused"]}
FLAG_CASES = [(name, flag) for name, flags in FLAGS.items() for flag in flags]


@pytest.mark.parametrize("name, flag", FLAG_CASES, ids=[f"{n}-{f}" for n, f in FLAG_CASES])
def test_implementation_switches_take_their_defaults_and_refuse_the_rest(name, flag):
    def make(value):
        return getattr(optim, name)([nn.Parameter(np.zeros(2, np.float32))], **{flag: value})

    default = make(None if flag in ("foreach", "fused") else False)
    assert default.param_groups[0][flag] is (None if flag in ("foreach", "fused") else False)
    assert set(default.param_groups[0]) == set(getattr(torch.optim, name)(
        [torch.zeros(2, requires_grad=True)]).param_groups[0])
    make(False)
    with pytest.raises(NotImplementedError, match=f"{flag}=True"):
        make(True)
    # a group that asks for it (added, or loaded from a torch checkpoint) fails at step()
    p = nn.Parameter(np.zeros(2, np.float32))
    p.grad = microdl.tensor(np.ones(2, np.float32))
    opt = getattr(optim, name)([nn.Parameter(np.zeros(2, np.float32))])
    opt.add_param_group({"params": [p], flag: True})
    with pytest.raises(NotImplementedError, match=flag):
        opt.step()


def test_tensor_lr_must_hold_one_value_as_in_torch():
    for name in INVALID:
        with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
            getattr(optim, name)([nn.Parameter(np.zeros(2, np.float32))],
                                 lr=microdl.tensor([0.1, 0.2]))


def test_named_parameters_as_in_torch():
    w, b = nn.Parameter(np.ones(2, np.float32)), nn.Parameter(np.ones(1, np.float32))
    tw, tb = torch.ones(2, requires_grad=True), torch.ones(1, requires_grad=True)
    ours = optim.Adam([("w", w), ("b", b)])
    theirs = torch.optim.Adam([("w", tw), ("b", tb)])
    assert ours.param_groups[0]["params"] == [w, b]
    assert ours.state_dict()["param_groups"][0]["param_names"] == \
        theirs.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]
    for ours_params, theirs_params in [([("w", w), b], [("w", tw), tb]),
                                       ([{"params": [w]}, {"params": [("b", b)]}],
                                        [{"params": [tw]}, {"params": [("b", tb)]}])]:
        assert outcome(lambda: optim.SGD(ours_params)) == \
            outcome(lambda: torch.optim.SGD(theirs_params))
