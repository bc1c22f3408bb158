"""Does BatchNorm make training less sensitive to its hyperparameters?

The claim: with BN the learning rate, the initial weights and the batch size matter less; a
network trains well over a wide region of settings instead of a narrow one.

Setup. The paper's network (3 hidden layers of 100 sigmoid units, plain SGD), with and without
a BatchNorm1d before each sigmoid, trained for 1,200 steps of batch 60 (1.4 epochs) at every
cell of a grid: learning rate 0.03, 0.1, 0.3, 1, 3 x initial weight std 0.01, 0.05, 0.2, 1
(every weight drawn from N(0, std^2), biases zero), seeds 0-4 in every cell (a seed fixes the
initial weights and the data order). Data: Fashion-MNIST, 50,000 training / 10,000 validation
(the end of the training set) / 10,000 test images. Each run ends with its validation
accuracy; a run whose loss becomes NaN stops there, counts as chance (10%) and is marked
diverged. Each net's best cell is the one with the highest mean validation accuracy over seeds;
only its runs see the test set, once each (reported as a figure, not a verdict: how high a
tuned net gets is examples/learning_rates.py's question, not this one's).

Batch size. At each net's best cell (its learning rate and init std), the batch sizes 15, 60
and 240 with the same number of examples seen (4,800, 1,200 and 300 steps) and the cell's
learning rate left as it is, seeds 0-4; batch 60 is the grid's own run of that cell.

Verdicts (examples/claims.py's rule, mean and std over seeds, all favouring BN), one claim:
  (a) the share of the 20 grid cells whose validation accuracy is within 2 points of the
      seed's best cell (%), higher is better: the size of the region of good settings;
  (b) the mean validation accuracy over the 20 cells (%), higher is better: how much a badly
      chosen setting costs on average;
  (c) the range (max - min) of validation accuracy over the three batch sizes at the best
      cell (points), lower is better.
Both nets get the same grid, so "each at its own best learning rate" is the best cell of each
net, and "a shared learning rate" is every column of the grid.

Budget: 200 grid runs of 1,200 steps and 20 batch-size runs, about 6-7.5 minutes on one core
(1.4 ms a step without BN, 1.8 ms with, its validation pass included; 4,800 steps of batch 15
take about as long as 3,000 of batch 60; a diverged run stops early). Why not longer runs:
1,500 steps would take 8-9 minutes, too close to the 10 minutes the gallery allows this
example.

    python examples/hyperparameters.py [--dataset fashion-mnist] [--seeds 5]
    python examples/hyperparameters.py --quick    # 2 x 2 grid, 40 steps, batch 30/60/120, 2 seeds
"""

import time

import claims
import numpy as np
from common import example_parser, output_dir, pyplot
from paper import DATASETS, accuracy, paper_mlp, train_steps

import microdl

LEARNING_RATES, QUICK_LEARNING_RATES = (0.03, 0.1, 0.3, 1.0, 3.0), (0.3, 3.0)
INIT_STDS, QUICK_INIT_STDS = (0.01, 0.05, 0.2, 1.0), (0.05, 1.0)
STEPS, QUICK_STEPS = 1_200, 40
BATCH = 60  # the grid's batch size
BATCH_SIZES, QUICK_BATCH_SIZES = (15, 60, 240), (30, 60, 120)
TOLERANCE = 2.0  # percentage points below the seed's best cell that still count as good
NETS = {"without_bn": None, "with_bn": "batch"}  # name -> paper_mlp's norm
LABELS = {"without_bn": "no BN", "with_bn": "BN"}
CHANCE = 10.0  # a diverged run counts as guessing among 10 classes (%)
CLAIM = "BN makes training less sensitive to hyperparameters"


def train_run(split, net, lr, init_std, seed, steps, batch, progress):
    """(trained model, validation accuracy in %, diverged?) for one seed of one setting."""
    microdl.manual_seed(seed)
    model = paper_mlp(split.train[0].shape[1], 10, norm=NETS[net], init_std=init_std)
    loss = train_steps(model, split.train, steps, lr, seed, progress=progress, batch=batch,
                       label=f"{LABELS[net]} lr {lr:g} std {init_std:g} batch {batch} "
                             f"seed {seed}")
    if not np.isfinite(loss):
        return None, CHANCE, True
    return model, 100 * accuracy(model, *split.validation), False


def grid_search(split, net, lrs, stds, seeds, steps, progress):
    """Validation accuracy and divergence per [init std][lr][seed], the best cell (by mean
    validation accuracy) and the test accuracy of that cell's runs."""
    validation = np.zeros((len(stds), len(lrs), len(seeds)))
    diverged = np.zeros(validation.shape, dtype=bool)
    best_mean, best_cell, best_models = -np.inf, None, None
    for i, init_std in enumerate(stds):
        for j, lr in enumerate(lrs):
            runs = [train_run(split, net, lr, init_std, seed, steps, BATCH, progress)
                    for seed in seeds]
            validation[i, j] = [acc for _, acc, _ in runs]
            diverged[i, j] = [d for _, _, d in runs]
            # Only the best cell so far keeps its models: they alone will see the test set.
            if validation[i, j].mean() > best_mean:
                best_mean, best_cell = validation[i, j].mean(), (i, j)
                best_models = [model for model, _, _ in runs]
    test = [100 * accuracy(model, *split.test) if model is not None else CHANCE
            for model in best_models]
    return validation, diverged, best_cell, test


def good_region_share(validation):
    """Per seed: the share (%) of cells within TOLERANCE points of that seed's best cell."""
    best = validation.max(axis=(0, 1))
    return 100 * (validation >= best - TOLERANCE).mean(axis=(0, 1))


def batch_size_runs(split, net, lr, init_std, batch_sizes, seeds, steps, grid_runs, progress):
    """Validation accuracy (%) per [batch size][seed], the examples seen fixed at steps x 60."""
    rows = []
    for batch in batch_sizes:
        if batch == BATCH:  # same settings and seeds as the grid cell: its runs are these
            rows.append(list(grid_runs))
            continue
        rows.append([train_run(split, net, lr, init_std, seed, steps * BATCH // batch, batch,
                               progress)[1] for seed in seeds])
    return np.array(rows)


def main():
    parser = example_parser(__doc__, dataset="fashion-mnist", datasets=DATASETS, seed=False)
    claims.add_protocol_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    if args.quick:
        lrs, stds, steps, batch_sizes = QUICK_LEARNING_RATES, QUICK_INIT_STDS, QUICK_STEPS, \
            QUICK_BATCH_SIZES
    else:
        lrs, stds, steps, batch_sizes = LEARNING_RATES, INIT_STDS, STEPS, BATCH_SIZES
    seeds = claims.seeds_of(args)
    split = claims.load_split(args.dataset, quick=args.quick)
    out = output_dir(args, "hyperparameters")
    progress = not args.no_progress

    networks = {}
    for net in NETS:
        validation, diverged, (i, j), test = grid_search(split, net, lrs, stds, seeds, steps,
                                                         progress)
        by_batch = batch_size_runs(split, net, lrs[j], stds[i], batch_sizes, seeds, steps,
                                   validation[i, j], progress)
        networks[net] = {
            "validation_accuracy": validation.tolist(),  # [init std][lr][seed], %
            "diverged": diverged.tolist(),
            "best_lr": lrs[j], "best_init_std": stds[i], "test_accuracy_at_best_cell": test,
            "good_region_share": good_region_share(validation).tolist(),
            "mean_over_cells": validation.mean(axis=(0, 1)).tolist(),
            "worst_cell": validation.min(axis=(0, 1)).tolist(),
            "batch_size_validation_accuracy": by_batch.tolist(),  # [batch size][seed], %
            "batch_size_range": (by_batch.max(axis=0) - by_batch.min(axis=0)).tolist()}
        r = networks[net]
        print(f"{LABELS[net]:>5}: best cell lr {r['best_lr']:g}, init std "
              f"{r['best_init_std']:g}: validation {validation[i, j].mean():.1f}%, test "
              f"{np.mean(test):.1f}% +- {np.std(test, ddof=1):.1f} over {len(seeds)} seeds")

    dataset = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(split.name, split.name)
    cells = len(lrs) * len(stds)
    experiment = f"3x100 sigmoid MLP, {dataset}, {steps:,} steps, {len(lrs)} lr " \
                 f"({lrs[0]:g}-{lrs[-1]:g}) x {len(stds)} init std ({stds[0]:g}-{stds[-1]:g})"
    bn, plain = networks["with_bn"], networks["without_bn"]
    batches = "/".join(str(b) for b in batch_sizes)
    verdicts = [
        claims.verdict(CLAIM, f"share of the {cells} grid cells with validation accuracy within "
                              f"{TOLERANCE:g} points of the seed's best cell (%), higher is better",
                       bn["good_region_share"], plain["good_region_share"],
                       experiment=experiment),
        claims.verdict(CLAIM, f"mean validation accuracy over the {cells} grid cells (%), higher "
                              "is better", bn["mean_over_cells"], plain["mean_over_cells"],
                       experiment=experiment),
        claims.verdict(CLAIM, f"range of validation accuracy over batch sizes {batches} at the "
                              f"best cell's lr and init std, same examples seen (points), lower "
                              "is better", bn["batch_size_range"], plain["batch_size_range"],
                       higher_is_better=False, experiment=experiment)]
    claims.print_verdicts(verdicts, args.quick)
    plot(networks, lrs, stds, batch_sizes, steps, dataset, len(seeds), out)
    claims.write_claims(out / "hyperparameters.json", split=split, seeds=seeds, started=started,
                        verdicts=verdicts, quick=args.quick, steps=steps, batch=BATCH,
                        learning_rates=list(lrs), init_stds=list(stds),
                        batch_sizes=list(batch_sizes), tolerance_points=TOLERANCE,
                        networks=networks)
    print(f"wrote {out / 'hyperparameters.png'} and {out / 'hyperparameters.json'}")


def plot(networks, lrs, stds, batch_sizes, steps, dataset, n_seeds, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2),
                             gridspec_kw={"width_ratios": (1, 1.2, 1.1)})
    means = {net: np.array(r["validation_accuracy"]).mean(axis=2) for net, r in networks.items()}
    top = max(m.max() for m in means.values())  # one colour scale for both heatmaps
    for ax, (net, r) in zip(axes[:2], networks.items()):
        image = ax.imshow(means[net], origin="lower", cmap="viridis", vmin=CHANCE, vmax=top,
                          aspect="auto")
        diverged = np.array(r["diverged"]).sum(axis=2)
        for i in range(len(stds)):
            for j in range(len(lrs)):
                text = f"{means[net][i, j]:.1f}"
                if diverged[i, j]:
                    text += f"\n{diverged[i, j]}/{n_seeds} div."
                dark = means[net][i, j] > (CHANCE + top) / 2  # light cells get dark text
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="black" if dark else "white")
        i, j = stds.index(r["best_init_std"]), lrs.index(r["best_lr"])
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2.5))
        test = r["test_accuracy_at_best_cell"]
        ax.set(xticks=range(len(lrs)), xticklabels=[f"{lr:g}" for lr in lrs],
               yticks=range(len(stds)), yticklabels=[f"{s:g}" for s in stds],
               xlabel="learning rate", ylabel="initial weight std (weights ~ N(0, std^2))",
               title=f"{LABELS[net]}: validation accuracy (%), {steps:,} steps\nred box: best "
                     f"cell (on validation), test {np.mean(test):.1f} +- "
                     f"{np.std(test, ddof=1):.1f}%")
    fig.colorbar(image, ax=axes[1], label=f"validation accuracy (%), mean over {n_seeds} seeds")

    ax = axes[2]
    for net, r in networks.items():
        claims.band(ax, batch_sizes, np.array(r["batch_size_validation_accuracy"]).T,
                    f"{LABELS[net]} (lr {r['best_lr']:g}, std {r['best_init_std']:g})",
                    marker="o", color="C0" if net == "without_bn" else "C1")
    ax.set(xscale="log", xticks=batch_sizes, xticklabels=[str(b) for b in batch_sizes],
           xlabel=f"batch size (log scale; {steps * BATCH:,} examples seen at every size)",
           ylabel="validation accuracy (%)",
           title="batch size at each net's best cell, its lr unchanged")
    ax.minorticks_off()
    ax.legend(title=claims.BAND_NOTE, fontsize=8, title_fontsize=8)
    fig.suptitle(f"Sensitivity to hyperparameters: paper MLP on {dataset}, {n_seeds} seeds per "
                 "setting (heatmaps share one colour scale)")
    fig.tight_layout()
    fig.savefig(out / "hyperparameters.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
