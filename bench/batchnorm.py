"""Bench rows for BatchNorm1d / BatchNorm2d: training mode, float32, through nn modules.

"fwd" times module(x) (grad mode on, x not requiring grad); "fwd+bwd" times
module(x).backward(g) with a precomputed upstream g.
x requires grad (so dx is computed) and its gradient accumulates in place from step to step,
in microdl and in PyTorch alike; the parameters' gradients are reset each step.
Bytes moved: fwd reads x and writes y (2 arrays); fwd+bwd adds reading x and g and writing dx
(3 arrays), so 5 arrays in all; the copy yardstick moves the same bytes. The accumulation into
x.grad (3 more arrays, done by the autograd engine in both frameworks) is timed, not counted.
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
            module.weight.grad = module.bias.grad = None
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
            module.weight.grad = module.bias.grad = None
            module(x).backward(g)
        return step

    return Case(f"{kind} {'fwd+bwd' if backward else 'fwd'}", "x".join(map(str, shape)),
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory,
                 "copy": copy_factory(nbytes)}, bytes=nbytes)


def cases(quick=False):
    if quick:
        return [_case("BatchNorm2d", (8, 4, 8, 8), False), _case("BatchNorm2d", (8, 4, 8, 8), True),
                _case("BatchNorm1d", (60, 100), True)]
    rows = []
    for shape in [(64, 64, 32, 32), (128, 16, 28, 28), (256, 256, 8, 8), (32, 128, 56, 56)]:
        rows += [_case("BatchNorm2d", shape, False), _case("BatchNorm2d", shape, True)]
    for shape in [(60, 100), (256, 1024), (4096, 512)]:
        rows.append(_case("BatchNorm1d", shape, True))
    return rows
