"""Why normalize inputs: the bike example, measured.

Question. The article claims that "normalizing inputs (min-max scaling or standardization)
speeds up gradient descent and allows larger learning rates". No BatchNorm here: this is the
input normalization that BN later applies inside the network.

Setup. Bikes are described by age (0 to 20 years) and kilometres driven (0 to about 300,000); a
linear model (2 -> 1, PyTorch's default initial weights, float64) learns their price (in
thousands, with noise of std 0.5) by full-batch gradient descent on the mean squared error, for
1,000 steps. Three versions of the same features, each fitted on the training bikes only:

- raw;
- min-max scaled, x' = (x - min) / (max - min), every feature in [0, 1];
- standardized, x' = (x - mean) / std, every feature with mean 0 and std 1.

Each seed (0-4) draws its own 1,200 bikes, split 800 training / 200 validation / 200 test, and
its own initial weights. Every scaling is trained at every learning rate of the grid 1e-12,
1e-11, ..., 10. A run converges if its loss stays finite (below 1e12) and ends below where it
started. Each scaling's learning rate is picked on validation: the lowest mean validation MSE
over seeds after 1,000 steps (a rate at which any seed diverged is out); rates within 1% of
that lowest MSE count as equally good (200 validation bikes cannot tell them apart) and the
largest of them is picked. The test set is used once per run, for the picked rate's figure.
No shared-rate comparison: no rate of the grid trains both raw and scaled features (raw
features diverge above 1e-11, at which the scaled ones do not move); the sweep over the grid
is the comparison.

Verdicts (examples/claims.py's rule over the 5 seeds; min-max against raw and standardized
against raw, each favouring the normalized features):
  * speeds up gradient descent: steps until the training MSE reaches 0.5 (twice the noise
    variance) at the scaling's picked rate, lower is better; a run that never gets there in
    1,000 steps counts as 1,001 (censored: the real figure is larger);
  * speeds up gradient descent: test MSE after 1,000 steps at the picked rate, lower is better;
  * allows larger learning rates: log10 of the largest converging rate of the grid, higher is
    better.
With raw features the km axis is 10^4 times longer than the age axis: a step small enough not
to blow up along km barely moves the age weight.

Budget: 5 seeds x 3 scalings x 14 rates of at most 1,000 steps (diverging runs stop early):
about 130,000 steps, about 1 minute on one core (0.45 ms a step).

    python examples/normalization.py [--seeds 5] [--quick]
"""

import time
from collections import namedtuple

import claims
import numpy as np
from common import example_parser, output_dir, pyplot

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.data import min_max_scale, standardize
from microdl.optim import SGD

Budget = namedtuple("Budget", "steps learning_rates")
FULL = Budget(steps=1_000, learning_rates=tuple(10.0 ** np.arange(-12, 2)))  # 1e-12 .. 10
QUICK = Budget(steps=150, learning_rates=tuple(10.0 ** np.arange(-11, 0, 2)))  # 1e-11 .. 0.1
SPLIT = {"train": 800, "validation": 200, "test": 200}
SCALINGS = {"raw": None, "min-max": min_max_scale, "standardized": standardize}
NOISE_STD = 0.5  # thousands: the price noise no model can explain
TARGET = 2 * NOISE_STD ** 2  # training MSE "reached": twice the noise variance
DIVERGED = 1e12  # a loss above this counts as diverged
TIE = 0.01  # validation MSEs within 1% of the best: equally good


def make_bikes(n, rng):
    """Age in years, km driven (older bikes have more), price in thousands plus noise."""
    age = rng.uniform(0, 20, n)
    km = np.clip(age * rng.uniform(5_000, 15_000, n) + rng.normal(0, 5_000, n), 0, None)
    price = 12.0 - 0.35 * age - 0.015 * km / 1_000 + rng.normal(0, NOISE_STD, n)
    return np.stack([age, km], axis=1), price[:, None]


def bikes_of(seed):
    """This seed's bikes: {part: (features, price)} for train, validation, test."""
    x, y = make_bikes(sum(SPLIT.values()), np.random.default_rng(seed))
    cuts = np.cumsum(list(SPLIT.values()))[:-1]
    return dict(zip(SPLIT, zip(np.split(x, cuts), np.split(y, cuts))))


def scale(parts, scaler):
    """Every part's features through the scaler fitted on the training features."""
    if scaler is None:
        return parts
    x_train = parts["train"][0]
    return {name: (scaler(x_train, x)[1], y) for name, (x, y) in parts.items()}


def train_linear(x, y, lr, steps, seed):
    """Full-batch gradient descent on a 2 -> 1 linear model. Returns the model and the
    training loss after 0, 1, ..., steps updates (NaN from a divergence on)."""
    microdl.manual_seed(seed)
    model = nn.Linear(2, 1).double()
    opt = SGD(model.parameters(), lr=lr)
    inputs, targets = microdl.from_numpy(x), microdl.from_numpy(y)
    losses = np.full(steps + 1, np.nan)
    for step in range(steps + 1):
        opt.zero_grad()
        loss = F.mse_loss(model(inputs), targets)
        value = loss.item()
        if not value < DIVERGED:  # also catches NaN
            break
        losses[step] = value
        if step < steps:
            loss.backward()
            opt.step()
    return model, losses


def mse(model, x, y):
    with microdl.no_grad():
        return F.mse_loss(model(microdl.from_numpy(x)), microdl.from_numpy(y)).item()


def sweep(seeds, budget):
    """{scaling: {"losses", "validation_mse", "test_mse"}}, each indexed [seed][lr]; the MSEs
    of a diverged run are inf."""
    results = {name: {"losses": [], "validation_mse": [], "test_mse": []} for name in SCALINGS}
    for seed in seeds:
        parts = bikes_of(seed)
        for name, scaler in SCALINGS.items():
            data, rows = scale(parts, scaler), {"losses": [], "validation_mse": [],
                                                "test_mse": []}
            for lr in budget.learning_rates:
                model, losses = train_linear(*data["train"], lr, budget.steps, seed)
                finite = np.isfinite(losses[-1])
                rows["losses"].append(losses)
                for part in ("validation", "test"):
                    rows[f"{part}_mse"].append(mse(model, *data[part]) if finite else np.inf)
            for key, values in rows.items():
                results[name][key].append(values)
    return {name: {key: np.array(v) for key, v in r.items()} for name, r in results.items()}


def pick_lr(validation_mse):
    """Index of the largest rate whose mean validation MSE is within TIE of the lowest."""
    mean = validation_mse.mean(axis=0)  # inf where any seed diverged
    return max(i for i, m in enumerate(mean) if m <= (1 + TIE) * mean.min())


def measures(result, lr_index, budget):
    """Per seed: steps to TARGET at the picked rate (censored at steps + 1), test MSE there,
    log10 of the largest converging rate."""
    losses = result["losses"][:, lr_index]
    reached = [np.flatnonzero(curve <= TARGET) for curve in losses]
    converging = np.isfinite(result["losses"][:, :, -1]) & \
        (result["losses"][:, :, -1] < result["losses"][:, :, 0])
    log_lrs = np.log10(budget.learning_rates)
    return {"steps_to_target": [int(r[0]) if len(r) else budget.steps + 1 for r in reached],
            "reached_target": [bool(len(r)) for r in reached],
            "test_mse": result["test_mse"][:, lr_index].tolist(),
            # none converging (never seen): one decade below the grid
            "log10_largest_converging_lr": [float(log_lrs[c].max()) if c.any()
                                            else float(log_lrs[0] - 1) for c in converging]}


def main():
    parser = example_parser(__doc__, seed=False)
    claims.add_protocol_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    budget = QUICK if args.quick else FULL
    seeds = claims.seeds_of(args)
    out = output_dir(args, "normalization")

    results = sweep(seeds, budget)
    picked = {name: pick_lr(r["validation_mse"]) for name, r in results.items()}
    figures = {name: {"lr": budget.learning_rates[picked[name]],
                      **measures(results[name], picked[name], budget)} for name in SCALINGS}
    experiment = (f"linear model (no BN) on synthetic bikes, age and km -> price, full-batch "
                  f"GD, {budget.steps:,} steps, lr grid {budget.learning_rates[0]:g} to "
                  f"{budget.learning_rates[-1]:g}, each scaling's lr picked on validation")
    rows = [("speeds up gradient descent", f"steps to training MSE {TARGET:g} at the picked lr "
             f"(never reached = {budget.steps + 1:,}, censored), lower is better",
             "steps_to_target", False),
            ("speeds up gradient descent", f"test MSE after {budget.steps:,} steps at the picked "
             "lr (thousands squared), lower is better", "test_mse", False),
            ("allows larger learning rates", "log10 of the largest converging lr of the grid, "
             "higher is better", "log10_largest_converging_lr", True)]
    verdicts = [claims.verdict(f"normalizing inputs (min-max scaling or standardization) {what}",
                               measure, figures[name][key], figures["raw"][key],
                               higher_is_better=higher, experiment=experiment, bn_label=name,
                               baseline_label="raw")
                for name in ("min-max", "standardized") for what, measure, key, higher in rows]

    prefix = f"[{claims.QUICK_NOTE}] " if args.quick else ""
    for name, f in figures.items():
        print(f"{prefix}{name:>12}: lr {f['lr']:g} picked on validation; training MSE "
              f"{TARGET:g} reached by {sum(f['reached_target'])} of {len(seeds)} seeds")
    claims.print_verdicts(verdicts, args.quick)
    logged = np.unique(np.geomspace(1, budget.steps, 60).astype(int))  # curve points kept
    for name, r in results.items():  # validation MSE None: that run diverged
        figures[name]["validation_mse"] = [[v if np.isfinite(v) else None for v in row]
                                           for row in r["validation_mse"].tolist()]
        figures[name]["training_mse_at_picked_lr"] = r["losses"][:, picked[name], logged].tolist()
    plot(results, picked, budget, out)
    claims.write_claims(out / "normalization.json", split=SPLIT, dataset="synthetic bikes",
                        seeds=seeds, started=started, verdicts=verdicts, quick=args.quick,
                        budget=budget._asdict(), target_loss=TARGET, logged_steps=logged.tolist(),
                        scalings=figures)
    print(f"wrote {out / 'normalization.png'} and {out / 'normalization.json'}")


def plot(results, picked, budget, out):
    plt = pyplot()
    fig = plt.figure(figsize=(15, 9))
    grid = fig.add_gridspec(2, 6)
    parts = bikes_of(0)
    units = {"raw": ("age (years)", "km driven (km)"),
             "min-max": ("age, min-max scaled (0 to 1)", "km, min-max scaled (0 to 1)"),
             "standardized": ("age, standardized (stds from the mean)",
                              "km, standardized (stds from the mean)")}
    for column, (name, scaler) in enumerate(SCALINGS.items()):
        ax = fig.add_subplot(grid[0, 2 * column:2 * column + 2])
        x = scale(parts, scaler)["train"][0]
        ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.5)
        ax.set(title=f"({'abc'[column]}) {name} features (seed 0's training bikes)",
               xlabel=units[name][0], ylabel=units[name][1])

    # Losses span 10 decades and vary by decades between seeds: bands of mean +- std of
    # log10(MSE) (a mean +- std of the MSE itself would reach below 0 on a log axis).
    lrs = np.array(budget.learning_rates)
    curves, sweep_ax = fig.add_subplot(grid[1, :3]), fig.add_subplot(grid[1, 3:])
    updates = np.arange(1, budget.steps + 1)
    for color, (name, r) in zip(("C0", "C1", "C2"), results.items()):
        lr = lrs[picked[name]]
        claims.band(curves, updates, np.log10(r["losses"][:, picked[name], 1:]),
                    f"{name} (lr {lr:g})", color=color)
        validation = np.log10(np.where(np.isfinite(r["validation_mse"]), r["validation_mse"],
                                       np.nan))
        kept = np.isfinite(validation).any(axis=0)  # rates at which some seed converged
        claims.band(sweep_ax, lrs[kept], validation[:, kept], name, color=color, marker="o",
                    ms=3)
        sweep_ax.plot(lr, validation[:, picked[name]].mean(), "*", color=color, ms=14)
    curves.axhline(np.log10(TARGET), color="gray", ls="--", lw=1, label=f"target {TARGET:g}")
    curves.set(xscale="log", xlabel="gradient descent step (full batch; log scale)",
               ylabel="training MSE (thousands squared; log scale)",
               title="(d) training loss at each scaling's picked lr")
    sweep_ax.set(xscale="log", xlabel="learning rate (log scale)",
                 ylabel=f"validation MSE after {budget.steps:,} steps\n"
                        "(thousands squared; log scale)",
                 title="(e) picking the lr: validation MSE (gaps: diverged; star: picked)")
    note = f"{claims.BAND_NOTE}\n(of log10 MSE, over {len(r['losses'])} seeds)"
    for ax in (curves, sweep_ax):
        ax.yaxis.set_major_formatter(
            lambda value, _: f"$10^{{{value:g}}}$" if value == int(value) else f"{10 ** value:.3g}")
        ax.legend(title=note, fontsize=8, title_fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "normalization.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
