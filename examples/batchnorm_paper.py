"""Ioffe & Szegedy (2015), section 4.1 and Fig. 1, measured: does BatchNorm make the paper's
network train faster, reach a higher accuracy, and keep the distribution of a layer's inputs
stable ("less internal covariate shift")?

Setup. The paper's network: 3 hidden layers of 100 sigmoid units, weights drawn from
N(0, 0.05^2), plain SGD on batches of 60; "BN" puts a BatchNorm1d before each sigmoid. Data:
Fashion-MNIST, 50,000 training / 10,000 validation (the end of the training set) / 10,000 test
images. Every run lasts 10,000 steps (12 epochs) and records the validation accuracy every 250
steps; the test set is evaluated once, at the end of each run. Seeds 0-4 (a seed fixes the
initial weights and the data order).

Learning rates, two settings. "Shared": both nets at lr 0.5 (the paper does not state its rate; 0.5
was this example's default). "Own best": each net at the rate from {0.1, 0.3, 0.5, 1, 3, 10}
with the best validation accuracy after 3,000 steps on a separate tuning seed (100), so the
seeds we report are not the seed the rate was picked on. A net whose best rate is 0.5 reuses
its shared runs; when both nets' is, the own-best verdicts would repeat the shared ones and
are left out.

Verdicts (examples/claims.py's rule on the mean and std over seeds; all favour BN, as the
paper does), each in both settings:
  * "BN makes training faster", two measures: (a) steps until the validation accuracy first
    reaches what the net without BN ends with (same seed), lower is better; a run that never
    gets there is censored at 10,250 (the budget plus one evaluation interval). (b) validation
    accuracy after 1,000 steps, higher is better.
  * (c) "BN helps the network achieve higher accuracy" (the paper's Fig. 1a caption): test
    accuracy after 10,000 steps, higher is better.
  * (d) "BN keeps the distribution of each layer's inputs stable during training" (Fig. 1b,c):
    for each of the 100 units of the last hidden layer, the 15th, 50th and 85th percentiles of
    its sigmoid's input over 1,000 fixed validation images; the drift of a percentile is
    |p(step 10,000) - p(step 1,000)| divided by that unit's final 15-85 range, averaged over
    units and percentiles; lower is better. Divided by the range because the two nets' inputs
    live on different scales (BN's are near unit variance, the plain net's are not), so raw
    distances would compare scales, not stability. From step 1,000 because the first steps
    are the transient out of the small random initialization, where every net moves a lot.

Figure: (a) validation accuracy against steps; (b), (c) without and with BN at the shared lr,
the three percentiles of every unit's sigmoid input, each unit shifted by its final median and
divided by its final 15-85 range, as the median over units and seeds with a 25-75% band
(the paper shows one unit of one run); (d) the drift of every seed.

--quick: 2 seeds, 100 steps, rates 0.5 and 3 tuned for 30 steps; a smoke test, not a
measurement.

Budget: 12 tuning runs of 3,000 steps and 20 runs of 10,000 steps (10 when a net's best rate
is 0.5), about 6 minutes on one core (1.1 ms a step without BN, 1.6 ms with).

    python examples/batchnorm_paper.py [--dataset fashion-mnist] [--seeds 5] [--quick]
"""

import time
from collections import namedtuple

import claims
import numpy as np
from common import example_parser, output_dir, pyplot
from paper import DATASETS, accuracy, last_sigmoid_input, paper_mlp, train_steps

import microdl

Budget = namedtuple("Budget", "steps eval_every early_step tune_steps learning_rates")
FULL = Budget(steps=10_000, eval_every=250, early_step=1_000, tune_steps=3_000,
              learning_rates=(0.1, 0.3, 0.5, 1.0, 3.0, 10.0))
QUICK = Budget(steps=100, eval_every=50, early_step=50, tune_steps=30, learning_rates=(0.5, 3.0))
SHARED_LR = 0.5
TUNING_SEED = 100  # picks the learning rates; never one of the reported seeds 0, 1, ...
INIT_STD = 0.05  # the paper's "small random Gaussian values"
NETS = {"without_bn": None, "with_bn": "batch"}  # name -> paper_mlp's norm
LABELS = {"without_bn": "no BN", "with_bn": "BN"}
PERCENTILES = (15, 50, 85)
PROBE = 1_000  # validation images whose sigmoid inputs we follow
CHANCE = 0.1  # a diverged run counts as guessing among 10 classes


def new_model(split, net, seed):
    microdl.manual_seed(seed)
    return paper_mlp(split.train[0].shape[1], 10, norm=NETS[net], init_std=INIT_STD)


def tune(split, budget, progress):
    """{net: {"learning_rates", "validation_accuracy", "best_lr"}} on TUNING_SEED."""
    tuning = {}
    for net in NETS:
        scores = []
        for lr in budget.learning_rates:
            model = new_model(split, net, TUNING_SEED)
            loss = train_steps(model, split.train, budget.tune_steps, lr, TUNING_SEED,
                               progress=progress, label=f"tuning {LABELS[net]} lr {lr:g}")
            scores.append(accuracy(model, *split.validation) if np.isfinite(loss) else CHANCE)
        tuning[net] = {"learning_rates": list(budget.learning_rates),
                       "validation_accuracy": scores,
                       "best_lr": budget.learning_rates[int(np.argmax(scores))]}
    return tuning


def train_run(split, net, lr, seed, budget, progress):
    """One seed of one net: validation accuracy and the last hidden layer's sigmoid-input
    percentiles (array: evaluations x 3 x units) every eval_every steps, test accuracy once."""
    model = new_model(split, net, seed)
    probe = split.validation[0][:PROBE]
    curve, percentiles = [], []

    def on_eval(step):
        curve.append(accuracy(model, *split.validation))
        model.eval()  # BN normalizes with its running statistics, as at test time
        percentiles.append(np.percentile(last_sigmoid_input(model, probe), PERCENTILES, axis=0))
        model.train()

    on_eval(0)
    loss = train_steps(model, split.train, budget.steps, lr, seed, budget.eval_every, on_eval,
                       progress=progress, label=f"{LABELS[net]} lr {lr:g} seed {seed}")
    diverged = not np.isfinite(loss)
    evaluations = budget.steps // budget.eval_every + 1
    curve += [CHANCE] * (evaluations - len(curve))  # after a divergence: chance
    return {"validation_accuracy": curve, "diverged": diverged,
            "test_accuracy": CHANCE if diverged else accuracy(model, *split.test),
            "percentiles": np.array(percentiles)}


def normalized(percentiles):
    """Each unit's percentile curves (evaluations x 3 x units) shifted by the unit's final
    median and divided by its final 15-85 range: what panels (b), (c) draw."""
    final = percentiles[-1]
    return (percentiles - final[1]) / (final[2] - final[0])


def drift(run, early_index):
    """Mean over units and percentiles of |p(end) - p(early)| / the unit's final 15-85 range
    (a diverged run ends at its last evaluation before the divergence)."""
    curves = normalized(run["percentiles"])
    if len(curves) <= early_index:
        return float("nan")
    return float(np.mean(np.abs(curves[-1] - curves[early_index])))


def normalized_band(runs):
    """Median and 25-75% band across units and seeds of each normalized percentile curve;
    each (3, evaluations)."""
    curves = [normalized(r["percentiles"]) for r in runs if not r["diverged"]]
    if not curves:
        return None
    q25, median, q75 = np.percentile(np.concatenate(curves, axis=2), (25, 50, 75), axis=2)
    return {"median": median.T.tolist(), "q25": q25.T.tolist(), "q75": q75.T.tolist()}


def steps_to_reach(curve, steps, target, censored):
    return next((step for step, acc in zip(steps, curve) if acc >= target), censored)


def verdicts_for(runs, lr_text, steps, budget, dataset):
    """The four verdicts of one learning-rate setting; runs: {net: [run per seed]}."""
    plain, bn = runs["without_bn"], runs["with_bn"]
    censored = budget.steps + budget.eval_every
    experiment = f"3x100 sigmoid MLP, {dataset}, {budget.steps:,} steps, {lr_text}"
    early = steps.index(budget.early_step)

    def reach(net_runs):
        return [steps_to_reach(r["validation_accuracy"], steps,
                               target["validation_accuracy"][-1], censored)
                for r, target in zip(net_runs, plain)]

    def percent(net_runs, key, index=None):
        return [100 * (r[key] if index is None else r[key][index]) for r in net_runs]

    rows = [
        ("BN makes training faster", "steps until the validation accuracy reaches the no-BN "
         f"net's final one (same seed; never reached = {censored:,}, censored), lower is better",
         reach(bn), reach(plain), False),
        ("BN makes training faster", f"validation accuracy after {budget.early_step:,} steps "
         "(%), higher is better", percent(bn, "validation_accuracy", early),
         percent(plain, "validation_accuracy", early), True),
        ("BN helps the network achieve higher accuracy (Ioffe & Szegedy, Fig. 1a)",
         f"test accuracy after {budget.steps:,} steps (%), higher is better",
         percent(bn, "test_accuracy"), percent(plain, "test_accuracy"), True),
        ("BN keeps the distribution of each layer's inputs stable during training",
         f"drift of the last hidden layer's sigmoid-input 15/50/85th percentiles from step "
         f"{budget.early_step:,} to {budget.steps:,}, in final 15-85 ranges (mean over units "
         "and percentiles), lower is better", [drift(r, early) for r in bn],
         [drift(r, early) for r in plain], False)]
    return [claims.verdict(claim, measure, bn_values, plain_values,
                           higher_is_better=higher, experiment=experiment)
            for claim, measure, bn_values, plain_values, higher in rows]


def main():
    parser = example_parser(__doc__, dataset="fashion-mnist", datasets=DATASETS, seed=False)
    claims.add_protocol_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    budget = QUICK if args.quick else FULL
    seeds = claims.seeds_of(args)
    split = claims.load_split(args.dataset, quick=args.quick)
    out = output_dir(args, "batchnorm_paper")
    progress = not args.no_progress
    steps = list(range(0, budget.steps + 1, budget.eval_every))

    tuning = tune(split, budget, progress)
    settings = {"shared": {net: SHARED_LR for net in NETS},
                "own_best": {net: tuning[net]["best_lr"] for net in NETS}}
    trained = {}  # (net, lr) -> runs over seeds, so a rate used twice is trained once
    for lrs in settings.values():
        for net, lr in lrs.items():
            if (net, lr) not in trained:
                trained[net, lr] = [train_run(split, net, lr, seed, budget, progress)
                                    for seed in seeds]

    dataset = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(split.name, split.name)
    verdicts, results = [], {}
    best = settings["own_best"]
    both_best = best == settings["shared"]  # then the two settings are the same runs: one set
    for setting, lrs in settings.items():
        runs = {net: trained[net, lr] for net, lr in lrs.items()}
        if setting == "shared":
            lr_text = f"lr {SHARED_LR:g} both" + (", each net's best" if both_best else "")
            verdicts += verdicts_for(runs, lr_text, steps, budget, dataset)
        elif not both_best:
            lr_text = f"own best lr (no BN {best['without_bn']:g}, BN {best['with_bn']:g})"
            verdicts += verdicts_for(runs, lr_text, steps, budget, dataset)
        early = steps.index(budget.early_step)
        results[setting] = {net: {
            "lr": lrs[net],
            "validation_accuracy": [r["validation_accuracy"] for r in net_runs],
            "test_accuracy": [r["test_accuracy"] for r in net_runs],
            "diverged": [r["diverged"] for r in net_runs],
            "drift": [drift(r, early) for r in net_runs],
            "normalized_percentiles": normalized_band(net_runs)} for net, net_runs in runs.items()}

    prefix = f"[{claims.QUICK_NOTE}] " if args.quick else ""
    print(f"{prefix}learning rates picked on validation (seed {TUNING_SEED}, "
          f"{budget.tune_steps:,} steps): " +
          ", ".join(f"{LABELS[net]} {lr:g}" for net, lr in settings["own_best"].items()))
    claims.print_verdicts(verdicts, args.quick)
    plot(results, steps, budget, dataset, out)
    claims.write_claims(out / "batchnorm_paper.json", split=split, seeds=seeds, started=started,
                        verdicts=verdicts, quick=args.quick, budget=budget._asdict(),
                        shared_lr=SHARED_LR, tuning_seed=TUNING_SEED, tuning=tuning,
                        init_std=INIT_STD, batch=60, percentiles=list(PERCENTILES),
                        probe_images=PROBE, steps=steps, results=results)
    print(f"wrote {out / 'batchnorm_paper.png'} and {out / 'batchnorm_paper.json'}")


def plot(results, steps, budget, dataset, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.6), gridspec_kw={"width_ratios": (4, 3, 3, 2)})
    colors = {"without_bn": "C0", "with_bn": "C1"}
    drawn = set()
    for setting, style in (("shared", "-"), ("own_best", "--")):
        for net, r in results[setting].items():
            if (net, r["lr"]) in drawn:
                continue  # own best = shared rate: the same runs
            drawn.add((net, r["lr"]))
            same = r["lr"] == results["own_best" if setting == "shared" else "shared"][net]["lr"]
            which = "shared = own best" if same else setting.replace("_", " ")
            claims.band(axes[0], steps, 100 * np.array(r["validation_accuracy"]),
                        f"{LABELS[net]}, lr {r['lr']:g} ({which})", color=colors[net], ls=style)
    axes[0].set(title=f"(a) validation accuracy, {dataset}", xlabel="training step",
                ylabel="validation accuracy (%)")
    axes[0].legend(title=claims.BAND_NOTE, fontsize=8, title_fontsize=8)

    for ax, net, letter in ((axes[1], "without_bn", "b"), (axes[2], "with_bn", "c")):
        band = results["shared"][net]["normalized_percentiles"]
        ax.axvline(budget.early_step, color="gray", lw=0.8, ls=":", label="drift measured from")
        for i, q in enumerate(PERCENTILES if band else ()):  # no band: every run diverged
            (line,) = ax.plot(steps, band["median"][i], label=f"{q}th percentile")
            ax.fill_between(steps, band["q25"][i], band["q75"][i], color=line.get_color(),
                            alpha=0.2, lw=0)
        ax.set(title=f"({letter}) {LABELS[net]}, lr {SHARED_LR:g}: last layer's sigmoid input",
               xlabel="training step",
               ylabel="(input - final median) / final 15-85 range")
    axes[2].legend(title="lines: median over units and seeds\nshading: 25-75% of them",
                   fontsize=8, title_fontsize=8)  # (b) draws the same lines
    axes[2].sharey(axes[1])

    for x, setting in enumerate(("shared", "own_best")):
        for offset, (net, r) in zip((-0.12, 0.12), results[setting].items()):
            values = np.array(r["drift"])
            axes[3].plot(np.full(len(values), x + offset), values, "o", color=colors[net],
                         alpha=0.6, label=LABELS[net] if x == 0 else None)
            axes[3].errorbar(x + offset + 0.06, values.mean(), values.std(ddof=1), fmt="_",
                             color="black", capsize=3)
    best = results["own_best"]
    axes[3].set_xticks((0, 1), (f"shared lr {SHARED_LR:g}", f"own best lr\n(no BN "
                               f"{best['without_bn']['lr']:g}, BN {best['with_bn']['lr']:g})"))
    axes[3].set(title="(d) drift per seed (lower: more stable)", xlim=(-0.5, 1.5), ylim=(0, None),
                ylabel=f"mean |p({budget.steps:,}) - p({budget.early_step:,})|\n"
                       "/ final 15-85 range")
    axes[3].legend(title="dots: seeds; bars: mean +- std", fontsize=8, title_fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "batchnorm_paper.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
