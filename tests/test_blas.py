"""microdl._blas.matmul: a split product equals np.matmul and leaves BLAS's thread count alone."""

import numpy as np
import pytest

from microdl.kernels.cpu import _blas


@pytest.fixture
def always_split(monkeypatch):
    monkeypatch.setattr(_blas, "SPLIT_MIN_MACS", 0)
    if not _blas.split_available():
        pytest.skip("no OpenBLAS found or one thread only: products are never split here")


@pytest.mark.parametrize("m, k, n", [(37, 19, 5), (5, 19, 37), (1, 3, 1), (64, 288, 300)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_product_matches_numpy(always_split, m, k, n, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = _blas.matmul(a, b)
    # NOTE: a bound on the summation error (a few ulps of sum |a_ik * b_kj|), not rtol alone:
    # a block's BLAS kernel may order the sum differently, and entries near 0 by cancellation
    # then differ by more than 1e-5 relative
    bound = np.finfo(dtype).eps * 16 * (np.abs(a) @ np.abs(b))
    assert np.all(np.abs(out - a @ b) <= bound)
    assert out.dtype == dtype


def test_split_product_writes_into_strided_out_and_transposed_inputs(always_split):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((30, 40)).T          # (40, 30), Fortran-ordered view
    b = rng.standard_normal((30, 50))
    holder = np.zeros((40, 60))
    out = holder[:, 5:55]                        # a non-contiguous block of a bigger array
    assert _blas.matmul(a, b, out=out) is out
    np.testing.assert_allclose(holder[:, 5:55], a @ b, rtol=1e-12)
    assert not holder[:, :5].any() and not holder[:, 55:].any()


def test_blas_runs_one_thread_while_microdl_splits(always_split):
    get_threads, _ = _blas._state["openblas"]
    _blas.matmul(np.ones((8, 8)), np.ones((8, 8)))
    assert get_threads() == 1  # OpenBLAS's own worker would spin against microdl's threads


def test_user_choice_of_blas_threads_is_left_alone(monkeypatch):
    monkeypatch.setattr(_blas, "_state", {})
    monkeypatch.setenv("MICRODL_BLAS_SPLIT", "0")
    assert not _blas.split_available()
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(_blas.matmul(a, a.T), a @ a.T)


def test_blocks_know_they_are_blocks_and_run_nested_blocks_in_their_thread(always_split):
    import threading

    assert not _blas.in_block()

    def block(i):
        inner = _blas.run_blocks(lambda j: (threading.get_ident(), _blas.in_block()), 3)
        return threading.get_ident(), _blas.in_block(), inner

    results = _blas.run_blocks(block, 4)
    assert {ident for ident, _, _ in results} == {results[0][0], results[1][0]}
    assert results[0][0] != results[1][0]  # blocks i % shares() apart share a thread
    assert _blas.shares() >= 2 and results[0][0] == results[_blas.shares()][0]
    for ident, active, inner in results:
        assert active and inner == [(ident, True)] * 3
    assert not _blas.in_block()


def test_kernels_take_their_serial_build_inside_a_block(always_split, monkeypatch):
    from microdl.kernels.cpu._jit import SerialAndParallel

    pair = SerialAndParallel(lambda: None, threshold=10)
    builds = []
    monkeypatch.setattr(pair, "serial", lambda: builds.append("serial"))
    monkeypatch.setattr(pair, "parallel", lambda: builds.append("parallel"))
    pair.run(100)
    _blas.run_blocks(lambda i: pair.run(100), 2)
    pair.run(1)
    assert builds == ["parallel", "serial", "serial", "serial"]


@pytest.fixture
def two_shares():
    if _blas.shares() < 2:
        pytest.skip("one thread only: run_blocks runs every block in the caller's thread")


def test_a_failing_block_raises_in_the_caller_and_the_pool_stays_usable(two_shares):
    def block(i):
        if i == 1:  # share 1: a worker thread's block
            raise ValueError("block 1 failed")
        return i

    with pytest.raises(ValueError, match="block 1 failed"):
        _blas.run_blocks(block, 4)
    assert _blas.run_blocks(lambda i: i * i, 5) == [0, 1, 4, 9, 16]


def test_a_busy_pool_runs_another_threads_blocks_in_that_thread(two_shares):
    import threading

    seen = {}

    def other_call():
        seen["other"] = _blas.run_blocks(lambda i: threading.get_ident(), 2)

    def block(i):
        if i == 0:  # while this call holds the pool, another thread makes its own call
            caller = threading.Thread(target=other_call)
            caller.start()
            caller.join()
            seen["caller"] = caller.ident
        return i

    assert _blas.run_blocks(block, 2) == [0, 1]
    assert seen["other"] == [seen["caller"]] * 2


@pytest.mark.parametrize("threshold", [0, 10 ** 9])  # blocks over the threads, or one call
def test_thread_slices_run_every_iteration_once(threshold):
    from microdl.kernels.cpu._jit import ThreadSlices

    def count(hits, block, blocks):
        T = hits.size
        for t in range(T * block // blocks, T * (block + 1) // blocks):
            hits[t] += 1

    kernel = ThreadSlices(count, threshold)
    for size in (1, 2, 7, 64):
        hits = np.zeros(size, np.int64)
        kernel.run(size, hits)
        np.testing.assert_array_equal(hits, np.ones(size, np.int64))


def test_an_interrupt_while_waiting_is_raised_after_the_block_finishes(two_shares):
    import time

    worker = _blas._setup()["pool"].workers[0]
    real = worker._done

    class InterruptedOnce:  # a Ctrl-C arriving while the caller waits for the worker
        calls = 0

        def acquire(self):
            InterruptedOnce.calls += 1
            if InterruptedOnce.calls == 1:
                raise KeyboardInterrupt
            return real.acquire()

        def release(self):
            real.release()

    finished = []

    def block(i):
        if i == 1:  # the worker's block
            time.sleep(0.05)
            finished.append(i)
        return i

    worker._done = InterruptedOnce()
    try:
        with pytest.raises(KeyboardInterrupt):
            _blas.run_blocks(block, 2)
    finally:
        worker._done = real
    assert finished == [1]  # raised only once the worker's block was done
    assert _blas.run_blocks(lambda i: -i, 2) == [0, -1]  # and no stale result is left behind


def test_the_poll_ends_when_another_thread_moves_the_counter():
    import threading
    import time

    from microdl.kernels.cpu import _spin

    counter = np.zeros(1, np.int64)
    assert not _spin.wait_above(counter, 0, 100)  # nothing moved: it gives up
    counter[0] = 1
    assert _spin.wait_above(counter, 0, 1)
    counter[0] = 0

    def bump():
        time.sleep(0.01)
        counter[0] = 5

    thread = threading.Thread(target=bump)
    thread.start()
    # polls of 0.1 s or so each (a read is a yield): the first that sees the write ends it; a
    # read hoisted out of the loop would never see it
    assert any(_spin.wait_above(counter, 4, 10 ** 5) for _ in range(600))
    thread.join()
    assert _spin.polls_for(200e-6) >= 1


@pytest.mark.parametrize("poll_us", ["0", "200"])
def test_blocks_come_back_whether_the_threads_poll_or_sleep(two_shares, poll_us, monkeypatch):
    import time

    monkeypatch.setenv("MICRODL_POLL_US", poll_us)
    monkeypatch.setattr(_blas, "_state", {})  # a pool of its own, which reads the setting
    pool = _blas._setup()["pool"]
    try:
        for n in range(300):  # quick blocks: found while polling (or through the locks)
            assert _blas.run_blocks(lambda i: i + n, 3) == [n, n + 1, n + 2]
        for n in range(5):  # a worker block longer than the poll: the caller sleeps on it
            assert _blas.run_blocks(lambda i: time.sleep(0.002 * i) or i, 2) == [0, 1]
        assert all(worker.polls > 1 for worker in pool.workers) == (poll_us != "0")
    finally:
        pool.shutdown()


@pytest.mark.parametrize("rows", [1, 63, 64, 300])  # both sides of SMALL_BATCH_ROWS
@pytest.mark.parametrize("with_bias", [False, True])
def test_linear_product_in_either_orientation_matches_the_reference(rows, with_bias):
    from microdl.kernels.cpu import matmul as cpu
    from microdl.kernels.numpy_ref import matmul as ref

    assert cpu.SMALL_BATCH_ROWS == 64
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, 70)).astype(np.float32)
    w = rng.standard_normal((30, 70)).astype(np.float32)
    bias = rng.standard_normal(30).astype(np.float32) if with_bias else np.empty(0, np.float32)
    got, want = np.full((rows, 30), np.nan, np.float32), np.full((rows, 30), np.nan, np.float32)
    cpu.gemm(x, w, bias, got, False, True)
    ref.gemm(x, w, bias, want, False, True)
    scale = np.abs(x) @ np.abs(w).T + (np.abs(bias) if with_bias else 0)
    bound = np.finfo(np.float32).eps * 16 * scale
    assert np.all(np.abs(got - want) <= bound)
