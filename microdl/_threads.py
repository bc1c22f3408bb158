"""Thread defaults, applied when microdl is imported (before numba starts its OpenMP pool).

Three thread pools can run in a microdl process: numba's (the ``omp`` layer: libgomp), numpy's
OpenBLAS (pthreads) and, where it is imported too, PyTorch's (libgomp again: numba's copy when
numba's pool started first, else PyTorch's own; either copy reads ``GOMP_*`` variables from the
environment once, when it loads). On a 2-core machine a pool that keeps spinning after its work
is done takes a core from the next one. What microdl chooses (measured by
``python -m bench --only threads``, bench/threads.py; figures from a shared 2-core Xeon):

- numba threads: numba's default, one per core (``NUMBA_NUM_THREADS`` to change it). Small inputs
  run serial builds anyway (kernels/cpu/_jit.py), and results do not depend on the count.
- OpenBLAS threads: one, from microdl's first matrix product on; large products are cut into one
  block per numba thread and run on microdl's own threads (microdl/kernels/cpu/_blas.py, which says why;
  ``OPENBLAS_NUM_THREADS`` or ``MICRODL_BLAS_SPLIT=0`` set by the user turn that off).
- microdl's own pool (the threads of those blocks, and of BatchNorm's, im2col's and pooling's):
  after each block a thread polls for the next for 200 us (reads of a counter, each followed by
  ``sched_yield``, so a thread of another process that is ready runs first) before it sleeps,
  and the caller polls for the block's end likewise (kernels/cpu/_spin.py): waking a sleeping
  thread cost 60-76 us a hand-over on these VMs, 13 a CNN step. ``MICRODL_POLL_US`` sets the
  time (0: sleep at once).
- ``GOMP_SPINCOUNT=1000``: set here unless the user set it. libgomp's default spin
  (300,000 pause loops, milliseconds) keeps numba's worker busy after each parallel region while
  OpenBLAS and the main thread need the cores: the CNN training step measured 24 ms with 1000
  against 31 ms with libgomp's default on a quiet machine, and while other jobs loaded the
  machine libgomp's default gave steps of 130-190 ms where 1000 stayed near 40 ms.
  ``OMP_WAIT_POLICY=PASSIVE`` instead costs 60-140 us per parallel region.
- ``OPENBLAS_THREAD_TIMEOUT`` is left alone: it is read once, when numpy loads OpenBLAS (so it
  only works if microdl is imported before numpy), and ``=4`` (sleep at once) did not make steps
  reliably faster: in four of five runs the CNN step measured 42-111 ms with it against 23-43 ms
  without (one noisy run went the other way); the MLP+BN step was the same either way. Large
  products already run in microdl/kernels/cpu/_blas.py's single-threaded blocks.
- PyTorch imported into a microdl process gets the same spin count, and its small ops, which
  wake its sleeping workers more often, pay for it: its MLP+BN step measured 3.0-3.4 ms against
  0.9-1.0 ms alone, while microdl's own step went from 0.85 to 1.0-1.1 ms. A process that mostly
  runs PyTorch can set ``MICRODL_THREAD_DEFAULTS=0`` before importing microdl (PyTorch's step
  then 1.1 ms, microdl's ~1.0 ms on a quiet machine; microdl's parallel kernels lose the
  protection above) or choose its own ``GOMP_SPINCOUNT``. The bench times PyTorch in its own
  process, with none of these settings.
"""

import os

DEFAULTS = {"GOMP_SPINCOUNT": "1000"}

# Set to 0 to leave every variable alone (the bench uses it to measure libgomp's own defaults).
OPT_OUT = "MICRODL_THREAD_DEFAULTS"

# What microdl set itself (so the bench can leave PyTorch's worker process out of it).
applied = {}


def apply_defaults():
    """Set each of DEFAULTS that the user has not set (nothing when MICRODL_THREAD_DEFAULTS=0)."""
    if os.environ.get(OPT_OUT, "1") == "0":
        return
    for name, value in DEFAULTS.items():
        if name not in os.environ:
            os.environ[name] = value
            applied[name] = value


def set_num_threads(n):
    """``torch.set_num_threads``: how many threads numba's parallel kernels use from now on
    (numba's ``set_num_threads``, for the calling thread). numba cannot start more threads than
    it was launched with (``NUMBA_NUM_THREADS``, one per core by default), so a larger ``n`` is
    capped there. Results do not depend on the count. Large matrix products keep the split that
    microdl chose at its first product (microdl/kernels/cpu/_blas.py)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    import numba

    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def get_num_threads():
    """``torch.get_num_threads``: the number of threads numba's parallel kernels use."""
    import numba

    return numba.get_num_threads()
