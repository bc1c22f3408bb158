"""Quickstart: a 64-128-64-10 ReLU MLP trained by SGD with momentum on scikit-learn's 8x8 digits.

Runs offline in seconds. Prints the test accuracy and writes, into --out, quickstart.png (loss
and accuracy per epoch, train and test) and quickstart.json (the same figures, the settings, the
final test accuracy and the wall time).

    python examples/quickstart.py            # ~97% test accuracy
    python examples/quickstart.py --quick    # a few epochs, for smoke tests
"""

import time

from common import example_parser, output_dir, pyplot, write_json

import microdl
import microdl.nn as nn
from microdl.data import DataLoader, TensorDataset, digits
from microdl.optim import SGD
from microdl.train import evaluate, fit


def mlp(sizes=(64, 128, 64, 10)):
    """Linear-ReLU pairs between the sizes, with a bare Linear (the logits) at the end."""
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def plot(history, path):
    plt = pyplot()
    epochs = range(1, history.epochs + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history.train_loss, label="train")
    ax_loss.plot(epochs, history.val_loss, label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
    ax_acc.plot(epochs, history.train_accuracy, label="train")
    ax_acc.plot(epochs, history.val_accuracy, label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("MLP 64-128-64-10 on the 8x8 digits, SGD with momentum")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser = example_parser(__doc__, epochs=30, lr=0.05)
    parser.add_argument("--batch-size", type=int, default=32, help="mini-batch size")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    args = parser.parse_args()
    epochs = 3 if args.quick else args.epochs
    out = output_dir(args, "quickstart")
    started = time.perf_counter()

    microdl.manual_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits(seed=args.seed)
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=512)
    model = mlp()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=args.lr, momentum=args.momentum)

    history = fit(model, loss_fn, optimizer, train_loader, epochs, val_loader=test_loader,
                  progress=not args.no_progress)
    test = evaluate(model, test_loader, loss_fn)
    wall_time = time.perf_counter() - started

    plot(history, out / "quickstart.png")
    figures = {
        "settings": {"epochs": epochs, "lr": args.lr, "momentum": args.momentum,
                     "batch_size": args.batch_size, "seed": args.seed,
                     "layers": [64, 128, 64, 10], "train_samples": len(x_train),
                     "test_samples": len(x_test)},
        "history": history.as_dict(),
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "train_time_s": sum(history.epoch_time),
        "wall_time_s": wall_time,
    }
    write_json(out / "quickstart.json", figures)
    print(f"test accuracy {test['accuracy']:.4f} (loss {test['loss']:.4f}) after {epochs} epochs; "
          f"{wall_time:.1f} s; figures in {out}")


if __name__ == "__main__":
    main()
