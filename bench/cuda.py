"""Bench rows on the GPU: microdl's CUDA kernels against PyTorch (cuDNN / cuBLAS) and against a
device-to-device copy of the same bytes.

- BatchNorm2d fwd and fwd+bwd (training mode, float32, through nn modules; bytes as in
  bench/batchnorm.py: 2 arrays forward, 5 with backward), at the issue's three shapes;
- matmul (float32; PyTorch with TF32 off, so both do full float32 products);
- whole training steps, MLP+BN and CNN (bench/train.py's networks), data already on the GPU.

Every timed callable synchronizes the device before it returns. Without a usable GPU (no driver,
or numba's simulator, whose timings mean nothing) ``cases`` returns no rows and says why once.
"""

import sys

import numpy as np

from .common import Case
from .train import MLP_SIZES, _cnn_layers, _mlp

_reason_told = []


def gpu_missing():
    """Why the GPU rows cannot run here, or None when they can."""
    try:
        from numba import config, cuda
    except ImportError as missing:
        return f"numba.cuda cannot be imported ({missing})"
    if config.ENABLE_CUDASIM:
        return "NUMBA_ENABLE_CUDASIM=1: the simulator runs, but its timings mean nothing"
    if not cuda.is_available():
        return "numba.cuda.is_available() is False (no NVIDIA GPU or driver)"
    return None


def _sync():
    from numba import cuda

    cuda.synchronize()


def _torch_cuda():
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch


def _device_copy_factory(nbytes_moved):
    """A device-to-device copy reading nbytes_moved / 2 and writing as many (the GPU's memory
    bandwidth yardstick)."""
    def make():
        from numba import cuda

        n = max(1, nbytes_moved // 8)
        src = cuda.to_device(np.random.default_rng(0).random(n, dtype=np.float32))
        dst = cuda.device_array_like(src)

        def copy():
            dst.copy_to_device(src)
            _sync()
        return copy
    return make


def _batch_norm_case(shape, backward):
    n = int(np.prod(shape))
    nbytes = (5 if backward else 2) * 4 * n

    def microdl_factory():
        import microdl
        import microdl.nn as nn

        module = nn.BatchNorm2d(shape[1]).to("cuda")
        rng = np.random.default_rng(0)
        x = microdl.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=backward,
                           device="cuda")
        g = microdl.tensor(rng.standard_normal(shape, dtype=np.float32), device="cuda")

        def step():
            if backward:
                module.weight.grad = module.bias.grad = None
                module(x).backward(g)
            else:
                module(x)
            _sync()
        return step

    def torch_factory():
        torch = _torch_cuda()
        module = torch.nn.BatchNorm2d(shape[1]).cuda()
        x = torch.randn(*shape, device="cuda", requires_grad=backward)
        g = torch.randn(*shape, device="cuda")

        def step():
            if backward:
                module.weight.grad = module.bias.grad = None
                module(x).backward(g)
            else:
                module(x)
            torch.cuda.synchronize()
        return step

    return Case(f"cuda BatchNorm2d {'fwd+bwd' if backward else 'fwd'}", "x".join(map(str, shape)),
                {"cuda": microdl_factory, "torch": torch_factory,
                 "copy": _device_copy_factory(nbytes)}, bytes=nbytes)


def _matmul_case(m, k, n):
    def operands():
        rng = np.random.default_rng(0)
        return (rng.standard_normal((m, k), dtype=np.float32),
                rng.standard_normal((k, n), dtype=np.float32))

    def microdl_factory():
        import microdl

        a, b = (microdl.tensor(v, device="cuda") for v in operands())

        def step():
            a @ b
            _sync()
        return step

    def torch_factory():
        torch = _torch_cuda()
        a, b = (torch.from_numpy(v).cuda() for v in operands())

        def step():
            a @ b
            torch.cuda.synchronize()
        return step

    return Case("cuda matmul", f"{m}x{k}x{n}", {"cuda": microdl_factory, "torch": torch_factory},
                flops=2 * m * k * n)


def _step_case(name, shape, build, batch_shape, classes, lr):
    """A training step (forward, cross-entropy, backward, SGD momentum) on 4 batches kept on
    the GPU; the loss is not read (reading it would time a device-to-host copy too)."""
    def batches():
        rng = np.random.default_rng(0)
        return (rng.standard_normal((4,) + batch_shape, dtype=np.float32),
                rng.integers(0, classes, (4, batch_shape[0])))

    def microdl_factory():
        import microdl
        import microdl.functional as F
        import microdl.nn as nn
        from microdl.optim import SGD

        microdl.manual_seed(0)
        model = build(nn).to("cuda")
        opt = SGD(model.parameters(), lr=lr, momentum=0.9)
        xs, ys = batches()
        data = [(microdl.tensor(x, device="cuda"), microdl.tensor(y, device="cuda"))
                for x, y in zip(xs, ys)]
        state = {"i": 0}

        def step():
            x, y = data[state["i"]]
            state["i"] = (state["i"] + 1) % len(data)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            _sync()
        return step

    def torch_factory():
        torch = _torch_cuda()
        torch.manual_seed(0)
        model = build(torch.nn).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        xs, ys = batches()
        data = [(torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()) for x, y in zip(xs, ys)]
        state = {"i": 0}

        def step():
            x, y = data[state["i"]]
            state["i"] = (state["i"] + 1) % len(data)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            torch.cuda.synchronize()
        return step

    return Case(name, shape, {"cuda": microdl_factory, "torch": torch_factory},
                rate_unit="steps/s")


def cases(quick=False):
    reason = gpu_missing()
    if reason is not None:
        if not _reason_told:
            _reason_told.append(reason)
            print(f"bench/cuda.py: no GPU rows: {reason}", file=sys.stderr)
        return []
    mlp = _step_case("cuda MLP+BN step", "784-100-100-100-10 sigmoid, batch 60",
                     lambda nn: _mlp(nn, True), (60, MLP_SIZES[0]), MLP_SIZES[-1], 0.1)
    cnn = _step_case("cuda CNN step", "conv32-BN-ReLU-pool, conv64-BN-ReLU-pool, fc10, batch 64",
                     _cnn_layers, (64, 1, 28, 28), 10, 0.05)
    if quick:
        return [_batch_norm_case((8, 4, 8, 8), False), _batch_norm_case((8, 4, 8, 8), True),
                _matmul_case(256, 256, 256), mlp]
    rows = []
    for shape in [(64, 64, 32, 32), (32, 128, 56, 56), (256, 64, 56, 56)]:
        rows += [_batch_norm_case(shape, False), _batch_norm_case(shape, True)]
    rows += [_matmul_case(60, 784, 100), _matmul_case(1024, 1024, 1024),
             _matmul_case(4096, 4096, 4096), mlp, cnn]
    return rows
