"""Bench rows for BatchNorm1d / BatchNorm2d: training mode, float32, through nn modules.

"fwd" times module(x) (grad mode on, x not requiring grad); "fwd+bwd" times
module(x).backward(g) with a precomputed upstream g, as a training step does it: x requires grad
(so dx is computed) and every gradient, x's and the parameters', is reset each step, in microdl
and in PyTorch alike (accumulating into x.grad from step to step is not what a step does, and
PyTorch's accumulate path is slow on these hosts: it flattered microdl by 3x).
Bytes moved: fwd reads x and writes y (2 arrays); fwd+bwd adds reading x and g and writing dx
(3 arrays), so 5 arrays in all; the copy yardstick moves the same bytes.

"in a step" rows time conv3x3 -> BatchNorm2d -> ReLU forward and backward with the input's
gradient reset each step: BatchNorm's input is then a conv's output, not a leaf, as in a CNN.
"""

import numpy as np

from .common import Case, copy_factory, torch_threads


def _case(kind, shape, backward):
    n = int(np.prod(shape))
    nbytes = (5 if backward else 2) * 4 * n

    def microdl_factory():
        import microdl
        import microdl.nn as nn

        rng = np.random.default_rng(0)
        module = getattr(nn, kind)(shape[1])
        x = microdl.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=backward)
        g = rng.standard_normal(shape, dtype=np.float32)
        if not backward:
            return lambda: module(x)

        def step():
            x.grad = module.weight.grad = module.bias.grad = None
            module(x).backward(g)
        return step

    def torch_factory():
        torch = torch_threads()
        module = getattr(torch.nn, kind)(shape[1])
        x = torch.randn(*shape, requires_grad=backward)
        g = torch.randn(*shape)
        if not backward:
            # NOTE: grad mode on, as in microdl's row: the parameters require grad, so both
            # record the node a training step would (a no_grad forward is a different path).
            return lambda: module(x)

        def step():
            x.grad = module.weight.grad = module.bias.grad = None
            module(x).backward(g)
        return step

    return Case(f"{kind} {'fwd+bwd' if backward else 'fwd'}", "x".join(map(str, shape)),
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory,
                 "copy": copy_factory(nbytes)}, bytes=nbytes)


def _in_a_step(shape):
    """conv3x3 (C -> C, padding 1) -> BatchNorm2d -> ReLU, forward and backward."""
    channels = shape[1]

    def build(framework, x, g):
        nn = framework.nn
        layers = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1),
                               nn.BatchNorm2d(channels), nn.ReLU())

        def step():
            x.grad = None
            for p in layers.parameters():
                p.grad = None
            layers(x).backward(g)
        return step

    def microdl_factory():
        import microdl

        rng = np.random.default_rng(0)
        x = microdl.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
        return build(microdl, x, rng.standard_normal(shape, dtype=np.float32))

    def torch_factory():
        torch = torch_threads()
        return build(torch, torch.randn(*shape, requires_grad=True), torch.randn(*shape))

    return Case("conv3x3-BatchNorm2d-ReLU fwd+bwd (in a step)", "x".join(map(str, shape)),
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory},
                rate_unit="steps/s")


def cases(quick=False):
    if quick:
        return [_case("BatchNorm2d", (8, 4, 8, 8), False), _case("BatchNorm2d", (8, 4, 8, 8), True),
                _case("BatchNorm1d", (60, 100), True), _in_a_step((8, 4, 8, 8))]
    rows = []
    for shape in [(64, 64, 32, 32), (128, 16, 28, 28), (256, 256, 8, 8), (32, 128, 56, 56)]:
        rows += [_case("BatchNorm2d", shape, False), _case("BatchNorm2d", shape, True)]
    for shape in [(60, 100), (256, 1024), (4096, 512)]:
        rows.append(_case("BatchNorm1d", shape, True))
    rows += [_in_a_step((64, 64, 32, 32)), _in_a_step((128, 16, 28, 28))]
    return rows
