"""Compile one loop twice: serially for small inputs, in parallel for large ones.

A tiny input must not pay for a parallel region (~5-25 us on these machines against a 3-7 us
serial call), so every elementwise kernel exists as both and a wrapper picks by element count.
The copies get distinct names so numba's on-disk cache keeps their files apart.

Every kernel compiles with ``error_model="numpy"``: IEEE division (x / 0 is inf or NaN, as in
numpy) instead of Python's ZeroDivisionError check, which also keeps LLVM from vectorizing any
loop that divides.
"""

import types

from numba import njit

from ._blas import in_block, run_blocks, shares

# Below this many elements a serial loop beats starting two threads (measured in bench/).
PARALLEL_MIN_ELEMENTS = 1 << 16


def _renamed(fn, name, names=None):
    """A copy of fn called name (numba's cache keeps copies apart by name); ``names`` rebinds
    some of the globals it calls (BatchNorm's rows kernels bind their loops this way)."""
    scope = fn.__globals__ if names is None else dict(fn.__globals__, **names)
    copy = types.FunctionType(fn.__code__.replace(co_name=name), scope, name,
                              fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    copy.__module__ = fn.__module__
    return copy


class SerialAndParallel:
    """``run(n, *args)`` calls the serial build when n < threshold or when the caller runs a
    block of microdl's threads (``_blas.in_block``), else the parallel one."""

    def __init__(self, fn, threshold):
        # nogil: blocked kernels (in_blocks) and kernels inside _blas.run_blocks blocks (run)
        # call the serial build from several threads at once
        self.serial = njit(cache=True, error_model="numpy", nogil=True)(
            _renamed(fn, fn.__name__ + "_serial"))
        self.parallel = njit(parallel=True, cache=True, error_model="numpy")(
            _renamed(fn, fn.__name__ + "_parallel"))
        self.threshold = threshold

    def run(self, n, *args):
        if n < self.threshold or in_block():
            self.serial(*args)
        else:
            self.parallel(*args)


def serial_and_parallel(threshold=PARALLEL_MIN_ELEMENTS):
    """Decorator: a loop written with ``prange`` becomes a SerialAndParallel pair."""
    return lambda fn: SerialAndParallel(fn, threshold)


class ThreadSlices:
    """A loop over independent iterations t written over block ``block`` of ``blocks`` equal
    blocks (its last two arguments): ``for t in range(T * block // blocks, T * (block + 1) //
    blocks)``, compiled once, serially. ``run(n, *args)`` calls it whole (block 0 of 1) when
    n < threshold or inside a block of microdl's threads, else one block per thread of
    microdl's (``_blas.run_blocks``). Contiguous blocks, as prange's static schedule: with
    iterations dealt out in turn, the max-pool kernels ran 30-70% slower in the CNN step (likely
    the two threads writing the two ends of cache lines that 14x14 planes share, and shorter
    streams).

    Why not a prange twin (SerialAndParallel): numba compiles a prange loop as a parallel build
    of its own, which took 1-2.5 s per kernel of a first-ever CNN step on a 2-core machine; this
    compiles once, and the serial call of small inputs is the same machine code.
    """

    def __init__(self, fn, threshold):
        self.serial = njit(cache=True, error_model="numpy", nogil=True)(fn)
        self.threshold = threshold

    def run(self, n, *args):
        blocks = 1 if n < self.threshold else shares()
        if blocks == 1:
            self.serial(*args, 0, 1)
        else:
            run_blocks(lambda block: self.serial(*args, block, blocks), blocks)


def thread_slices(threshold=PARALLEL_MIN_ELEMENTS):
    """Decorator: a loop over one block of its iterations becomes a ThreadSlices kernel."""
    return lambda fn: ThreadSlices(fn, threshold)


def flat(array):
    """A 1-D view of a C-contiguous array (a copy only if the input is not contiguous)."""
    return array.reshape(-1) if array.flags.c_contiguous else array.ravel()


def flat_out(array):
    """A 1-D view of an output buffer, which must be C-contiguous so writes land in it."""
    if not array.flags.c_contiguous:
        raise ValueError("kernel outputs must be C-contiguous buffers")
    return array.reshape(-1)


# Above this many elements, kernels built on numpy's SIMD ufuncs (exp, tanh) run in blocks of
# about BLOCK_ELEMENTS spread over microdl's threads (numpy releases the GIL in its loops, and
# one block's several passes stay in L2): a numpy ufunc alone runs on one core, and over a
# 16 MiB array each of its passes goes to main memory.
BLOCKED_MIN_ELEMENTS = 1 << 18
BLOCK_ELEMENTS = 1 << 15


def in_blocks(work, size, row_length=1):
    """Call ``work(lo, hi)`` over [0, size) in blocks of whole rows, on microdl's threads."""
    rows = size // row_length
    per_block = max(1, BLOCK_ELEMENTS // row_length)
    count = -(-rows // per_block)
    run_blocks(lambda i: work(i * per_block, min(rows, (i + 1) * per_block)), count)
