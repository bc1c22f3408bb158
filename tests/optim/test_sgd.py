"""SGD and the Optimizer base: the algorithm, param groups, state, state_dict, errors."""

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.optim import SGD, Optimizer


def small_model(seed=0):
    microdl.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))


def run_steps(model, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        opt.zero_grad()
        x = microdl.tensor(rng.random((8, 5), dtype=np.float32))
        F.cross_entropy(model(x), rng.integers(0, 3, 8)).backward()
        opt.step()


def scalar_param(value, grad):
    p = nn.Parameter(np.array([value], np.float64))
    p.grad = microdl.tensor(np.array([grad], np.float64))
    return p


def test_momentum_dampening_and_weight_decay_by_hand():
    p = scalar_param(1.0, 2.0)
    opt = SGD([p], lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)
    opt.step()  # d = 2 + 0.1 = 2.1; buf = d (no dampening on the first step)
    assert opt.state[p]["momentum_buffer"][0] == pytest.approx(2.1)
    assert p.array[0] == pytest.approx(1.0 - 0.1 * 2.1)
    p_before = p.array[0]
    opt.step()  # d = 2 + 0.1 p; buf = 0.9 * 2.1 + 0.5 d
    d = 2.0 + 0.1 * p_before
    assert opt.state[p]["momentum_buffer"][0] == pytest.approx(0.9 * 2.1 + 0.5 * d)
    assert p.array[0] == pytest.approx(p_before - 0.1 * (0.9 * 2.1 + 0.5 * d))


def test_nesterov_and_maximize_by_hand():
    p = scalar_param(1.0, 2.0)
    SGD([p], lr=0.1, momentum=0.5, nesterov=True).step()
    assert p.array[0] == pytest.approx(1.0 - 0.1 * (2.0 + 0.5 * 2.0))
    q = scalar_param(1.0, 2.0)
    SGD([q], lr=0.1, maximize=True).step()
    assert q.array[0] == pytest.approx(1.2)
    np.testing.assert_array_equal(q.grad.array, [2.0])  # maximize leaves the gradient alone


def test_parameters_without_gradient_are_skipped_and_state_only_with_momentum():
    a, b = scalar_param(1.0, 1.0), nn.Parameter(np.array([3.0]))
    opt = SGD([a, b], lr=0.5)
    opt.step()
    assert a.array[0] == 0.5 and b.array[0] == 3.0
    assert dict(opt.state) == {}  # PyTorch keeps no state without momentum
    assert opt.state_dict()["state"] == {}


def test_state_dict_layout_matches_pytorch():
    torch = pytest.importorskip("torch")
    model = small_model()
    opt = SGD([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.5}],
              lr=0.1, momentum=0.9)
    run_steps(model, opt, 1, seed=0)
    ref_model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(),
                                    torch.nn.Linear(4, 3))
    ref = torch.optim.SGD([{"params": ref_model[0].parameters()},
                           {"params": ref_model[2].parameters(), "lr": 0.5}],
                          lr=0.1, momentum=0.9)
    for p in ref_model.parameters():
        p.grad = torch.ones_like(p)
    ref.step()
    ours, theirs = opt.state_dict(), ref.state_dict()
    assert set(ours) == set(theirs) == {"state", "param_groups"}
    assert ours["state"].keys() == theirs["state"].keys() == {0, 1, 2, 3}
    assert ours["state"][3].keys() == theirs["state"][3].keys() == {"momentum_buffer"}
    assert ours["state"][3]["momentum_buffer"].shape == tuple(
        theirs["state"][3]["momentum_buffer"].shape)
    for group, ref_group in zip(ours["param_groups"], theirs["param_groups"]):
        assert group["params"] == ref_group["params"]
        assert set(group) <= set(ref_group)
        for key in group:
            assert group[key] == ref_group[key], key


def test_state_dict_round_trip_through_a_file_continues_identically(tmp_path):
    model = small_model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    run_steps(model, opt, 3, seed=1)
    microdl.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "c.npz")
    run_steps(model, opt, 3, seed=2)
    saved = microdl.load(tmp_path / "c.npz")
    clone = small_model(seed=99)
    clone.load_state_dict(saved["model"])
    clone_opt = SGD(clone.parameters(), lr=0.5)  # hyper-parameters come from the file
    clone_opt.load_state_dict(saved["opt"])
    assert clone_opt.param_groups[0]["nesterov"] and clone_opt.param_groups[0]["lr"] == 0.1
    run_steps(clone, clone_opt, 3, seed=2)
    for p, q in zip(model.parameters(), clone.parameters()):
        np.testing.assert_array_equal(p.array, q.array)


def test_state_dict_is_a_snapshot_and_loading_casts_to_the_parameter_dtype():
    model = small_model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    run_steps(model, opt, 1, seed=0)
    state = opt.state_dict()
    snapshot = state["state"][0]["momentum_buffer"].copy()
    run_steps(model, opt, 1, seed=1)
    np.testing.assert_array_equal(state["state"][0]["momentum_buffer"], snapshot)
    state["state"][0]["momentum_buffer"] = snapshot.astype(np.float64)
    opt.load_state_dict(state)
    buf = opt.state[model[0].weight]["momentum_buffer"]
    assert buf.dtype == np.float32 and buf is not state["state"][0]["momentum_buffer"]


def test_pytorch_optimizer_state_loads_and_training_continues_alike():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    ref_model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(),
                                    torch.nn.Linear(4, 3))
    ref = torch.optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9, dampening=0.2,
                          weight_decay=0.01)
    rng = np.random.default_rng(0)
    batches = [(rng.random((8, 5), dtype=np.float32), rng.integers(0, 3, 8)) for _ in range(4)]

    def torch_step(x, y):
        ref.zero_grad()
        torch.nn.functional.cross_entropy(ref_model(torch.tensor(x)), torch.tensor(y)).backward()
        ref.step()

    for x, y in batches[:2]:
        torch_step(x, y)
    model = small_model()
    model.load_state_dict({k: v.numpy() for k, v in ref_model.state_dict().items()})
    opt = SGD(model.parameters(), lr=1.0)
    theirs = ref.state_dict()
    opt.load_state_dict({
        "state": {i: {k: v.numpy() for k, v in s.items()} for i, s in theirs["state"].items()},
        "param_groups": theirs["param_groups"]})
    for x, y in batches[2:]:
        torch_step(x, y)
        opt.zero_grad()
        F.cross_entropy(model(microdl.tensor(x)), y).backward()
        opt.step()
    for p, q in zip(model.parameters(), ref_model.parameters()):
        np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_load_state_dict_that_does_not_fit_is_refused_and_changes_nothing():
    model = small_model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    run_steps(model, opt, 1, seed=0)
    other = SGD(nn.Linear(2, 2).parameters(), lr=0.3)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(other.state_dict())
    two_groups = SGD([{"params": [nn.Parameter(np.zeros(2))]},
                      {"params": [nn.Parameter(np.zeros(2))]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two_groups.state_dict())
    with pytest.raises(ValueError, match=r"missing the key\(s\) \['state'\]"):
        opt.load_state_dict({"param_groups": []})
    bad = opt.state_dict()
    bad["param_groups"][0]["lr"] = 7.0
    bad["state"][1]["momentum_buffer"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match=r"'momentum_buffer' of shape \(2, 2\) for parameter "
                                         r"1, whose shape is \(4,\)"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1 and len(opt.state) == 4


def test_param_groups_defaults_and_add_param_group():
    a, b, c = nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2)
    opt = SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.5}], lr=0.1,
              momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["momentum"] == 0.9 and g["nesterov"] is False for g in opt.param_groups)
    opt.add_param_group({"params": c.weight, "weight_decay": 0.1})
    assert opt.param_groups[2]["params"] == [c.weight]
    assert opt.param_groups[2]["weight_decay"] == 0.1 and opt.param_groups[2]["lr"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a.weight]})
    assert isinstance(opt, Optimizer) and "Parameter Group 2" in repr(opt)


def test_bad_parameters_are_refused_with_pytorch_words():
    layer = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        SGD(layer.parameters(), lr=-1)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        SGD(layer.parameters(), lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Invalid weight_decay value: -1"):
        SGD(layer.parameters(), lr=0.1, weight_decay=-1)
    for options in (dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.1)):
        with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero "
                                             "dampening"):
            SGD(layer.parameters(), lr=0.1, **options)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        SGD(layer.weight, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": set(layer.parameters())}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "ndarray"):
        SGD([np.zeros(3)], lr=0.1)
    non_leaf = layer.weight * 2
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        SGD([non_leaf], lr=0.1)
    with pytest.warns(UserWarning, match="optimizer contains a parameter group with duplicate "
                                         "parameters; in future, this will cause an error"):
        SGD([layer.weight, layer.weight], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter "
                                         "group"):
        SGD([{"params": [layer.weight]}, {"params": [layer.weight]}], lr=0.1)


@pytest.mark.parametrize("name, options", [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.1)), ("AdamW", dict(lr=0.1, amsgrad=True)), ("Adagrad", dict(lr=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)), ("Adadelta", dict())])
def test_a_duplicate_parameter_is_kept_and_stepped_twice_as_in_pytorch(name, options):
    """PyTorch warns about a repeated parameter in a group but keeps it: each step updates it
    once per appearance, and state_dict numbers it as PyTorch does (its last place)."""
    torch = pytest.importorskip("torch")
    values = np.array([1.0, -2.0, 0.5])
    t_p, t_q = (torch.nn.Parameter(torch.tensor(values * k)) for k in (1, 3))
    m_p, m_q = (nn.Parameter(values * k) for k in (1, 3))
    with pytest.warns(UserWarning, match="duplicate parameters"):
        ref = getattr(torch.optim, name)([{"params": [t_p, t_p]}, {"params": [t_q]}], **options)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        opt = getattr(microdl.optim, name)([{"params": [m_p, m_p]}, {"params": [m_q]}],
                                           **options)
    assert len(opt.param_groups[0]["params"]) == 2
    for step in range(3):
        for t, m in ((t_p, m_p), (t_q, m_q)):
            grad = np.cos(values * (step + 1)) * (2 if t is t_p else 1)
            t.grad, m.grad = torch.tensor(grad), microdl.tensor(grad)
        ref.step()
        opt.step()
    for t, m in ((t_p, m_p), (t_q, m_q)):
        np.testing.assert_allclose(m.array, t.detach().numpy(), rtol=1e-12, atol=1e-14)
    t_state, m_state = ref.state_dict(), opt.state_dict()
    assert [g["params"] for g in m_state["param_groups"]] == \
        [g["params"] for g in t_state["param_groups"]] == [[1, 1], [2]]
    assert sorted(m_state["state"]) == sorted(t_state["state"])
    for key, t_values in t_state["state"].items():
        for state_name, t_value in t_values.items():
            np.testing.assert_allclose(np.asarray(m_state["state"][key][state_name]),
                                       t_value.numpy(), rtol=1e-12, atol=1e-14)


def test_zero_grad_and_closure():
    model = small_model()
    opt = SGD(model.parameters(), lr=0.1)
    x, y = microdl.tensor(np.ones((2, 5), np.float32)), np.array([0, 2])

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss

    before = model[0].weight.array.copy()
    loss = opt.step(closure)
    assert loss.item() > 0 and not np.array_equal(model[0].weight.array, before)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.array.any() for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_step_runs_the_kernel_set_in_use():
    results = []
    previous = microdl.get_kernels()
    try:
        for name in ("numpy", "numba"):
            microdl.set_kernels(name)
            model = small_model()
            opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                      weight_decay=0.01)
            run_steps(model, opt, 3, seed=0)
            results.append([p.array for p in model.parameters()])
    finally:
        microdl.set_kernels(previous)
    for p, q in zip(*results):
        np.testing.assert_allclose(q, p, rtol=1e-5, atol=1e-6)
