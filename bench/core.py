"""Bench rows for the foundation kernels: activations, softmax/cross-entropy, matmul."""

import numpy as np

from .common import Case, copy_factory, torch_threads


def _activation_case(name, shape):
    n = int(np.prod(shape))

    def microdl_factory():
        import microdl

        x = microdl.tensor(np.random.default_rng(0).standard_normal(shape, dtype=np.float32),
                           requires_grad=True)
        g = np.ones(shape, np.float32)

        def step():
            x.grad = None  # a fresh gradient each step: accumulating would move more bytes
            y = getattr(x, name)()
            y.backward(g)
        return step

    def torch_factory():
        torch = torch_threads()
        x = torch.randn(*shape, requires_grad=True)
        g = torch.ones(*shape)

        def step():
            x.grad = None
            getattr(torch, name)(x).backward(g)
        return step

    # fwd reads x, writes y; bwd reads y and g, writes dx: 5 arrays moved.
    return Case(f"{name} fwd+bwd", "x".join(map(str, shape)),
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory,
                 "copy": copy_factory(5 * 4 * n)}, bytes=5 * 4 * n)


def _cross_entropy_case(shape):
    rows, classes = shape

    def microdl_factory():
        import microdl
        import microdl.functional as F

        rng = np.random.default_rng(0)
        logits = microdl.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
        labels = rng.integers(0, classes, rows)

        def step():
            logits.grad = None
            F.cross_entropy(logits, labels).backward()
        return step

    def torch_factory():
        torch = torch_threads()
        logits = torch.randn(*shape, requires_grad=True)
        labels = torch.randint(0, classes, (rows,))

        def step():
            logits.grad = None
            torch.nn.functional.cross_entropy(logits, labels).backward()
        return step

    return Case("cross_entropy fwd+bwd", f"{rows}x{classes}",
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory,
                 "copy": copy_factory(3 * 4 * rows * classes)}, bytes=3 * 4 * rows * classes)


def _linear_case(batch, fan_in, fan_out):
    def microdl_factory():
        import microdl
        import microdl.functional as F

        rng = np.random.default_rng(0)
        x = microdl.tensor(rng.standard_normal((batch, fan_in), dtype=np.float32))
        w = microdl.tensor(rng.standard_normal((fan_out, fan_in), dtype=np.float32),
                           requires_grad=True)
        b = microdl.tensor(np.zeros(fan_out, np.float32), requires_grad=True)
        g = np.ones((batch, fan_out), np.float32)

        def step():
            w.grad = b.grad = None
            F.linear(x, w, b).backward(g)
        return step

    def torch_factory():
        torch = torch_threads()
        x = torch.randn(batch, fan_in)
        w = torch.randn(fan_out, fan_in, requires_grad=True)
        b = torch.zeros(fan_out, requires_grad=True)
        g = torch.ones(batch, fan_out)

        def step():
            w.grad = b.grad = None
            torch.nn.functional.linear(x, w, b).backward(g)
        return step

    # forward x @ W^T, backward dW = g^T x (dx not needed: x is an input): 2 matmuls.
    return Case("linear fwd+bwd", f"{batch}x{fan_in}->{fan_out}",
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory},
                flops=2 * 2 * batch * fan_in * fan_out)


def cases(quick=False):
    if quick:
        return [_activation_case("sigmoid", (60, 100)), _cross_entropy_case((60, 10)),
                _linear_case(60, 784, 100)]
    return [
        _activation_case("sigmoid", (60, 100)),
        _activation_case("sigmoid", (4096, 1024)),
        _activation_case("relu", (60, 100)),
        _activation_case("relu", (4096, 1024)),
        _activation_case("tanh", (4096, 1024)),
        _cross_entropy_case((60, 10)),
        _cross_entropy_case((4096, 1000)),
        _linear_case(60, 784, 100),
        _linear_case(4096, 1024, 1024),
    ]
