"""Does BatchNorm make higher learning rates usable? The paper's network over a log grid of
learning rates from 0.01 to 30, with and without BatchNorm before each sigmoid.

For each learning rate and each network we train --steps steps and record the final test
accuracy (a diverged run counts as chance). We report, for each network, the range of learning
rates whose accuracy stays within 2 points of its own best.

    python examples/learning_rates.py [--dataset fashion-mnist] [--steps 5000] [--quick]
"""

import numpy as np
from common import example_parser, output_dir, pyplot, write_json
from paper import DATASETS, accuracy, load_dataset, paper_mlp, train_steps

import microdl

GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
TOLERANCE = 0.02  # "within 2 points of its best"


def final_accuracy(dataset, batch_norm, lr, args, steps):
    train, (x_test, y_test) = dataset
    microdl.manual_seed(args.seed)
    model = paper_mlp(train[0].shape[1], 10, batch_norm, init_std=args.init_std)
    loss = train_steps(model, train, steps, lr, args.seed, progress=not args.no_progress,
                       label=f"lr {lr:g}{' BN' if batch_norm else ''}")
    if not np.isfinite(loss):
        return 0.1, True  # diverged: no better than chance on 10 classes
    return accuracy(model, x_test, y_test), False


def usable_range(lrs, accuracies):
    """The lowest and highest lr whose accuracy is within TOLERANCE of the best."""
    best = max(accuracies)
    good = [lr for lr, acc in zip(lrs, accuracies) if acc >= best - TOLERANCE]
    return {"best_accuracy": best, "best_lr": lrs[int(np.argmax(accuracies))],
            "lr_low": min(good), "lr_high": max(good), "decades": float(np.log10(max(good) /
                                                                                 min(good)))}


def main():
    parser = example_parser(__doc__, steps=5_000, lr=1.0,
                            dataset="fashion-mnist", datasets=DATASETS)
    parser.add_argument("--init-std", type=float, default=0.05)
    args = parser.parse_args()
    dataset_name = "digits" if args.quick else args.dataset
    steps = 60 if args.quick else args.steps
    grid = (0.01, 1.0, 30.0) if args.quick else GRID
    out = output_dir(args, "learning_rates")
    dataset = load_dataset(dataset_name)
    figures = {"dataset": dataset_name, "steps": steps, "learning_rates": list(grid),
               "tolerance": TOLERANCE, "networks": {}}
    for name, bn in (("without_bn", False), ("with_bn", True)):
        runs = [final_accuracy(dataset, bn, lr, args, steps) for lr in grid]
        accuracies = [acc for acc, _ in runs]
        figures["networks"][name] = {
            "test_accuracy": accuracies, "diverged": [d for _, d in runs],
            "usable_range": usable_range(list(grid), accuracies)}
        r = figures["networks"][name]["usable_range"]
        print(f"{name:>10}: best {r['best_accuracy']:.4f} at lr {r['best_lr']:g}; within 2 "
              f"points from lr {r['lr_low']:g} to {r['lr_high']:g} ({r['decades']:.1f} decades)")
    plot(figures, out)
    write_json(out / "learning_rates.json", figures)
    print(f"wrote {out / 'learning_rates.png'} and {out / 'learning_rates.json'}")


def plot(figures, out):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, r in figures["networks"].items():
        ax.plot(figures["learning_rates"], r["test_accuracy"], marker="o",
                label=name.replace("_", " "))
        rng = r["usable_range"]
        ax.axvspan(rng["lr_low"], rng["lr_high"], alpha=0.08,
                   color="C0" if name == "without_bn" else "C1")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(f"test accuracy after {figures['steps']} steps")
    ax.set_title(f"learning-rate sensitivity, {figures['dataset']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "learning_rates.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
