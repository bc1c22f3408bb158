"""Ioffe & Szegedy (2015), section 4.1, reproduced: does BatchNorm train faster and keep the
distribution of a sigmoid's input stable?

Two copies of the paper's network (3 x 100 sigmoid units, small Gaussian initial weights,
batch 60), one with BatchNorm1d before each sigmoid, trained side by side with the same data
order. Every --eval-every steps we record test accuracy (the paper's Fig. 1a) and the 15th,
50th and 85th percentiles over test images of the input to one sigmoid of the last hidden layer
(Fig. 1b without BN, Fig. 1c with BN).

    python examples/batchnorm_paper.py [--dataset fashion-mnist] [--steps 50000] [--quick]
"""

import time

import numpy as np
from common import example_parser, output_dir, pyplot, write_json
from paper import DATASETS, accuracy, last_sigmoid_input, load_dataset, paper_mlp, train_steps

import microdl

NEURON = 0  # which sigmoid of the last hidden layer we watch
PERCENTILES = (15, 50, 85)


def run(dataset, batch_norm, args, steps, eval_every):
    train, (x_test, y_test) = dataset
    microdl.manual_seed(args.seed)
    model = paper_mlp(train[0].shape[1], 10, batch_norm, init_std=args.init_std)
    record = {"step": [], "test_accuracy": [], "sigmoid_input_percentiles": []}
    probe = x_test[:1000]

    def on_eval(step):
        record["step"].append(step)
        record["test_accuracy"].append(accuracy(model, x_test, y_test))
        model.eval()
        values = last_sigmoid_input(model, probe)[:, NEURON]
        model.train()
        record["sigmoid_input_percentiles"].append(
            [float(v) for v in np.percentile(values, PERCENTILES)])

    started = time.perf_counter()
    on_eval(0)
    train_steps(model, train, steps, args.lr, args.seed, eval_every, on_eval,
                progress=not args.no_progress, label="with BN" if batch_norm else "without BN")
    record["seconds"] = time.perf_counter() - started
    record["final_test_accuracy"] = record["test_accuracy"][-1]
    return record


def steps_to_reach(record, accuracy_level):
    for step, acc in zip(record["step"], record["test_accuracy"]):
        if acc >= accuracy_level:
            return step
    return None


def main():
    parser = example_parser(__doc__, steps=50_000, lr=0.5,
                            dataset="fashion-mnist", datasets=DATASETS)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--init-std", type=float, default=0.05,
                        help="std of the Gaussian initial weights")
    args = parser.parse_args()
    dataset_name = "digits" if args.quick else args.dataset
    steps = 200 if args.quick else args.steps
    eval_every = 50 if args.quick else args.eval_every
    out = output_dir(args, "batchnorm_paper")
    dataset = load_dataset(dataset_name)
    results = {name: run(dataset, bn, args, steps, eval_every)
               for name, bn in (("without_bn", False), ("with_bn", True))}
    plain_final = results["without_bn"]["final_test_accuracy"]
    figures = {
        "dataset": dataset_name, "steps": steps, "lr": args.lr, "init_std": args.init_std,
        "batch": 60, "percentiles": list(PERCENTILES), "runs": results,
        # How much sooner BN reaches the accuracy the plain network ends with.
        "steps_to_plain_final_accuracy": {
            name: steps_to_reach(r, plain_final) for name, r in results.items()},
    }
    for name, r in results.items():
        print(f"{name:>10}: final test accuracy {r['final_test_accuracy']:.4f} "
              f"({r['seconds']:.0f} s); reaches {plain_final:.4f} at step "
              f"{figures['steps_to_plain_final_accuracy'][name]}")
    plot(results, dataset_name, out)
    write_json(out / "batchnorm_paper.json", figures)
    print(f"wrote {out / 'batchnorm_paper.png'} and {out / 'batchnorm_paper.json'}")


def plot(results, dataset_name, out):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for name, r in results.items():
        axes[0].plot(r["step"], r["test_accuracy"], label=name.replace("_", " "))
    axes[0].set_title(f"(a) test accuracy, {dataset_name}")
    axes[0].set_xlabel("training step")
    axes[0].legend()
    for ax, name, title in ((axes[1], "without_bn", "(b) without BN"),
                            (axes[2], "with_bn", "(c) with BN")):
        r = results[name]
        p = np.array(r["sigmoid_input_percentiles"])
        for i, q in enumerate(PERCENTILES):
            ax.plot(r["step"], p[:, i], label=f"{q}th percentile")
        ax.set_title(f"{title}: input to one last-layer sigmoid")
        ax.set_xlabel("training step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "batchnorm_paper.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
