"""microdl._buffers: large arrays are reused only when nobody holds them, and a training step
allocates nothing large once warm."""

import numpy as np
import pytest

try:
    import resource
except ImportError:  # Windows
    resource = None

import microdl
import microdl.functional as F
from microdl import _buffers, nn, optim, tensor


@pytest.fixture
def small_pool(monkeypatch):
    """Pool every array (not only >= 1 MiB ones) in a pool of its own for the test."""
    monkeypatch.setattr(_buffers, "MIN_BYTES", 0)
    monkeypatch.setattr(_buffers, "_pool", type(_buffers._pool)())
    return _buffers


def test_small_arrays_are_plain_numpy():
    a = _buffers.empty((4, 4), np.float32)
    assert not _buffers.is_pooled(a) and a.shape == (4, 4) and a.dtype == np.float32


def test_reuses_only_arrays_nobody_holds(small_pool):
    a = small_pool.empty((3, 4), np.float32)
    b = small_pool.empty((3, 4), np.float32)
    assert not np.shares_memory(a, b)
    view = a.reshape(12)[2:]  # a view keeps its base (a) busy, however it was made
    a_id = id(a)
    del a
    c = small_pool.empty((3, 4), np.float32)
    assert id(c) != a_id and not np.shares_memory(c, view) and not np.shares_memory(c, b)
    del view
    d = small_pool.empty((3, 4), np.float32)
    assert id(d) == a_id  # a's array came back once its last view was gone
    assert small_pool.empty((3, 4), np.float64).dtype == np.float64  # dtype is part of the key


def test_pool_is_bounded_per_shape(small_pool, monkeypatch):
    monkeypatch.setattr(small_pool, "MAX_PER_SHAPE", 2)
    held = [small_pool.empty((2,), np.float32) for _ in range(5)]
    assert sum(small_pool.is_pooled(a) for a in held) == 2


def test_pooled_outputs_are_never_overwritten_while_held(small_pool):
    x = np.random.default_rng(0).standard_normal((6, 2, 4)).astype(np.float32)
    first = F.batch_norm(x, None, None, training=True)
    kept = first.array.copy()
    second = F.batch_norm(x + 1, None, None, training=True)
    assert not np.shares_memory(second.array, first.array)
    np.testing.assert_array_equal(first.array, kept)
    view = second.array[0]
    del second
    third = F.batch_norm(x, None, None, training=True)
    assert not np.shares_memory(third.array, view)


def _cnn_step():
    microdl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 16 * 16, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(0)
    x = tensor(rng.standard_normal((64, 1, 32, 32)).astype(np.float32))
    y = tensor(rng.integers(0, 10, 64))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def test_a_warm_training_step_allocates_no_large_array():
    # activations here are 64*8*32*32*4 bytes = 2 MiB: every one of them goes through the pool
    step = _cnn_step()
    for _ in range(3):
        step()
    before = _buffers.stats()
    for _ in range(5):
        step()
    after = _buffers.stats()
    assert after["fresh"] == before["fresh"], (before, after)
    assert after["reused"] > before["reused"]


@pytest.mark.skipif(resource is None, reason="page-fault counts need the resource module (Unix)")
def test_a_warm_training_step_takes_almost_no_page_faults():
    # NOTE: what the pool is for. Without it this step took ~1,500 minor faults (~6 MiB of
    # fresh pages) every time; the count covers allocations that bypass the pool too.
    step = _cnn_step()
    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    steps = 10
    for _ in range(steps):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults / steps < 64, f"{faults / steps:.0f} page faults per warm step"
