"""The training loop: ``fit`` runs epochs of SGD steps and returns a History; ``evaluate`` scores.

One step is the usual five lines (zero_grad, forward, loss, backward, step). Around them fit keeps
per-epoch figures with little per-step cost: one ``loss.item()``, one argmax and count in numpy,
and a progress bar whose text is refreshed a few times a second at most.

Figures, for an epoch of batches b with n_b samples each:
    loss     = sum_b n_b * loss_b / sum_b n_b   (loss_b the batch's mean loss)
    accuracy = #{i : argmax_k output[i, k] == label_i} / sum_b n_b
The training figures are running figures: each batch is scored by the model as it was at that step.

Checkpoints and resuming
------------------------
``fit(..., checkpoint=PATH)`` writes one file after every finished epoch (after validation and
``scheduler.step()``), with ``microdl.save``: a temporary file in the same folder, fsynced, then
renamed over PATH, so PATH always holds a whole checkpoint, the last good one. It holds
everything the next epoch depends on:

    kind, version     "microdl-fit-checkpoint", 1
    epoch             the number of finished epochs; global_step, the number of finished steps
    model             model.state_dict(): parameters and buffers (BatchNorm's running statistics
                      and num_batches_tracked)
    optimizer         optimizer.state_dict(): hyper-parameters (the scheduled lr included) and
                      per-parameter state (SGD's momentum buffers)
    scheduler         scheduler.state_dict(), or None
    rng               microdl's global generator state (dropout, init, default shuffling)
    loader_rng        the bit-generator state of the train and validation loaders' own
                      ``generator`` (None where a loader draws from the global generator)
    history           the History so far

``fit(..., resume=PATH)`` loads all of it into the objects it is given (a freshly built model,
optimizer, scheduler and loaders of the same shapes) and runs the epochs after the saved one, up
to ``epochs`` in all. Every step after it then sees the same weights, optimizer state and random
draws as in a run that was never stopped, so the final weights are the same bit for bit (the
kernels do not depend on the thread count either). A checkpoint that does not fit (another
model, another optimizer layout) raises CheckpointError and changes nothing.

Faults: a save that fails (an exception or a full disk mid-write) leaves the previous file and
raises; a NaN/Inf loss raises TrainingDivergedError before backward, and Ctrl-C
(KeyboardInterrupt) is re-raised as it is; in every case the checkpoint file holds the last
finished epoch, and the error carries a note saying so.
"""

import copy
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import profiler, random, warmup
from .autograd import no_grad
from .io import CheckpointError, load, save
from .tensor import Tensor

METRICS = ("loss", "accuracy")
CHECKPOINT_KIND = "microdl-fit-checkpoint"
CHECKPOINT_VERSION = 1
_REFRESH_S = 0.2  # seconds between progress-bar updates


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite; names the epoch, the step and the value."""

    def __init__(self, value, epoch, step, global_step):
        self.value, self.epoch, self.step, self.global_step = value, epoch, step, global_step
        super().__init__(f"training diverged: the loss is {value} at epoch {epoch}, step {step} "
                         f"(global step {global_step}); the parameters were not updated with it "
                         "(BatchNorm running statistics were, in the forward pass: reload the "
                         "last checkpoint before using the model). Try a smaller learning rate "
                         "or check the inputs for NaN/Inf")


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
                n = len(y.array)
                if loss_fn is not None and "loss" in wanted:
                    loss_sum += loss_fn(output, y).item() * n
                if "accuracy" in wanted and _is_classification(output.array, y.array):
                    correct += _correct(output.array, y.array)
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
        progress=True, log_every_step=False, metrics=METRICS, checkpoint=None, resume=None,
        profile=False):
    """Train ``model`` until ``epochs`` passes over ``train_loader`` are done; returns a History.

    Each step: optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward();
    optimizer.step(). The model is in train mode during the epochs; after each epoch the
    validation loader (if any) is scored with ``evaluate`` and ``scheduler.step()`` is called
    once. A NaN or infinite loss raises TrainingDivergedError before backward, so the parameters
    keep their last finite values. ``progress=False`` prints nothing; otherwise a first run
    (nothing in Numba's cache yet) says once that kernels are being compiled.

    checkpoint: a path written after every epoch; resume: a checkpoint to continue from, whose
    finished epochs count towards ``epochs`` (see the module docstring for both).

    profile: time every op and kernel during the first epoch run here (training and validation)
    with ``microdl.profiler`` and print its table after that epoch.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer (got {epochs!r})")
    wanted = _check_metrics(metrics)
    if checkpoint is not None or resume is not None:
        _check_checkpointable(optimizer, scheduler)
    if checkpoint is not None:
        checkpoint = _check_checkpoint_path(checkpoint)
    loaders = (train_loader, val_loader)
    history, first_epoch, global_step = History(), 1, 0
    if resume is not None:
        history, done, global_step = _resume(resume, model, optimizer, scheduler, loaders,
                                             epochs)
        first_epoch = done + 1
    # the epoch the checkpoint file holds, for the note on an error (None: none written yet)
    saved_epoch = None
    if resume is not None and checkpoint is not None \
            and Path(resume).resolve() == checkpoint.resolve():
        saved_epoch = first_epoch - 1
    if first_epoch <= epochs:
        # on a first run (nothing compiled yet): the notice, and a second process compiling ahead
        if progress:
            warmup.announce_first_run(model=model)
        else:
            warmup.compile_ahead(model=model)
    for epoch in range(first_epoch, epochs + 1):
        try:
            with _maybe_profile(profile and epoch == first_epoch, epoch):
                global_step = _fit_epoch(model, loss_fn, optimizer, train_loader, val_loader,
                                         scheduler, epoch, epochs, global_step, wanted, metrics,
                                         history, log_every_step, progress)
            if checkpoint is not None:
                save(_checkpoint_state(model, optimizer, scheduler, loaders, epoch, global_step,
                                       history), checkpoint)
                saved_epoch = epoch
        except BaseException as error:
            if checkpoint is not None:
                _add_note(error, _checkpoint_note(checkpoint, saved_epoch, resume,
                                                  first_epoch - 1))
            raise
    return history


@contextmanager
def _maybe_profile(active, epoch):
    if not active:
        yield
        return
    with profiler.profile() as prof:
        yield
    print(f"microdl profile of epoch {epoch}:\n{prof.table()}")


def _fit_epoch(model, loss_fn, optimizer, train_loader, val_loader, scheduler, epoch, epochs,
               global_step, wanted, metrics, history, log_every_step, progress):
    """One epoch of training, its validation and its scheduler step; returns global_step."""
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
    return global_step


# ---- checkpoints ------------------------------------------------------------------------------

def _check_checkpointable(optimizer, scheduler):
    for name, obj in (("optimizer", optimizer), ("scheduler", scheduler)):
        if obj is not None and not (callable(getattr(obj, "state_dict", None))
                                    and callable(getattr(obj, "load_state_dict", None))):
            raise TypeError(f"fit: checkpoint/resume need {name}.state_dict() and "
                            f"{name}.load_state_dict() (got {type(obj).__name__}, which has "
                            "not both)")


def _check_checkpoint_path(path):
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"fit: checkpoint={str(path)!r} is a folder; give a file path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"fit: the folder of checkpoint={str(path)!r} does not exist "
                                f"({path.parent}); create it first")
    return path


def _loader_generator(loader):
    generator = getattr(loader, "generator", None)
    return generator if isinstance(generator, np.random.Generator) else None


def _checkpoint_state(model, optimizer, scheduler, loaders, epoch, global_step, history):
    """Everything the next epoch depends on (the table in the module docstring)."""
    generators = [_loader_generator(loader) for loader in loaders]
    return {
        "kind": CHECKPOINT_KIND, "version": CHECKPOINT_VERSION,
        "epoch": epoch, "global_step": global_step,
        "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng": random.get_rng_state(),
        "loader_rng": [None if g is None else g.bit_generator.state for g in generators],
        "history": history.as_dict(),
    }


def _capture(model, optimizer, scheduler, loaders):
    """The state _restore_all overwrites, to put back if a checkpoint turns out not to fit."""
    generators = [_loader_generator(loader) for loader in loaders]
    return (model.state_dict(), copy.deepcopy(optimizer.state_dict()),
            None if scheduler is None else copy.deepcopy(scheduler.state_dict()),
            random.get_rng_state(),
            [None if g is None else g.bit_generator.state for g in generators])


def _restore_all(model, optimizer, scheduler, loaders, model_state, optimizer_state,
                 scheduler_state, rng_state, loader_states):
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    if scheduler is not None:
        scheduler.load_state_dict(scheduler_state)
    random.set_rng_state(rng_state)
    for name, loader, state in zip(("train", "validation"), loaders, loader_states):
        generator = _loader_generator(loader)
        if (generator is None) != (state is None):
            raise ValueError(f"the {name} loader {'has' if generator else 'has no'} generator "
                             f"of its own, the checkpointed one {'had' if state else 'had not'}"
                             "; the shuffling could not repeat")
        if generator is not None:
            generator.bit_generator.state = state


def _resume(path, model, optimizer, scheduler, loaders, epochs):
    """Load checkpoint ``path`` into the objects; returns (history, finished epochs, steps)."""
    state = load(path)
    if not isinstance(state, dict) or state.get("kind") != CHECKPOINT_KIND:
        raise CheckpointError(f"{path}: a microdl file but not a fit checkpoint (kind "
                              f"{state.get('kind') if isinstance(state, dict) else None!r}, "
                              f"expected {CHECKPOINT_KIND!r})")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: fit checkpoint version {state.get('version')!r}, this "
                              f"microdl reads version {CHECKPOINT_VERSION}")
    if (state["scheduler"] is None) != (scheduler is None):
        raise CheckpointError(f"{path}: the checkpoint was written "
                              f"{'without' if state['scheduler'] is None else 'with'} a scheduler"
                              f" and fit got {'one' if scheduler is not None else 'none'}")
    done = state.get("epoch")
    if isinstance(done, int) and done > epochs:
        raise ValueError(f"fit: the checkpoint {path} has {done} finished epochs, more than "
                         f"epochs={epochs} (epochs counts the resumed ones too)")
    backup = _capture(model, optimizer, scheduler, loaders)
    try:
        history = History(**state["history"])
        _restore_all(model, optimizer, scheduler, loaders, state["model"], state["optimizer"],
                     state["scheduler"], state["rng"], state["loader_rng"])
        return history, int(state["epoch"]), int(state["global_step"])
    except Exception as error:
        _restore_all(model, optimizer, scheduler, loaders, *backup)
        raise CheckpointError(f"{path}: cannot resume from this checkpoint, it does not fit "
                              f"the model, optimizer, scheduler or loaders given (nothing was "
                              f"changed): {type(error).__name__}: {error}") from error


def _checkpoint_note(path, epoch, resumed_from=None, resumed_epoch=0):
    if epoch is None and resumed_from is not None:
        return (f"fit: no checkpoint was written to {path} before this (no epoch finished "
                f"since the resume); {resumed_from} still holds the state after epoch "
                f"{resumed_epoch}: continue with fit(..., resume={str(resumed_from)!r})")
    if epoch is None:
        return f"fit: no checkpoint was written to {path} before this (no epoch finished)"
    return (f"fit: the checkpoint {path} holds the state after epoch {epoch}; continue with "
            f"fit(..., resume={str(path)!r})")


def _add_note(error, note):
    if hasattr(error, "add_note"):  # Python 3.11+
        error.add_note(note)


def _train_epoch(model, loss_fn, optimizer, loader, epoch, global_step, wanted, history,
                 log_every_step, bar):
    """One pass over ``loader``; appends the epoch's figures to history, returns global_step."""
    started = last_refresh = time.perf_counter()
    loss_sum, correct, seen, scored, step = 0.0, 0, 0, 0, 0
    for x, y in loader:
        x, y = _as_tensor(x), _as_tensor(y)
        step += 1
        global_step += 1
        if y.array.ndim and len(y.array) == 0:
            raise ValueError(f"fit: batch {step} of epoch {epoch} is empty (0 samples); a loss "
                             "over no samples is undefined")
        optimizer.zero_grad()
        output = model(x)
        loss = loss_fn(output, y)
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingDivergedError(value, epoch, step, global_step)
        loss.backward()
        optimizer.step()
        n = len(y.array)
        loss_sum += value * n
        seen += n
        if "accuracy" in wanted and _is_classification(output.array, y.array):
            correct += _correct(output.array, y.array)
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
