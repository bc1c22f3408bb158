"""The network of Ioffe & Szegedy (2015) section 4.1, shared by the BatchNorm examples.

Three fully connected hidden layers of 100 sigmoid units, small Gaussian initial weights, a
10-way softmax output; optionally a BatchNorm1d between each linear layer and its sigmoid, as
the paper places it ("we add BN immediately before the nonlinearity"). Trained by SGD on
mini-batches of 60.
"""

import numpy as np
from tqdm import tqdm

import microdl
import microdl.data
import microdl.functional as F
import microdl.nn as nn
from microdl.data import DataLoader, TensorDataset
from microdl.optim import SGD

HIDDEN = (100, 100, 100)
BATCH = 60
DATASETS = ("fashion-mnist", "mnist", "digits")


def load_dataset(name):
    """Flattened float32 images in [0, 1] and int64 labels: (x_train, y_train), (x_test, y_test).

    Fashion-MNIST and MNIST come from microdl.data (local copies, Debian's package, or the
    official download); digits is scikit-learn's bundled 8x8 set, always available offline.
    """
    if name == "digits":
        return microdl.data.digits()
    loader = {"fashion-mnist": microdl.data.fashion_mnist, "mnist": microdl.data.mnist}[name]
    (x_train, y_train), (x_test, y_test) = loader()

    def prepare(x):
        return (x.reshape(len(x), -1) / np.float32(255)).astype(np.float32)

    return (prepare(x_train), y_train.astype(np.int64)), (prepare(x_test), y_test.astype(np.int64))


NORMS = (None, "batch", "layer", "group")
GROUPS = 10  # GroupNorm over 100 units: 10 groups of 10


def normalization(norm, features):
    """The normalization layer placed before each sigmoid: None, "batch" (BatchNorm1d), "layer"
    (LayerNorm over the layer's units) or "group" (GroupNorm, GROUPS groups of units)."""
    if norm == "batch":
        return nn.BatchNorm1d(features)
    if norm == "layer":
        return nn.LayerNorm(features)
    if norm == "group":
        return nn.GroupNorm(GROUPS, features)
    raise ValueError(f"norm must be one of {NORMS} (got {norm!r})")


def paper_mlp(inputs, classes, batch_norm=False, init_std=None, init_scale=1.0, norm=None,
              dropout=0.0, scale_output_layer=True):
    """Linear(-norm)-Sigmoid(-Dropout) x 3, then Linear to the classes.

    batch_norm=True is norm="batch": a BatchNorm1d between each hidden linear layer and its
    sigmoid, as the paper places it. init_std: draw every weight from N(0, init_std^2) (the
    paper's "small random Gaussian values"); None keeps PyTorch's default initialisation.
    init_scale multiplies the weights afterwards (the weight-scale experiment): of every linear
    layer, or with scale_output_layer=False only of the hidden ones (those a norm follows).
    Biases start at zero when init_std is given. dropout: the drop probability after each
    hidden sigmoid (0: no dropout layers).
    """
    if batch_norm:
        norm = "batch"
    layers, sizes = [], (inputs,) + HIDDEN
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers.append(nn.Linear(fan_in, fan_out))
        if norm is not None:
            layers.append(normalization(norm, fan_out))
        layers.append(nn.Sigmoid())
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-1], classes))
    model = nn.Sequential(*layers)
    linears = [layer for layer in model if isinstance(layer, nn.Linear)]
    for layer in linears:
        if init_std is not None:
            nn.init.normal_(layer.weight, 0.0, init_std)
            nn.init.zeros_(layer.bias)
        if scale_output_layer or layer is not linears[-1]:
            layer.weight.array *= np.float32(init_scale)
    return model


def last_sigmoid_input(model, x):
    """The input to the last hidden layer's sigmoids (what the paper's Fig. 1b/c tracks)."""
    last = max(i for i, layer in enumerate(model) if isinstance(layer, nn.Sigmoid))
    with microdl.no_grad():
        h = microdl.from_numpy(x)
        for layer in list(model)[:last]:
            h = layer(h)
    return h.array


def accuracy(model, x, y, batch=2000):
    model.eval()
    correct = 0
    with microdl.no_grad():
        for lo in range(0, len(x), batch):
            logits = model(microdl.from_numpy(x[lo:lo + batch]))
            correct += int((logits.array.argmax(axis=1) == y[lo:lo + batch]).sum())
    model.train()
    return correct / len(x)


def train_steps(model, train, steps, lr, seed, eval_every=None, on_eval=None, momentum=0.0,
                progress=True, label="", batch=BATCH):
    """SGD for a fixed number of steps over shuffled batches (of 60), calling on_eval(step)
    every eval_every steps (and at the end). Returns the last training loss; stops early with
    NaN when the loss diverges."""
    x_train, y_train = train
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch, shuffle=True,
                        drop_last=True, generator=np.random.default_rng(seed))
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    step, loss_value = 0, float("nan")
    bar = tqdm(total=steps, desc=label, disable=not progress, leave=False, mininterval=0.5)
    while step < steps:
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss_value = loss.item()
            if not np.isfinite(loss_value):
                bar.close()
                return float("nan")
            loss.backward()
            opt.step()
            step += 1
            bar.update(1)
            if on_eval is not None and eval_every and (step % eval_every == 0 or step == steps):
                on_eval(step)
            if step == steps:
                break
    bar.close()
    return loss_value
