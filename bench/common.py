"""Shared pieces of the bench suite: the Case record, the timer, and the machine's yardsticks.

A bench family module (bench/batchnorm.py, bench/conv.py, ...) defines ``cases(quick=False)``
returning Cases. ``Case.make`` maps a backend name to a zero-argument factory that builds the
inputs and returns a zero-argument callable to time:

- "numpy" / "numba": microdl with that kernel set (the runner selects it before the factory runs);
- "cuda": microdl on the GPU (family bench/cuda.py); the callable must synchronize the device
  before it returns, so that the time covers the work;
- "torch": PyTorch with 2 threads, run in a separate worker process so its OpenMP threads and
  microdl's numba and OpenBLAS threads never spin against each other;
- "copy": a plain numba copy of the same bytes, the memory-bandwidth yardstick.
"""

import os
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    name: str
    shape: str
    make: dict = field(default_factory=dict)
    bytes: int = 0   # bytes a memory-bound kernel must move (read + write)
    flops: int = 0   # floating-point operations of a compute-bound kernel
    rate_unit: str = ""  # for whole steps: "steps/s" (neither bytes nor flops say much there)

    @property
    def key(self):
        return f"{self.name} {self.shape}"


# The numpy reference can be 10-100x slower than numba at the big shapes: it gets one warm-up
# call and three timed ones (or more, up to the time budget), never fewer.
SLOW_BACKEND_TIMING = {"warmup": 1, "min_repeats": 3}


def time_median(fn, warmup=3, min_repeats=7, min_seconds=0.25, max_repeats=1_000_000):
    """Median wall time of fn() in seconds, after warm-up, over at least min_seconds."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_repeats and time.perf_counter() - start >= min_seconds:
            break
    return float(np.median(times))


def _numba_copy():
    from numba import njit, prange

    @njit(parallel=True, cache=True)
    def parallel_copy(src, dst):
        # NOTE: 4096-element blocks, zero-based inner loop, so it vectorizes like a memcpy.
        n = src.size
        blocks = (n + 4095) // 4096
        for b in prange(blocks):
            lo = b * 4096
            hi = min(lo + 4096, n)
            dst[lo:hi] = src[lo:hi]

    return parallel_copy


def copy_factory(nbytes_moved):
    """A factory timing a numba copy that reads nbytes_moved / 2 and writes as many."""
    def make():
        copy = _numba_copy()
        n = max(1, nbytes_moved // 8)
        src = np.random.default_rng(0).random(n, dtype=np.float32)
        dst = np.empty_like(src)
        return lambda: copy(src, dst)
    return make


def machine_copy_factory(mib=64):
    """A factory timing a numba copy of ``mib`` MiB into another buffer: the machine's memory
    bandwidth (64 MiB is past any L3 of the machines we run on, so this is main memory)."""
    return copy_factory(2 * mib * 2 ** 20)


def _cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def blas_factory(n=2048):
    """A factory timing numpy's float32 matmul n x n x n on every core (the BLAS peak
    yardstick). microdl keeps numpy's OpenBLAS on one thread once it splits products itself
    (microdl/kernels/cpu/_blas.py), so the yardstick sets OpenBLAS to one thread per core for its own calls,
    at the start of a run and at the end alike."""
    def make():
        from microdl.kernels.cpu import _blas

        rng = np.random.default_rng(0)
        a = rng.random((n, n), dtype=np.float32)
        b = rng.random((n, n), dtype=np.float32)
        out = np.empty((n, n), np.float32)
        openblas = _blas._setup()["openblas"]
        if openblas is None:  # microdl leaves the BLAS threads alone: they are as numpy has them
            return lambda: np.matmul(a, b, out=out)
        get_threads, set_threads = openblas

        def on_every_core():
            before = get_threads()
            set_threads(_cores())
            try:
                np.matmul(a, b, out=out)
            finally:
                set_threads(before)
        return on_every_core
    return make


def torch_threads(n=2):
    import torch

    torch.set_num_threads(n)
    return torch
