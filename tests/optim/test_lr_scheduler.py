"""Schedulers: PyTorch's values epoch by epoch, closed forms, chaining, resuming, errors."""

import math

import numpy as np
import pytest

import microdl
import microdl.nn as nn
from microdl.optim import SGD, lr_scheduler

SCHEDULES = {
    "StepLR": [dict(step_size=3, gamma=0.5), dict(step_size=1, gamma=0.9)],
    "MultiStepLR": [dict(milestones=[2, 5, 9], gamma=0.1),
                    dict(milestones=[0, 4, 4, 11], gamma=0.5)],
    "CosineAnnealingLR": [dict(T_max=10, eta_min=0.001), dict(T_max=7),
                          dict(T_max=1, eta_min=0.01)],
}
CASES = [(name, i) for name in sorted(SCHEDULES) for i in range(len(SCHEDULES[name]))]
EPOCHS = 32


def two_group_optimizer(lrs=(0.1, 0.03)):
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    return SGD([{"params": a.parameters(), "lr": lrs[0]}, {"params": b.parameters(),
                                                            "lr": lrs[1]}], lr=lrs[0])


def torch_optimizer(torch, lrs=(0.1, 0.03)):
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    return torch.optim.SGD([{"params": a.parameters(), "lr": lrs[0]},
                            {"params": b.parameters(), "lr": lrs[1]}], lr=lrs[0])


def close(a, b):
    return all(math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15) for x, y in zip(a, b))


@pytest.mark.parametrize("name, case", CASES)
def test_schedules_match_pytorch(name, case):
    torch = pytest.importorskip("torch")
    kwargs = SCHEDULES[name][case]
    opt, ref_opt = two_group_optimizer(), torch_optimizer(torch)
    ours = getattr(lr_scheduler, name)(opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(ref_opt, **kwargs)
    for epoch in range(EPOCHS):
        assert close(ours.get_last_lr(), theirs.get_last_lr()), (epoch, ours.get_last_lr(),
                                                                 theirs.get_last_lr())
        assert [g["lr"] for g in opt.param_groups] == ours.get_last_lr()
        assert ours.last_epoch == theirs.last_epoch == epoch
        ref_opt.step()
        ours.step()
        theirs.step()


@pytest.mark.parametrize("name, case", CASES)
def test_step_by_step_values_follow_the_closed_form(name, case):
    opt = two_group_optimizer()
    sched = getattr(lr_scheduler, name)(opt, **SCHEDULES[name][case])
    for epoch in range(EPOCHS):
        assert close(sched.get_last_lr(), sched._get_closed_form_lr()), epoch
        sched.step()


def test_closed_forms_by_hand():
    opt = SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    step = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    lrs = [step.get_last_lr()[0]] + [step.step() or step.get_last_lr()[0] for _ in range(5)]
    np.testing.assert_allclose(lrs, [1, 1, 0.1, 0.1, 0.01, 0.01], rtol=1e-12)
    opt = SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    cosine = lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0.2)
    lrs = [cosine.get_last_lr()[0]] + [cosine.step() or cosine.get_last_lr()[0]
                                       for _ in range(8)]
    want = [0.2 + 0.8 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(9)]
    np.testing.assert_allclose(lrs, want, rtol=1e-12)
    assert lrs[4] == pytest.approx(0.2) and lrs[8] == pytest.approx(1.0)


def test_changes_made_to_the_lr_by_others_carry_on_as_in_pytorch():
    torch = pytest.importorskip("torch")
    opt, ref_opt = two_group_optimizer(), torch_optimizer(torch)
    ours = lr_scheduler.CosineAnnealingLR(opt, T_max=6)
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(ref_opt, T_max=6)
    for epoch in range(12):
        if epoch == 3:  # a warm restart by hand, say
            opt.param_groups[0]["lr"] = ref_opt.param_groups[0]["lr"] = 0.5
        ref_opt.step()
        ours.step()
        theirs.step()
        assert close(ours.get_last_lr(), theirs.get_last_lr()), epoch


def test_resuming_from_a_checkpoint_continues_identically(tmp_path):
    opt = two_group_optimizer()
    sched = lr_scheduler.MultiStepLR(opt, milestones=[3, 6, 6], gamma=0.5)
    for _ in range(4):
        sched.step()
    microdl.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, tmp_path / "s.npz")
    expected = [sched.step() or sched.get_last_lr() for _ in range(5)]
    saved = microdl.load(tmp_path / "s.npz")
    fresh = two_group_optimizer(lrs=(9.0, 9.0))
    fresh.load_state_dict(saved["opt"])
    resumed = lr_scheduler.MultiStepLR(fresh, milestones=[3, 6, 6], gamma=0.5)
    resumed.load_state_dict(saved["sched"])
    assert resumed.last_epoch == 4 and resumed.base_lrs == [0.1, 0.03]
    assert [resumed.step() or resumed.get_last_lr() for _ in range(5)] == expected


def test_resuming_by_last_epoch_needs_initial_lr():
    opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in "
                                       r"param_groups\[0\] when resuming"):
        lr_scheduler.StepLR(opt, step_size=2, last_epoch=3)
    opt.param_groups[0]["initial_lr"] = 1.0
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1, last_epoch=3)
    assert sched.last_epoch == 4 and sched.base_lrs == [1.0]
    assert sched._get_closed_form_lr() == [pytest.approx(0.01)]


def test_invalid_arguments():
    opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="step_size must be a positive integer"):
        lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive integer"):
        lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    assert "initial_lr" not in opt.param_groups[0]  # refused before touching the optimizer
    sched = lr_scheduler.StepLR(opt, step_size=2)
    sched.get_last_lr().append(5.0)
    assert sched.get_last_lr() == [0.1]
