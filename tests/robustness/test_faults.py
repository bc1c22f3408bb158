"""Faults injected into fit with checkpoints: each leaves the last good checkpoint, fails clearly,
and resuming from that checkpoint still ends bit-identical to a run that never failed.

FAULTS lists the training-time faults (a save that fails halfway, Ctrl-C at several points, a
loss that turns NaN or Inf); BAD_FILES the damaged checkpoints handed to ``fit(resume=...)``.
"""

import errno
import os

import numpy as np
import pytest
from training_setup import Run, assert_bitwise_equal

import microdl
import microdl.io
import microdl.train
from microdl.io import CheckpointError
from microdl.train import TrainingDivergedError

STEPS_PER_EPOCH = 4  # 64 training samples in batches of 16; validation is one batch of 32
LOSS_CALLS_PER_EPOCH = STEPS_PER_EPOCH + 1


@pytest.fixture(scope="module")
def reference():
    """Weights after 2 and after 4 epochs of a run that never failed."""
    run = Run(seed=0, shuffle_seed=5)
    run.fit(2)
    after_two = run.weights()
    full = Run(seed=0, shuffle_seed=5)
    full.fit(4)
    return after_two, full.weights()


class FailingLoss:
    """Cross-entropy that misbehaves at its ``at``-th call (train and validation calls count)."""

    def __init__(self, at, fault):
        self.at, self.fault, self.calls = at, fault, 0

    def __call__(self, output, target):
        self.calls += 1
        loss = microdl.functional.cross_entropy(output, target)
        if self.calls != self.at:
            return loss
        if self.fault == "ctrl-c":
            raise KeyboardInterrupt
        return loss * np.float32(np.nan if self.fault == "nan" else np.inf)


def fail_on_third_save(monkeypatch, how):
    """Patch the checkpoint write so that the third one (after epoch 3) fails ``how``."""
    real_savez, real_replace = np.savez, os.replace
    count = {"savez": 0, "replace": 0}

    def savez(file, **members):
        count["savez"] += 1
        if count["savez"] != 3 or how == "ctrl-c in rename":
            return real_savez(file, **members)
        if how == "disk full":
            file.write(b"PK\x03\x04 half a zip header")  # some bytes land before the error
            raise OSError(errno.ENOSPC, "No space left on device")
        real_savez(file, **members)
        raise RuntimeError("simulated crash after the archive was written, before the fsync")

    def replace(src, dst):
        count["replace"] += 1
        if count["replace"] == 3 and how == "ctrl-c in rename":
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(microdl.io.np, "savez", savez)
    monkeypatch.setattr(microdl.io.os, "replace", replace)


# name -> (how it is injected, the error fit raises, a pattern its message must match)
FAULTS = {
    "disk full while writing the epoch-3 checkpoint":
        ("save", "disk full", OSError, "No space left on device"),
    "exception after the archive, before the rename":
        ("save", "crash after write", RuntimeError, "simulated crash"),
    "Ctrl-C during the rename of the epoch-3 checkpoint":
        ("save", "ctrl-c in rename", KeyboardInterrupt, None),
    "Ctrl-C in the middle of epoch 3":
        ("loss", ("ctrl-c", 2 * LOSS_CALLS_PER_EPOCH + 2), KeyboardInterrupt, None),
    "Ctrl-C during the validation of epoch 3":
        ("loss", ("ctrl-c", 3 * LOSS_CALLS_PER_EPOCH), KeyboardInterrupt, None),
    "NaN loss at epoch 3, step 2":
        ("loss", ("nan", 2 * LOSS_CALLS_PER_EPOCH + 2), TrainingDivergedError,
         r"loss is nan at epoch 3, step 2 \(global step 10\)"),
    "Inf loss at epoch 3, step 4":
        ("loss", ("inf", 2 * LOSS_CALLS_PER_EPOCH + 4), TrainingDivergedError,
         r"loss is inf at epoch 3, step 4 \(global step 12\)"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_a_fault_leaves_the_last_good_checkpoint_and_resuming_is_bit_identical(
        name, reference, tmp_path, monkeypatch):
    where, how, error_type, pattern = FAULTS[name]
    after_two, after_four = reference
    path = tmp_path / "ckpt.npz"
    run = Run(seed=0, shuffle_seed=5)
    kwargs = {"checkpoint": path}
    if where == "save":
        fail_on_third_save(monkeypatch, how)
    else:
        kwargs["loss_fn"] = FailingLoss(how[1], how[0])
    with pytest.raises(error_type, match=pattern) as info:
        run.fit(4, **kwargs)
    monkeypatch.undo()
    assert any("holds the state after epoch 2" in note
               for note in getattr(info.value, "__notes__", [])), "the error names the checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"], "no temporary file left"
    state = microdl.load(path)
    assert state["epoch"] == 2
    assert_bitwise_equal(state["model"], after_two)
    if error_type is TrainingDivergedError:
        assert all(np.isfinite(p.array).all() for p in run.model.parameters())

    resumed = Run(seed=7, shuffle_seed=8)
    resumed.fit(4, checkpoint=path, resume=path)
    assert_bitwise_equal(resumed.weights(), after_four)


def test_a_fault_in_the_first_epoch_says_that_no_checkpoint_exists(tmp_path):
    with pytest.raises(KeyboardInterrupt) as info:
        Run(seed=0, shuffle_seed=5).fit(2, checkpoint=tmp_path / "c.npz",
                                        loss_fn=FailingLoss(2, "ctrl-c"))
    assert any("no checkpoint was written" in note for note in info.value.__notes__)
    assert not list(tmp_path.iterdir())


def test_a_fault_after_resuming_into_another_file_names_the_file_to_resume_from(tmp_path):
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    Run(seed=0, shuffle_seed=5).fit(2, checkpoint=first)
    with pytest.raises(KeyboardInterrupt) as info:
        Run(seed=1, shuffle_seed=6).fit(4, checkpoint=second, resume=first,
                                        loss_fn=FailingLoss(1, "ctrl-c"))
    note, = info.value.__notes__
    assert f"{first} still holds the state after epoch 2" in note and str(second) in note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def truncated(data, fraction):
    return data[:int(len(data) * fraction)]


def flip(data, position):
    out = bytearray(data)
    out[int(len(out) * position)] ^= 0x5A
    return bytes(out)


# name -> a function of the good checkpoint's bytes that damages them
BAD_FILES = {
    "empty file": lambda data: b"",
    "truncated to 10%": lambda data: truncated(data, 0.1),
    "truncated to 50%": lambda data: truncated(data, 0.5),
    "truncated by one byte": lambda data: data[:-1],
    "byte flipped at 30%": lambda data: flip(data, 0.3),
    "byte flipped at 60%": lambda data: flip(data, 0.6),
    "second half zero-filled (written but never flushed)":
        lambda data: truncated(data, 0.5) + bytes(len(data) - len(truncated(data, 0.5))),
    "random bytes": lambda data: np.random.default_rng(0).bytes(len(data)),
    "a PNG": lambda data: b"\x89PNG\r\n\x1a\n" + bytes(100),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_damaged_checkpoint_gets_a_clear_error_and_changes_nothing(name, tmp_path):
    path = tmp_path / "ckpt.npz"
    Run(seed=0, shuffle_seed=5).fit(1, checkpoint=path)
    path.write_bytes(BAD_FILES[name](path.read_bytes()))
    run = Run(seed=3, shuffle_seed=6)
    before, rng_before = run.weights(), microdl.random.get_rng_state()
    with pytest.raises(CheckpointError, match="ckpt.npz"):
        run.fit(2, resume=path)
    assert_bitwise_equal(run.weights(), before)
    assert microdl.random.get_rng_state() == rng_before


def test_a_foreign_npz_is_not_taken_for_a_checkpoint(tmp_path):
    np.savez(tmp_path / "weights.npz", **Run(seed=0, shuffle_seed=5).weights())
    with pytest.raises(CheckpointError, match="not a microdl checkpoint"):
        Run(seed=0, shuffle_seed=5).fit(1, resume=tmp_path / "weights.npz")
