"""Bench rows for whole training steps: forward, loss, backward and an SGD momentum step."""

import numpy as np

from .common import Case, torch_threads

MLP_SIZES = (784, 100, 100, 100, 10)


def _mlp(nn, batch_norm):
    """The MLP in microdl's or PyTorch's nn (the same module names in both)."""
    layers = []
    for fan_in, fan_out in zip(MLP_SIZES[:-2], MLP_SIZES[1:-1]):
        layers.append(nn.Linear(fan_in, fan_out))
        if batch_norm:
            layers.append(nn.BatchNorm1d(fan_out))
        layers.append(nn.Sigmoid())
    layers.append(nn.Linear(MLP_SIZES[-2], MLP_SIZES[-1]))
    return nn.Sequential(*layers)


def _batches(batch, count=16):
    rng = np.random.default_rng(0)
    xs = rng.random((count, batch, MLP_SIZES[0]), dtype=np.float32)
    ys = rng.integers(0, MLP_SIZES[-1], (count, batch))
    return xs, ys


def _mlp_case(batch_norm, batch=60):
    def microdl_factory():
        import microdl
        import microdl.functional as F
        from microdl.optim import SGD

        microdl.manual_seed(0)
        import microdl.nn as nn

        model = _mlp(nn, batch_norm)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        xs, ys = _batches(batch)
        state = {"i": 0}

        def step():
            i = state["i"] = (state["i"] + 1) % len(xs)
            opt.zero_grad()
            loss = F.cross_entropy(model(microdl.from_numpy(xs[i])), ys[i])
            loss.backward()
            opt.step()
        return step

    def torch_factory():
        torch = torch_threads()
        torch.manual_seed(0)
        model = _mlp(torch.nn, batch_norm)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        xs, ys = _batches(batch)
        xs, ys = torch.from_numpy(xs), torch.from_numpy(ys)
        state = {"i": 0}

        def step():
            i = state["i"] = (state["i"] + 1) % len(xs)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xs[i]), ys[i])
            loss.backward()
            opt.step()
        return step

    name = "MLP+BN step" if batch_norm else "MLP step"
    return Case(name, f"784-100-100-100-10 sigmoid, batch {batch}",
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory},
                rate_unit="steps/s")


def _cnn_layers(nn):
    """conv3x3 32 + BN + ReLU + maxpool 2, conv3x3 64 + BN + ReLU + maxpool 2, linear 3136->10
    (the same module names in microdl and PyTorch)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 10))


def _cnn_case(batch=64):
    def images():
        rng = np.random.default_rng(0)
        return (rng.standard_normal((4, batch, 1, 28, 28), dtype=np.float32),
                rng.integers(0, 10, (4, batch)))

    def microdl_factory():
        import microdl
        import microdl.functional as F
        import microdl.nn as nn
        from microdl.optim import SGD

        microdl.manual_seed(0)
        model = _cnn_layers(nn)
        opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
        xs, ys = images()
        state = {"i": 0}

        def step():
            i = state["i"] = (state["i"] + 1) % len(xs)
            opt.zero_grad()
            F.cross_entropy(model(microdl.from_numpy(xs[i])), ys[i]).backward()
            opt.step()
        return step

    def torch_factory():
        torch = torch_threads()
        torch.manual_seed(0)
        model = _cnn_layers(torch.nn)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        xs, ys = images()
        xs, ys = torch.from_numpy(xs), torch.from_numpy(ys)
        state = {"i": 0}

        def step():
            i = state["i"] = (state["i"] + 1) % len(xs)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xs[i]), ys[i]).backward()
            opt.step()
        return step

    return Case("CNN step", f"conv32-BN-ReLU-pool, conv64-BN-ReLU-pool, fc10, batch {batch}",
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory},
                rate_unit="steps/s")


def cases(quick=False):
    if quick:
        return [_mlp_case(False), _mlp_case(True)]
    return [_mlp_case(False), _mlp_case(True), _cnn_case()]
