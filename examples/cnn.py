"""A small CNN with BatchNorm on Fashion-MNIST (or digits): conv-BN-ReLU-pool blocks.

    conv 3x3 32 - BN - ReLU - maxpool 2
    conv 3x3 64 - BN - ReLU - maxpool 2
    linear 3136 -> 128 - BN - ReLU - dropout - linear 128 -> 10

trained by SGD with Nesterov momentum, weight decay and a cosine learning-rate schedule, with
random horizontal flips of the training images. Prints and records test accuracy and the time
taken; the target on Fashion-MNIST is at least 92% within 15 minutes on 2 cores.

    python examples/cnn.py [--dataset fashion-mnist] [--epochs 12] [--quick]
"""

import time

import numpy as np
from common import example_parser, output_dir, pyplot, write_json

import microdl
import microdl.nn as nn
from microdl.data import DataLoader, TensorDataset, digits, fashion_mnist
from microdl.optim import SGD
from microdl.optim.lr_scheduler import CosineAnnealingLR
from microdl.train import fit


def cnn(image_size, classes=10):
    flat = 64 * (image_size // 4) ** 2
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(128, classes),
    )


def load_images(name):
    """(N, 1, H, W) float32 images standardized with the train set's mean and std."""
    if name == "digits":
        (x_train, y_train), (x_test, y_test) = digits()
        x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)
    else:
        (x_train, y_train), (x_test, y_test) = fashion_mnist()
        x_train = x_train.reshape(-1, 1, 28, 28).astype(np.float32) / 255
        x_test = x_test.reshape(-1, 1, 28, 28).astype(np.float32) / 255
    mean, std = x_train.mean(), x_train.std()
    return ((x_train - mean) / std).astype(np.float32), y_train, \
        ((x_test - mean) / std).astype(np.float32), y_test


class FlippedBatches:
    """Wraps a DataLoader: flips a random half of each batch left-right (augmentation)."""

    def __init__(self, loader, seed):
        self.loader, self.rng = loader, np.random.default_rng(seed)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            images = x.array.copy()
            flip = self.rng.random(len(images)) < 0.5
            images[flip] = images[flip, :, :, ::-1]
            yield microdl.from_numpy(images), y


def main():
    parser = example_parser(__doc__, epochs=12, lr=0.05,
                            dataset="fashion-mnist", datasets=("fashion-mnist", "digits"))
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    dataset = "digits" if args.quick else args.dataset
    epochs = 2 if args.quick else args.epochs
    out = output_dir(args, "cnn")
    microdl.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_images(dataset)
    if args.quick:
        x_train, y_train = x_train[:512], y_train[:512]
    model = cnn(x_train.shape[-1])
    opt = SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    scheduler = CosineAnnealingLR(opt, T_max=epochs)
    train_loader = FlippedBatches(
        DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True,
                   generator=np.random.default_rng(args.seed)), args.seed)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    started = time.perf_counter()
    history = fit(model, microdl.nn.CrossEntropyLoss(), opt, train_loader, epochs,
                  val_loader=test_loader, scheduler=scheduler, progress=not args.no_progress)
    seconds = time.perf_counter() - started
    figures = {"dataset": dataset, "epochs": epochs, "batch_size": args.batch_size,
               "lr": args.lr, "train_seconds": seconds,
               "seconds_per_step": seconds / (epochs * len(train_loader)),
               "test_accuracy": history.val_accuracy[-1], "history": history.as_dict()}
    print(f"test accuracy {figures['test_accuracy']:.4f} after {epochs} epochs "
          f"in {seconds:.0f} s ({figures['seconds_per_step'] * 1e3:.1f} ms/step)")
    plot(history, dataset, out)
    write_json(out / "cnn.json", figures)
    print(f"wrote {out / 'cnn.png'} and {out / 'cnn.json'}")


def plot(history, dataset, out):
    plt = pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, history.epochs + 1)
    ax_loss.plot(epochs, history.train_loss, label="train")
    ax_loss.plot(epochs, history.val_loss, label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.plot(epochs, history.train_accuracy, label="train")
    ax_acc.plot(epochs, history.val_accuracy, label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title=f"accuracy, {dataset}")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "cnn.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
