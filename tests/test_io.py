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
    np.testing.assert_array_equal(fresh[0].weight.array, model[0].weight.array)


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


def test_types_dtypes_and_keys_come_back_as_saved(tmp_path):
    state = {
        0: {"momentum_buffer": np.arange(6, dtype=np.float32).reshape(2, 3)},
        "scalars": [np.array(3, np.int64), np.float64(2.5), np.bool_(True)],
        "dtypes": [np.zeros(2, np.float16), np.array([1, 2], np.uint8), np.array([True]),
                   np.zeros((0, 4), np.float64)],
        "tensor": microdl.tensor([1.0, 2.0]),
        "nan": float("nan"), "inf": float("-inf"), "nested": {"a": {"b": [None, (1, "x")]}},
        (1, 2): "tuple key", "empty": {},
    }
    back = microdl.load(microdl.save(state, str(tmp_path / "types.npz")))
    assert set(back) == set(state)
    np.testing.assert_array_equal(back[0]["momentum_buffer"], state[0]["momentum_buffer"])
    assert back["scalars"][0].shape == () and back["scalars"][0].dtype == np.int64
    assert back["scalars"][1:] == [2.5, True]
    assert type(back["scalars"][1]) is np.float64 and type(back["scalars"][2]) is np.bool_
    for got, want in zip(back["dtypes"], state["dtypes"]):
        assert got.dtype == want.dtype and got.shape == want.shape
    assert isinstance(back["tensor"], np.ndarray) and back["tensor"].dtype == np.float32
    assert np.isnan(back["nan"]) and back["inf"] == float("-inf")
    assert back["nested"] == {"a": {"b": [None, (1, "x")]}}
    assert back[(1, 2)] == "tuple key" and back["empty"] == {}


def test_overwrite_keeps_permissions_of_a_normal_file(tmp_path):
    path = tmp_path / "ckpt.npz"
    microdl.save({"w": np.zeros(2)}, path)
    microdl.save({"w": np.ones(2)}, path)
    np.testing.assert_array_equal(microdl.load(path)["w"], np.ones(2))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_numpy_scalars_keep_their_dtype(tmp_path):
    """A float32 learning rate saved in an optimizer's state comes back float32, so a resumed
    schedule computes in the same precision as the run it continues."""
    state = {"lr": np.float32(0.1), "step": np.int32(7), "plain": 0.1}
    back = microdl.load(microdl.save(state, tmp_path / "s.npz"))
    assert type(back["lr"]) is np.float32 and back["lr"] == np.float32(0.1)
    assert type(back["step"]) is np.int32 and back["step"] == 7
    assert type(back["plain"]) is float
    with np.load(tmp_path / "s.npz") as archive:  # the format that added scalar members
        assert b'"microdl-state-v2"' in bytes(archive["__microdl__"])
    microdl.save({"plain": 0.1, "w": np.zeros(2)}, tmp_path / "v1.npz")
    with np.load(tmp_path / "v1.npz") as archive:  # without scalars: readable by older versions
        assert b'"microdl-state-v1"' in bytes(archive["__microdl__"])


def test_a_file_system_that_refuses_modes_still_gets_the_save(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    microdl.save({"w": np.zeros(2)}, path)

    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chmod", refused)
    microdl.save({"w": np.ones(2)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(microdl.load(path)["w"], np.ones(2))


def test_overwrite_keeps_the_files_mode_and_follows_a_symlink(tmp_path):
    real = tmp_path / "real.npz"
    microdl.save({"w": np.zeros(2)}, real)
    real.chmod(0o600)
    link = tmp_path / "latest.npz"
    link.symlink_to(real)
    microdl.save({"w": np.ones(2)}, link)
    assert link.is_symlink() and link.resolve() == real
    np.testing.assert_array_equal(microdl.load(real)["w"], np.ones(2))
    assert real.stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "real.npz"]


def test_a_long_file_name_leaves_room_for_the_temp_file(tmp_path):
    path = tmp_path / ("x" * 240 + ".npz")  # 244 characters: most file systems allow 255
    microdl.save({"w": np.arange(2.0)}, path)
    np.testing.assert_array_equal(microdl.load(path)["w"], np.arange(2.0))


def test_a_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    microdl.save({"w": np.arange(3.0)}, path)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        microdl.save({"w": np.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(microdl.load(path)["w"], np.arange(3.0))
    assert os.listdir(tmp_path) == ["ckpt.npz"]


def test_a_flipped_byte_is_caught(tmp_path):
    path = microdl.save({"w": np.arange(4096.0)}, tmp_path / "ckpt.npz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the array's bytes: the zip CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"ckpt.npz: not a readable microdl checkpoint "
                                              r"\(truncated or corrupted\)"):
        microdl.load(path)


def test_other_bad_files(tmp_path):
    with pytest.raises(CheckpointError, match="not a file"):
        microdl.load(tmp_path)
    np.savez(tmp_path / "other.npz", __microdl__=np.frombuffer(b'{"format": "v9"}', np.uint8))
    with pytest.raises(CheckpointError, match="unknown checkpoint format 'v9'"):
        microdl.load(tmp_path / "other.npz")
    np.savez(tmp_path / "bad.npz", __microdl__=np.frombuffer(b"[1, 2", np.uint8))
    with pytest.raises(CheckpointError, match="bad.npz: not a readable microdl checkpoint"):
        microdl.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "pickled.npz", __microdl__=np.frombuffer(
        b'{"format": "microdl-state-v1", "tree": {"__array__": 0}}', np.uint8),
        a0=np.array([object()], dtype=object))
    with pytest.raises(CheckpointError, match="pickled.npz"):
        microdl.load(tmp_path / "pickled.npz")  # allow_pickle=False: never unpickled
    assert issubclass(CheckpointError, ValueError)


def test_object_arrays_are_refused_at_save(tmp_path):
    with pytest.raises(TypeError, match="array of Python objects"):
        microdl.save({"x": np.array([1, "a"], dtype=object)}, tmp_path / "x.npz")
    assert not list(tmp_path.iterdir())
