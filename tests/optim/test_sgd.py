"""SGD: errors, state_dict round trip, and the update kernel's two twins agree."""

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.backend import kernel_module
from microdl.optim import SGD


def test_invalid_hyperparameters_are_refused_with_pytorch_words():
    params = nn.Linear(2, 2).parameters()
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        SGD(params, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero "
                                         "dampening"):
        SGD(nn.Linear(2, 2).parameters(), lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)


def test_param_groups_take_defaults_and_their_own_values():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    opt = SGD([{"params": a.parameters()}, {"params": b.parameters(), "lr": 0.5}], lr=0.1,
              momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert all(g["momentum"] == 0.9 for g in opt.param_groups)


def run_steps(model, opt, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        opt.zero_grad()
        x = microdl.tensor(rng.random((8, 5), dtype=np.float32))
        F.cross_entropy(model(x), rng.integers(0, 3, 8)).backward()
        opt.step()


def test_state_dict_round_trip_continues_identically(tmp_path):
    microdl.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    run_steps(model, opt, 3, seed=1)
    microdl.save({"model": model.state_dict(), "opt": opt.state_dict()}, tmp_path / "c.npz")
    run_steps(model, opt, 3, seed=2)
    saved = microdl.load(tmp_path / "c.npz")
    clone = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    clone.load_state_dict(saved["model"])
    clone_opt = SGD(clone.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    clone_opt.load_state_dict(saved["opt"])
    run_steps(clone, clone_opt, 3, seed=2)
    for p, q in zip(model.parameters(), clone.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_with_a_different_group_layout_is_refused():
    opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    other = SGD(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(other.state_dict())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [37, (1 << 18) + 5])
@pytest.mark.parametrize("options", [
    (0.1, 0.0, 0.0, 0.0, False), (0.1, 0.9, 0.0, 0.0, False), (0.1, 0.9, 0.0, 0.0, True),
    (0.05, 0.8, 0.3, 0.01, False),
])
def test_sgd_kernel_twins_agree(dtype, n, options):
    lr, momentum, dampening, weight_decay, nesterov = options
    ref, cpu = kernel_module("numpy", "optim"), kernel_module("numba", "optim")
    rng = np.random.default_rng(0)
    start = rng.standard_normal(n).astype(dtype)
    results = []
    for module in (ref, cpu):
        p, buf = start.copy(), np.empty_like(start)
        for step in range(3):
            g = np.random.default_rng(step).standard_normal(n).astype(dtype)
            module.sgd_update_(p, g, buf, lr, momentum, dampening, weight_decay, nesterov,
                               step == 0)
        results.append(p)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5 if dtype == np.float32
                               else 1e-12, atol=1e-6)
