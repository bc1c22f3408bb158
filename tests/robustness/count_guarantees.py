"""Count (and optionally run) the robustness guarantees quoted in the README's "Guarantees".

    python tests/robustness/count_guarantees.py          # collect and count
    python tests/robustness/count_guarantees.py --run    # run them too, and count the passes

Bad-input cases are the test cases of tests/robustness/test_bad_input.py (the tables of errors,
NaN/Inf, strided views and mixed dtypes); faults injected are those of test_faults.py;
properties checked are the hypothesis tests anywhere under tests/, with their example budgets.
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GROUPS = {"bad-input cases": "test_bad_input.py", "faults injected": "test_faults.py"}


class Tally:
    """A pytest plugin: which items were collected, and which passed."""

    def __init__(self, only_counted):
        self.only_counted = only_counted
        self.items, self.passed = [], set()

    def pytest_collection_modifyitems(self, items):
        if self.only_counted:
            items[:] = [item for item in items if group_of(item) is not None]
        self.items = list(items)

    def pytest_runtest_logreport(self, report):
        if report.when == "call" and report.passed:
            self.passed.add(report.nodeid)


def group_of(item):
    name = item.path.name
    for group, filename in GROUPS.items():
        if name == filename:
            return group
    if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
        return "properties checked"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run the tests and count the passes")
    args = parser.parse_args()
    tally = Tally(only_counted=args.run)
    sys.path.insert(0, str(ROOT))  # as `python -m pytest` from the checkout has it
    # NOTE: a module elsewhere that fails to import must not hide the counted ones
    options = ["-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
               str(ROOT / "tests")]
    if not args.run:
        options.append("--collect-only")
    code = pytest.main(options, plugins=[tally])
    counts, passed, budgets = Counter(), Counter(), Counter()
    for item in tally.items:
        group = group_of(item)
        if group is None:
            continue
        counts[group] += 1
        passed[group] += item.nodeid in tally.passed
        if group == "properties checked":
            settings = item.obj._hypothesis_internal_use_settings
            budgets[group] += settings.max_examples
    print()
    for group in ("bad-input cases", "faults injected", "properties checked"):
        line = f"{group}: {counts[group]}"
        if group == "properties checked":
            line += f" (up to {budgets[group]} random examples in all)"
        if args.run:
            line += f", {passed[group]} passed"
        print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
