"""fit and evaluate: history figures, accuracy, progress output, divergence, modes, scheduler.

The model and optimizer here are written from the core alone (Module, Parameter, F.linear and a
plain SGD step), so the loop is tested independently of nn.Linear and microdl.optim.
"""

import json
import math

import numpy as np
import pytest

import microdl
import microdl.functional as F
from microdl.data import DataLoader, TensorDataset
from microdl.nn import Module, Parameter
from microdl.train import History, TrainingDivergedError, evaluate, fit


class Softmax(Module):
    """A linear layer: logits = x W^T + b."""

    def __init__(self, n_in, n_out, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.weight = Parameter(rng.normal(0, 0.1, (n_out, n_in)).astype(np.float32))
        self.bias = Parameter(np.zeros(n_out, np.float32))
        self.modes_seen = []

    def forward(self, x):
        self.modes_seen.append((self.training, microdl.is_grad_enabled()))
        return F.linear(x, self.weight, self.bias)


class PlainSGD:
    """p <- p - lr * grad, with the Optimizer interface fit relies on."""

    def __init__(self, params, lr):
        self.params = list(params)
        self.param_groups = [{"params": self.params, "lr": lr}]
        self.steps = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.steps += 1
        for p in self.params:
            p.array -= np.float32(self.param_groups[0]["lr"]) * p.grad.array


class HalveLR:
    def __init__(self, optimizer):
        self.optimizer, self.calls = optimizer, 0

    def step(self):
        self.calls += 1
        self.optimizer.param_groups[0]["lr"] /= 2


def blobs(n=200, seed=0):
    """Three well-separated Gaussian classes in 2-D."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 4.0], [4.0, -2.0], [-4.0, -2.0]])
    y = rng.integers(0, 3, n)
    x = (centres[y] + rng.normal(0, 0.7, (n, 2))).astype(np.float32)
    return x, y.astype(np.int64)


def loaders(batch_size=20):
    x, y = blobs()
    train = DataLoader(TensorDataset(x[:150], y[:150]), batch_size=batch_size, shuffle=True,
                       generator=0)
    val = DataLoader(TensorDataset(x[150:], y[150:]), batch_size=32)
    return train, val


def cross_entropy(out, y):
    return F.cross_entropy(out, y)


def test_fit_history_has_one_value_per_epoch_and_learns():
    train, val = loaders()
    model = Softmax(2, 3)
    opt = PlainSGD(model.parameters(), lr=0.1)
    history = fit(model, cross_entropy, opt, train, epochs=4, val_loader=val, progress=False)
    assert isinstance(history, History) and history.epochs == 4
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_time", "lr"):
        assert len(getattr(history, name)) == 4, name
    assert history.step_loss == []
    assert opt.steps == 4 * len(train)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_accuracy[-1] > 0.95
    assert all(0 <= a <= 1 for a in history.train_accuracy)
    assert all(t > 0 for t in history.epoch_time)
    json.dumps(history.as_dict())


def test_fit_figures_equal_a_hand_written_loop():
    x, y = blobs(60)
    train = DataLoader(TensorDataset(x, y), batch_size=25)  # batches of 25, 25, 10
    model, reference = Softmax(2, 3), Softmax(2, 3)
    history = fit(model, cross_entropy, PlainSGD(model.parameters(), 0.05), train, epochs=1,
                  progress=False, log_every_step=True)
    opt = PlainSGD(reference.parameters(), 0.05)
    losses, weights, correct = [], [], 0
    for lo in range(0, 60, 25):
        xb, yb = x[lo:lo + 25], y[lo:lo + 25]
        opt.zero_grad()
        out = reference(microdl.from_numpy(xb))
        loss = F.cross_entropy(out, yb)
        correct += int((out.array.argmax(1) == yb).sum())
        losses.append(loss.item())
        weights.append(len(yb))
        loss.backward()
        opt.step()
    np.testing.assert_allclose(history.step_loss, losses, rtol=1e-6)
    np.testing.assert_allclose(history.train_loss[0], np.average(losses, weights=weights),
                               rtol=1e-6)
    assert history.train_accuracy[0] == correct / 60
    np.testing.assert_array_equal(model.weight.array, reference.weight.array)


def test_evaluate_matches_a_direct_computation():
    x, y = blobs(90)
    model = Softmax(2, 3, seed=4)
    scores = evaluate(model, DataLoader(TensorDataset(x, y), batch_size=40), cross_entropy)
    out = model(microdl.from_numpy(x))
    expected_loss = F.cross_entropy(out, y).item()
    assert scores["accuracy"] == np.mean(out.array.argmax(1) == y)
    assert scores["loss"] == pytest.approx(expected_loss, rel=1e-6)


def test_evaluate_runs_in_eval_mode_without_grad_and_restores_the_mode():
    _, val = loaders()
    model = Softmax(2, 3)
    model.train()
    assert evaluate(model, val)["loss"] is None
    assert set(model.modes_seen) == {(False, False)}
    assert model.training is True


def test_fit_trains_in_train_mode_with_grad_and_validates_in_eval_mode():
    train, val = loaders(batch_size=50)
    model = Softmax(2, 3)
    fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train, epochs=1,
        val_loader=val, progress=False)
    assert model.modes_seen[:3] == [(True, True)] * 3
    assert set(model.modes_seen[3:]) == {(False, False)}


def test_regression_targets_skip_accuracy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    model = Softmax(3, 1)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    history = fit(model, F.mse_loss, PlainSGD(model.parameters(), 0.1), loader, epochs=5,
                  val_loader=loader, progress=False)
    assert history.train_accuracy == [] and history.val_accuracy == []
    assert len(history.train_loss) == 5 and history.train_loss[-1] < history.train_loss[0] / 4
    assert evaluate(model, loader, F.mse_loss)["accuracy"] is None


def test_metrics_can_leave_accuracy_out_and_reject_unknown_names():
    train, _ = loaders()
    model = Softmax(2, 3)
    history = fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train,
                  progress=False, metrics=("loss",))
    assert history.train_accuracy == [] and len(history.train_loss) == 1
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train, metrics=("f1",))


def test_progress_false_prints_nothing(capsys):
    train, val = loaders()
    model = Softmax(2, 3)
    fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train, epochs=2,
        val_loader=val, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_shows_epoch_loss_and_accuracy(capsys):
    train, val = loaders()
    model = Softmax(2, 3)
    fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), train, epochs=2,
        val_loader=val, progress=True)
    err = capsys.readouterr().err
    assert "epoch 2/2" in err
    for key in ("loss=", "acc=", "val_loss=", "val_acc="):
        assert key in err


def test_nan_loss_names_epoch_and_step_and_keeps_parameters_finite():
    x, y = blobs(100)
    x[65] = np.nan  # batch 4 of epoch 2 with 20 samples per batch and 3 batches before it
    train = DataLoader(TensorDataset(x[:80], y[:80]), batch_size=20)
    x_ok = x.copy()
    x_ok[65] = 0
    model = Softmax(2, 3)
    opt = PlainSGD(model.parameters(), 0.1)
    with pytest.raises(TrainingDivergedError, match=r"loss is nan at epoch 1, step 4 "
                                                    r"\(global step 4\)") as info:
        fit(model, cross_entropy, opt, train, epochs=2, progress=False)
    assert info.value.epoch == 1 and info.value.step == 4 and math.isnan(info.value.value)
    assert isinstance(info.value, FloatingPointError)
    assert opt.steps == 3, "the NaN loss must not reach optimizer.step()"
    assert np.all(np.isfinite(model.weight.array))


def test_divergence_in_a_later_epoch_counts_global_steps():
    x, y = blobs(40)
    train = DataLoader(TensorDataset(x, y), batch_size=10)  # 4 steps per epoch
    calls = []

    def loss_overflowing_at_call_7(out, target):
        calls.append(1)
        loss = F.cross_entropy(out, target)
        return loss * np.float32(np.inf) if len(calls) == 7 else loss

    model = Softmax(2, 3)
    with pytest.raises(TrainingDivergedError, match=r"loss is inf at epoch 2, step 3 "
                                                    r"\(global step 7\)") as info:
        fit(model, loss_overflowing_at_call_7, PlainSGD(model.parameters(), 0.1), train,
            epochs=3, progress=False)
    assert (info.value.epoch, info.value.step, info.value.global_step) == (2, 3, 7)
    assert info.value.value == math.inf


def test_scheduler_steps_once_per_epoch_and_history_records_the_lr():
    train, _ = loaders()
    model = Softmax(2, 3)
    opt = PlainSGD(model.parameters(), 0.4)
    scheduler = HalveLR(opt)
    history = fit(model, cross_entropy, opt, train, epochs=3, scheduler=scheduler,
                  progress=False)
    assert scheduler.calls == 3
    assert history.lr == [0.4, 0.2, 0.1]


def test_plain_iterables_of_numpy_batches_work():
    x, y = blobs(40)
    batches = [(x[:20], y[:20]), (x[20:], y[20:])]
    model = Softmax(2, 3)
    history = fit(model, cross_entropy, PlainSGD(model.parameters(), 0.1), batches,
                  epochs=2, progress=False)
    assert len(history.train_loss) == 2
    assert evaluate(model, batches, cross_entropy)["loss"] is not None


def test_bad_arguments_are_errors():
    model = Softmax(2, 3)
    opt = PlainSGD(model.parameters(), 0.1)
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        fit(model, cross_entropy, opt, [], epochs=1.5)
    with pytest.raises(ValueError, match="yielded no batches in epoch 1"):
        fit(model, cross_entropy, opt, [], epochs=1, progress=False)
    with pytest.raises(ValueError, match="no samples"):
        evaluate(model, [])


def test_fit_with_the_library_modules_optimizer_and_scheduler():
    from microdl import nn, optim

    train, val = loaders()
    microdl.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=4, val_loader=val,
                  scheduler=scheduler, progress=False)
    np.testing.assert_allclose(history.lr, [0.2, 0.2, 0.1, 0.1])
    assert history.val_accuracy[-1] > 0.95
    assert model.training


def test_profile_prints_the_first_epochs_op_table(capsys):
    train, val = loaders()  # 150 training samples in batches of 20: 8 steps; 50 to validate
    model = Softmax(2, 3)
    fit(model, cross_entropy, microdl.optim.SGD(model.parameters(), lr=0.1), train, epochs=2,
        val_loader=val, progress=False, profile=True)
    out = capsys.readouterr().out
    assert out.count("microdl profile of epoch") == 1 and "epoch 1" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}
    assert rows["Linear.forward"][2] == str(8 + 2)   # 8 training steps, 2 validation batches
    assert rows["Linear.backward"][2] == "8"
    assert rows["optim.sgd_update_"][2] == str(8 * 2)  # weight and bias each step
    from microdl import profiler
    assert profiler._active is None  # switched off after the epoch
