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


def test_normalization(tmp_path):
    _, out = run_example("normalization", tmp_path / "normalization")
    figures = load_figures(out / "normalization.json")
    assert_png(out / "normalization.png")
    scalings = figures["scalings"]
    assert set(scalings) == {"raw", "min-max", "standardized"}
    for summary in scalings.values():
        assert {"largest_converging_lr", "steps_to_target", "fastest_lr"} <= set(summary)
    # The km axis is 10^4 longer than age: raw features only survive tiny steps.
    assert scalings["raw"]["largest_converging_lr"] < 1e-6
    assert scalings["standardized"]["largest_converging_lr"] >= 0.01
    assert scalings["standardized"]["steps_to_target"] is not None


def test_batchnorm_paper(tmp_path):
    _, out = run_example("batchnorm_paper", tmp_path / "paper")
    figures = load_figures(out / "batchnorm_paper.json")
    assert_png(out / "batchnorm_paper.png")
    for name in ("without_bn", "with_bn"):
        run = figures["runs"][name]
        assert len(run["step"]) == len(run["test_accuracy"]) == \
            len(run["sigmoid_input_percentiles"])
        assert all(len(p) == 3 and p[0] <= p[1] <= p[2] for p in run["sigmoid_input_percentiles"])
        assert 0.0 <= run["final_test_accuracy"] <= 1.0
    assert set(figures["steps_to_plain_final_accuracy"]) == {"without_bn", "with_bn"}


def test_learning_rates(tmp_path):
    _, out = run_example("learning_rates", tmp_path / "lr")
    figures = load_figures(out / "learning_rates.json")
    assert_png(out / "learning_rates.png")
    for name in ("without_bn", "with_bn"):
        network = figures["networks"][name]
        assert len(network["test_accuracy"]) == len(figures["learning_rates"])
        r = network["usable_range"]
        assert r["lr_low"] <= r["best_lr"] <= r["lr_high"]


def test_weight_scale(tmp_path):
    _, out = run_example("weight_scale", tmp_path / "ws")
    figures = load_figures(out / "weight_scale.json")
    assert_png(out / "weight_scale.png")
    invariance = figures["invariance"]
    # BN((aW)u) = BN(Wu) and a * dL/d(aW) = dL/dW, up to float64 rounding (eps makes it inexact)
    assert invariance["max_output_difference"] < 1e-4
    assert invariance["max_relative_gradient_difference"] < 1e-4
    assert set(figures["runs"]) == {"without_bn", "with_bn"}


def test_cnn(tmp_path):
    _, out = run_example("cnn", tmp_path / "cnn")
    figures = load_figures(out / "cnn.json")
    assert_png(out / "cnn.png")
    assert {"test_accuracy", "train_seconds", "seconds_per_step", "history"} <= set(figures)
    assert 0.0 <= figures["test_accuracy"] <= 1.0
    assert len(figures["history"]["val_accuracy"]) == figures["epochs"]
