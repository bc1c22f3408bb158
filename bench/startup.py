"""Start-up: ``import microdl`` + building the MLP+BN + its first SGD step, in a fresh process.

(The same for bench/train.py's CNN on an empty cache, once in one process and once with the
helper process that compiles ahead on a first run, ``microdl.warmup.compile_ahead``.)

``python -m bench.startup [--runs N] [--json PATH]`` starts a child process with
``NUMBA_CACHE_DIR`` set to an empty temporary folder (cold: every kernel the step needs is
compiled, the first-ever start of microdl on a machine), then more children with the same folder
(warm: the kernels load from the cache, as in every later process). The target is a warm start
of at most 1.0 s; the children report where their time went (import, model, first step) and the
parent the process's whole wall time, interpreter start-up included.

The step is the Ioffe & Szegedy MLP: 784-100-100-100-10, BatchNorm1d before each sigmoid,
batch 60, cross-entropy, SGD with momentum 0.9.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What a child runs: import, build MODEL (code that sets ``model``), with AHEAD also start the
# helper that compiles ahead for it (as fit does on a first run, microdl.warmup.compile_ahead),
# then two SGD steps on a batch of SHAPE; its phases (and the kernels its process compiled,
# numba's cache misses) as JSON on its last line of output.
_CHILD = r"""
import json, time
t0 = time.perf_counter()
import numpy as np
import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.optim import SGD
t_import = time.perf_counter()
microdl.manual_seed(0)
MODEL
if AHEAD:
    from microdl import warmup
    warmup.compile_ahead(model=model)
opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
rng = np.random.default_rng(0)
x = microdl.from_numpy(rng.random(SHAPE, dtype=np.float32))
y = rng.integers(0, 10, SHAPE[0])
t_model = time.perf_counter()
opt.zero_grad()
loss = F.cross_entropy(model(x), y)
loss.backward()
opt.step()
t_step = time.perf_counter()
opt.zero_grad()
F.cross_entropy(model(x), y).backward()
opt.step()
t_second = time.perf_counter()
import sys
from microdl.warmup import dispatchers
kernel_modules = [m for name, m in list(sys.modules.items())
                  if name.startswith("microdl.kernels.cpu.") and not name.endswith("._jit")]
compiled = sum(sum(d.stats.cache_misses.values())
               for m in kernel_modules for d in dispatchers(m).values())
print(json.dumps({"import": t_import - t0, "model": t_model - t_import,
                  "first_step": t_step - t_model, "second_step": t_second - t_step,
                  "in_process": t_step - t0, "compiled": compiled}))
"""


def child(model, shape, ahead=False):
    """The child's code for ``model`` (code setting ``model``) on a batch of ``shape``."""
    return (_CHILD.replace("MODEL", model).replace("SHAPE", repr(shape))
            .replace("AHEAD", str(ahead)))


# The Ioffe & Szegedy MLP (the start-up rows) and bench/train.py's CNN (its first step on an
# empty cache, with and without the helper)
MLP = """layers = []
for fan_in, fan_out in [(784, 100), (100, 100), (100, 100)]:
    layers += [nn.Linear(fan_in, fan_out), nn.BatchNorm1d(fan_out), nn.Sigmoid()]
model = nn.Sequential(*layers, nn.Linear(100, 10))"""
CNN = """from bench.train import _cnn_layers
model = _cnn_layers(nn)"""
CHILD = child(MLP, (60, 784))


def run_child(cache_dir, extra_env=None, code=CHILD):
    """One fresh process; its phases in seconds plus "wall" (process start to exit)."""
    env = dict(os.environ, **(extra_env or {}))
    # NOTE: as a user's Python runs: it caches modules' bytecode. Some sandboxes set
    # PYTHONDONTWRITEBYTECODE for every process, and then each start compiles microdl's,
    # numpy's and numba's sources again (~0.2 s here), which no user's warm start pays.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"start-up child failed:\n{done.stdout}\n{done.stderr}")
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    phases["wall"] = wall
    return phases


WARM_RUNS = 5


def measure(runs=WARM_RUNS, with_warmup=False):
    """Cold (empty numba cache) once, then the median of ``runs`` warm processes; with
    ``with_warmup``, also ``python -m microdl.warmup`` into another empty cache (the one-off
    compile of every kernel) and a first process after it, which should compile nothing."""
    result = {"target_s": 1.0, "warm_runs": runs}
    with tempfile.TemporaryDirectory(prefix="microdl-startup-") as tmp:
        result["cold"] = run_child(tmp)
        warm_runs = [run_child(tmp) for _ in range(runs)]
    result["warm"] = {key: statistics.median(r[key] for r in warm_runs) for key in warm_runs[0]}
    if with_warmup:
        with tempfile.TemporaryDirectory(prefix="microdl-warmup-") as tmp:
            env = dict(os.environ, NUMBA_CACHE_DIR=tmp)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "microdl.warmup", "--quiet"], check=True,
                           env=env, cwd=ROOT)
            result["warmup_command_s"] = time.perf_counter() - start
            result["after_warmup"] = run_child(tmp)
    return result


def measure_cnn():
    """The CNN's first step in a fresh process on an empty cache: without, then with the helper
    that compiles ahead (each its own empty cache)."""
    result = {}
    for label, ahead in (("alone", False), ("helper", True)):
        with tempfile.TemporaryDirectory(prefix="microdl-cnn-") as tmp:
            result[label] = run_child(tmp, {AHEAD_SWITCH: "1"}, child(CNN, (64, 1, 28, 28), ahead))
    return result


AHEAD_SWITCH = "MICRODL_COMPILE_AHEAD"
CNN_SHAPE = "import + CNN + 1st step"


def _row(title, phases, shape="import + MLP+BN + 1st step"):
    detail = ", ".join(f"{k} {phases[k] * 1e3:.0f} ms" for k in ("import", "first_step"))
    return {"family": "startup", "name": f"start-up, {title}",
            "shape": shape, "numba": phases["wall"],
            "compiled": phases["compiled"], "detail": detail, "phases": phases}


def _titles(quick):
    return (["this machine's numba cache"] if quick else
            ["cold numba cache (first ever)", f"warm cache (median of {WARM_RUNS} later "
                                              "processes)"])


CNN_TITLES = ("CNN, cold numba cache, one process",
              "CNN, cold numba cache, helper compiling ahead (as fit starts it)")


def names(quick=False, torch=None):
    """The texts ``--only`` is matched against: the family, and each row's "name shape"."""
    return (["startup"] + [f"start-up, {t} import + MLP+BN + 1st step" for t in _titles(quick)]
            + ([] if quick else [f"start-up, {t} {CNN_SHAPE}" for t in CNN_TITLES]))


def rows(quick=False, seconds=None, torch=None, only=None):
    """Bench rows: whole-process wall times, cold and warm (``quick``: one process on this
    machine's own numba cache, whatever state it is in; the row says how many kernels it
    compiled); and the CNN's first step on an empty cache, with and without the helper."""
    titles = _titles(quick)
    if only is not None and not any(re.search(only, key) for key in names(quick)):
        return []
    if quick:
        return [_row(titles[0], run_child(None))]
    result, cnn = measure(WARM_RUNS), measure_cnn()
    return [_row(titles[0], result["cold"]), _row(titles[1], result["warm"]),
            _row(CNN_TITLES[0], cnn["alone"], CNN_SHAPE),
            _row(CNN_TITLES[1], cnn["helper"], CNN_SHAPE)]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.startup",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="warm processes (median)")
    parser.add_argument("--with-warmup", action="store_true",
                        help="also time python -m microdl.warmup from an empty cache (~1 min)")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    result = measure(args.runs, args.with_warmup)
    if "warmup_command_s" in result:
        print(f"python -m microdl.warmup, empty cache: {result['warmup_command_s']:.1f} s")
    for label in ("cold", "warm", "after_warmup"):
        if label not in result:
            continue
        p = result[label]
        print(f"{label:>12}: wall {p['wall']:.3f} s = import {p['import']:.3f} s + model "
              f"{p['model']:.3f} s + first step {p['first_step']:.3f} s (+ interpreter); "
              f"{p['compiled']} kernels compiled; second step {p['second_step'] * 1e3:.2f} ms")
    verdict = "within" if result["warm"]["wall"] <= result["target_s"] else "OVER"
    print(f"warm start {verdict} the {result['target_s']:.1f} s target "
          f"(median of {result['warm_runs']} processes)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
