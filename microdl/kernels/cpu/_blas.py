"""Large matrix products split across microdl's own threads, each running single-threaded BLAS.

Why: OpenBLAS's worker thread keeps spinning for a while after every multi-threaded call. On
these 2-core machines that spinning thread then competes with numba's threads in the
memory-bound passes that follow (im2col, BatchNorm, ReLU, pooling), which ran 2-3x slower right
after a matmul. Its timeout can only be set before numpy loads, which microdl cannot ensure.
So on its first product microdl sets OpenBLAS to one thread, and from then on cuts each large
product into one block per thread and runs the blocks concurrently on a small pool of Python
threads (numpy releases the GIL inside BLAS). The CNN training step went from 29 ms to 24 ms
this way. Small products go straight to ``np.matmul``. A pool thread polls for its next block
for 200 us before it sleeps (``_spin``: waking a sleeping thread cost 60-76 us a hand-over), where
OpenBLAS's worker spins far longer, with nothing to tell it the next product is not coming.

Setting the thread count back to two after each split product was tried: the next small
products then woke OpenBLAS's worker again and the CNN step took 39 ms.

The default, and how to opt out: after microdl's first product, numpy's OpenBLAS runs on one
thread in this process (numpy code outside microdl included). Set ``OPENBLAS_NUM_THREADS``
yourself, or ``MICRODL_BLAS_SPLIT=0``, and microdl leaves the BLAS threads alone and never splits.
Where the BLAS is not an OpenBLAS microdl can find (MKL, Accelerate, a static build), every
product goes to ``np.matmul`` unchanged.

The same pool runs the blocks of other kernels whatever the BLAS (``run_blocks``: BatchNorm's
channels and chunks, im2col, col2im and max-pool planes, blocked activations): they are serial
numba functions released from the GIL, so they need no numba parallel build.
"""

import ctypes
import os
import threading

import numpy as np

from . import _spin

# Below this many multiply-adds (m * n * k) a product stays whole: handing a block to another
# thread costs ~20-50 us, and OpenBLAS keeps small products on one thread by itself.
SPLIT_MIN_MACS = 1 << 23

_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")

_lock = threading.Lock()
_state = {}


def _loaded_openblas_paths():
    """Paths of the OpenBLAS libraries mapped into this process (Linux), numpy's first."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[5].strip() for line in maps if "openblas" in line}
    except (OSError, IndexError):
        return []
    return sorted(paths, key=lambda p: "numpy" not in p)


def _find_openblas():
    """(get_num_threads, set_num_threads) of numpy's OpenBLAS, or None."""
    for path in _loaded_openblas_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        if setter is not None and getter is not None:
            setter.argtypes, setter.restype = [ctypes.c_int], None
            getter.argtypes, getter.restype = [], ctypes.c_int
            return getter, setter
    return None


def _threads():
    """How many blocks a large product is cut into: numba's thread count (its cores)."""
    import numba

    return max(1, numba.get_num_threads())


def _setup():
    with _lock:
        if not _state:
            np.ones((2, 2)) @ np.ones((2, 2))  # makes sure numpy's BLAS is loaded and mapped
            user_choice = "OPENBLAS_NUM_THREADS" in os.environ or \
                os.environ.get("MICRODL_BLAS_SPLIT", "1") == "0"
            openblas = None if user_choice else _find_openblas()
            threads = _threads()
            pool = None
            if threads > 1:
                pool = _Workers(threads - 1)
                if openblas is not None:
                    openblas[1](1)
            _state.update(openblas=openblas, threads=threads, pool=pool)
    return _state


def manages_blas():
    """Whether microdl found numpy's OpenBLAS and the user left its threads to microdl: then
    products are split across microdl's threads whenever numba has more than one. (Unlike
    split_available, this does not depend on the thread count.)"""
    return (_state or _setup())["openblas"] is not None


def split_available():
    """Whether large products are split across microdl's threads (OpenBLAS found, >1 thread)."""
    state = _setup()
    return state["pool"] is not None and state["openblas"] is not None


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)`` for 2-D a (m, k) and b (k, n); large products run as one
    row block (or column block, whichever side is longer) per thread."""
    m, k = a.shape
    n = b.shape[1]
    state = _state or _setup()
    if state["pool"] is None or state["openblas"] is None or m * n * k < SPLIT_MIN_MACS:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), np.result_type(a, b))
    parts = state["threads"]
    if m >= n:
        edges = [m * i // parts for i in range(parts + 1)]
        blocks = [(a[lo:hi], b, out[lo:hi]) for lo, hi in zip(edges, edges[1:])]
    else:
        edges = [n * i // parts for i in range(parts + 1)]
        blocks = [(a, b[:, lo:hi], out[:, lo:hi]) for lo, hi in zip(edges, edges[1:])]
    run_blocks(lambda i: np.matmul(*blocks[i][:2], out=blocks[i][2]), parts)
    return out


def shares():
    """How many threads run_blocks spreads blocks over: block i always runs on share
    i % shares(), and a share runs its blocks one after another (so per-share scratch buffers
    are never used by two blocks at once)."""
    state = _state or _setup()
    return 1 if state["pool"] is None or in_block() else state["threads"]


def run_blocks(work, count):
    """Call ``work(i)`` for i in range(count), spread over microdl's threads; returns the results
    in order. Which thread runs a block never changes what it computes, so callers that combine
    the results in order get the same bits whatever the thread count.

    Inside a block spread over threads, numba kernels take their serial builds (see
    ``in_block``), and a nested run_blocks runs its blocks in the calling thread. With one share
    (numba on one thread, no pool) or one block, the blocks are plain calls in this thread."""
    state = _state or _setup()
    pool = state["pool"]
    parts = shares()
    if parts < 2 or count < 2 or not pool.busy.acquire(blocking=False):
        # in this thread, its kernels as they run outside (a nested call keeps its block's flag;
        # a pool busy with another thread's blocks is not waited for)
        return [work(i) for i in range(count)]
    try:
        return pool.run(work, count, parts)
    finally:
        pool.busy.release()


class _Workers:
    """The threads of run_blocks besides the caller's: worker k runs share k (1-based) of a
    call, handed over through a pair of locks, which each side polls for a while before it
    sleeps on them (``_spin``). NOTE: not a ThreadPoolExecutor: its futures and queue made a
    round trip ~34 us on these VMs against ~18 us for a lock handoff, and the CNN training step
    of bench/ hands blocks to the pool 13 times."""

    def __init__(self, count):
        self.busy = threading.Lock()  # one run_blocks call at a time
        self.workers = [_Worker(f"microdl-blocks-{k + 1}") for k in range(count)]
        self.polling = False

    def run(self, work, count, parts):
        if not self.polling:
            self._start_polling()
        started = []
        try:
            for k, worker in enumerate(self.workers[:parts - 1], start=1):
                worker.start(work, k, count, parts)
                started.append(worker)
            results = dict(_run_share(work, 0, count, parts))
        finally:
            # every block has finished before this call returns or raises, even on Ctrl-C
            outcomes = [worker.wait() for worker in started]
        for (ok, value), interrupt in outcomes:
            if interrupt is not None:
                raise interrupt
            if not ok:
                raise value
            results.update(value)
        return [results[i] for i in range(count)]

    def _start_polling(self):
        """On the pool's first use (not at its creation: a run that never hands a block over,
        an MLP's, does not compile the poll, ~0.2 s on a first-ever run)."""
        self.polling = True
        seconds = _poll_seconds()
        polls = _spin.polls_for(seconds) if seconds > 0 else 0
        for worker in self.workers:
            worker.polls = polls if polls > 1 else 0

    def shutdown(self):
        for worker in self.workers:
            worker.stop()


def _poll_seconds():
    """How long the pool's threads poll before they sleep: ``MICRODL_POLL_US`` microseconds if
    set (0: sleep at once, as a shared machine may prefer), else ``_spin.POLL_SECONDS``."""
    value = os.environ.get("MICRODL_POLL_US")
    return _spin.POLL_SECONDS if value is None else max(0.0, float(value)) * 1e-6


class _Worker:
    """One pool thread. Each hand-over is counted twice, so the other side can poll for it
    without the GIL: ``_posted`` (blocks started, written by the caller) and ``_finished``
    (blocks done, by the worker); the locks are released before the counters move, so a thread
    that saw a count never waits on the lock behind it."""

    def __init__(self, name):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._posted, self._finished = np.zeros(1, np.int64), np.zeros(1, np.int64)
        self.polls = 0  # reads of a counter before sleeping on its lock (set by _Workers)
        self._task, self._result = None, None
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self):
        taken = 0
        while True:
            if self.polls:
                _spin.wait_above(self._posted, taken, self.polls)
            self._go.acquire()
            taken += 1
            if self._task is None:
                return
            try:
                self._result = (True, _run_share(*self._task))
            except BaseException as error:  # re-raised in the caller's thread by wait()
                self._result = (False, error)
            self._task = None
            self._done.release()
            self._finished[0] = taken

    def start(self, work, first, count, parts):
        self._task = (work, first, count, parts)
        self._go.release()
        self._posted[0] += 1

    def wait(self):
        """((ok, share or error), interrupt) once the started block has finished: an exception
        raised while waiting (KeyboardInterrupt) is handed back, not raised, so the wait goes on
        and a block never outlives its call (nor leaves a result for the next one)."""
        if self.polls:
            _spin.wait_above(self._finished, self._posted[0] - 1, self.polls)
        interrupt = None
        while True:
            try:
                self._done.acquire()
                break
            except BaseException as error:
                interrupt = error
        outcome, self._result = self._result, None
        return outcome, interrupt

    def stop(self):
        self._task = None
        self._go.release()
        self._posted[0] += 1


_block = threading.local()


def in_block():
    """Whether this thread is running a block of run_blocks: numba kernels then run their
    serial builds (a parallel region started from each of several threads would oversubscribe
    the cores, and the blocks are already spread over them)."""
    return getattr(_block, "active", False)


def _run_share(work, first, count, parts):
    outer = in_block()
    _block.active = True
    try:
        return [(i, work(i)) for i in range(first, count, parts)]
    finally:
        _block.active = outer


def _reset_after_fork():
    _state.clear()  # the pool's threads do not survive a fork: make a new one on first use


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
