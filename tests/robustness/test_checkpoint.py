"""fit(checkpoint=...) and fit(resume=...): what a checkpoint holds, and bit-identical resuming.

A resumed run is always built with other seeds (init, global generator, loader generator) than
the uninterrupted one, so it can only match it if the checkpoint restores every piece of state.
"""

import numpy as np
import pytest
from training_setup import Run, assert_bitwise_equal

import microdl
from microdl.io import CheckpointError
from microdl.train import CHECKPOINT_KIND, fit


@pytest.mark.parametrize("own_generator", [True, False], ids=["loader-generator", "global-rng"])
def test_a_run_stopped_after_two_epochs_and_resumed_ends_bit_identical(tmp_path, own_generator):
    reference = Run(seed=0, shuffle_seed=5, own_generator=own_generator)
    full = reference.fit(4)

    path = tmp_path / "ckpt.npz"
    first = Run(seed=0, shuffle_seed=5, own_generator=own_generator)
    first.fit(2, checkpoint=path)
    resumed = Run(seed=1, shuffle_seed=6, own_generator=own_generator)
    microdl.manual_seed(99)  # the global stream must come from the checkpoint, not from here
    history = resumed.fit(4, checkpoint=path, resume=path)

    assert_bitwise_equal(resumed.weights(), reference.weights())
    assert history.step_loss == full.step_loss
    assert history.train_loss == full.train_loss and history.val_loss == full.val_loss
    assert history.lr == full.lr == [0.1, 0.1, 0.05, 0.05]
    assert history.epochs == 4
    assert microdl.load(path)["epoch"] == 4


def test_a_float32_learning_rate_resumes_bit_identical(tmp_path):
    """A schedule computed in float32 (lr given as np.float32) goes on in float32 after a
    resume: the checkpoint keeps numpy scalars' dtypes."""
    from microdl.optim import SGD, lr_scheduler

    def run(seed, shuffle_seed):
        r = Run(seed=seed, shuffle_seed=shuffle_seed)
        r.optimizer = SGD(r.model.parameters(), lr=np.float32(0.1), momentum=0.9)
        r.scheduler = lr_scheduler.CosineAnnealingLR(r.optimizer, T_max=10)
        return r

    reference = run(0, 5)
    full = reference.fit(4)
    path = tmp_path / "ckpt.npz"
    run(0, 5).fit(2, checkpoint=path)
    resumed = run(1, 6)
    history = resumed.fit(4, resume=path)
    assert history.lr == full.lr and type(resumed.optimizer.param_groups[0]["lr"]) is np.float32
    assert_bitwise_equal(resumed.weights(), reference.weights())


def test_the_checkpoint_holds_every_piece_of_state(tmp_path):
    path = tmp_path / "ckpt.npz"
    run = Run(seed=0, shuffle_seed=5)
    history = run.fit(3, checkpoint=path)
    state = microdl.load(path)
    assert state["kind"] == CHECKPOINT_KIND and state["version"] == 1
    assert state["epoch"] == 3 and state["global_step"] == 3 * len(run.train_loader)
    assert_bitwise_equal(state["model"], run.weights())
    assert int(state["model"]["1.num_batches_tracked"]) == 12
    for key in ("1.running_mean", "1.running_var"):
        assert key in state["model"]
    momentum = state["optimizer"]["state"]
    assert sorted(momentum) == list(range(6))
    for index, param in enumerate(run.model.parameters()):
        np.testing.assert_array_equal(momentum[index]["momentum_buffer"],
                                      run.optimizer.state[param]["momentum_buffer"])
    assert state["optimizer"]["param_groups"][0]["lr"] == run.optimizer.param_groups[0]["lr"]
    assert state["scheduler"]["last_epoch"] == 3
    assert state["rng"] == microdl.random.get_rng_state()
    assert state["loader_rng"][0] == run.train_loader.generator.bit_generator.state
    assert state["loader_rng"][1] is None  # the validation loader has no generator of its own
    assert state["history"] == history.as_dict()


def test_every_epoch_overwrites_the_checkpoint_with_the_latest_state(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    written = []
    real_save = microdl.train.save

    def recording_save(state, target):
        written.append((state["epoch"], state["global_step"]))
        return real_save(state, target)

    monkeypatch.setattr(microdl.train, "save", recording_save)
    Run(seed=0, shuffle_seed=5).fit(3, checkpoint=path)
    assert written == [(1, 4), (2, 8), (3, 12)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.npz"]


def test_resuming_a_finished_run_trains_nothing_and_more_epochs_than_asked_is_an_error(tmp_path):
    path = tmp_path / "ckpt.npz"
    Run(seed=0, shuffle_seed=5).fit(2, checkpoint=path)
    again = Run(seed=1, shuffle_seed=6)
    history = again.fit(2, resume=path)
    assert history.epochs == 2
    assert_bitwise_equal(again.weights(), microdl.load(path)["model"])
    fresh = Run(seed=1, shuffle_seed=6)
    before = fresh.weights()
    with pytest.raises(ValueError, match=r"has 2 finished epochs, more than epochs=1"):
        fresh.fit(1, resume=path)
    assert_bitwise_equal(fresh.weights(), before)


def test_resume_into_another_model_is_refused_and_changes_nothing(tmp_path):
    path = tmp_path / "ckpt.npz"
    Run(seed=0, shuffle_seed=5).fit(1, checkpoint=path)
    other = Run(seed=3, shuffle_seed=6)
    other.model.add_module("0", microdl.nn.Linear(6, 8))  # 8 features, the checkpoint 16
    before = other.weights()
    lr_before, rng_before = other.optimizer.param_groups[0]["lr"], microdl.random.get_rng_state()
    with pytest.raises(CheckpointError, match=r"(?s)ckpt.npz: cannot resume .*size mismatch "
                                              r"for 0.weight"):
        other.fit(2, resume=path)
    assert_bitwise_equal(other.weights(), before)
    assert other.optimizer.param_groups[0]["lr"] == lr_before
    assert microdl.random.get_rng_state() == rng_before


def test_resume_with_a_different_optimizer_layout_restores_the_model_back(tmp_path):
    path = tmp_path / "ckpt.npz"
    Run(seed=0, shuffle_seed=5).fit(1, checkpoint=path)
    other = Run(seed=3, shuffle_seed=6)
    before = other.weights()
    other.optimizer.param_groups[0]["params"].pop()  # one parameter fewer than saved
    with pytest.raises(CheckpointError, match="doesn't match the size of optimizer's group"):
        other.fit(2, resume=path)
    assert_bitwise_equal(other.weights(), before)


def test_resume_needs_the_same_kind_of_shuffling(tmp_path):
    path = tmp_path / "ckpt.npz"
    Run(seed=0, shuffle_seed=5, own_generator=True).fit(1, checkpoint=path)
    with pytest.raises(CheckpointError, match="the train loader has no generator of its own"):
        Run(seed=0, shuffle_seed=5, own_generator=False).fit(2, resume=path)


def test_checkpoint_arguments_are_checked_before_any_step(tmp_path):
    run = Run(seed=0, shuffle_seed=5)
    before = run.weights()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run.fit(1, checkpoint=tmp_path / "missing" / "ckpt.npz")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        run.fit(1, checkpoint=tmp_path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        run.fit(1, resume=tmp_path / "absent.npz")
    assert_bitwise_equal(run.weights(), before)


def test_an_optimizer_without_state_dict_cannot_be_checkpointed(tmp_path):
    class Bare:
        param_groups = [{"lr": 0.1}]

    run = Run(seed=0, shuffle_seed=5)
    with pytest.raises(TypeError, match=r"need optimizer.state_dict\(\).*got Bare"):
        fit(run.model, microdl.nn.CrossEntropyLoss(), Bare(), run.train_loader,
            checkpoint=tmp_path / "c.npz", progress=False)


def test_a_state_file_that_is_not_a_fit_checkpoint_is_refused(tmp_path):
    path = microdl.save({"w": np.zeros(3)}, tmp_path / "weights.npz")
    with pytest.raises(CheckpointError, match="not a fit checkpoint"):
        Run(seed=0, shuffle_seed=5).fit(1, resume=path)
    state = microdl.load(microdl.save({"kind": CHECKPOINT_KIND, "version": 7},
                                      tmp_path / "future.npz"))
    assert state["version"] == 7
    with pytest.raises(CheckpointError, match="version 7"):
        Run(seed=0, shuffle_seed=5).fit(1, resume=tmp_path / "future.npz")
