"""Run the bench suite: ``python -m bench [--quick] [--only PATTERN] [--json PATH] [--md PATH]``.

microdl rows (numpy reference and numba kernels) run in this process, as users run microdl;
PyTorch rows run in a worker process started by this one (``--torch-worker``) with 2 threads, so
the two runtimes' spinning thread pools never share a process. Both run in the same invocation,
on the same machine, minutes apart, and every figure is reported next to a yardstick measured in
this run: a numba copy of the same bytes for memory-bound kernels, a 2048^3 float32 matmul for
BLAS-bound ones.
"""

import argparse
import importlib
import json
import os
import platform
import re
import subprocess
import sys
import time

from .common import blas_factory, time_median

FAMILIES = ["core", "batchnorm", "conv", "train"]
MICRODL_BACKENDS = ("numpy", "numba")


def _collect(quick, only):
    cases = []
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"bench.{family}")
        except ModuleNotFoundError as missing:
            if missing.name != f"bench.{family}":
                raise
            continue  # a family whose bench module is not written yet
        for case in module.cases(quick=quick):
            if only is None or re.search(only, case.key):
                cases.append((family, case))
    return cases


def _time_factory(factory, seconds):
    fn = factory()
    return time_median(fn, min_seconds=seconds)


def _torch_worker(args):
    torch = importlib.import_module("torch")
    torch.set_num_threads(2)
    results = {}
    for _, case in _collect(args.quick, args.only):
        if "torch" in case.make:
            results[case.key] = _time_factory(case.make["torch"], args.seconds)
    json.dump(results, sys.stdout)


def _run_torch(args):
    """Time the torch rows in a child process; None where torch is not installed."""
    try:
        importlib.import_module("torch")
    except ImportError:
        return None
    cmd = [sys.executable, "-m", "bench", "--torch-worker", "--seconds", str(args.seconds)]
    if args.quick:
        cmd.append("--quick")
    if args.only:
        cmd += ["--only", args.only]
    # PyTorch runs as its users run it: without the spin cap microdl sets for itself.
    from microdl._threads import applied

    env = {k: v for k, v in os.environ.items() if k not in applied}
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.3f} ms"


def _ratio(a, b):
    return None if a is None or b is None else a / b


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def run(args):
    import microdl

    started = time.time()
    peak_seconds = _time_factory(blas_factory(), args.seconds)
    blas_gflops = 2 * 2048 ** 3 / peak_seconds / 1e9
    torch_times = None if args.no_torch else _run_torch(args)
    rows = []
    for family, case in _collect(args.quick, args.only):
        row = {"family": family, "name": case.name, "shape": case.shape}
        for backend in MICRODL_BACKENDS:
            if backend in case.make:
                microdl.set_kernels(backend)
                row[backend] = _time_factory(case.make[backend], args.seconds)
        microdl.set_kernels("numba")
        if "copy" in case.make:
            row["copy"] = _time_factory(case.make["copy"], args.seconds)
        row["torch"] = None if torch_times is None else torch_times.get(case.key)
        best = row.get("numba", row.get("numpy"))
        row["vs_torch"] = _ratio(best, row["torch"])
        row["vs_copy"] = _ratio(best, row.get("copy"))
        if case.bytes and best:
            row["GB/s"] = case.bytes / best / 1e9
        if case.flops and best:
            row["GFLOP/s"] = case.flops / best / 1e9
            row["of_blas_peak"] = row["GFLOP/s"] / blas_gflops
        rows.append(row)
        print(_table_line(row), flush=True)
    report = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": os.cpu_count(), "python": platform.python_version()},
        "blas_gflops_2048": blas_gflops, "seconds": time.time() - started,
        "command": "python -m bench " + " ".join(sys.argv[1:]), "rows": rows,
    }
    return report


def _table_line(row):
    rate = (f"{row['GB/s']:.1f} GB/s" if "GB/s" in row
            else f"{row['GFLOP/s']:.0f} GFLOP/s" if "GFLOP/s" in row else "-")
    return (f"| {row['name']} | {row['shape']} | {_fmt_time(row.get('numpy'))} | "
            f"{_fmt_time(row.get('numba'))} | {_fmt_time(row['torch'])} | "
            f"{_fmt_ratio(row['vs_torch'])} | {rate} | {_fmt_ratio(row['vs_copy'])} |")


def markdown(report):
    head = ("| kernel | shape | numpy_ref | numba | PyTorch | numba / PyTorch | rate | "
            "numba / copy |\n|---|---|---|---|---|---|---|---|")
    lines = [head] + [_table_line(r) for r in report["rows"]]
    lines.append(f"\nBLAS yardstick (2048^3 float32 matmul, numpy): "
                 f"{report['blas_gflops_2048']:.0f} GFLOP/s. Machine: "
                 f"{report['machine']['platform']}, {report['machine']['cpus']} CPUs. "
                 f"Command: `{report['command']}`.")
    return "\n".join(lines) + "\n"


def _write_atomically(path, text):
    """Write through a temp file and a rename: a reader never sees half a report."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small shapes, short timings")
    parser.add_argument("--only", help="regular expression on 'name shape' of the rows")
    parser.add_argument("--json", help="write the full report as JSON here")
    parser.add_argument("--md", help="write the markdown table here")
    parser.add_argument("--seconds", type=float, default=None,
                        help="minimum timing time per row (default 0.3, 0.02 with --quick)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch worker")
    parser.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds is None:
        args.seconds = 0.02 if args.quick else 0.3
    if args.torch_worker:
        _torch_worker(args)
        return
    print("| kernel | shape | numpy_ref | numba | PyTorch | numba / PyTorch | rate | "
          "numba / copy |\n|---|---|---|---|---|---|---|---|", flush=True)
    report = run(args)
    if args.json:
        _write_atomically(args.json, json.dumps(report, indent=1))
    if args.md:
        _write_atomically(args.md, markdown(report))
    print(f"\nBLAS yardstick: {report['blas_gflops_2048']:.0f} GFLOP/s; "
          f"{len(report['rows'])} rows in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
