"""Where a CNN training step's time goes: bench/train.py's CNN step under microdl's profiler.

The step (conv32-BN-ReLU-pool, conv64-BN-ReLU-pool, fc10, batch 64, SGD momentum 0.9) runs in
this process, as users run microdl: warm-up steps first, then steps timed without the profiler
for the step's median, then the same number of steps under ``microdl.profiler.profile()``.
Each row is one kernel's *self* time per step (``Self`` in the profiler's table) and its share
of the profiled step; Python around the kernels (the ops' own code and the autograd engine) is
one row, and time no row recorded (the modules' calls, zero_grad, the optimizer's loop)
another. The profiler's own timing adds a little to the profiled step; both step times
are given.
"""

import re
import time

import numpy as np

NAME = "breakdown: CNN step"
TOP_KERNELS = 8


def names(quick=False, torch=True):
    return [NAME]


def _step(quick):
    """bench/train.py's CNN training step (microdl's side of its row) and its batch size."""
    from .train import _cnn_case

    batch = 8 if quick else 64
    return _cnn_case(batch).make["numba"](), batch


def _row(shape, per_step, step, detail):
    return {"family": "breakdown", "name": NAME, "shape": shape, "numba": per_step,
            "share": per_step / step, "detail": detail}


def rows(quick=False, seconds=0.3, torch=True, only=None):
    """The breakdown's rows, costliest kernel first; none when ``only`` excludes it."""
    if only is not None and not re.search(only, NAME):
        return []
    import microdl

    step, batch = _step(quick)
    for _ in range(3):
        step()
    times, started = [], time.perf_counter()
    while time.perf_counter() - started < seconds or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    count = len(times)
    with microdl.profiler.profile() as prof:
        for _ in range(count):
            step()
    profiled = prof.wall / count
    # op rows are "Conv2d.forward", the engine's "autograd.engine"; kernels "family.kernel"
    kernels = [r for r in prof.rows() if r.name != "autograd.engine"
               and not r.name.endswith((".forward", ".backward"))]
    python = sum(r.self_time for r in prof.rows() if r not in kernels) / count
    found = [_row("whole step, timed without the profiler", float(np.median(times)), profiled,
                  f"batch {batch}, {count} steps")]
    for r in kernels[:TOP_KERNELS]:
        found.append(_row(f"kernel {r.name}", r.self_time / count, profiled,
                          f"{r.calls // count} calls a step"))
    rest = kernels[TOP_KERNELS:]
    if rest:
        found.append(_row("other kernels", sum(r.self_time for r in rest) / count, profiled,
                          f"{len(rest)} kernels"))
    found.append(_row("Python in the ops and the autograd engine", python, profiled,
                      "self time of the op and engine rows"))
    recorded = sum(r.self_time for r in prof.rows()) / count
    found.append(_row("outside every profiled row", max(profiled - recorded, 0.0), profiled,
                      "module calls, zero_grad, the optimizer's loop"))
    found.append(_row("whole step, profiled", profiled, profiled, "the 100% of the shares"))
    return found
