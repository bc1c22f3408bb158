"""What a bench run writes: markdown tables, a roofline-style PNG, and README.md's bench block.

``python -m bench --readme`` runs the suite and rewrites only the lines between
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` in README.md with the machine, the command,
the chart and the tables of that run. Every file is written to a temporary name in its folder and
renamed over the old one, so a reader (or a crash) never sees half a file.
"""

import datetime
import io
import os
import platform
from pathlib import Path

from microdl.io import replace_atomically

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
# Families whose rows are finished by their own module, not kernel rows with a timed case
SELF_MEASURED = ("breakdown", "startup", "threads")


# ---- files ------------------------------------------------------------------------------------

def write_atomically(path, data):
    """Write text or bytes through a temporary file in the same folder, then rename it, keeping
    the replaced file's mode (``microdl.io.replace_atomically``, which checkpoints use too)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, lambda f: f.write(data.encode() if isinstance(data, str) else data))


def replace_block(text, block):
    """``text`` with the lines between the bench markers replaced by ``block``.

    Exactly one BEGIN and one END marker, in that order, must be there; everything outside them
    is kept byte for byte.
    """
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"expected one {BEGIN} line followed by one {END} line")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block.strip()}\n{END}{tail}"


def rewrite_readme(path, block):
    """Replace the bench block of the README at ``path`` (atomically)."""
    path = Path(path)
    write_atomically(path, replace_block(path.read_text(), block))


# ---- the machine ------------------------------------------------------------------------------

def machine(torch_version=None):
    """CPU model, cores, library versions and the date: what a figure was measured on."""
    import numba
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": numpy.__version__, "numba": numba.__version__,
            "numba_threads": numba.config.NUMBA_NUM_THREADS, "torch": torch_version,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def machine_line(m):
    torch = f", torch {m['torch']} (2 threads, separate process)" if m.get("torch") else ""
    return (f"{m['cpu']}, {m['usable_cores']} cores; {m['platform']}; Python {m['python']}, "
            f"numpy {m['numpy']}, numba {m['numba']} ({m['numba_threads']} threads){torch}; "
            f"{m['date']}")


# ---- tables -----------------------------------------------------------------------------------

def fmt_time(seconds):
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def _rate(row):
    if "GB/s" in row:
        return f"{row['GB/s']:.1f} GB/s"
    if "GFLOP/s" in row:
        return f"{row['GFLOP/s']:.0f} GFLOP/s"
    if "steps/s" in row:
        return f"{row['steps/s']:.0f} steps/s"
    return "-"


def _of_limit(row):
    if row.get("of_copy") is not None:
        return f"{100 * row['of_copy']:.0f}% of copy"
    if row.get("of_blas_peak") is not None:
        return f"{100 * row['of_blas_peak']:.0f}% of BLAS"
    return "-"


def kernel_columns(report_or_rows):
    """The timed backends present (cuda only when some row has it)."""
    rows = report_or_rows["rows"] if isinstance(report_or_rows, dict) else report_or_rows
    return ["numpy", "numba"] + (["cuda"] if any(r.get("cuda") for r in rows) else [])


def kernel_header(columns):
    names = {"numpy": "numpy_ref", "numba": "numba", "cuda": "cuda"}
    cells = (["kernel", "shape"] + [names[c] for c in columns]
             + ["PyTorch", "microdl / PyTorch", "rate", "of machine limit"])
    return "| " + " | ".join(cells) + " |\n|" + "---|" * len(cells)


def _time_cell(row, who):
    """The median over rounds, and its min-max when there were several rounds."""
    cell = fmt_time(row.get(who))
    if len(row.get("rounds", {}).get(who, ())) > 1:
        cell += f" ({fmt_time(row[who + '_min'])}-{fmt_time(row[who + '_max'])})"
    return cell


def kernel_line(row, columns):
    cells = ([row["name"], row["shape"]] + [_time_cell(row, c) for c in columns]
             + [_time_cell(row, "torch"), fmt_ratio(row.get("vs_torch")), _rate(row),
                _of_limit(row)])
    return "| " + " | ".join(cells) + " |"


def _table(header, lines):
    """A markdown table: the header's cells, its rule, one line of cells per row."""
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                     + ["| " + " | ".join(str(c) for c in cells) + " |" for cells in lines])


def startup_table(rows):
    return _table(["start-up", "wall time", "where", "kernels compiled"],
                  [[r["name"], fmt_time(r["numba"]), r["detail"], r["compiled"]] for r in rows])


def threads_table(rows):
    return _table(["workload", "setting", "microdl", "PyTorch", "vs first row of its group"],
                  [[r["name"].removeprefix("threads: "), r["shape"], fmt_time(r.get("numba")),
                    fmt_time(r.get("torch")), fmt_ratio(r.get("vs_base"))] for r in rows])


def breakdown_table(rows):
    return _table(["part of the step", "time per step", "share", ""],
                  [[r["shape"], fmt_time(r["numba"]), f"{100 * r['share']:.0f}%", r["detail"]]
                   for r in rows])


def limits_line(report):
    limits = report["limits"]
    return (f"Machine limits measured in this run: copy bandwidth {limits['copy_GB/s']:.1f} GB/s "
            f"(numba, {limits['copy_MiB']} MiB read + as much written, best of the start and "
            f"the end of the run); float32 2048x2048 matmul {limits['blas_GFLOP/s']:.0f} GFLOP/s "
            f"(numpy's BLAS on every core, best of the start and the end).")


def markdown(report, image=None):
    """The whole report as markdown: machine, command, limits, chart, tables."""
    by_family = {}
    for row in report["rows"]:
        by_family.setdefault(row["family"], []).append(row)
    kernel_rows = [r for r in report["rows"] if r["family"] not in SELF_MEASURED]
    rounds = report.get("rounds", 1)
    parts = [f"Machine: {machine_line(report['machine'])}.",
             f"Command: `{report['command']}` ({report['seconds']:.0f} s)."
             + (f" Times are medians over {rounds} rounds that alternate the PyTorch worker "
                f"and microdl, with (min-max) over the rounds; numpy_ref is timed in the first "
                f"round only." if rounds > 1 else ""),
             limits_line(report)]
    if image:
        parts.append(f"![bench: achieved rate against the machine's limits]({image})")
    if kernel_rows:
        columns = kernel_columns(kernel_rows)
        parts.append("\n".join([kernel_header(columns)]
                               + [kernel_line(r, columns) for r in kernel_rows]))
    if by_family.get("breakdown"):
        parts.append("Where microdl's CNN step spends its time (bench/breakdown.py: "
                     "`microdl.profiler`'s self times, per step):\n\n"
                     + breakdown_table(by_family["breakdown"]))
    if by_family.get("startup"):
        parts.append("Start-up: a fresh process runs `import microdl`, builds the MLP+BN "
                     "and takes its first SGD step (target: 1.0 s with a warm cache); the CNN "
                     "rows do the same with the CNN step's model, on an empty cache (target: "
                     "its first step within 5 s).\n\n"
                     + startup_table(by_family["startup"]))
    if by_family.get("threads"):
        parts.append("Threads: median step times, each setting in a fresh process.\n\n"
                     + threads_table(by_family["threads"]))
    return "\n\n".join(parts) + "\n"


# ---- the chart --------------------------------------------------------------------------------

def plot(report, path):
    """Roofline-style chart: each row's achieved GB/s (memory-bound) or GFLOP/s (BLAS-bound),
    microdl and PyTorch, against the limits measured in the same run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("GB/s", "memory-bound rows: GB/s moved", report["limits"]["copy_GB/s"],
               "copy bandwidth"),
              ("GFLOP/s", "BLAS-bound rows: GFLOP/s", report["limits"]["blas_GFLOP/s"],
               "2048² float32 matmul")]
    # CPU rows only: the lines are the CPU's limits (CUDA rows are in the table, next to a
    # device-to-device copy)
    groups = [[r for r in report["rows"] if key in r and not r.get("cuda")] for key, *_ in panels]
    heights = [max(3, len(g)) for g in groups]
    fig, axes = plt.subplots(2, 1, figsize=(11, 1.5 + 0.3 * sum(heights)),
                             gridspec_kw={"height_ratios": heights})
    for ax, (key, title, limit, limit_name), rows in zip(axes, panels, groups):
        labels = [f"{r['name']} {r['shape']}" for r in rows]
        y = list(range(len(rows)))[::-1]
        ax.axvline(limit, color="black", lw=1.5, label=f"{limit_name} {limit:.0f} {key}")
        if key == "GB/s":
            same = [(r["bytes"] / r["copy"] / 1e9 if r.get("copy") else None) for r in rows]
            pts = [(v, yy) for v, yy in zip(same, y) if v]
            if pts:
                ax.scatter(*zip(*pts), marker="|", s=200, color="gray",
                           label="copy of the same bytes")
        for backend, marker, color, name in (("numba", "o", "tab:blue", "microdl numba"),
                                             ("cuda", "s", "tab:green", "microdl cuda"),
                                             ("torch", "D", "tab:orange", "PyTorch")):
            amount = "bytes" if key == "GB/s" else "flops"
            pts = [(r[amount] / r[backend] / 1e9, yy) for r, yy in zip(rows, y)
                   if r.get(backend) and r.get(amount)]
            if pts:
                ax.scatter(*zip(*pts), marker=marker, color=color, label=name, zorder=3)
        ax.set_yticks(y, labels, fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"microdl bench, {report['machine']['cpu']}, {report['machine']['date']}",
                 fontsize=9)
    fig.tight_layout()
    png = io.BytesIO()
    try:
        fig.savefig(png, format="png", dpi=110)
    finally:
        plt.close(fig)
    write_atomically(path, png.getvalue())


def readme_block(report, image):
    """The text that goes between the README's bench markers."""
    return ("<!-- generated by `python -m bench --readme`: edits between the markers are "
            "overwritten -->\n\n" + markdown(report, image=image))


def relative_image(readme, image):
    return Path(os.path.relpath(Path(image).resolve(), Path(readme).resolve().parent)).as_posix()

