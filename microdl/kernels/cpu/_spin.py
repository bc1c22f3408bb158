"""Waiting a short while for another thread's counter to move, without the GIL and without
sleeping: how run_blocks' worker and caller meet (``_blas._Worker``).

Why: a thread blocked on a lock is asleep, and on these VMs waking it means waking an idle
virtual CPU: handing a block to the worker and getting it back took 60-76 us, where the same
hand-over between two threads that are awake took ~4 us (two threads each running a 260 us
numba kernel: 263 us for one alone, 267 us for both, against 339 us through locks alone). A CNN
training step hands blocks over 13 times, mostly within 200 us of the last hand-over. So after
each block the worker polls its counter for ``POLL_SECONDS`` before it blocks on its lock, and
the caller polls for the worker's result before it blocks; PyTorch's OpenMP threads spin after
each parallel region in the same way.

The poll is a numba function (``nogil``: the other thread runs Python meanwhile) reading the
counter with an atomic acquire load, which LLVM never hoists out of the loop, then a ``pause``
hint (x86) and ``sched_yield()`` (not on Windows), ~0.6 us a read here. The yield hands the core
to any other thread that is ready to run on it: without it, two training processes sharing the
2 cores each took their CNN step in 31-33 ms polling against 28-29 ms sleeping at once; with it
29.2-29.4 against 29.9-30.1 ms, while one process alone keeps the poll's gain.
"""

import platform
import sys
import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# How long a thread polls before it sleeps (see the module docstring).
POLL_SECONDS = 200e-6

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_YIELD = sys.platform != "win32"


@intrinsic
def _load_acquire(typingctx, counter):
    """counter[0] of an int64 array, read with acquire ordering (then a pause on x86 and a
    sched_yield, see the module docstring)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        value = builder.load_atomic(array.data, "acquire", 8)
        if _X86:
            pause = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(pause, [])
        if _YIELD:
            sched_yield = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
            builder.call(sched_yield, [])
        return value

    return types.int64(counter), codegen


@njit(nogil=True, cache=True)
def wait_above(counter, value, polls):
    """Whether counter[0] > value within ``polls`` reads of it."""
    for _ in range(polls):
        if _load_acquire(counter) > value:
            return True
    return False


def polls_for(seconds):
    """How many reads of ``wait_above`` take about ``seconds`` on this machine (measured)."""
    counter, reads = np.zeros(1, np.int64), 2000
    wait_above(counter, 0, 1)  # compiled (or loaded from the cache) before it is timed
    start = time.perf_counter()
    wait_above(counter, 0, reads)
    per_read = max(time.perf_counter() - start, 1e-9) / reads
    return max(1, int(seconds / per_read))
