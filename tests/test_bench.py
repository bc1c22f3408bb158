"""The bench suite runs end to end in quick mode and writes its reports (no timing asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import report

ROOT = Path(__file__).resolve().parents[1]


def test_quick_bench_writes_json_markdown_chart_and_readme_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{report.BEGIN}\nold figures\n{report.END}\nafter\n")
    command = [sys.executable, "-m", "bench", "--quick", "--no-torch", "--seconds", "0.001",
               "--json", str(tmp_path / "bench.json"), "--md", str(tmp_path / "bench.md"),
               "--readme", str(readme), "--plot", str(tmp_path / "docs" / "bench.png")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["limits"]["blas_GFLOP/s"] > 0 and data["limits"]["copy_GB/s"] > 0
    assert data["machine"]["numba"] and data["machine"]["cpu"]
    rows = data["rows"]
    names = {row["name"] for row in rows}
    assert {"sigmoid fwd+bwd", "MLP step", "MLP+BN step"} <= names
    kernel_rows = [r for r in rows if r["family"] not in report.SELF_MEASURED]
    for row in kernel_rows:
        assert row.get("numba") and row.get("numpy"), row  # numpy_ref next to every numba row
        assert any(k in row for k in ("GB/s", "GFLOP/s", "steps/s")), row
    assert any(r["family"] == "startup" and r["numba"] > 0 for r in rows)
    assert any(r["family"] == "threads" and r["shape"] == "microdl defaults" for r in rows)
    breakdown = {r["shape"]: r for r in rows if r["family"] == "breakdown"}
    assert any(part.startswith("kernel conv.conv2d_") for part in breakdown), breakdown
    profiled = breakdown.pop("whole step, profiled")
    assert profiled["share"] == 1 and breakdown.pop("whole step, timed without the profiler")
    # the parts (kernels, Python, unrecorded) add up to the profiled step
    assert sum(r["numba"] for r in breakdown.values()) == pytest.approx(profiled["numba"],
                                                                        rel=0.05)
    assert (tmp_path / "docs" / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| kernel | shape |" in (tmp_path / "bench.md").read_text()
    assert "| part of the step | time per step | share |" in (tmp_path / "bench.md").read_text()
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n") and text.endswith(f"{report.END}\nafter\n")
    assert "old figures" not in text and "](docs/bench.png)" in text
    assert "Command: `python -m bench --quick" in text and "numba 0." in text
    umask = os.umask(0)
    os.umask(umask)
    for written in (readme, tmp_path / "bench.json", tmp_path / "docs" / "bench.png"):
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask, written  # not mkstemp's 0600


def test_rewrites_keep_the_files_mode(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.BEGIN}\n{report.END}\n")
    readme.chmod(0o640)
    report.rewrite_readme(readme, "| table |")
    assert readme.stat().st_mode & 0o777 == 0o640


def test_cuda_rows_are_not_compared_with_the_cpus_blas():
    from bench.__main__ import _finish
    from bench.common import Case

    case = Case("matmul", "64", flops=2 * 64 ** 3)
    limits = {"blas_GFLOP/s": 100.0}
    cpu = _finish({"numba": 1e-4, "torch": 2e-4}, case, limits)
    gpu = _finish({"cuda": 1e-6, "torch": 2e-6}, case, limits)
    assert cpu["of_blas_peak"] == pytest.approx(2 * 64 ** 3 / 1e-4 / 1e9 / 100)
    assert "of_blas_peak" not in gpu and gpu["vs_torch"] == pytest.approx(0.5)


def test_the_blas_yardstick_uses_every_core_whatever_microdl_set(monkeypatch):
    """microdl keeps OpenBLAS on one thread once it splits products itself; the limit it is
    compared with must not be measured on that one thread at the end of a run."""
    from bench.common import blas_factory
    from microdl.kernels.cpu import _blas

    openblas = _blas._setup()["openblas"]
    if openblas is None:
        pytest.skip("microdl does not manage this BLAS's threads")
    import numpy as np

    seen, get_threads, real = [], openblas[0], np.matmul
    yardstick = blas_factory(n=8)()
    monkeypatch.setattr(np, "matmul", lambda *a, **k: seen.append(get_threads()) or real(*a, **k))
    before = get_threads()
    yardstick()
    monkeypatch.undo()
    assert seen == [len(os.sched_getaffinity(0))] and get_threads() == before


def test_replace_block_changes_only_the_lines_between_the_markers():
    text = f"a\n{report.BEGIN}\nold\nlines\n{report.END}\nz\n"
    assert report.replace_block(text, "new\n") == f"a\n{report.BEGIN}\nnew\n{report.END}\nz\n"


@pytest.mark.parametrize("text", [
    "no markers\n",
    f"{report.BEGIN}\nonly the start\n",
    f"{report.END}\n{report.BEGIN}\n",
    f"{report.BEGIN}\n{report.BEGIN}\n{report.END}\n",
])
def test_replace_block_refuses_missing_or_misplaced_markers(text):
    with pytest.raises(ValueError, match="bench:begin"):
        report.replace_block(text, "new")


def test_rewrite_readme_is_atomic_and_leaves_no_temporary_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{report.BEGIN}\n{report.END}\n")
    report.rewrite_readme(readme, "| table |")
    assert readme.read_text() == f"intro\n{report.BEGIN}\n| table |\n{report.END}\n"
    assert os.listdir(tmp_path) == ["README.md"]
    readme.write_text("markers gone\n")
    with pytest.raises(ValueError):
        report.rewrite_readme(readme, "x")
    assert readme.read_text() == "markers gone\n" and os.listdir(tmp_path) == ["README.md"]


def test_the_project_readme_has_one_bench_block():
    text = (ROOT / "README.md").read_text()
    assert report.replace_block(text, "x").count("\nx\n") == 1


def test_rounds_give_each_row_a_median_with_its_min_and_max(tmp_path):
    command = [sys.executable, "-m", "bench", "--quick", "--no-torch", "--seconds", "0.001",
               "--rounds", "3", "--only", "^sigmoid fwd", "--json", str(tmp_path / "bench.json"),
               "--md", str(tmp_path / "bench.md")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["rounds"] == 3
    kernel_rows = [r for r in data["rows"] if r["family"] not in report.SELF_MEASURED]
    assert kernel_rows
    for row in kernel_rows:
        numba = row["rounds"]["numba"]
        assert len(numba) == 3 and len(row["rounds"]["numpy"]) == 1  # the reference: round 1
        assert row["numba_min"] <= row["numba"] <= row["numba_max"]
        assert sorted(numba)[1] == row["numba"]
    assert "medians over 3 rounds" in (tmp_path / "bench.md").read_text()


def test_rounds_must_be_positive():
    result = subprocess.run([sys.executable, "-m", "bench", "--rounds", "0"], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "--rounds must be at least 1 (got 0)" in result.stderr
