"""save / load: round trips of nested state, atomic writes, clear errors for bad files."""

import os

import numpy as np
import pytest

import microdl
import microdl.nn as nn
from microdl.io import CheckpointError
from microdl.optim import SGD


def test_nested_state_round_trip(tmp_path):
    microdl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = microdl.functional.cross_entropy(model(microdl.tensor(np.ones((5, 3)))),
                                            np.array([0, 1, 0, 1, 1]))
    loss.backward()
    opt.step()
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
             "rng": microdl.random.get_rng_state(), "note": None, "pair": (1, 2.5),
             "names": ["a", "b"]}
    path = microdl.save(state, tmp_path / "ckpt.npz")
    back = microdl.load(path)
    assert back["epoch"] == 3 and back["note"] is None and back["pair"] == (1, 2.5)
    assert back["names"] == ["a", "b"] and back["rng"] == state["rng"]
    for key, value in state["model"].items():
        np.testing.assert_array_equal(back["model"][key], value)
        assert back["model"][key].dtype == value.dtype
    assert set(back["optimizer"]["state"]) == set(state["optimizer"]["state"])
    np.testing.assert_array_equal(back["optimizer"]["state"][0]["momentum_buffer"],
                                  state["optimizer"]["state"][0]["momentum_buffer"])
    fresh = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))
    fresh.load_state_dict(back["model"])
    np.testing.assert_array_equal(fresh[0].weight.data, model[0].weight.data)


def test_a_failed_write_leaves_the_previous_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    microdl.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with pytest.raises(OSError, match="No space left"):
        microdl.save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_missing_truncated_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        microdl.load(tmp_path / "absent.npz")
    good = microdl.save({"w": np.arange(1000.0)}, tmp_path / "good.npz")
    data = good.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.npz"):
        microdl.load(tmp_path / "truncated.npz")
    (tmp_path / "noise.npz").write_bytes(os.urandom(500))
    with pytest.raises(CheckpointError, match="not a microdl checkpoint"):
        microdl.load(tmp_path / "noise.npz")
    np.savez(tmp_path / "foreign.npz", x=np.zeros(2))
    with pytest.raises(CheckpointError, match="not a microdl checkpoint"):
        microdl.load(tmp_path / "foreign.npz")


def test_values_that_cannot_be_stored_are_refused(tmp_path):
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        microdl.save({"x": object()}, tmp_path / "x.npz")
    assert not list(tmp_path.iterdir())
