"""Thread defaults, shown to hold: training steps timed in fresh processes under several settings.

Rows (each a median step time measured inside its own child process, after warm-up):

- ``microdl defaults``: the environment microdl sets for itself (microdl/_threads.py);
- ``libgomp/OpenBLAS defaults``: ``MICRODL_THREAD_DEFAULTS=0``, nothing set, so numba's OpenMP
  worker spins ~300,000 iterations after each parallel region (libgomp's default);
- ``+ OPENBLAS_THREAD_TIMEOUT=4``: microdl's defaults plus OpenBLAS's workers sleeping at once;
- ``one process with PyTorch``: a microdl step and a PyTorch step taking turns in one process
  (microdl imported first, so its settings apply to both), against each alone; and the same with
  ``MICRODL_THREAD_DEFAULTS=0``, what microdl/_threads.py suggests for such a process.

The ratio column compares each row with the first row of its group (microdl defaults, or the
framework alone), so "1.00x" means the setting costs nothing. Children run round-robin, three
rounds (see rows()). PyTorch rows need torch; with ``--no-torch`` they are left out.
"""

import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The child: build the requested steps from bench/train.py, warm up, then alternate them.
CHILD = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
if "microdl" in spec["run"]:
    import microdl  # first: its thread settings must be in place before numpy loads OpenBLAS
import numpy as np
from bench import train
steps = {}
for who in spec["run"]:
    case = {"mlp_bn": train._mlp_case(True), "cnn": train._cnn_case()}[spec["workload"]]
    steps[who] = case.make["numba" if who == "microdl" else "torch"]()
for step in steps.values():
    for _ in range(5):
        step()
times = {who: [] for who in steps}
start = time.perf_counter()
while time.perf_counter() - start < spec["seconds"] or min(map(len, times.values())) < 7:
    for who, step in steps.items():
        t0 = time.perf_counter()
        step()
        times[who].append(time.perf_counter() - t0)
print(json.dumps({who: float(np.median(t)) for who, t in times.items()}))
"""


def run_child(workload, run, seconds, env_changes):
    """Median step times {who: seconds} of a fresh process with ``env_changes`` applied
    (a value of None removes the variable)."""
    env = dict(os.environ)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    spec = json.dumps({"workload": workload, "run": run, "seconds": seconds})
    done = subprocess.run([sys.executable, "-c", CHILD, spec], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"threads child failed ({workload}, {run}, {env_changes}):\n"
                           f"{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _torch_installed():
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except ValueError:
        return False


# PyTorch alone runs as its users run it: none of microdl's settings in its environment.
_WITHOUT_MICRODL = {"MICRODL_THREAD_DEFAULTS": "0", "GOMP_SPINCOUNT": None,
                    "OPENBLAS_THREAD_TIMEOUT": None}


def names(quick=False, torch=True):
    """The texts ``--only`` is matched against, one per group of rows (``python -m bench``
    lists them when a pattern matches nothing)."""
    seen = []
    _jobs(quick, torch and _torch_installed(), lambda text: seen.append(text) or False)
    return seen


def _jobs(quick, with_torch, wanted):
    """(row name, setting, workload, frameworks in the child, environment, framework timed) of
    every row whose text (prefixed "threads: ") ``wanted`` accepts."""
    from microdl._threads import DEFAULTS

    titles = {"mlp_bn": "MLP+BN step", "cnn": "CNN step"}
    settings = [("microdl defaults", {}), ("libgomp/OpenBLAS defaults", _WITHOUT_MICRODL)]
    if not quick and "OPENBLAS_THREAD_TIMEOUT" not in DEFAULTS:
        settings.append(("+ OPENBLAS_THREAD_TIMEOUT=4", {"OPENBLAS_THREAD_TIMEOUT": "4"}))
    mixes = [("", {})] + ([] if quick else [(", MICRODL_THREAD_DEFAULTS=0", _WITHOUT_MICRODL)])
    jobs = []
    # NOTE: the CNN mixes numba's parallel kernels with BLAS: where spinning threads collide.
    for workload in ["mlp_bn"] if quick else ["cnn", "mlp_bn"]:
        title = titles[workload]
        for label, env in settings:
            if wanted(f"threads: {title} {label}"):
                jobs.append((title, label, workload, ("microdl",), env, "microdl"))
    for workload in ["mlp_bn"] if quick else ["mlp_bn", "cnn"]:
        title = titles[workload]
        if not (with_torch and wanted(f"threads: {title} one process with PyTorch alone")):
            continue
        jobs.append((f"{title}, microdl", "alone", workload, ("microdl",), {}, "microdl"))
        for suffix, env in mixes:
            jobs.append((f"{title}, microdl", f"one process with PyTorch{suffix}", workload,
                         ("microdl", "torch"), env, "microdl"))
        jobs.append((f"{title}, PyTorch", "alone (none of microdl's settings)", workload,
                     ("torch",), _WITHOUT_MICRODL, "torch"))
        for suffix, env in mixes:
            jobs.append((f"{title}, PyTorch", f"one process with microdl{suffix}", workload,
                         ("microdl", "torch"), env, "torch"))
    return jobs


def rows(quick=False, seconds=0.3, torch=True, only=None, rounds=None):
    """Finished table rows. Each child times its steps for ``seconds`` and reports their median;
    the children run round-robin, ``rounds`` times (3; 1 with ``quick``), and each row is the
    median over its rounds, so that load from other jobs drifting during the run spreads over
    every setting instead of landing on one."""
    seconds = max(seconds, 0.05)
    rounds = rounds or (1 if quick else 3)
    jobs = _jobs(quick, torch and _torch_installed(),
                 lambda text: only is None or re.search(only, text))
    # A mixed child times both frameworks: one run serves the two rows that read it.
    children = list(dict.fromkeys((job[2], job[3], tuple(sorted(job[4].items(), key=str)))
                                  for job in jobs))
    results = {child: [] for child in children}
    for _ in range(rounds):
        for child in children:
            workload, run, env = child
            results[child].append(run_child(workload, list(run), seconds, dict(env)))
    out = []
    base = {}
    for name, label, workload, run, env, who in jobs:
        child = (workload, run, tuple(sorted(env.items(), key=str)))
        t = statistics.median(r[who] for r in results[child])
        base.setdefault(name, t)
        out.append({"family": "threads", "name": f"threads: {name}", "shape": label,
                    "numba" if who == "microdl" else "torch": t, "vs_base": t / base[name],
                    "rounds": [r[who] for r in results[child]]})
    return out
