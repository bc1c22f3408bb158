"""Does BatchNorm regularize (a little), reducing the need for dropout?

Ioffe & Szegedy (2015, section 3.4): a training example is normalized with the statistics of
the random mini-batch it comes in, so the network sees it slightly differently at every step;
"in a batch-normalized network we found that Dropout can be either removed or reduced in
strength". A regularizer shows as a smaller gap between training and validation accuracy on a
training set small enough to memorize, and ideally as a higher test accuracy.

Setup. The paper's network (3 hidden layers of 100 sigmoid units, plain SGD on batches of 60)
in four configurations: plain, BN (a BatchNorm1d before each sigmoid), dropout (p = 0.3 after
each sigmoid) and BN + dropout. Initial weights: PyTorch's default, with which the plain net
trains at a usable speed; the paper's small Gaussian weights would slow the plain net down so
much that its gap would measure under-fitting, not regularization. Data: Fashion-MNIST split
50,000 train / 10,000 validation / 10,000 test; the nets train on the first 1,000 images of the
training split only (the validation split stays the full 10,000 images), for 3,000 steps
(180 epochs), long enough for every configuration to fit its training images almost perfectly.

Learning rates: each configuration gets its own, the one of 0.1, 0.3, 1 and 3 with the highest
validation accuracy after 3,000 steps on a separate tuning seed (100), so no configuration loses
by a learning rate that suits another one. There is no shared-learning-rate comparison: the
claim is about the gap at the end of a training that suits each net, and at one shared rate the
net that trains slower would show a smaller gap for that reason alone. Then seeds 0-4 (a seed
fixes the initial weights and the data order) per configuration at its learning rate.

Measures, per seed, in eval mode: accuracy (%) on the 1,000 training images and on validation
every 150 steps; at the end the train - validation gap (points) and the test accuracy (%), the
test set touched once per run. Verdicts (examples/claims.py's rule, mean and std over seeds),
only for comparisons that differ by BN alone, all favouring the BN side:
  BN vs plain and BN + dropout vs dropout, each on
    the train - validation accuracy gap after 3,000 steps, lower is better;
    the test accuracy after 3,000 steps, higher is better.
Dropout vs plain is reported as figures ("dropout_vs_plain" in the JSON), not as a verdict.

Budget: 16 tuning runs and 20 measured runs of 3,000 steps, about 3-3.5 minutes on one core
(1.2 ms a step plain, 1.5-1.75 ms with BN or dropout, and about 1.5 s per measured run for its
21 evaluations of 11,000 images).

    python examples/regularization.py [--dataset fashion-mnist] [--seeds 5]
    python examples/regularization.py --quick    # 200 images, 60 steps, 2 seeds, lr 1 only
"""

import time

import claims
import numpy as np
from common import example_parser, output_dir, pyplot
from paper import DATASETS, accuracy, paper_mlp, train_steps

import microdl

SUBSET, QUICK_SUBSET = 1_000, 200  # training images: few enough to memorize
STEPS, QUICK_STEPS = 3_000, 60
EVAL_EVERY, QUICK_EVAL_EVERY = 150, 30
LEARNING_RATES, QUICK_LEARNING_RATES = (0.1, 0.3, 1.0, 3.0), (1.0,)
TUNING_SEED = 100  # not one of the measured seeds 0..n-1
DROPOUT = 0.3
# configuration -> (paper_mlp's norm, dropout probability)
CONFIGS = {"plain": (None, 0.0), "BN": ("batch", 0.0), "dropout": (None, DROPOUT),
           "BN + dropout": ("batch", DROPOUT)}
# The verdicts: (BN side, baseline), differing by BN alone.
PAIRS = (("BN", "plain"), ("BN + dropout", "dropout"))
CLAIM = "BN regularizes a little (Ioffe & Szegedy: it can reduce the need for dropout)"
CHANCE = 10.0  # a diverged run counts as guessing among 10 classes (%)


def build(config, inputs, seed):
    microdl.manual_seed(seed)
    norm, dropout = CONFIGS[config]
    return paper_mlp(inputs, 10, norm=norm, dropout=dropout)


def tune(config, split, train, grid, steps, progress):
    """The learning rate of the grid with the best validation accuracy on the tuning seed, and
    the validation accuracy (%) of each rate."""
    scores = []
    for lr in grid:
        model = build(config, train[0].shape[1], TUNING_SEED)
        loss = train_steps(model, train, steps, lr, TUNING_SEED, progress=progress,
                           label=f"tuning {config} lr {lr:g}")
        scores.append(100 * accuracy(model, *split.validation) if np.isfinite(loss) else CHANCE)
    return grid[int(np.argmax(scores))], scores


def measured_run(config, split, train, lr, seed, steps, eval_every, progress):
    """One seed: train and validation accuracy curves (%), the final gap and test accuracy."""
    model = build(config, train[0].shape[1], seed)
    curve = {"step": [], "train_accuracy": [], "validation_accuracy": []}

    def on_eval(step):
        curve["step"].append(step)
        curve["train_accuracy"].append(100 * accuracy(model, *train))  # eval mode
        curve["validation_accuracy"].append(100 * accuracy(model, *split.validation))

    on_eval(0)  # where the curves start
    loss = train_steps(model, train, steps, lr, seed, eval_every, on_eval, progress=progress,
                       label=f"{config} lr {lr:g} seed {seed}")
    diverged = not np.isfinite(loss)
    train_acc, val_acc = (CHANCE, CHANCE) if diverged else \
        (curve["train_accuracy"][-1], curve["validation_accuracy"][-1])
    test_acc = CHANCE if diverged else 100 * accuracy(model, *split.test)  # once, at the end
    return {**curve, "diverged": diverged, "final_train_accuracy": train_acc,
            "final_validation_accuracy": val_acc, "gap": train_acc - val_acc,
            "test_accuracy": test_acc}


def main():
    parser = example_parser(__doc__, dataset="fashion-mnist", datasets=DATASETS, seed=False)
    claims.add_protocol_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    seeds = claims.seeds_of(args)
    if args.quick:
        subset, steps, eval_every, grid = QUICK_SUBSET, QUICK_STEPS, QUICK_EVAL_EVERY, \
            QUICK_LEARNING_RATES
    else:
        subset, steps, eval_every, grid = SUBSET, STEPS, EVAL_EVERY, LEARNING_RATES
    split = claims.load_split(args.dataset, quick=args.quick)
    train = (split.train[0][:subset], split.train[1][:subset])
    out = output_dir(args, "regularization")
    progress = not args.no_progress

    configs = {}
    for config in CONFIGS:
        # A one-rate grid has nothing to choose: no tuning runs.
        lr, scores = tune(config, split, train, grid, steps, progress) if len(grid) > 1 \
            else (grid[0], [])
        runs = [measured_run(config, split, train, lr, seed, steps, eval_every, progress)
                for seed in seeds]
        r = configs[config] = {"lr": lr, "tuning_validation_accuracy": scores, "runs": runs}
        for key in ("gap", "test_accuracy", "final_train_accuracy",
                    "final_validation_accuracy"):
            r[key] = claims.summary([run[key] for run in runs])
        print(f"{config:>13} (lr {lr:g}): train {r['final_train_accuracy']['mean']:.1f}%, "
              f"validation {r['final_validation_accuracy']['mean']:.1f}%, gap "
              f"{r['gap']['mean']:.1f} points, test {r['test_accuracy']['mean']:.1f}% "
              f"(means over {len(seeds)} seeds)")

    dataset = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(split.name, split.name)
    experiment = f"3x100 sigmoid MLP, {subset:,} {dataset} training images, {steps:,} steps, " \
                 f"dropout {DROPOUT:g}, own best lr each"
    verdicts = []
    for bn_side, baseline in PAIRS:
        for key, measure, higher in (
                ("gap", f"train - validation accuracy gap after {steps:,} steps (points), "
                        "lower is better", False),
                ("test_accuracy", f"test accuracy after {steps:,} steps (%), higher is better",
                 True)):
            verdicts.append(claims.verdict(
                CLAIM, f"{measure} (lr {bn_side} {configs[bn_side]['lr']:g}, {baseline} "
                       f"{configs[baseline]['lr']:g})",
                configs[bn_side][key]["values"], configs[baseline][key]["values"],
                higher_is_better=higher, experiment=experiment, bn_label=bn_side,
                baseline_label=baseline))
    claims.print_verdicts(verdicts, args.quick)
    # Dropout vs plain differs by dropout, not BN: figures for the reader, not a verdict.
    dropout_vs_plain = {key: {"dropout": configs["dropout"][key], "plain": configs["plain"][key]}
                        for key in ("gap", "test_accuracy")}
    plot(configs, subset, len(split.validation[0]), steps, dataset, out)
    claims.write_claims(out / "regularization.json", split=split, seeds=seeds, started=started,
                        verdicts=verdicts, quick=args.quick, training_subset=subset, steps=steps,
                        eval_every=eval_every, batch=60, dropout=DROPOUT, learning_rates=list(grid),
                        tuning_seed=TUNING_SEED, configs=configs,
                        dropout_vs_plain=dropout_vs_plain)
    print(f"wrote {out / 'regularization.png'} and {out / 'regularization.json'}")


def plot(configs, subset, validation, steps, dataset, out):
    plt = pyplot()
    fig = plt.figure(figsize=(15, 8))
    grid = fig.add_gridspec(2, len(configs), height_ratios=(1.25, 1))
    curves = [fig.add_subplot(grid[0, i]) for i in range(len(configs))]
    for ax in curves[1:]:
        ax.sharey(curves[0])
    for ax, (config, r) in zip(curves, configs.items()):
        runs = [run for run in r["runs"] if not run["diverged"]]  # a diverged run has no curve
        step = runs[0]["step"] if runs else []
        if runs:
            claims.band(ax, step, [run["train_accuracy"] for run in runs],
                        f"train ({subset:,} images)", color="C3")
            claims.band(ax, step, [run["validation_accuracy"] for run in runs],
                        f"validation ({validation:,} images)", color="C0")
        diverged = len(r["runs"]) - len(runs)
        ax.set(title=f"{config} (lr {r['lr']:g}){f', {diverged} diverged' if diverged else ''}",
               xlabel="training step (batch of 60)")
        ax.legend(fontsize=8, loc="best")
    curves[0].set_ylabel("accuracy (%), eval mode")

    # Gap and test accuracy per configuration: mean over seeds, error bar +- 1 std.
    colors = ["C7", "C1", "C2", "C4"]
    names = list(configs)
    for span, key, label in ((slice(0, 2), "gap", "train - validation gap (points), lower is "
                              "less over-fitting"),
                             (slice(2, 4), "test_accuracy", "test accuracy (%), higher is "
                              "better")):
        ax = fig.add_subplot(grid[1, span])
        means = [configs[c][key]["mean"] for c in names]
        stds = [configs[c][key]["std"] for c in names]
        ax.bar(names, means, yerr=stds, capsize=6, color=colors, alpha=0.8)
        for i, c in enumerate(names):  # each seed as a dot on its bar
            values = configs[c][key]["values"]
            ax.plot(np.full(len(values), i), values, "k.", ms=4)
        if key == "test_accuracy":  # bars from 0 would hide differences of a point
            low = min(min(configs[c][key]["values"]) for c in names)
            high = max(max(configs[c][key]["values"]) for c in names)
            ax.set_ylim(low - 2, high + 1)
        ax.set(ylabel=label.split(",")[0], title=f"{label}, after {steps:,} steps",
               xlabel="configuration (bars: mean over seeds; error bars: +- 1 std; dots: seeds)")
    fig.suptitle(f"Does BN regularize? Paper MLP on {subset:,} {dataset} training images, each "
                 "configuration at its own best learning rate")
    fig.text(0.99, 0.005, claims.BAND_NOTE, ha="right", va="bottom", fontsize=8)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(out / "regularization.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
