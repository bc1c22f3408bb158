"""The protocol every Batch Normalization claim example follows, in one place.

1. Data: a validation split carved from the training set (Fashion-MNIST: the last 10,000 of its
   60,000 training images), used for every choice an example makes (learning rate, "best");
   the test set is touched once per run, at the end, for the reported figure.
2. Seeds: every configuration runs with ``--seeds`` seeds (default 5; a seed fixes the initial
   weights and the data order), reported as mean +- std (sample std, ddof=1) and drawn as a band.
3. Verdicts, decided by one rule (``verdict``), never by hand. The claim favours one side (BN,
   unless stated otherwise); with d = favoured mean - other mean (sign flipped when lower is
   better) and m = the larger of the two stds:

       holds          if d > m   (ahead by more than the seed-to-seed spread of either side)
       mixed          if 0 < d <= m   (ahead on average, within the spread)
       does not hold  if d <= 0   (not ahead at all)

4. Output: a JSON per example with its split sizes, seeds, wall time and verdicts, which
   ``examples/gallery.py`` turns into the README's table.

``--quick`` runs are smoke tests: 2 seeds, a few steps; their summaries say "quick run: not a
measurement".
"""

import time
from collections import namedtuple

import numpy as np
from common import write_json

import microdl.data

SEEDS = 5
QUICK_SEEDS = 2
VALIDATION = 10_000  # held out from Fashion-MNIST's 60,000 training images
QUICK_NOTE = "quick run: not a measurement"
RULE = ("holds if the favoured side's mean is ahead by more than both sides' std over seeds; "
        "mixed if it is ahead by less; does not hold if it is not ahead")

Split = namedtuple("Split", "name train validation test")


def add_protocol_arguments(parser):
    """--seeds, and --dataset's choices (fashion-mnist, mnist, digits)."""
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds per configuration (default {SEEDS}; {QUICK_SEEDS} with "
                             "--quick); seed s fixes the initial weights and the data order")
    return parser


def seeds_of(args):
    """The seeds an example runs: 0 .. n-1."""
    n = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else SEEDS)
    if n < 2:
        raise SystemExit(f"--seeds must be at least 2 to give a std (got {n})")
    return list(range(n))


def load_split(name, quick=False, validation=VALIDATION):
    """Split(name, train, validation, test), each (x, y): flattened float32 images in [0, 1]
    and int64 labels. The validation set is the last ``validation`` training examples
    (digits, having 1,437 training images, keeps its last 20% instead).

    With quick=True nothing is downloaded: when the requested data set is not on disk we say
    so loudly and use scikit-learn's digits, which ship with it.
    """
    if name != "digits":
        loader = {"fashion-mnist": microdl.data.fashion_mnist, "mnist": microdl.data.mnist}[name]
        try:
            (x_train, y_train), (x_test, y_test) = loader(download=not quick)
        except microdl.data.DatasetNotFoundError as error:
            if not quick:
                raise
            print(f"*** {name} is not on this machine ({type(error).__name__}); this quick run "
                  f"uses scikit-learn's digits instead ***")
            return load_split("digits", quick)
        x_train, x_test = _flat(x_train), _flat(x_test)
    else:
        (x_train, y_train), (x_test, y_test) = microdl.data.digits()
        validation = len(x_train) // 5
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    cut = len(x_train) - validation
    return Split(name, (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:]),
                 (x_test, y_test))


def _flat(images):
    return (images.reshape(len(images), -1) / np.float32(255)).astype(np.float32)


def split_sizes(split):
    return {"train": len(split.train[0]), "validation": len(split.validation[0]),
            "test": len(split.test[0])}


def summary(values):
    """{"mean", "std", "values"} over seeds (std with ddof=1)."""
    values = [float(v) for v in values]
    return {"mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "values": values}


def verdict(claim, measure, bn_values, baseline_values, *, higher_is_better=True,
            favours="bn", experiment="", bn_label="BN", baseline_label="no BN"):
    """One row of the claims table, its verdict decided by the module's rule (see RULE).

    claim: the claim in the article's words; measure: what was measured, with its unit;
    favours: which side the claim says comes out ahead ("bn" or "baseline").
    """
    bn, baseline = summary(bn_values), summary(baseline_values)
    if len(bn["values"]) != len(baseline["values"]):
        raise ValueError(f"verdict: {len(bn['values'])} BN seeds against "
                         f"{len(baseline['values'])} baseline seeds")
    if favours not in ("bn", "baseline"):
        raise ValueError(f"favours must be 'bn' or 'baseline' (got {favours!r})")
    ahead, behind = (bn, baseline) if favours == "bn" else (baseline, bn)
    lead = ahead["mean"] - behind["mean"]
    if not higher_is_better:
        lead = -lead
    margin = max(bn["std"], baseline["std"])
    outcome = "holds" if lead > margin else "mixed" if lead > 0 else "does not hold"
    return {"claim": claim, "experiment": experiment, "measure": measure,
            "bn": bn, "baseline": baseline, "bn_label": bn_label,
            "baseline_label": baseline_label, "favours": favours,
            "higher_is_better": higher_is_better, "seeds": len(bn["values"]),
            "lead": float(lead), "margin": float(margin), "verdict": outcome, "rule": RULE}


def print_verdicts(verdicts, quick):
    prefix = f"[{QUICK_NOTE}] " if quick else ""
    for v in verdicts:
        print(f"{prefix}{v['claim']} -- {v['measure']}: {v['bn_label']} "
              f"{v['bn']['mean']:.4g} +- {v['bn']['std']:.2g}, {v['baseline_label']} "
              f"{v['baseline']['mean']:.4g} +- {v['baseline']['std']:.2g} over {v['seeds']} "
              f"seeds: {v['verdict']}")


def write_claims(path, *, split, seeds, started, verdicts, quick, **figures):
    """The example's JSON: its figures plus split sizes, seeds, wall time, verdicts."""
    figures.update({
        "split": split_sizes(split) if isinstance(split, Split) else split,
        "dataset": split.name if isinstance(split, Split) else figures.get("dataset"),
        "seeds": list(seeds), "wall_seconds": time.perf_counter() - started,
        "quick": bool(quick), "verdicts": verdicts})
    if quick:
        figures["note"] = QUICK_NOTE
    return write_json(path, figures)


def band(ax, x, runs, label, color=None, **line):
    """Mean over seeds as a line, mean +- std as a shaded band; runs: (seeds, len(x))."""
    runs = np.asarray(runs, dtype=np.float64)
    mean = np.nanmean(runs, axis=0)
    std = np.nanstd(runs, axis=0, ddof=1) if len(runs) > 1 else np.zeros_like(mean)
    (handle,) = ax.plot(x, mean, label=label, color=color, **line)
    ax.fill_between(x, mean - std, mean + std, color=handle.get_color(), alpha=0.2, lw=0)
    return handle


BAND_NOTE = "lines: mean over seeds; shading: +- 1 std"
