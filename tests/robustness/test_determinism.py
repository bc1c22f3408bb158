"""The same seed gives a bitwise identical CPU training run, with 1 and with 2 numba threads.

The kernel-level check is in tests/kernels/test_normalization_kernels.py; this one runs whole
training steps (MLP with BatchNorm and Dropout, SGD with momentum, shuffled batches) through
fit, with every parallel kernel forced onto its parallel build (or its blocks on microdl's
threads) so that the thread count matters.
"""

import importlib

import numba
import pytest
from training_setup import Run, assert_bitwise_equal

from microdl.kernels.cpu import _blas, _jit
from microdl.kernels.cpu import normalization as bn_kernels


@pytest.fixture
def parallel_everywhere(monkeypatch):
    """Every kernel takes its parallel build, and BatchNorm its chunked "rows" layout with
    several chunks, even at the small sizes of this run."""
    for family in ("activation", "softmax", "optim", "pool", "conv"):
        module = importlib.import_module(f"microdl.kernels.cpu.{family}")
        for value in vars(module).values():
            if isinstance(value, (_jit.SerialAndParallel, _jit.ThreadSlices)):
                monkeypatch.setattr(value, "threshold", 0)
    monkeypatch.setattr(bn_kernels, "TINY_ELEMENTS", 0)
    monkeypatch.setattr(bn_kernels, "CHUNK_ELEMENTS", 64)


def train(threads, seed=11, epochs=3):
    """fit with numba on ``threads`` threads and microdl's own pool (BatchNorm, im2col, pooling
    blocks) made anew for that count, as a fresh process with NUMBA_NUM_THREADS=threads."""
    previous, saved = numba.get_num_threads(), dict(_blas._state)
    numba.set_num_threads(threads)
    _blas._state.clear()
    try:
        assert _blas.shares() == threads
        run = Run(seed=seed, shuffle_seed=4, batch_size=8)  # 8 steps an epoch
        history = run.fit(epochs)
        return run.weights(), history.step_loss
    finally:
        made = _blas._state.get("pool")
        if made is not None and made is not saved.get("pool"):
            made.shutdown()
        _blas._state.clear()
        _blas._state.update(saved)
        numba.set_num_threads(previous)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba has a single thread")
def test_one_and_two_threads_train_to_the_same_bits(parallel_everywhere):
    weights_1, losses_1 = train(1)
    weights_2, losses_2 = train(2)
    assert len(losses_1) == 24
    assert losses_1 == losses_2
    assert_bitwise_equal(weights_1, weights_2)


def test_the_same_seed_repeats_the_run_bit_for_bit():
    weights_a, losses_a = train(numba.get_num_threads())
    weights_b, losses_b = train(numba.get_num_threads())
    assert losses_a == losses_b
    assert_bitwise_equal(weights_a, weights_b)
    _, losses_other_seed = train(numba.get_num_threads(), seed=12)
    assert losses_other_seed != losses_a  # the comparison does see a different run
