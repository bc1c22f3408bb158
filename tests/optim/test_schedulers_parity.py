"""The schedulers beyond StepLR / MultiStepLR / CosineAnnealingLR against PyTorch's, epoch by
epoch on the same two-group optimizers: lrs (and OneCycleLR's momentum), state_dict round trips,
and the errors PyTorch raises for bad arguments."""

import math

import pytest

import microdl.nn as nn
from microdl.optim import SGD, Adam, lr_scheduler

EPOCHS = 36
LRS = (0.1, 0.03)


class Halving:
    """A callable object (its __dict__ goes into the state_dict, unlike a lambda's)."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, epoch):
        return self.factor ** (epoch // 7)


def ours_and_theirs(torch, adam=False, momentum=0.9):
    """The same two-group optimizer in microdl and in PyTorch."""
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    ta, tb = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    if adam:
        return (Adam([{"params": a.parameters(), "lr": LRS[0]},
                      {"params": b.parameters(), "lr": LRS[1]}]),
                torch.optim.Adam([{"params": ta.parameters(), "lr": LRS[0]},
                                  {"params": tb.parameters(), "lr": LRS[1]}]))
    return (SGD([{"params": a.parameters(), "lr": LRS[0]},
                 {"params": b.parameters(), "lr": LRS[1]}], lr=LRS[0], momentum=momentum),
            torch.optim.SGD([{"params": ta.parameters(), "lr": LRS[0]},
                             {"params": tb.parameters(), "lr": LRS[1]}], lr=LRS[0],
                            momentum=momentum))


# name -> (build(module, optimizer) -> scheduler, optimizer options)
SCHEDULES = {
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.9), {}),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lambda e: 1 / (1 + e)), {}),
    "LambdaLR per group": (lambda m, o: m.LambdaLR(o, [lambda e: 0.95 ** e, Halving()]), {}),
    "MultiplicativeLR": (lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 3 else 1.1),
                         {}),
    "LinearLR": (lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=8), {}),
    "LinearLR down": (lambda m, o: m.LinearLR(o, 1.0, 0.1, total_iters=13), {}),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4), {}),
    "PolynomialLR": (lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0), {}),
    "CosineAnnealingWarmRestarts": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5), {}),
    "CosineAnnealingWarmRestarts mult": (
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3), {}),
    "OneCycleLR": (lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=EPOCHS + 1), {}),
    "OneCycleLR linear three phase": (
        lambda m, o: m.OneCycleLR(o, max_lr=0.8, epochs=4, steps_per_epoch=10, pct_start=0.25,
                                  anneal_strategy="linear", three_phase=True), {}),
    "OneCycleLR adam": (lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=40),
                        {"adam": True}),
    "SequentialLR": (lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.StepLR(o, step_size=4, gamma=0.5)], milestones=[5, 17]), {}),
    "ChainedScheduler": (lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.2, total_iters=6), m.ExponentialLR(o, gamma=0.95)]), {}),
    "ChainedScheduler with cosine": (lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, 0.5, total_iters=4), m.CosineAnnealingLR(o, T_max=9)], optimizer=o), {}),
}


def momenta(optimizer):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in optimizer.param_groups]


def close(a, b):
    return len(a) == len(b) and all(math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15)
                                    for x, y in zip(a, b))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_lr_sequence_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    build, options = SCHEDULES[name]
    opt, ref_opt = ours_and_theirs(torch, **options)
    ours, theirs = build(lr_scheduler, opt), build(torch.optim.lr_scheduler, ref_opt)
    for epoch in range(EPOCHS):
        assert close(ours.get_last_lr(), theirs.get_last_lr()), (epoch, ours.get_last_lr(),
                                                                 theirs.get_last_lr())
        assert close([g["lr"] for g in opt.param_groups], ours.get_last_lr())
        assert close(momenta(opt), momenta(ref_opt)), epoch
        ref_opt.step()
        ours.step()
        theirs.step()


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_state_dict_resumes_the_same_sequence(name):
    torch = pytest.importorskip("torch")
    build, options = SCHEDULES[name]
    opt, _ = ours_and_theirs(torch, **options)
    sched = build(lr_scheduler, opt)
    for _ in range(11):
        sched.step()
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    expected = [sched.step() or sched.get_last_lr() for _ in range(15)]
    fresh, _ = ours_and_theirs(torch, **options)
    resumed = build(lr_scheduler, fresh)
    fresh.load_state_dict(saved_opt)
    resumed.load_state_dict(saved)
    got = [resumed.step() or resumed.get_last_lr() for _ in range(15)]
    assert all(close(a, b) for a, b in zip(got, expected)), (got, expected)


def test_lambda_state_dict_keeps_callable_objects_only():
    opt = SGD(nn.Linear(2, 2).parameters(), lr=1.0)
    halving = Halving()
    sched = lr_scheduler.LambdaLR(opt, halving)
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"factor": 0.5}] and "optimizer" not in state
    assert lr_scheduler.LambdaLR(SGD(nn.Linear(2, 2).parameters(), lr=1.0),
                                 lambda e: 1.0).state_dict()["lr_lambdas"] == [None]
    state["lr_lambdas"] = [{"factor": 0.25}]
    sched.load_state_dict(state)
    assert halving.factor == 0.25


PLATEAU = [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.01, cooldown=2),
    dict(mode="min", factor=0.3, patience=1, threshold=0.05, threshold_mode="abs",
         min_lr=[0.01, 0.005]),
    dict(mode="max", threshold_mode="abs", patience=0, min_lr=0.02, eps=1e-3),
]


@pytest.mark.parametrize("case", range(len(PLATEAU)))
def test_reduce_lr_on_plateau_matches_pytorch(case):
    torch = pytest.importorskip("torch")
    kwargs = PLATEAU[case]
    opt, ref_opt = ours_and_theirs(torch)
    ours = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, **kwargs)
    # a metric that improves, stalls, wiggles and improves again
    metrics = [1.0, 0.9, 0.89, 0.9, 0.9, 0.91, 0.7, 0.7, 0.69, 0.71, 0.72, 0.73, 0.5] * 3
    for epoch, metric in enumerate(metrics):
        ours.step(metric)
        theirs.step(torch.tensor(metric, dtype=torch.float64) if epoch % 2 else metric)
        assert close(ours.get_last_lr(), theirs.get_last_lr()), epoch
        assert (ours.num_bad_epochs, ours.cooldown_counter, ours.best, ours.last_epoch) == (
            theirs.num_bad_epochs, theirs.cooldown_counter, theirs.best, theirs.last_epoch)
    fresh, _ = ours_and_theirs(torch)
    resumed = lr_scheduler.ReduceLROnPlateau(fresh)
    resumed.load_state_dict(ours.state_dict())
    assert (resumed.mode, resumed.patience, resumed.best) == (ours.mode, ours.patience, ours.best)


def test_argument_errors_as_pytorch_words_them():
    opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    cases = [
        (ValueError, "Constant multiplicative factor expected to be between 0 and 1",
         lambda: lr_scheduler.ConstantLR(opt, factor=2.0)),
        (ValueError, "Starting multiplicative factor expected to be greater than 0",
         lambda: lr_scheduler.LinearLR(opt, start_factor=0)),
        (ValueError, "Expected positive integer T_0, but got 0",
         lambda: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)),
        (ValueError, "Expected integer T_mult >= 1, but got 0",
         lambda: lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=0)),
        (ValueError, "You must define either total_steps OR",
         lambda: lr_scheduler.OneCycleLR(opt, max_lr=1.0)),
        (ValueError, "Factor should be < 1.0.",
         lambda: lr_scheduler.ReduceLROnPlateau(opt, factor=1.0)),
        (ValueError, "mode middle is unknown!",
         lambda: lr_scheduler.ReduceLROnPlateau(opt, mode="middle")),
        (ValueError, "Expected 2 lr_lambdas, but got 1",
         lambda: lr_scheduler.LambdaLR(SGD([{"params": nn.Linear(1, 1).parameters()},
                                            {"params": nn.Linear(1, 1).parameters()}], lr=1),
                                       [lambda e: 1])),
        (TypeError, "lr_lambda should be a function, but got float",
         lambda: lr_scheduler.MultiplicativeLR(opt, 0.5)),
        (ValueError, "Sequential Schedulers expects number of schedulers provided to be one "
                     "more than the number of milestone points",
         lambda: lr_scheduler.SequentialLR(opt, [lr_scheduler.ExponentialLR(opt, 0.9)], [3])),
        (ValueError, "ChainedScheduler does not support `ReduceLROnPlateau`",
         lambda: lr_scheduler.ChainedScheduler([lr_scheduler.ReduceLROnPlateau(opt)])),
    ]
    for error, message, make in cases:
        with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
            make()


def test_one_cycle_refuses_steps_past_total_steps_and_optimizers_without_momentum():
    from microdl.optim import Adagrad

    opt = SGD(nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total "
                                         "steps is 3"):
        sched.step()
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(Adagrad(nn.Linear(2, 2).parameters()), max_lr=1.0,
                                total_steps=5)
