"""Everyday PyTorch idioms (tools/coming_from_pytorch.py) run under microdl and give PyTorch's
results, and the README's "Coming from PyTorch" list is the one a run generates."""

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "coming_from_pytorch.py"
spec = importlib.util.spec_from_file_location("coming_from_pytorch", TOOL)
idioms = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = idioms
spec.loader.exec_module(idioms)

# Idioms that do not hold yet, each with the reason (the README lists them as "Not yet").
KNOWN_GAPS = {}


@pytest.fixture(scope="module")
def spaces():
    return idioms.frameworks()


@pytest.mark.parametrize("idiom", idioms.IDIOMS, ids=[i.name for i in idioms.IDIOMS])
def test_idiom_runs_and_matches_pytorch(idiom, spaces):
    holds, why = idioms.check(idiom, spaces)
    if idiom.name in KNOWN_GAPS:
        assert not holds, f"{idiom.name} holds now: remove it from KNOWN_GAPS"
    else:
        assert holds, why


def test_the_readme_block_is_current():
    pytest.importorskip("torch")
    expected = idioms.readme_block(idioms.results_now())
    assert expected in idioms.README.read_text(), (
        "README's Coming from PyTorch block is stale: run python tools/coming_from_pytorch.py "
        "--readme")
