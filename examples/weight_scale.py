"""Does BatchNorm make training less sensitive to the scale of the weights?

Question. The article claims "BN makes training less sensitive to the scale of the weights":
multiply a layer's weights by a and the BatchNorm after it divides the a out again.

Setup, training. The paper's network (3 hidden layers of 100 sigmoid units, a 10-way softmax;
"BN" puts a BatchNorm1d before each sigmoid) with PyTorch's default initial weights, the
weights of the three hidden layers (those a BatchNorm follows in the BN net; the same layers in
the plain net) multiplied by a = 0.01, 0.1, 1, 10, 100. The output layer keeps its weights:
no BatchNorm follows it, so scaling it would blur the comparison. Plain SGD, batches of 60, lr
0.5 for both nets at every scale, 3,000 steps (3.6 epochs); validation accuracy every 250
steps, the test set once at the end. Fashion-MNIST, 50,000 training / 10,000 validation / 10,000
test images. Seeds 0-4 (a seed fixes the initial weights and the data order); a run whose loss
diverges counts as chance (10%) from there on.

Shared learning rate only. Each net at its own best lr would need, per net, a grid of at least
3 rates times 5 scales to pick from and 25 more runs at the picked rate: about three times this
example's budget. And the claim is about one setting working at every scale.

Verdicts (examples/claims.py's rule over the 5 seeds, all favouring BN):
  (a) spread over scales: per seed, the largest minus the smallest final validation accuracy
      over the 5 scales, in points; lower is better;
  (b) worst scale: per seed, the lowest final validation accuracy over the 5 scales; higher
      is better;
  (c), (d) test accuracy at the extreme scales, a = 0.01 and a = 100; higher is better.

The reason, checked numerically (float64, a layer of 100 inputs of unit variance, a batch of
60, PyTorch's default initial weights). BN((aW)u) = BN(Wu) for a > 0: the batch mean scales by
a and the std by |a|, so they cancel; and then dL/d(aW) = dL/dW / a (larger weights get smaller
updates: the paper's section 3.3). For a log grid of a from 0.01 to 100 we measure
max |BN((aW)u) - BN(Wu)| and max |a dL/d(aW) - dL/dW| / max |dL/dW|, with BatchNorm1d's
default eps = 1e-5 and with eps -> 0 (1e-300: batch_norm, like PyTorch's, refuses eps = 0 while
training; next to these variances 1e-300 is zero in float64). eps is added to the variance:
var(aWu) + eps = a^2 var(Wu) + eps, so BN(aWu) = BN_(eps/a^2)(Wu) -- scaling the weights by a
is dividing eps by a^2. For large a that only removes eps's small footprint on BN(Wu), about
eps / (2 var(Wu)) relative; for small a, eps / a^2 grows towards var(Wu) and the invariance
breaks: when a^2 var(Wu) is not much larger than eps. The output prints, from the data, the
largest a at which the output difference exceeds 1e-4 (not 1e-6: for every a > 1 the
difference stays at eps's footprint, about 8e-5 here). Hidden layers of this network see
sigmoid outputs, whose variance is far below 1, so there the invariance breaks at larger a.

Budget: 50 runs of 3,000 steps, about 4 to 5 minutes on one core (1.3 ms a step without BN,
1.6 ms with; 0.05 s per validation pass); about 6 minutes with two processes per core.

    python examples/weight_scale.py [--dataset fashion-mnist] [--seeds 5] [--quick]
"""

import time
from collections import namedtuple

import claims
import numpy as np
from common import example_parser, output_dir, pyplot
from paper import BATCH, DATASETS, accuracy, paper_mlp, train_steps

import microdl
import microdl.functional as F
import microdl.nn as nn

Budget = namedtuple("Budget", "scales steps eval_every")
FULL = Budget(scales=(0.01, 0.1, 1.0, 10.0, 100.0), steps=3_000, eval_every=250)
QUICK = Budget(scales=(0.01, 100.0), steps=40, eval_every=40)
LR = 0.5
NETS = {"without_bn": None, "with_bn": "batch"}  # name -> paper_mlp's norm
LABELS = {"without_bn": "no BN", "with_bn": "BN"}
CHANCE = 0.1  # a diverged run counts as guessing among 10 classes
CLAIM = "BN makes training less sensitive to the scale of the weights"

INVARIANCE_SCALES = np.array([0.01, 0.0316, 0.1, 0.316, 3.16, 10, 31.6, 100])  # a = 1 is trivial
EPSILONS = {"1e-5": 1e-5, "0": 1e-300}  # BatchNorm1d's default, and eps -> 0 (see docstring)
TOLERANCE = 1e-4  # above eps's own footprint on BN(Wu) (~1e-5 here): "invariance broken"


def scale_invariance(a, eps, width=100, seed=0):
    """Max |BN((aW)u) - BN(Wu)| and max |a dL/d(aW) - dL/dW| / max |dL/dW|, in float64."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((BATCH, width))  # a batch of inputs with unit variance
    bound = 1 / np.sqrt(width)  # PyTorch's default initial weights for Linear(width, width)
    w = rng.uniform(-bound, bound, (width, width))
    upstream = rng.standard_normal((BATCH, width))  # stands in for dL/d(BN output)
    outputs, grads = [], []
    for weights in (w, a * w):
        wt = microdl.tensor(weights, requires_grad=True)
        y = nn.BatchNorm1d(width, eps=eps).double()(F.linear(microdl.tensor(u), wt))
        (y * microdl.tensor(upstream)).sum().backward()
        outputs.append(y.array)
        grads.append(wt.grad.array)
    return {"max_output_difference": float(np.abs(outputs[1] - outputs[0]).max()),
            "max_relative_gradient_difference": float(
                np.abs(a * grads[1] - grads[0]).max() / np.abs(grads[0]).max()),
            "variance_of_Wu": float((u @ w.T).var(axis=0).mean())}


def invariance_check():
    checks = {name: [scale_invariance(a, eps) for a in INVARIANCE_SCALES]
              for name, eps in EPSILONS.items()}
    result = {"a": INVARIANCE_SCALES.tolist(), "tolerance": TOLERANCE,
              "variance_of_Wu": checks["0"][0]["variance_of_Wu"]}
    for name, rows in checks.items():
        result[f"eps={name}"] = {key: [row[key] for row in rows] for key in
                                 ("max_output_difference", "max_relative_gradient_difference")}
    broken = [a for a, d in zip(INVARIANCE_SCALES, result["eps=1e-5"]["max_output_difference"])
              if d > TOLERANCE]
    result["largest_a_over_tolerance"] = float(max(broken)) if broken else None
    return result


def train_run(split, net, scale, seed, budget, progress):
    """One net at one weight scale and seed: validation accuracy every eval_every steps (and
    at step 0), test accuracy once at the end."""
    microdl.manual_seed(seed)
    model = paper_mlp(split.train[0].shape[1], 10, norm=NETS[net], init_scale=scale,
                      scale_output_layer=False)
    curve = []

    def on_eval(step):
        curve.append(accuracy(model, *split.validation))

    on_eval(0)
    loss = train_steps(model, split.train, budget.steps, LR, seed, budget.eval_every, on_eval,
                       progress=progress, label=f"{LABELS[net]} x{scale:g} seed {seed}")
    diverged = not np.isfinite(loss)
    curve += [CHANCE] * (budget.steps // budget.eval_every + 1 - len(curve))
    return {"validation_accuracy": curve, "diverged": diverged,
            "test_accuracy": CHANCE if diverged else accuracy(model, *split.test)}


def main():
    parser = example_parser(__doc__, dataset="fashion-mnist", datasets=DATASETS, seed=False)
    claims.add_protocol_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    budget = QUICK if args.quick else FULL
    seeds = claims.seeds_of(args)
    split = claims.load_split(args.dataset, quick=args.quick)
    out = output_dir(args, "weight_scale")

    invariance = invariance_check()
    runs = {net: {scale: [train_run(split, net, scale, seed, budget, not args.no_progress)
                          for seed in seeds] for scale in budget.scales} for net in NETS}

    def final(net):
        """(scales, seeds) array of final validation accuracies, in %."""
        return np.array([[100 * r["validation_accuracy"][-1] for r in runs[net][scale]]
                         for scale in budget.scales])

    spread = {net: final(net).max(axis=0) - final(net).min(axis=0) for net in NETS}
    worst = {net: final(net).min(axis=0) for net in NETS}
    dataset = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(split.name, split.name)
    scales = ", ".join(f"{a:g}" for a in budget.scales)
    experiment = (f"3x100 sigmoid MLP, {dataset}, {budget.steps:,} steps, lr {LR:g} both, "
                  f"hidden weights x{scales}")
    rows = [(f"spread of the final validation accuracy over weight scales {scales} (max - min "
             "per seed, points), lower is better", spread, False),
            (f"worst final validation accuracy over weight scales {scales} (%), higher is "
             "better", worst, True)]
    rows += [(f"test accuracy with hidden weights x{a:g}, after {budget.steps:,} steps (%), "
              "higher is better", {net: [100 * r["test_accuracy"] for r in runs[net][a]]
                                   for net in NETS}, True)
             for a in (budget.scales[0], budget.scales[-1])]
    verdicts = [claims.verdict(CLAIM, measure, values["with_bn"], values["without_bn"],
                               higher_is_better=higher, experiment=experiment)
                for measure, values, higher in rows]

    prefix = f"[{claims.QUICK_NOTE}] " if args.quick else ""
    largest = invariance["largest_a_over_tolerance"]
    print(f"{prefix}BN((aW)u) vs BN(Wu), eps 1e-5: differences above {TOLERANCE:g} up to a = "
          f"{largest if largest is None else f'{largest:.3g}'}; eps -> 0: at most "
          f"{max(invariance['eps=0']['max_output_difference']):.1e} over a = 0.01 to 100")
    claims.print_verdicts(verdicts, args.quick)
    results = {net: {f"{scale:g}": {
        "validation_accuracy": [r["validation_accuracy"] for r in net_runs],
        "test_accuracy": [r["test_accuracy"] for r in net_runs],
        "diverged": [r["diverged"] for r in net_runs]}
        for scale, net_runs in runs[net].items()} for net in NETS}
    steps = list(range(0, budget.steps + 1, budget.eval_every))
    plot(results, steps, budget, invariance, dataset, len(seeds), out)
    claims.write_claims(out / "weight_scale.json", split=split, seeds=seeds, started=started,
                        verdicts=verdicts, quick=args.quick, budget=budget._asdict(), lr=LR,
                        batch=BATCH, steps=steps, runs=results, invariance=invariance,
                        spread={net: v.tolist() for net, v in spread.items()},
                        worst_scale={net: v.tolist() for net, v in worst.items()})
    print(f"wrote {out / 'weight_scale.png'} and {out / 'weight_scale.json'}")


def plot(results, steps, budget, invariance, dataset, seeds, out):
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(budget.scales)))
    for ax, net, letter in ((axes[0, 0], "without_bn", "a"), (axes[0, 1], "with_bn", "b")):
        for color, (scale, r) in zip(colors, results[net].items()):
            claims.band(ax, steps, 100 * np.array(r["validation_accuracy"]),
                        f"hidden weights x{scale}", color=color)
        ax.set(title=f"({letter}) {LABELS[net]}, lr {LR:g}, {dataset}", xlabel="training step",
               ylabel="validation accuracy (%)")
        ax.legend(title=claims.BAND_NOTE, fontsize=8, title_fontsize=8)
    axes[0, 1].sharey(axes[0, 0])

    ax = axes[1, 0]
    for net, color in (("without_bn", "C0"), ("with_bn", "C1")):
        finals = [[100 * curve[-1] for curve in results[net][f"{a:g}"]["validation_accuracy"]]
                  for a in budget.scales]
        claims.band(ax, budget.scales, np.array(finals).T, LABELS[net], color=color, marker="o")
    ax.set_xscale("log")
    ax.set(title=f"(c) final validation accuracy ({budget.steps:,} steps) against the scale",
           xlabel="a: hidden layers' initial weights multiplied by (log scale)",
           ylabel="validation accuracy (%)")
    ax.legend(title=claims.BAND_NOTE, fontsize=8, title_fontsize=8)

    ax = axes[1, 1]
    floor = 1e-18  # a log axis cannot show an exact 0: draw one here
    for name, color, shown in (("1e-5", "C3", "eps = 1e-5"), ("0", "C2", "eps -> 0")):
        for key, style, what in (("max_output_difference", "-o", "max |BN(aWu) - BN(Wu)|"),
                                 ("max_relative_gradient_difference", "--s",
                                  "max |a dL/d(aW) - dL/dW| / max |dL/dW|")):
            ax.plot(invariance["a"], np.maximum(invariance[f"eps={name}"][key], floor), style,
                    color=color, ms=4, label=f"{shown}: {what}")
    ax.axhline(TOLERANCE, color="gray", lw=0.8, ls=":", label=f"tolerance {TOLERANCE:.0e}")
    ax.set(xscale="log", yscale="log", xlabel="a: weights multiplied by (log scale)",
           ylabel=f"difference (log scale; 0 drawn at {floor:g})",
           title="(d) BN's scale invariance, float64: eps breaks it for small a")
    ax.legend(fontsize=8, loc="center")
    fig.text(0.5, 0.005, f"(a)-(c): {claims.BAND_NOTE} over {seeds} seeds. (d): one layer of "
             "100 units, PyTorch's default weights, a batch of 60 unit-variance inputs.",
             ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(out / "weight_scale.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
