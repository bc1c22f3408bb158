"""Does BatchNorm make higher learning rates usable?

Setup. The paper's network (3 hidden layers of 100 sigmoid units, weights drawn from
N(0, 0.05^2), plain SGD on batches of 60), with and without a BatchNorm1d before each sigmoid,
trained for 3,000 steps (3.6 epochs) at each learning rate of the log grid 0.01, 0.03, 0.1,
0.3, 1, 3, 10, 30, with seeds 0-4 (a seed fixes the initial weights and the data order).
Data: Fashion-MNIST, 50,000 training / 10,000 validation (the end of the training set) /
10,000 test images. Each run ends with its validation accuracy; a run whose loss becomes NaN
stops there, counts as chance (10%) and is marked diverged. Each net's best learning rate is
the one with the highest mean validation accuracy over seeds; only its runs see the test set,
once each.

A learning rate is "usable" in a seed when its validation accuracy is within 2 points of that
seed's best. Verdicts (examples/claims.py's rule, mean and std over seeds, all favouring BN):
  (a) "BN makes training less sensitive to the learning rate": the width of the usable range,
      log10(largest usable lr / smallest usable lr) in decades, higher is better;
  (b) "BN makes higher learning rates usable": log10 of the largest usable lr, higher is
      better;
  (c) "with BN the best learning rate gives a higher accuracy": test accuracy (%) of each net's
      runs at its own best learning rate, higher is better.
The grid ends at 0.01 and 30: a range that reaches an end may be wider than measured (the plot
shows where that happens). Gaps inside a range are not subtracted (the span counts).

--quick: 2 seeds, rates 0.1, 1 and 30, 40 steps each; a smoke test, not a measurement.

Budget: 80 runs of 3,000 steps, about 5.5 minutes on one core (1.1 ms a step without BN,
1.6 ms with; a diverged run stops early).

    python examples/learning_rates.py [--dataset fashion-mnist] [--seeds 5] [--quick]
"""

import time

import claims
import numpy as np
from common import example_parser, output_dir, pyplot
from paper import DATASETS, accuracy, paper_mlp, train_steps

import microdl

GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
QUICK_GRID = (0.1, 1.0, 30.0)
STEPS, QUICK_STEPS = 3_000, 40
TOLERANCE = 2.0  # percentage points below the seed's best that still count as usable
INIT_STD = 0.05  # the paper's "small random Gaussian values"
NETS = {"without_bn": None, "with_bn": "batch"}  # name -> paper_mlp's norm
LABELS = {"without_bn": "no BN", "with_bn": "BN"}
CHANCE = 10.0  # a diverged run counts as guessing among 10 classes (%)


def train_run(split, net, lr, seed, steps, progress):
    """(trained model, validation accuracy in %, diverged?) for one seed of one net."""
    microdl.manual_seed(seed)
    model = paper_mlp(split.train[0].shape[1], 10, norm=NETS[net], init_std=INIT_STD)
    loss = train_steps(model, split.train, steps, lr, seed, progress=progress,
                       label=f"{LABELS[net]} lr {lr:g} seed {seed}")
    if not np.isfinite(loss):
        return None, CHANCE, True
    return model, 100 * accuracy(model, *split.validation), False


def usable_range(grid, accuracies):
    """The smallest and largest learning rate within TOLERANCE points of the best accuracy."""
    best = max(accuracies)
    usable = [lr for lr, acc in zip(grid, accuracies) if acc >= best - TOLERANCE]
    return {"lowest": min(usable), "highest": max(usable),
            "decades": float(np.log10(max(usable) / min(usable)))}


def main():
    parser = example_parser(__doc__, dataset="fashion-mnist", datasets=DATASETS, seed=False)
    claims.add_protocol_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    grid, steps = (QUICK_GRID, QUICK_STEPS) if args.quick else (GRID, STEPS)
    seeds = claims.seeds_of(args)
    split = claims.load_split(args.dataset, quick=args.quick)
    out = output_dir(args, "learning_rates")

    networks = {}
    for net in NETS:
        # runs[i][j]: learning rate grid[i], seed seeds[j]
        runs = [[train_run(split, net, lr, seed, steps, not args.no_progress) for seed in seeds]
                for lr in grid]
        accuracy_table = np.array([[acc for _, acc, _ in row] for row in runs])
        best = int(np.argmax(accuracy_table.mean(axis=1)))  # picked on validation only
        test = [100 * accuracy(model, *split.test) if model is not None else CHANCE
                for model, _, _ in runs[best]]  # the test set, once per best-lr run
        networks[net] = {
            "validation_accuracy": accuracy_table.tolist(),  # [lr][seed], %
            "diverged": [[d for _, _, d in row] for row in runs],
            "usable_range": [usable_range(grid, accuracy_table[:, j]) for j in range(len(seeds))],
            "best_lr": grid[best], "test_accuracy_at_best_lr": test}

    dataset = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(split.name, split.name)
    experiment = f"3x100 sigmoid MLP, {dataset}, {steps:,} steps per lr, lr {grid[0]:g} to " \
                 f"{grid[-1]:g}"
    ranges = {net: r["usable_range"] for net, r in networks.items()}
    bn_best, plain_best = networks["with_bn"]["best_lr"], networks["without_bn"]["best_lr"]
    verdicts = [
        claims.verdict("BN makes training less sensitive to the learning rate",
                       f"width of the usable learning-rate range (validation accuracy within "
                       f"{TOLERANCE:g} points of the seed's best), decades, higher is better",
                       [r["decades"] for r in ranges["with_bn"]],
                       [r["decades"] for r in ranges["without_bn"]], experiment=experiment),
        claims.verdict("BN makes higher learning rates usable",
                       "log10 of the largest usable learning rate (validation accuracy within "
                       f"{TOLERANCE:g} points of the seed's best), higher is better",
                       [np.log10(r["highest"]) for r in ranges["with_bn"]],
                       [np.log10(r["highest"]) for r in ranges["without_bn"]],
                       experiment=experiment),
        claims.verdict("with BN the best learning rate gives a higher accuracy",
                       f"test accuracy (%) at each net's best learning rate on validation "
                       f"(BN {bn_best:g}, no BN {plain_best:g}), higher is better",
                       networks["with_bn"]["test_accuracy_at_best_lr"],
                       networks["without_bn"]["test_accuracy_at_best_lr"],
                       experiment=experiment)]
    claims.print_verdicts(verdicts, args.quick)
    plot(networks, grid, steps, dataset, out)
    claims.write_claims(out / "learning_rates.json", split=split, seeds=seeds, started=started,
                        verdicts=verdicts, quick=args.quick, steps=steps,
                        learning_rates=list(grid), tolerance_points=TOLERANCE,
                        init_std=INIT_STD, batch=60, networks=networks)
    print(f"wrote {out / 'learning_rates.png'} and {out / 'learning_rates.json'}")


def plot(networks, grid, steps, dataset, out):
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": (3, 1.4)})
    colors = {"without_bn": "C0", "with_bn": "C1"}
    for net, r in networks.items():
        table = np.array(r["validation_accuracy"])  # [lr][seed]
        claims.band(top, grid, table.T, f"{LABELS[net]} (best lr {r['best_lr']:g})",
                    color=colors[net], marker="o")
        diverged = np.array(r["diverged"])
        if diverged.any():
            lrs = np.repeat(np.array(grid)[:, None], diverged.shape[1], axis=1)[diverged]
            top.plot(lrs, np.full(len(lrs), CHANCE), "x", ms=9, color=colors[net],
                     label=f"{LABELS[net]}: diverged runs (counted as chance)")
    top.axhline(CHANCE, color="gray", lw=0.8, ls=":")
    top.set(ylabel="validation accuracy (%)",
            title=f"validation accuracy after {steps:,} steps at each learning rate, {dataset}")
    top.legend(title=claims.BAND_NOTE, fontsize=8, title_fontsize=8)

    # Each seed's usable range: a bar from its smallest to its largest usable rate.
    for k, (net, r) in enumerate(networks.items()):
        for j, span in enumerate(r["usable_range"]):
            y = k * (len(r["usable_range"]) + 1) + j
            bottom.plot((span["lowest"], span["highest"]), (y, y), lw=4, color=colors[net],
                        marker="|", ms=10,  # the marks show a one-rate range too
                        solid_capstyle="butt", label=LABELS[net] if j == 0 else None)
    for edge in (grid[0], grid[-1]):
        bottom.axvline(edge, color="gray", lw=0.8, ls=":")
    bottom.set(xscale="log", xlabel="learning rate (log scale)", ylabel="seeds", yticks=[],
               title=f"usable range per seed (within {TOLERANCE:g} points of the seed's best; "
                     "dotted: ends of the grid)")
    bottom.title.set_fontsize(9)
    bottom.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(out / "learning_rates.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
