"""Run the bench suite: ``python -m bench [--quick] [--only RE] [--json P] [--plot P] [--readme]``.

microdl rows (numpy reference, numba kernels, and cuda where bench/cuda.py finds a GPU) run in
this process, as users run microdl; PyTorch rows run in a worker process started by this one
(``--torch-worker``) with 2 threads, so the two runtimes' spinning thread pools never share a
process (bench/threads.py measures what happens when they do). Every figure is reported next to
the machine's limits measured in the same run: a numba copy of the same bytes and of 64 MiB for
memory-bound kernels, a 2048x2048 float32 matmul for BLAS-bound ones. Families:

- ``cases(quick)`` families (core, batchnorm, conv, train, cuda): Cases timed here;
- ``rows(quick, seconds, torch, only)`` families (breakdown, startup, threads): they measure
  themselves (startup and threads in fresh processes) and return finished rows.

``--readme`` runs the suite, writes docs/bench.png and rewrites the bench block of README.md.
"""

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
import time

import microdl  # noqa: F401  NOTE: first, so its thread settings precede numpy's OpenBLAS
import numpy as np

from . import report as rep
from .common import SLOW_BACKEND_TIMING, blas_factory, machine_copy_factory, time_median

# "cuda" is bench/cuda.py: skipped while that file does not exist; its cases() returns no rows
# on a machine without a GPU.
FAMILIES = ["core", "batchnorm", "conv", "train", "cuda", "breakdown", "startup", "threads"]
MICRODL_BACKENDS = ("numpy", "numba", "cuda")
COPY_MIB = 64


def _family_modules():
    modules = []
    for family in FAMILIES:
        try:
            modules.append((family, importlib.import_module(f"bench.{family}")))
        except ModuleNotFoundError as missing:
            if missing.name != f"bench.{family}":
                raise
    return modules


def _collect(quick, only):
    cases = []
    for family, module in _family_modules():
        if not hasattr(module, "cases"):
            continue
        for case in module.cases(quick=quick):
            if only is None or re.search(only, case.key):
                cases.append((family, case))
    return cases


def _only_names(quick, torch):
    """Every text ``--only`` is matched against: "name shape" of each timed case, and the names
    the self-measuring families (breakdown, startup, threads) match it against."""
    found = [case.key for _, case in _collect(quick, None)]
    for _, module in _family_modules():
        if hasattr(module, "rows") and hasattr(module, "names"):
            found += module.names(quick=quick, torch=torch)
    return found


def _check_only(parser, args):
    """Stop at once, listing the valid names, when ``--only`` is not a regular expression or
    matches no row (rather than measuring the machine's limits and printing an empty table)."""
    try:
        pattern = re.compile(args.only)
    except re.error as bad:
        parser.error(f"--only {args.only!r} is not a regular expression: {bad}")
    valid = _only_names(args.quick, torch=not args.no_torch)
    if not any(pattern.search(name) for name in valid):
        parser.error(f"--only {args.only!r} matches no bench row"
                     + (" (these are the --quick rows)" if args.quick else "")
                     + "; it is a regular expression searched in these names:\n  "
                     + "\n  ".join(valid))


def _time_factory(factory, seconds, backend=None):
    fn = factory()
    if backend == "numpy":
        return time_median(fn, min_seconds=seconds, **SLOW_BACKEND_TIMING)
    return time_median(fn, min_seconds=seconds)


def _torch_worker(args):
    torch = importlib.import_module("torch")
    torch.set_num_threads(2)
    times = {}
    for _, case in _collect(args.quick, args.only):
        if "torch" in case.make:
            times[case.key] = _time_factory(case.make["torch"], args.seconds)
    json.dump({"version": torch.__version__.split("+")[0], "times": times}, sys.stdout)


def _torch_installed():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _run_torch(args):
    """Time the torch rows in a child process; None where torch is not installed."""
    if not _torch_installed():
        return None
    cmd = [sys.executable, "-m", "bench", "--torch-worker", "--seconds", str(args.seconds)]
    if args.quick:
        cmd.append("--quick")
    if args.only:
        cmd += ["--only", args.only]
    # PyTorch runs as its users run it: none of the settings microdl makes for itself.
    from microdl._threads import OPT_OUT, applied

    env = {k: v for k, v in os.environ.items() if k not in applied}
    env[OPT_OUT] = "0"
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the PyTorch worker failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _limits(seconds):
    """The machine's copy bandwidth and BLAS rate, measured now."""
    copy_s = _time_factory(machine_copy_factory(COPY_MIB), seconds)
    blas_s = _time_factory(blas_factory(), seconds)
    return {"copy_GB/s": 2 * COPY_MIB * 2 ** 20 / copy_s / 1e9,
            "blas_GFLOP/s": 2 * 2048 ** 3 / blas_s / 1e9}


def _ratio(a, b):
    return None if a is None or b is None else a / b


def _finish(row, case, limits):
    """Rates and ratios of a timed row (microdl's figure: cuda, else numba, else numpy)."""
    backend = next((b for b in ("cuda", "numba", "numpy") if row.get(b)), None)
    best = row[backend] if backend else None
    row["vs_torch"] = _ratio(best, row.get("torch"))
    row["vs_copy"] = _ratio(best, row.get("copy"))
    row["of_copy"] = _ratio(row.get("copy"), best)
    if case.bytes and best:
        row["bytes"] = case.bytes
        row["GB/s"] = case.bytes / best / 1e9
    if case.flops and best:
        row["flops"] = case.flops
        row["GFLOP/s"] = case.flops / best / 1e9
        if backend != "cuda":  # the yardstick is the CPU's BLAS (a CUDA row has its copy)
            row["of_blas_peak"] = row["GFLOP/s"] / limits["blas_GFLOP/s"]
    if case.rate_unit and best:
        row[case.rate_unit] = 1 / best
    return row


def _time_microdl_round(collected, seconds, first_round):
    """{case key: {backend: seconds}} for one round of the microdl rows (this process). The
    numpy reference is timed in the first round only: it is the specification, not a contender."""
    times = {}
    for _, case in collected:
        row = times[case.key] = {}
        for backend in MICRODL_BACKENDS:
            if backend in case.make and (backend != "numpy" or first_round):
                if backend != "cuda":
                    microdl.set_kernels(backend)
                row[backend] = _time_factory(case.make[backend], seconds, backend)
        microdl.set_kernels("numba")
        if "copy" in case.make:
            row["copy"] = _time_factory(case.make["copy"], seconds)
    return times


def _spread(row, who, values):
    """row[who] = the median over rounds; who_min, who_max and the rounds beside it."""
    values = [v for v in values if v is not None]
    if values:
        row[who] = float(np.median(values))
        row[f"{who}_min"], row[f"{who}_max"] = min(values), max(values)
        row.setdefault("rounds", {})[who] = values


def run(args):
    """Rounds alternate the PyTorch worker (a child process) and microdl (this process), so
    load from other jobs that drifts during the run falls on both; every figure is the median
    over the rounds, with its min and max."""
    started = time.time()
    limits_start = _limits(args.seconds)
    collected = _collect(args.quick, args.only)
    columns = ["numpy", "numba"] + (["cuda"] if any("cuda" in c.make for _, c in collected)
                                    else [])
    torch_rounds, microdl_rounds, torch = [], [], None
    for round_ in range(args.rounds):
        if not args.no_torch:
            torch = _run_torch(args)
            if torch is not None:
                torch_rounds.append(torch["times"])
        if collected:
            microdl_rounds.append(_time_microdl_round(collected, args.seconds, round_ == 0))
        print(f"round {round_ + 1} of {args.rounds} done", file=sys.stderr, flush=True)
    if collected:
        print(rep.kernel_header(columns), flush=True)
    rows = []
    for family, case in collected:
        row = {"family": family, "name": case.name, "shape": case.shape}
        for who in [*MICRODL_BACKENDS, "copy"]:
            _spread(row, who, [r[case.key].get(who) for r in microdl_rounds])
        row["torch"] = None
        _spread(row, "torch", [r.get(case.key) for r in torch_rounds])
        rows.append(row)
        # NOTE: the ratio to BLAS waits for the end-of-run limits; the line shows it from the
        # start-of-run ones.
        _finish(row, case, limits_start)
        print(rep.kernel_line(row, columns), flush=True)
    measured = []
    for family, module in _family_modules():
        if hasattr(module, "rows"):
            for row in module.rows(quick=args.quick, seconds=args.seconds,
                                   torch=torch is not None, only=args.only):
                measured.append(row)
                print(f"| {row['name']} | {row['shape']} | {rep.fmt_time(row.get('numba'))} | "
                      f"{rep.fmt_time(row.get('torch'))} | {row.get('detail', '')} |", flush=True)
    limits_end = _limits(args.seconds)
    # NOTE: the shared machine's other jobs can only slow a yardstick down, so the better of the
    # two measurements is the closer one to the machine's real limit.
    limits = {key: max(limits_start[key], limits_end[key]) for key in limits_start}
    cases = dict((case.key, case) for _, case in collected)
    for row in rows:
        _finish(row, cases[f"{row['name']} {row['shape']}"], limits)
    limits.update(copy_MiB=COPY_MIB, start=limits_start, end=limits_end)
    return {
        "machine": rep.machine(torch["version"] if torch else None),
        "limits": limits, "blas_gflops_2048": limits["blas_GFLOP/s"],
        "seconds": time.time() - started, "rounds": args.rounds,
        "command": "python -m bench " + " ".join(args.argv), "rows": rows + measured,
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, short timings")
    parser.add_argument("--only", help="regular expression on 'name shape' of the rows")
    parser.add_argument("--json", help="write the full report as JSON here")
    parser.add_argument("--md", help="write the markdown tables here")
    parser.add_argument("--plot", help="write the PNG chart here (default: next to --json; "
                                       "docs/bench.png with --readme)")
    parser.add_argument("--readme", nargs="?", const="README.md", default=None,
                        help="rewrite the bench block of this README (default README.md)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="minimum timing time per row (default 0.3, 0.02 with --quick)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating rounds of PyTorch and microdl; figures are medians "
                             "over rounds, with min and max (default 3, 1 with --quick)")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.seconds is None:
        args.seconds = 0.02 if args.quick else 0.3
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1 (got {args.rounds})")
    if args.torch_worker:
        _torch_worker(args)
        return
    if args.only is not None:
        _check_only(parser, args)
    if args.readme and not args.json:
        args.json = os.path.join("bench", "out", "bench.json")
    if args.plot is None and args.readme:
        args.plot = os.path.join(os.path.dirname(os.path.abspath(args.readme)), "docs",
                                 "bench.png")
    elif args.plot is None and args.json:
        args.plot = os.path.splitext(args.json)[0] + ".png"
    report = run(args)
    if args.json:
        rep.write_atomically(args.json, json.dumps(report, indent=1))
    if args.plot:
        rep.plot(report, args.plot)
    if args.md:
        rep.write_atomically(args.md, rep.markdown(report))
    if args.readme:
        rep.rewrite_readme(args.readme, rep.readme_block(
            report, rep.relative_image(args.readme, args.plot)))
    limits = report["limits"]
    print(f"\nLimits: copy {limits['copy_GB/s']:.1f} GB/s, BLAS {limits['blas_GFLOP/s']:.0f} "
          f"GFLOP/s; {len(report['rows'])} rows in {report['seconds']:.0f} s"
          + "".join(f"; wrote {p}" for p in (args.json, args.plot, args.md, args.readme) if p))


if __name__ == "__main__":
    main()
