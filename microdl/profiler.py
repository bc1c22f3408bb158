"""Where a training step's time goes: per op (forward, backward) and per kernel, per backend.

::

    with microdl.profiler.profile() as prof:
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    print(prof.table())

While a ``profile`` block is active, ``Function.apply`` times each op's forward, the engine times
each op's backward, and every kernel that an op fetches from its device (``Device.kernels``) is
timed on the way out (allocation is not a kernel and is not timed). Calls nest (an op's forward contains its kernels), so each row has a *total* time
(everything between entry and exit) and a *self* time (total minus the rows nested inside it);
self times add up to the profiled time, as in ``torch.profiler``'s key averages. Nesting is per
thread: a row opened on one of microdl's worker threads (``record_function`` inside a block
of ``_blas.run_blocks``) nests only in that thread's rows, and its time overlaps the kernel that
waits for it, so self times then add up to more than the wall time. The engine's own
bookkeeping during backward (walking the tape, summing broadcast gradients, accumulating leaf
gradients) is the row ``autograd.engine``; ``record_function(name)`` adds a row for any block.

First calls: Numba compiles a kernel (or loads it from its disk cache) the first time it meets new
argument types, which takes 0.1-2 s against microseconds for the run itself. That time is its own
row, ``COMPILE_ROW`` (backend "numba"; numba's compiler-lock events mark it), nested inside the
kernel that triggered it: the kernel's and the op's *self* times leave it out, their *totals*
include it. A profile of a warm process (or after ``python -m microdl.warmup``) has no such row.

When no profile is active, the hooks cost one global test per op and per kernel lookup: the
timer is never read (a test checks that).
"""

import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from . import autograd, backend

_clock = time.perf_counter
_active = None
COMPILE_ROW = "(numba compile / cache load)"


@dataclass
class Row:
    """Figures for one (name, backend): calls, and total and self time in seconds."""

    name: str
    backend: str
    calls: int = 0
    total: float = 0.0
    self_time: float = 0.0

    @property
    def average(self):
        return self.total / self.calls if self.calls else 0.0


class Profile:
    """What one ``profile()`` block recorded. ``rows()`` lists them, ``table()`` formats them."""

    def __init__(self, synchronize=None):
        self._rows = {}
        self._threads = threading.local()  # .frames: time in nested rows, a slot per open frame
        self._lock = threading.Lock()  # rows are updated from microdl's worker threads too
        self._synchronize = synchronize
        self.wall = 0.0

    def _frames(self):
        """This thread's open frames (nesting is per thread)."""
        frames = getattr(self._threads, "frames", None)
        if frames is None:
            frames = self._threads.frames = [0.0]
        return frames

    # ---- recording (called by the hooks) ------------------------------------------------------
    def enter(self):
        self._frames().append(0.0)
        return _clock()

    def exit(self, name, backend_name, start):
        if self._synchronize is not None and backend_name == "cuda":
            self._synchronize()  # NOTE: CUDA launches return at once; time the kernel itself
        elapsed = _clock() - start
        frames = self._frames()
        children = frames.pop()
        frames[-1] += elapsed
        with self._lock:
            row = self._rows.get((name, backend_name))
            if row is None:
                row = self._rows[(name, backend_name)] = Row(name, backend_name)
            row.calls += 1
            row.total += elapsed
            row.self_time += elapsed - children

    # ---- reading ----------------------------------------------------------------------------
    def rows(self, sort_by="self"):
        """The rows, costliest first by "self", "total", "calls" or "average"."""
        keys = {"self": lambda r: r.self_time, "total": lambda r: r.total,
                "calls": lambda r: r.calls, "average": lambda r: r.average}
        if sort_by not in keys:
            raise ValueError(f"sort_by must be one of {sorted(keys)} (got {sort_by!r})")
        return sorted(self._rows.values(), key=keys[sort_by], reverse=True)

    def table(self, sort_by="self", row_limit=None):
        """A text table: name, backend, calls, self %, self, total, average per call."""
        rows = self.rows(sort_by)[:row_limit]
        profiled = sum(r.self_time for r in self._rows.values()) or 1.0
        width = max([len("Name")] + [len(r.name) for r in rows])
        header = (f"{'Name':<{width}}  {'Backend':<7}  {'Calls':>7}  {'Self %':>6}  "
                  f"{'Self ms':>9}  {'Total ms':>9}  {'Avg us':>9}")
        lines = [header, "-" * len(header)]
        for r in rows:
            lines.append(f"{r.name:<{width}}  {r.backend:<7}  {r.calls:>7}  "
                         f"{100 * r.self_time / profiled:>5.1f}%  {1e3 * r.self_time:>9.3f}  "
                         f"{1e3 * r.total:>9.3f}  {1e6 * r.average:>9.1f}")
        lines.append("-" * len(header))
        lines.append(f"Self time recorded: {1e3 * profiled:.3f} ms of {1e3 * self.wall:.3f} ms "
                     "wall time in the profile block")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


class _TimedKernels:
    """A kernel module whose functions are timed as "family.name" rows while profiling."""

    def __init__(self, module, family, backend_name):
        self._module, self._family, self._backend = module, family, backend_name

    def __getattr__(self, name):
        function = getattr(self._module, name)
        if not callable(function):
            return function
        label = f"{self._family}.{name}"

        def timed(*args, **kwargs):
            profile = _active
            if profile is None:
                return function(*args, **kwargs)
            start = profile.enter()
            try:
                return function(*args, **kwargs)
            finally:
                profile.exit(label, self._backend, start)

        return timed


def _kernel_hook(module, family):
    name = "cuda" if ".kernels.cuda." in module.__name__ else backend.get_kernels()
    return _TimedKernels(module, family, name)


def _compile_listener(profile):
    """A numba event listener that records each outermost hold of numba's compiler lock (a
    compile or a disk-cache load, with the wait for the lock) as a ``COMPILE_ROW`` call; None
    where numba is not in use (importing it only to listen would cost ~0.3 s)."""
    if "numba" not in sys.modules and backend.get_kernels() != "numba":
        return None
    from numba.core import event

    class CompileListener(event.Listener):
        def __init__(self):
            self._threads = threading.local()  # .depth, .start: the lock is re-entrant

        def on_start(self, _event):
            depth = getattr(self._threads, "depth", 0)
            if depth == 0:
                self._threads.start = profile.enter()
            self._threads.depth = depth + 1

        def on_end(self, _event):
            self._threads.depth -= 1
            if self._threads.depth == 0:
                profile.exit(COMPILE_ROW, "numba", self._threads.start)

    listener = CompileListener()
    event.register("numba:compiler_lock", listener)
    return lambda: event.unregister("numba:compiler_lock", listener)


def _synchronize_cuda():
    import sys

    cuda = sys.modules.get("numba.cuda")
    if cuda is not None:
        cuda.synchronize()


@contextmanager
def profile():
    """Record op and kernel times inside the block; yields the ``Profile`` (not reentrant)."""
    global _active
    if _active is not None:
        raise RuntimeError("a microdl profile is already active (profile blocks do not nest)")
    prof = Profile(synchronize=_synchronize_cuda)
    stop_listening = _compile_listener(prof)
    _active = prof
    autograd._profiler = prof
    backend._kernel_hook = _kernel_hook
    start = _clock()
    try:
        yield prof
    finally:
        prof.wall = _clock() - start
        _active = None
        autograd._profiler = None
        backend._kernel_hook = None
        if stop_listening is not None:
            stop_listening()


@contextmanager
def record_function(name):
    """Add a row ``name`` for the enclosed block when a profile is active (else nothing)."""
    prof = _active
    if prof is None:
        yield
        return
    start = prof.enter()
    try:
        yield
    finally:
        prof.exit(name, backend.get_kernels(), start)
