"""Is a BatchNorm network insensitive to the scale of its weights?

1. Training: the paper's network with PyTorch's default initial weights multiplied by 0.01,
   0.1, 1, 10 and 100, with and without BatchNorm; test accuracy curves for each.
2. The reason, checked numerically: for a linear layer W followed by BatchNorm,
   BN((aW)u) = BN(Wu) for any a > 0 (the batch mean and std scale by a and cancel), and the
   gradient with respect to the scaled weights is 1/a times the gradient with respect to W,
   so larger weights get smaller updates and the scale stabilises itself (paper, section 3.3).

    python examples/weight_scale.py [--dataset fashion-mnist] [--steps 5000] [--quick]
"""

import numpy as np
from common import example_parser, output_dir, pyplot, write_json
from paper import DATASETS, accuracy, load_dataset, paper_mlp, train_steps

import microdl
import microdl.functional as F
import microdl.nn as nn

SCALES = (0.01, 0.1, 1.0, 10.0, 100.0)


def scale_invariance(seed, a=10.0):
    """Max |BN((aW)u) - BN(Wu)| and max |a * grad_aW - grad_W| relative to |grad_W|, float64."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((64, 20))
    w = rng.standard_normal((30, 20))
    upstream = rng.standard_normal((64, 30))
    outputs, grads = [], []
    for weights in (w, a * w):
        wt = microdl.tensor(weights, requires_grad=True)
        bn = nn.BatchNorm1d(30).double()
        y = bn(F.linear(microdl.tensor(u), wt))
        (y * microdl.tensor(upstream)).sum().backward()
        outputs.append(y.array)
        grads.append(wt.grad.array)
    return {
        "a": a,
        "max_output_difference": float(np.abs(outputs[1] - outputs[0]).max()),
        "max_relative_gradient_difference": float(
            np.abs(a * grads[1] - grads[0]).max() / np.abs(grads[0]).max()),
    }


def main():
    parser = example_parser(__doc__, steps=5_000, lr=0.5,
                            dataset="fashion-mnist", datasets=DATASETS)
    parser.add_argument("--eval-every", type=int, default=250)
    args = parser.parse_args()
    dataset_name = "digits" if args.quick else args.dataset
    steps = 60 if args.quick else args.steps
    eval_every = 20 if args.quick else args.eval_every
    scales = (0.1, 10.0) if args.quick else SCALES
    out = output_dir(args, "weight_scale")
    train, (x_test, y_test) = load_dataset(dataset_name)
    figures = {"dataset": dataset_name, "steps": steps, "lr": args.lr, "scales": list(scales),
               "invariance": scale_invariance(args.seed), "runs": {}}
    for name, bn in (("without_bn", False), ("with_bn", True)):
        figures["runs"][name] = {}
        for scale in scales:
            microdl.manual_seed(args.seed)
            model = paper_mlp(train[0].shape[1], 10, bn, init_scale=scale)
            curve = {"step": [], "test_accuracy": []}

            def on_eval(step, model=model, curve=curve):
                curve["step"].append(step)
                curve["test_accuracy"].append(accuracy(model, x_test, y_test))

            loss = train_steps(model, train, steps, args.lr, args.seed, eval_every, on_eval,
                               progress=not args.no_progress, label=f"x{scale:g} {name}")
            curve["diverged"] = not np.isfinite(loss)
            curve["final_test_accuracy"] = curve["test_accuracy"][-1] if curve["step"] else 0.1
            figures["runs"][name][f"{scale:g}"] = curve
            print(f"{name:>10} weights x{scale:<6g}: final test accuracy "
                  f"{curve['final_test_accuracy']:.4f}{' (diverged)' if curve['diverged'] else ''}")
    # How far apart the final accuracies of the scales are: small means scale-insensitive.
    figures["final_accuracy_spread"] = {
        name: float(max(r["final_test_accuracy"] for r in runs.values())
                    - min(r["final_test_accuracy"] for r in runs.values()))
        for name, runs in figures["runs"].items()}
    inv = figures["invariance"]
    print(f"BN((aW)u) vs BN(Wu), a={inv['a']}: max difference {inv['max_output_difference']:.2e};"
          f" a*grad(aW) vs grad(W): {inv['max_relative_gradient_difference']:.2e} relative")
    plot(figures, out)
    write_json(out / "weight_scale.json", figures)
    print(f"wrote {out / 'weight_scale.png'} and {out / 'weight_scale.json'}")


def plot(figures, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, name in zip(axes, ("without_bn", "with_bn")):
        for scale, curve in figures["runs"][name].items():
            ax.plot(curve["step"], curve["test_accuracy"], label=f"weights x{scale}")
        ax.set_title(f"{name.replace('_', ' ')}, {figures['dataset']}")
        ax.set_xlabel("training step")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("test accuracy")
    fig.tight_layout()
    fig.savefig(out / "weight_scale.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
