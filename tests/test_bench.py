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
    kernel_rows = [r for r in rows if r["family"] not in ("startup", "threads")]
    for row in kernel_rows:
        assert row.get("numba") and row.get("numpy"), row  # numpy_ref next to every numba row
        assert any(k in row for k in ("GB/s", "GFLOP/s", "steps/s")), row
    assert any(r["family"] == "startup" and r["numba"] > 0 for r in rows)
    assert any(r["family"] == "threads" and r["shape"] == "microdl defaults" for r in rows)
    assert (tmp_path / "docs" / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| kernel | shape |" in (tmp_path / "bench.md").read_text()
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n") and text.endswith(f"{report.END}\nafter\n")
    assert "old figures" not in text and "](docs/bench.png)" in text
    assert "Command: `python -m bench --quick" in text and "numba 0." in text


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
