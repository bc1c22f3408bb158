"""The bench suite runs end to end in quick mode and writes its report (no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_bench_writes_json_and_markdown(tmp_path):
    command = [sys.executable, "-m", "bench", "--quick", "--no-torch", "--seconds", "0.001",
               "--json", str(tmp_path / "bench.json"), "--md", str(tmp_path / "bench.md")]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["blas_gflops_2048"] > 0
    names = {row["name"] for row in report["rows"]}
    assert {"sigmoid fwd+bwd", "MLP step", "MLP+BN step"} <= names
    for row in report["rows"]:
        assert row.get("numba") or row.get("numpy"), row
    assert "| kernel | shape |" in (tmp_path / "bench.md").read_text()
