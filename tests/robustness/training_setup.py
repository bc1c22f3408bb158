"""A small training setup that touches every piece of state a checkpoint must carry.

MLP with BatchNorm (running statistics, num_batches_tracked) and Dropout (the global generator),
SGD with momentum and weight decay (momentum buffers), a StepLR schedule, a shuffled train loader
and a validation loader. ``make_run(seed, shuffle_seed)`` builds it fresh; a resumed run is built
with other seeds, so only a complete restore can reproduce the uninterrupted run bit for bit.
"""

import numpy as np

import microdl
import microdl.train
import microdl.nn as nn
from microdl.data import DataLoader, TensorDataset
from microdl.optim import SGD, lr_scheduler


def blobs(n=96, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (classes, features))
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.normal(0, 1, (n, features))).astype(np.float32)
    return x, y.astype(np.int64)


class Run:
    """The objects ``fit`` is given; ``weights()`` is every parameter and buffer, copied."""

    def __init__(self, seed, shuffle_seed, own_generator=True, batch_size=16):
        microdl.manual_seed(seed)
        x, y = blobs()
        self.model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                   nn.Dropout(0.2), nn.Linear(16, 3))
        self.optimizer = SGD(self.model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        self.scheduler = lr_scheduler.StepLR(self.optimizer, step_size=2, gamma=0.5)
        generator = np.random.default_rng(shuffle_seed) if own_generator else None
        self.train_loader = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=batch_size,
                                       shuffle=True, generator=generator)
        self.val_loader = DataLoader(TensorDataset(x[64:], y[64:]), batch_size=32)

    def fit(self, epochs, **kwargs):
        loss_fn = kwargs.pop("loss_fn", nn.CrossEntropyLoss())
        return microdl.train.fit(self.model, loss_fn, self.optimizer, self.train_loader,
                                 epochs, val_loader=self.val_loader, scheduler=self.scheduler,
                                 progress=False, log_every_step=True, **kwargs)

    def weights(self):
        return self.model.state_dict()


def assert_bitwise_equal(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key, strict=True)

