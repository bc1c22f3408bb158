"""BN's limits: what happens to BatchNorm, LayerNorm and GroupNorm at small batches?

Question. BN normalizes each unit with the mean and variance of the current batch. "BN's batch
statistics stop working at small batches; GroupNorm and LayerNorm do not depend on the batch"
(Wu & He 2018, Group Normalization): they normalize each example over its own units. And with
small batches BN's training-mode outputs (batch statistics) and inference-mode outputs (running
statistics) disagree (Ioffe 2017, Batch Renormalization).

Setup. The paper's network (3 hidden layers of 100 sigmoid units, a 10-way softmax, PyTorch's
default initial weights) with no normalization, BN, LayerNorm (over the 100 units of a layer)
or GroupNorm (10 groups of 10 units) before each sigmoid; plain SGD. Batch sizes 2, 4, ..., 256;
every run sees the same 12,000 training examples (a quarter of an epoch: batch 2 takes 6,000
steps, batch 256 takes 46), with the learning rate scaled linearly with the batch (Goyal et al.
2017): lr = base * batch / 60. Fashion-MNIST, 50,000 training / 10,000 validation / 10,000 test
images; seeds 0-4 (a seed fixes the initial weights and the data order). At the large batches
the few steps cost every network accuracy, for reasons that have nothing to do with batch
statistics (and the scaled lr may be too large there): the claim is about the small-batch end.

Learning rates. Each normalization's base lr is picked on validation at batch 64 from 0.03, 0.1,
0.3, 1, 3, 10 (the best mean validation accuracy over the seeds; the same runs are the batch-64
points) and used, scaled, at every batch size. That sweep is also the shared-lr comparison:
every normalization at every base lr, at batch 64 (panel c). There is no shared-lr or
per-batch-size lr grid at the small batches: the runs at batches 2 and 4 are three quarters of
the budget, so a second grid would double it. Batch 64 is a cheap batch where all four
networks train; whether another lr would rescue BN at batch 2 is not tested here.

Measured per run, at the end: validation accuracy in eval mode (BN uses its running statistics),
test accuracy (the test set once per run), and for BN the validation accuracy in train mode,
in batches of the training batch size (batch statistics; BN's buffers are restored afterwards).

Verdicts (examples/claims.py's rule over the seeds):
  (a), (b) test accuracy at batch 2: GroupNorm vs BN and LayerNorm vs BN, each at its own lr;
      higher is better; the claim favours the alternative (the "baseline" side of the row);
  (c) test accuracy at batch 64: BN vs no normalization; higher is better; favours BN;
  (d) BN's |train-mode - eval-mode| validation accuracy, batch 2 against batch 64, in points;
      lower is better; the claim favours batch 64 (the "baseline" side of the row).
The large batch of (c) and (d) is 64, where the lrs were picked: at 128 and 256 the scaled lr
of the net without normalization can lie beyond the swept range (in a 2-seed trial run it
diverged there), which would make (c) a comparison with a broken baseline.

Budget: 120 lr-sweep runs of 187 steps and 140 more runs (4 normalizations x 7 batch sizes x 5
seeds), about 6 minutes on one core, 8 on a busy machine (1.0-1.2 ms a step at batches 2-16,
2-5 ms at 128-256; a train-mode pass over the validation set in batches of 2 takes about 2 s;
measured: the same grid with 2 seeds took 3 minutes on a shared machine).

    python examples/batch_size.py [--dataset fashion-mnist] [--examples 12000] [--seeds 5]
                                  [--quick]
"""

import time
from collections import namedtuple

import claims
import numpy as np
from common import example_parser, output_dir, pyplot
from paper import BATCH, DATASETS, accuracy, paper_mlp, train_steps

import microdl

Budget = namedtuple("Budget", "batches base_lrs examples eval_examples")
FULL = Budget(batches=(2, 4, 8, 16, 32, 64, 128, 256), base_lrs=(0.03, 0.1, 0.3, 1.0, 3.0, 10.0),
              examples=12_000, eval_examples=None)
QUICK = Budget(batches=(2, 64), base_lrs=(0.1, 1.0), examples=256, eval_examples=500)
REFERENCE_BATCH = 64  # where each normalization's base lr is picked; the "large" batch of
# verdicts (c) and (d): the one batch where no net runs at an lr extrapolated by the rule
NORMS = {"none": None, "batch": "batch", "layer": "layer", "group": "group"}  # -> paper_mlp
LABELS = {"none": "no normalization", "batch": "BN", "layer": "LayerNorm", "group": "GroupNorm"}
CLAIM = ("BN's batch statistics stop working at small batches; GroupNorm and LayerNorm do not "
         "depend on the batch")
GAP_CLAIM = ("at small batches BN's training-mode (batch statistics) and inference-mode "
             "(running statistics) outputs disagree")


def lr_at(base_lr, batch):
    """The linear scaling rule: base_lr is the learning rate at the paper's batch of 60."""
    return base_lr * batch / BATCH


def train(split, norm, batch, base_lr, seed, examples, progress):
    microdl.manual_seed(seed)
    model = paper_mlp(split.train[0].shape[1], 10, norm=NORMS[norm])
    train_steps(model, split.train, examples // batch, lr_at(base_lr, batch), seed,
                progress=progress, label=f"{LABELS[norm]} batch {batch} seed {seed}",
                batch=batch)
    return model


def train_mode_accuracy(model, x, y, batch):
    """Accuracy with BN in train mode: each batch of `batch` examples normalized with its own
    statistics, as during training. Only whole batches are scored, as only whole batches are
    trained on (10,000 validation images: 9,984 of them at batches of 32 and more). A
    train-mode forward also moves BN's running statistics, so they are saved first and put
    back after."""
    saved = model.state_dict()  # copies
    model.train()
    scored = len(x) // batch * batch
    correct = 0
    with microdl.no_grad():
        for lo in range(0, scored, batch):
            logits = model(microdl.from_numpy(x[lo:lo + batch]))
            correct += int((logits.array.argmax(axis=1) == y[lo:lo + batch]).sum())
    model.load_state_dict(saved)
    return correct / scored


def shrink(split, n):
    """The quick run's validation and test sets: their first n examples."""
    return split._replace(validation=tuple(a[:n] for a in split.validation),
                          test=tuple(a[:n] for a in split.test))


def main():
    parser = example_parser(__doc__, dataset="fashion-mnist", datasets=DATASETS, seed=False)
    parser.add_argument("--examples", type=int, default=FULL.examples,
                        help=f"training examples seen by every run (default {FULL.examples:,})")
    claims.add_protocol_arguments(parser)
    args = parser.parse_args()
    started = time.perf_counter()
    budget = QUICK if args.quick else FULL._replace(examples=args.examples)
    seeds = claims.seeds_of(args)
    split = claims.load_split(args.dataset, quick=args.quick)
    if budget.eval_examples:
        split = shrink(split, budget.eval_examples)
    out = output_dir(args, "batch_size")
    progress = not args.no_progress

    # 1. Each normalization's base lr, picked on validation at the reference batch.
    sweep, sweep_models = {}, {}
    for norm in NORMS:
        sweep[norm] = {}
        for base in budget.base_lrs:
            models = [train(split, norm, REFERENCE_BATCH, base, seed, budget.examples, progress)
                      for seed in seeds]
            sweep[norm][base] = [100 * accuracy(m, *split.validation) for m in models]
            sweep_models[norm, base] = models
    best_lr = {norm: max(budget.base_lrs, key=lambda base: np.mean(sweep[norm][base]))
               for norm in NORMS}
    print("base lr picked on validation at batch", REFERENCE_BATCH, ":",
          ", ".join(f"{LABELS[n]} {lr:g}" for n, lr in best_lr.items()))

    # 2. Every normalization at every batch size, at its own base lr.
    results = {norm: {} for norm in NORMS}
    for norm in NORMS:
        for batch in budget.batches:
            models = (sweep_models[norm, best_lr[norm]] if batch == REFERENCE_BATCH else
                      [train(split, norm, batch, best_lr[norm], seed, budget.examples,
                             progress) for seed in seeds])
            r = {"validation_accuracy": [100 * accuracy(m, *split.validation) for m in models],
                 "test_accuracy": [100 * accuracy(m, *split.test) for m in models]}
            if norm == "batch":
                r["validation_accuracy_train_mode"] = [
                    100 * train_mode_accuracy(m, *split.validation, batch) for m in models]
            results[norm][batch] = r
            print(f"{LABELS[norm]:>16}, batch {batch:3d}: test accuracy "
                  f"{np.mean(r['test_accuracy']):.2f} +- {np.std(r['test_accuracy'], ddof=1):.2f}%")

    verdicts = make_verdicts(results, budget, best_lr, split.name)
    claims.print_verdicts(verdicts, args.quick)
    plot(results, sweep, budget, best_lr, split.name, len(seeds), out)
    gaps = {batch: list(np.abs(np.subtract(r["validation_accuracy_train_mode"],
                                           r["validation_accuracy"])))
            for batch, r in results["batch"].items()}
    claims.write_claims(
        out / "batch_size.json", split=split, seeds=seeds, started=started, verdicts=verdicts,
        quick=args.quick, budget=budget._asdict(), reference_batch=REFERENCE_BATCH,
        lr_rule="lr = base_lr * batch / 60", base_lr=best_lr,
        lr_sweep_validation_accuracy={n: {f"{b:g}": v for b, v in s.items()}
                                      for n, s in sweep.items()},
        results=results, bn_train_eval_gap_points=gaps)
    print(f"wrote {out / 'batch_size.png'} and {out / 'batch_size.json'}")


def make_verdicts(results, budget, best_lr, dataset):
    small, large = budget.batches[0], REFERENCE_BATCH
    dataset = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(dataset, dataset)

    def test(norm, batch):
        return results[norm][batch]["test_accuracy"]

    def setting(batch, *norms):
        lrs = " vs ".join(f"{LABELS[n]} {lr_at(best_lr[n], batch):.3g}" for n in norms)
        return (f"3x100 sigmoid MLP, {dataset}, batch {batch}, {budget.examples:,} examples, "
                f"own best lr ({lrs})")

    measure = f"test accuracy after {budget.examples:,} training examples (%), higher is better"
    verdicts = [claims.verdict(CLAIM, measure, test("batch", small), test(alt, small),
                               favours="baseline", experiment=setting(small, "batch", alt),
                               bn_label=f"BN (batch {small})",
                               baseline_label=f"{LABELS[alt]} (batch {small})")
                for alt in ("group", "layer")]
    verdicts.append(claims.verdict(
        "BN makes training faster", measure, test("batch", large), test("none", large),
        experiment=setting(large, "batch", "none"), bn_label=f"BN (batch {large})",
        baseline_label=f"no normalization (batch {large})"))

    def gap(batch):
        r = results["batch"][batch]
        return np.abs(np.subtract(r["validation_accuracy_train_mode"], r["validation_accuracy"]))

    verdicts.append(claims.verdict(
        GAP_CLAIM, "|validation accuracy in train mode (batch statistics) - in eval mode "
        "(running statistics)| (points), lower is better", gap(small), gap(large),
        higher_is_better=False, favours="baseline", bn_label=f"BN (batch {small})",
        baseline_label=f"BN (batch {large})",
        experiment=f"3x100 sigmoid MLP with BN, {dataset}, {budget.examples:,} examples"))
    return verdicts


def plot(results, sweep, budget, best_lr, dataset, seeds, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(17, 5), sharey=True)
    batches = list(budget.batches)
    colors = {"none": "C7", "batch": "C1", "layer": "C0", "group": "C2"}

    ax = axes[0]
    for norm, by_batch in results.items():
        runs = np.array([by_batch[b]["test_accuracy"] for b in batches]).T
        claims.band(ax, batches, runs, f"{LABELS[norm]} (base lr {best_lr[norm]:g})",
                    color=colors[norm], marker="o", ms=4)
    ax.set(title=f"(a) test accuracy after {budget.examples:,} examples, each at its own lr",
           ylabel="accuracy (%)")

    ax = axes[1]
    bn = results["batch"]
    for key, label, style in (("validation_accuracy", "eval mode (running statistics)", "-"),
                              ("validation_accuracy_train_mode",
                               "train mode (statistics of batches of that size)", "--")):
        claims.band(ax, batches, np.array([bn[b][key] for b in batches]).T, label,
                    color=colors["batch"], ls=style, marker="o", ms=4)
    ax.set(title="(b) BN: validation accuracy, eval mode vs train mode")
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.set_xlabel("batch size (examples, log scale); lr = base lr x batch / 60")

    ax = axes[2]
    for norm, by_lr in sweep.items():
        claims.band(ax, budget.base_lrs, np.array(list(by_lr.values())).T, LABELS[norm],
                    color=colors[norm], marker="o", ms=4)
    ax.set_xscale("log")
    ax.set_xticks(budget.base_lrs, [f"{b:g}" for b in budget.base_lrs])
    ax.set(title=f"(c) picking the base lr: validation accuracy at batch {REFERENCE_BATCH}",
           xlabel="base lr (the lr at batch 60; log scale)")
    for ax in axes:
        ax.axhline(10, color="gray", lw=0.8, ls=":")  # chance: 10 classes
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(title=claims.BAND_NOTE, fontsize=8, title_fontsize=8, loc="best")
    axes[1].yaxis.set_tick_params(labelleft=True)
    dataset = {"fashion-mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(dataset, dataset)
    fig.text(0.5, 0.01, f"{dataset}, paper MLP (3x100 sigmoid), plain SGD, every run sees "
             f"{budget.examples:,} training examples ({budget.examples // batches[0]:,} steps "
             f"at batch {batches[0]}, {budget.examples // batches[-1]:,} at batch "
             f"{batches[-1]}); {seeds} seeds; dotted line: chance (10%)", ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(out / "batch_size.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
