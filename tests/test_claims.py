"""The claims protocol (examples/claims.py) and the README table made from it (examples/gallery.py):
the verdict rule, the split, the JSON, and that the README's table is what the JSONs give."""

import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

import claims  # noqa: E402
import gallery  # noqa: E402


@pytest.mark.parametrize("bn, baseline, higher, outcome", [
    ([0.90, 0.91, 0.92], [0.80, 0.81, 0.82], True, "holds"),        # 0.10 ahead, std 0.01
    ([0.90, 0.95, 0.85], [0.86, 0.87, 0.88], True, "mixed"),        # 0.03 ahead, std 0.05
    ([0.80, 0.81, 0.82], [0.80, 0.81, 0.82], True, "does not hold"),  # a tie is not ahead
    ([0.70, 0.71, 0.72], [0.80, 0.81, 0.82], True, "does not hold"),
    ([100, 110, 120], [500, 510, 520], False, "holds"),             # fewer steps is better
    ([500, 510, 520], [100, 110, 120], False, "does not hold"),
])
def test_the_verdict_rule(bn, baseline, higher, outcome):
    v = claims.verdict("claim", "measure", bn, baseline, higher_is_better=higher)
    assert v["verdict"] == outcome
    assert v["seeds"] == 3 and v["bn"]["values"] == [float(b) for b in bn]
    assert v["margin"] == pytest.approx(max(v["bn"]["std"], v["baseline"]["std"]))


def test_a_verdict_can_favour_the_baseline():
    # "GroupNorm beats BN at batch 2": the claim holds when the baseline side is ahead.
    v = claims.verdict("c", "m", [0.3, 0.31], [0.8, 0.81], favours="baseline")
    assert v["verdict"] == "holds" and v["lead"] == pytest.approx(0.5)
    assert claims.verdict("c", "m", [0.8, 0.81], [0.3, 0.31], favours="baseline")["verdict"] \
        == "does not hold"


def test_summary_uses_the_sample_std():
    s = claims.summary([1.0, 2.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(1.0)


def test_verdict_refuses_unequal_seeds_and_unknown_sides():
    with pytest.raises(ValueError, match="2 BN seeds against 3 baseline seeds"):
        claims.verdict("c", "m", [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="favours must be"):
        claims.verdict("c", "m", [1, 2], [1, 2], favours="both")


def test_the_validation_split_comes_from_the_training_set():
    split = claims.load_split("digits")
    sizes = claims.split_sizes(split)
    assert sizes == {"train": 1150, "validation": 287, "test": 360}
    # train + validation are the 1,437 training images, in order, disjoint from the test set
    assert split.train[0].shape[1] == split.validation[0].shape[1] == 64


def test_write_claims_records_split_seeds_time_and_verdicts(tmp_path):
    split = claims.load_split("digits")
    v = claims.verdict("c", "m", [1, 2], [0, 1])
    path = claims.write_claims(tmp_path / "x.json", split=split, seeds=[0, 1],
                               started=time.perf_counter(), verdicts=[v], quick=True, extra=3)
    figures = json.loads(path.read_text())
    assert figures["split"] == claims.split_sizes(split) and figures["dataset"] == "digits"
    assert figures["seeds"] == [0, 1] and figures["extra"] == 3 and figures["wall_seconds"] >= 0
    assert figures["verdicts"] == [v] and figures["note"] == claims.QUICK_NOTE


def test_seeds_need_at_least_two(monkeypatch):
    parser = claims.add_protocol_arguments(__import__("argparse").ArgumentParser())
    parser.add_argument("--quick", action="store_true")
    assert claims.seeds_of(parser.parse_args([])) == [0, 1, 2, 3, 4]
    assert claims.seeds_of(parser.parse_args(["--quick"])) == [0, 1]
    with pytest.raises(SystemExit, match="at least 2"):
        claims.seeds_of(parser.parse_args(["--seeds", "1"]))


def _gallery(tmp_path, quick=False):
    for name, outcome_values in (("learning_rates", ([3, 3.1], [1, 1.1])),
                                 ("batch_size", ([0.2, 0.3], [0.8, 0.81]))):
        (tmp_path / name).mkdir()
        v = claims.verdict(f"claim of {name}", "m", *outcome_values,
                           favours="baseline" if name == "batch_size" else "bn")
        (tmp_path / name / f"{name}.json").write_text(json.dumps(
            {"verdicts": [v], "quick": quick, "wall_seconds": 90, "seeds": [0, 1],
             "dataset": "digits", "split": {"train": 3, "validation": 2, "test": 1}}))
    (tmp_path / "from_pytorch").mkdir()
    (tmp_path / "from_pytorch" / "other.json").write_text("{}")  # no verdicts: not a claim
    return tmp_path


def test_the_gallery_table_is_made_from_the_verdicts(tmp_path):
    runs = gallery.load_runs(_gallery(tmp_path))
    assert [name for name, _ in runs] == ["learning_rates", "batch_size"]  # ORDER, not alphabet
    text = gallery.table(runs)
    assert text.startswith("2 measured claims: 2 hold, 0 mixed, 0 do not hold")
    rows = [line for line in text.splitlines() if line.startswith("| claim of")]
    assert len(rows) == 2
    assert "BN: 3.05 ± 0.07" in rows[0] and "**holds**" in rows[0]
    assert "**holds (favours baseline)**" in rows[1]
    assert "| [batch_size](examples/batch_size.py) | digits: 3 / 2 / 1 | 2 | 1.5 min | - |" in text


def test_the_gallery_refuses_quick_runs(tmp_path):
    with pytest.raises(SystemExit, match="--quick run"):
        gallery.load_runs(_gallery(tmp_path, quick=True))


def test_rewrite_replaces_only_the_block():
    text = f"head\n{gallery.BEGIN}\nold\n{gallery.END}\ntail\n"
    assert gallery.rewrite(text, "new") == f"head\n{gallery.BEGIN}\nnew\n{gallery.END}\ntail\n"
    with pytest.raises(SystemExit, match="no"):
        gallery.rewrite("no markers", "new")


def test_the_readme_claims_table_is_current():
    # The README's table must be exactly what python examples/gallery.py makes of the JSONs.
    readme = (ROOT / "README.md").read_text()
    assert gallery.rewrite(readme, gallery.table(gallery.load_runs())) == readme, \
        "README.md's claims table is out of date: run python examples/gallery.py"
