"""Why normalize inputs: the bike example, measured.

Bikes are described by age (0 to 20 years) and kilometres driven (0 to about 300,000); a linear
model learns their price (in thousands) by gradient descent on the mean squared error. We train
on three versions of the same features:

- raw;
- min-max scaled, x' = (x - min) / (max - min), every feature in [0, 1];
- standardized, x' = (x - mean) / std, every feature with mean 0 and std 1;

and measure, over a log grid of learning rates, the largest one that still converges and how
many steps the best one needs to reach a target loss. With raw features the km axis is 10^4
times longer than the age axis, so a step small enough not to blow up along km barely moves
the age weight.

    python examples/normalization.py [--steps 2000] [--quick]
"""

import numpy as np
from common import example_parser, output_dir, pyplot, write_json

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.data import min_max_scale, standardize
from microdl.optim import SGD

NOISE_STD = 0.5  # thousands: the price noise no model can explain


def make_bikes(n, rng):
    """Age in years, km driven (older bikes have more), price in thousands plus noise."""
    age = rng.uniform(0, 20, n)
    km = np.clip(age * rng.uniform(5_000, 15_000, n) + rng.normal(0, 5_000, n), 0, None)
    price = 12.0 - 0.35 * age - 0.015 * km / 1_000 + rng.normal(0, NOISE_STD, n)
    return np.stack([age, km], axis=1), price[:, None]


def train_linear(x, y, lr, steps, seed):
    """Full-batch gradient descent on a 2 -> 1 linear model; returns the loss per step."""
    microdl.manual_seed(seed)
    model = nn.Linear(2, 1).double()
    opt = SGD(model.parameters(), lr=lr)
    inputs, targets = microdl.from_numpy(x), microdl.from_numpy(y)
    losses = np.full(steps, np.nan)
    for step in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(inputs), targets)
        value = loss.item()
        if not np.isfinite(value) or value > 1e12:
            break  # diverged: the rest of the curve stays NaN
        losses[step] = value
        loss.backward()
        opt.step()
    return losses


def summarize(curves, lrs, target):
    """Largest converging lr (finite, ending below where it started) and steps to target."""
    converging = [lr for lr, c in zip(lrs, curves)
                  if np.all(np.isfinite(c)) and c[-1] < c[0]]
    reached = {lr: int(np.argmax(c <= target)) + 1 for lr, c in zip(lrs, curves)
               if np.any(c <= target)}
    best_lr = min(reached, key=reached.get) if reached else None
    return {
        "largest_converging_lr": max(converging) if converging else None,
        "fastest_lr": best_lr,
        "steps_to_target": reached[best_lr] if best_lr else None,
        "best_final_loss": float(np.nanmin([c[-1] for c in curves])),
    }


def main():
    parser = example_parser(__doc__, steps=2000, lr=0.1)
    args = parser.parse_args()
    steps = 150 if args.quick else args.steps
    out = output_dir(args, "normalization")
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_bikes(800, rng)
    x_test, _ = make_bikes(200, rng)
    features = {
        "raw": x_train,
        "min-max": min_max_scale(x_train, x_test)[0],
        "standardized": standardize(x_train, x_test)[0],
    }
    lrs = [float(v) for v in 10.0 ** np.arange(-12, 1.01, 1.0 if args.quick else 0.5)]
    target = 2 * NOISE_STD ** 2
    figures = {"steps": steps, "target_loss": target, "learning_rates": lrs, "scalings": {}}
    best_curves = {}
    for name, x in features.items():
        curves = [train_linear(x, y_train, lr, steps, args.seed) for lr in lrs]
        summary = summarize(curves, lrs, target)
        figures["scalings"][name] = summary
        pick = summary["fastest_lr"] or summary["largest_converging_lr"]
        best_curves[name] = (pick, curves[lrs.index(pick)] if pick else None)
        print(f"{name:>13}: largest converging lr {summary['largest_converging_lr']}, "
              f"steps to loss {target:g}: {summary['steps_to_target']} "
              f"(lr {summary['fastest_lr']})")
    plot(features, best_curves, target, out)
    write_json(out / "normalization.json", figures)
    print(f"wrote {out / 'normalization.png'} and {out / 'normalization.json'}")


def plot(features, best_curves, target, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    for ax, (name, x) in zip(axes, features.items()):
        ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.5)
        ax.set_title(f"features: {name}")
        ax.set_xlabel("age")
        ax.set_ylabel("km")
    ax = axes[3]
    for name, (lr, curve) in best_curves.items():
        if curve is not None:
            ax.plot(np.arange(1, len(curve) + 1), curve, label=f"{name} (lr {lr:g})")
    ax.axhline(target, color="gray", ls="--", lw=1, label="target")
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("train MSE")
    ax.set_title("loss at each scaling's fastest lr")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "normalization.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
