"""The training loop: ``fit`` runs epochs of SGD steps and returns a History; ``evaluate`` scores.

One step is the usual five lines (zero_grad, forward, loss, backward, step). Around them fit keeps
per-epoch figures with little per-step cost: one ``loss.item()``, one argmax and count in numpy,
and a progress bar whose text is refreshed a few times a second at most.

Figures, for an epoch of batches b with n_b samples each:
    loss     = sum_b n_b * loss_b / sum_b n_b   (loss_b the batch's mean loss)
    accuracy = #{i : argmax_k output[i, k] == label_i} / sum_b n_b
The training figures are running figures: each batch is scored by the model as it was at that step.
"""

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .autograd import no_grad
from .tensor import Tensor

METRICS = ("loss", "accuracy")
_REFRESH_S = 0.2  # seconds between progress-bar updates


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite; names the epoch, the step and the value."""

    def __init__(self, value, epoch, step, global_step):
        self.value, self.epoch, self.step, self.global_step = value, epoch, step, global_step
        super().__init__(f"training diverged: the loss is {value} at epoch {epoch}, step {step} "
                         f"(global step {global_step}); the parameters were not updated with it. "
                         "Try a smaller learning rate or check the inputs for NaN/Inf")


@dataclass
class History:
    """Per-epoch figures from ``fit`` (one value per epoch; empty when not measured).

    train_loss, train_accuracy: running figures over each epoch's training batches.
    val_loss, val_accuracy: ``evaluate`` on the validation loader after each epoch.
    epoch_time: seconds spent in each epoch's training steps (evaluation not included).
    lr: the first parameter group's learning rate during each epoch.
    step_loss: every step's loss, in order (only with ``log_every_step``).
    """

    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)

    @property
    def epochs(self):
        return len(self.epoch_time)

    def as_dict(self):
        """Plain lists of floats, ready for ``json.dump``."""
        return asdict(self)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def _is_classification(output, labels):
    """Accuracy applies to (N, C) scores with N integer labels; not to regression targets."""
    return (labels.dtype.kind in "iu" and output.ndim == 2 and labels.ndim == 1
            and len(labels) == len(output))


def _correct(output, labels):
    return int(np.count_nonzero(output.argmax(axis=1) == labels))


def _check_metrics(metrics):
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}: choose from {METRICS}")
    return set(metrics)


def _learning_rate(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else None


def evaluate(model, loader, loss_fn=None, metrics=METRICS):
    """Score ``model`` on every batch of ``loader`` in eval mode, without recording a tape.

    Returns {"loss": ..., "accuracy": ...} (formulas in the module docstring); a figure that was
    not measured (no loss_fn, regression targets, or left out of ``metrics``) is None. The
    modules' train/eval modes are restored afterwards.
    """
    wanted = _check_metrics(metrics)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    loss_sum, correct, seen, scored = 0.0, 0, 0, 0
    try:
        with no_grad():
            for x, y in loader:
                x, y = _as_tensor(x), _as_tensor(y)
                output = model(x)
                n = len(y.data)
                if loss_fn is not None and "loss" in wanted:
                    loss_sum += loss_fn(output, y).item() * n
                if "accuracy" in wanted and _is_classification(output.data, y.data):
                    correct += _correct(output.data, y.data)
                    scored += n
                seen += n
    finally:
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return {"loss": loss_sum / seen if loss_fn is not None and "loss" in wanted else None,
            "accuracy": correct / scored if scored else None}


def fit(model, loss_fn, optimizer, train_loader, epochs=1, *, val_loader=None, scheduler=None,
        progress=True, log_every_step=False, metrics=METRICS):
    """Train ``model`` for ``epochs`` passes over ``train_loader``; returns a History.

    Each step: optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward();
    optimizer.step(). The model is in train mode during the epochs; after each epoch the
    validation loader (if any) is scored with ``evaluate`` and ``scheduler.step()`` is called
    once. A NaN or infinite loss raises TrainingDivergedError before backward, so the parameters
    keep their last finite values. ``progress=False`` prints nothing.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer (got {epochs!r})")
    wanted = _check_metrics(metrics)
    history = History()
    global_step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        lr = _learning_rate(optimizer)
        bar = _progress_bar(train_loader, epoch, epochs) if progress else None
        try:
            global_step = _train_epoch(model, loss_fn, optimizer, train_loader, epoch,
                                       global_step, wanted, history, log_every_step, bar)
            if lr is not None:
                history.lr.append(lr)
            figures = _postfix(wanted, history.train_loss[-1] if "loss" in wanted else None,
                               history.train_accuracy[-1] if history.train_accuracy else None)
            if val_loader is not None:
                scores = evaluate(model, val_loader, loss_fn, metrics)
                if scores["loss"] is not None:
                    history.val_loss.append(scores["loss"])
                    figures["val_loss"] = f"{scores['loss']:.4f}"
                if scores["accuracy"] is not None:
                    history.val_accuracy.append(scores["accuracy"])
                    figures["val_acc"] = f"{scores['accuracy']:.4f}"
            if bar is not None:
                bar.set_postfix(figures)
        finally:
            if bar is not None:
                bar.close()
        if scheduler is not None:
            scheduler.step()
    return history


def _train_epoch(model, loss_fn, optimizer, loader, epoch, global_step, wanted, history,
                 log_every_step, bar):
    """One pass over ``loader``; appends the epoch's figures to history, returns global_step."""
    started = last_refresh = time.perf_counter()
    loss_sum, correct, seen, scored, step = 0.0, 0, 0, 0, 0
    for x, y in loader:
        x, y = _as_tensor(x), _as_tensor(y)
        step += 1
        global_step += 1
        optimizer.zero_grad()
        output = model(x)
        loss = loss_fn(output, y)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDivergedError(value, epoch, step, global_step)
        loss.backward()
        optimizer.step()
        n = len(y.data)
        loss_sum += value * n
        seen += n
        if "accuracy" in wanted and _is_classification(output.data, y.data):
            correct += _correct(output.data, y.data)
            scored += n
        if log_every_step:
            history.step_loss.append(value)
        if bar is not None:
            # NOTE: tqdm is fed a few times a second, not every step: its update costs more
            # than the rest of this loop's bookkeeping.
            now = time.perf_counter()
            if now - last_refresh > _REFRESH_S:
                last_refresh = now
                bar.set_postfix(_postfix(wanted, loss_sum / seen,
                                         correct / scored if scored else None), refresh=False)
                bar.update(step - bar.n)
    if seen == 0:
        raise ValueError(f"fit: the training loader yielded no batches in epoch {epoch}")
    history.epoch_time.append(time.perf_counter() - started)
    if bar is not None:
        bar.update(step - bar.n)
    if "loss" in wanted:
        history.train_loss.append(loss_sum / seen)
    if scored:
        history.train_accuracy.append(correct / scored)
    return global_step


def _progress_bar(loader, epoch, epochs):
    try:
        total = len(loader)
    except TypeError:  # a plain iterable of batches has no length
        total = None
    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="step", leave=True,
                dynamic_ncols=True)


def _postfix(wanted, loss, accuracy):
    figures = {}
    if "loss" in wanted and loss is not None:
        figures["loss"] = f"{loss:.4f}"
    if accuracy is not None:
        figures["acc"] = f"{accuracy:.4f}"
    return figures
