"""Bench rows for Conv2d (3x3, stride 1, pad 1) and max_pool2d (2x2), float32, through nn modules.

"fwd" times module(x) under no_grad (inference) in both frameworks; "fwd+bwd" times
module(x).backward(g) with a precomputed upstream g, x requiring grad (so dx is computed, as for
any layer but the first) and the parameters' gradients reset each step.
FLOPs: a forward is one (Cout x K) @ (K x N*OH*OW) product, K = Cin*3*3, i.e. 2*N*Cout*OH*OW*K;
the backward adds dW and dx, each as many, so fwd+bwd counts three times that.
Bytes (max pool): fwd reads x and writes y; bwd reads g and writes dx: 2 (x-sized) + 2 (y-sized)
arrays. What the backward must remember is not counted (PyTorch keeps int64 indices, microdl
int32), so the GB/s is a lower bound for both.
"""

import numpy as np

from .common import Case, copy_factory, torch_threads

CONV_SHAPES = [(64, 1, 28, 28, 32), (64, 32, 14, 14, 64), (128, 64, 8, 8, 128)]


def _conv_case(shape, backward):
    n, cin, h, w, cout = shape

    def microdl_factory():
        import microdl
        import microdl.nn as nn

        rng = np.random.default_rng(0)
        module = nn.Conv2d(cin, cout, 3, padding=1)
        x = microdl.tensor(rng.standard_normal((n, cin, h, w), dtype=np.float32),
                           requires_grad=backward)
        g = rng.standard_normal((n, cout, h, w), dtype=np.float32)
        if not backward:
            def forward():
                with microdl.no_grad():
                    module(x)
            return forward

        def step():
            module.weight.grad = module.bias.grad = x.grad = None
            module(x).backward(g)
        return step

    def torch_factory():
        torch = torch_threads()
        module = torch.nn.Conv2d(cin, cout, 3, padding=1)
        x = torch.randn(n, cin, h, w, requires_grad=backward)
        g = torch.randn(n, cout, h, w)
        if not backward:
            def forward():
                with torch.no_grad():
                    module(x)
            return forward

        def step():
            module.weight.grad = module.bias.grad = x.grad = None
            module(x).backward(g)
        return step

    flops = 2 * n * cout * h * w * cin * 9 * (3 if backward else 1)
    return Case(f"conv3x3 {'fwd+bwd' if backward else 'fwd'}", f"{n}x{cin}x{h}x{w}->{cout}",
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory},
                flops=flops)


def _max_pool_case(shape):
    n, c, h, w = shape

    def microdl_factory():
        import microdl
        import microdl.functional as F

        rng = np.random.default_rng(0)
        x = microdl.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
        g = rng.standard_normal((n, c, h // 2, w // 2), dtype=np.float32)

        def step():
            x.grad = None
            F.max_pool2d(x, 2).backward(g)
        return step

    def torch_factory():
        torch = torch_threads()
        x = torch.randn(*shape, requires_grad=True)
        g = torch.randn(n, c, h // 2, w // 2)

        def step():
            x.grad = None
            torch.nn.functional.max_pool2d(x, 2).backward(g)
        return step

    nbytes = 4 * (2 * n * c * h * w + 2 * n * c * (h // 2) * (w // 2))
    return Case("max_pool2d 2x2 fwd+bwd", "x".join(map(str, shape)),
                {"numpy": microdl_factory, "numba": microdl_factory, "torch": torch_factory,
                 "copy": copy_factory(nbytes)}, bytes=nbytes)


def cases(quick=False):
    if quick:
        return [_conv_case((8, 4, 8, 8, 8), True), _max_pool_case((8, 4, 8, 8))]
    return ([_conv_case(s, b) for s in CONV_SHAPES for b in (False, True)]
            + [_max_pool_case((64, 32, 28, 28))])
