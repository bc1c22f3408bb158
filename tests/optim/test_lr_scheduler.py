"""Schedulers against PyTorch's values, epoch by epoch."""

import pytest

import microdl.nn as nn
from microdl.optim import SGD, lr_scheduler

SCHEDULES = {
    "StepLR": dict(step_size=3, gamma=0.5),
    "MultiStepLR": dict(milestones=[2, 5, 9], gamma=0.1),
    "CosineAnnealingLR": dict(T_max=10, eta_min=0.001),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_match_pytorch(name):
    torch = pytest.importorskip("torch")
    opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    ours = getattr(lr_scheduler, name)(opt, **SCHEDULES[name])
    ref_opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, name)(ref_opt, **SCHEDULES[name])
    for epoch in range(25):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-9, abs=1e-15), \
            f"epoch {epoch}"
        opt.step()
        ref_opt.step()
        ours.step()
        theirs.step()


def test_step_lr_closed_form_and_state_dict():
    opt = SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    for _ in range(5):
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    state = sched.state_dict()
    other = lr_scheduler.StepLR(SGD(nn.Linear(2, 2).parameters(), lr=1.0), step_size=2)
    other.load_state_dict(state)
    assert other.last_epoch == 5
