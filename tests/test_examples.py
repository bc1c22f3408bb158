"""Smoke tests: every example runs with --quick and writes its plots and a JSON of its figures.

Each example gets one test that calls ``run_example`` and checks the figures it promises.
"""

import json
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_example(name, out, *args, timeout=300):
    """Run examples/<name>.py --quick --no-progress --out <out>; return (stdout, out)."""
    command = [sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--no-progress",
               "--out", str(out), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            cwd=EXAMPLES.parent)
    assert result.returncode == 0, (f"{name}.py failed with exit code {result.returncode}:\n"
                                    f"{result.stdout}\n{result.stderr}")
    return result.stdout, out


def load_figures(path):
    assert path.is_file(), f"{path} was not written"
    return json.loads(path.read_text())


def assert_png(path):
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path} is not a PNG"


def test_quickstart(tmp_path):
    stdout, out = run_example("quickstart", tmp_path / "quickstart")
    assert "test accuracy" in stdout
    figures = load_figures(out / "quickstart.json")
    assert_png(out / "quickstart.png")
    assert {"settings", "history", "test_accuracy", "test_loss", "train_time_s",
            "wall_time_s"} <= set(figures)
    epochs = figures["settings"]["epochs"]
    history = figures["history"]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_time"):
        assert len(history[key]) == epochs, key
    # a few epochs on digits are already far above chance (10%)
    assert 0.5 < figures["test_accuracy"] <= 1.0
    assert figures["test_accuracy"] == history["val_accuracy"][-1]
