"""What only the CUDA kernels have to get right: launches that wrap (grid-stride loops, channels
beyond one grid, gemm outputs past grid.y), the shared-memory trees' block sizes, stray reads of
a bad label and BatchNorm statistics of a large mean. Each case runs the kernel on device copies
of its arguments and compares every array argument afterwards. (Every kernel against the numpy
reference, cuda included, is tests/kernels/test_kernel_sets.py.)"""

import importlib

import numpy as np
import pytest

F32, F64 = np.float32, np.float64


def _module(family):
    return importlib.import_module(f"microdl.kernels.cuda.{family}")


def run_on_device(fn, args):
    """Call fn with device copies of the array arguments; copy them all back to the host."""
    from numba import cuda

    device = [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args]
    fn(*device)
    return [d.copy_to_host() if isinstance(a, np.ndarray) else a for a, d in zip(args, device)]


def run_reference(fn, args):
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    fn(*copies)
    return copies


def check(family, name, args, reference=None, rtol=1e-5, atol=1e-6):
    ref_fn = reference or getattr(importlib.import_module(f"microdl.kernels.numpy_ref.{family}"),
                                  name)
    expected = run_reference(ref_fn, args)
    got = run_on_device(getattr(_module(family), name), args)
    for i, (e, g) in enumerate(zip(expected, got)):
        if isinstance(e, np.ndarray):
            np.testing.assert_allclose(g, e, rtol=rtol, atol=atol,
                                       err_msg=f"{family}.{name} argument {i}")


def _randn(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def test_cross_entropy_out_of_range_label_is_nan_not_a_stray_read(rng):
    logits = _randn(rng, (2, 3), F32)
    got = run_on_device(_module("softmax").cross_entropy_forward,
                        [logits, np.array([1, 7]), np.empty_like(logits), np.empty(2, F32)])
    assert np.isfinite(got[3][0]) and np.isnan(got[3][1])


# ---- batch normalization ------------------------------------------------------------------------
def _bn_inputs(rng, shape, dtype, affine, track):
    C = shape[1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, C, 1)) + 100).astype(dtype)
    empty = np.empty(0, dtype)
    w = rng.uniform(0.5, 1.5, C).astype(dtype) if affine else empty
    b = rng.standard_normal(C).astype(dtype) if affine else empty
    rm = rng.standard_normal(C).astype(dtype) if track else empty
    rv = rng.uniform(0.5, 2, C).astype(dtype) if track else empty
    return x, w, b, rm, rv


def test_batch_norm_statistics_survive_a_large_mean(rng):
    """float64 channels with mean 1e6 and spread ~1 (32 values: the two-level path): the shifted
    sums keep the variance to ~1e-15; E[x^2] - E[x]^2 would be off by ~1e-4 relative, so the
    1e-9 tolerance tells the two apart (checked below on the host)."""
    x = 1e6 + rng.standard_normal((8, 2, 4))
    C = 2
    args = [x, np.empty(0, F64), np.empty(0, F64), np.empty_like(x), np.empty(C), np.empty(C),
            np.empty(0, F64), np.empty(0, F64), 0.1, 0.0]
    got = run_on_device(_module("normalization").batch_norm_forward_train, args)
    var = x.var(axis=(0, 2))  # numpy's two-pass variance
    np.testing.assert_allclose(got[4], x.mean(axis=(0, 2)), rtol=1e-14)
    np.testing.assert_allclose(got[5], 1 / np.sqrt(var), rtol=1e-9)
    naive = (x * x).mean(axis=(0, 2)) - x.mean(axis=(0, 2)) ** 2
    assert np.max(np.abs(naive / var - 1)) > 1e-9  # the tolerance would catch the naive formula


def test_batch_norm_finishes_every_channel_beyond_one_grid(rng):
    """C = 30 channels against 8 threads x 3 blocks = 24 finishing threads: the per-channel
    finish kernels (train, eval, backward) must stride over the rest."""
    shape, C = (2, 30, 1), 30
    x, w, b, rm, rv = _bn_inputs(rng, shape, F64, True, True)
    tol = dict(rtol=1e-9, atol=1e-10)
    check("normalization", "batch_norm_forward_train",
          [x, w, b, np.empty_like(x), np.empty(C), np.empty(C), rm, rv, 0.1, 1e-5], **tol)
    check("normalization", "batch_norm_forward_eval",
          [x, w, b, rm, rv, np.empty_like(x), np.empty(C), np.empty(C), 1e-5], **tol)
    mean, invstd = np.empty(C), np.empty(C)
    importlib.import_module("microdl.kernels.numpy_ref.normalization").batch_norm_forward_train(
        x, w, b, np.empty_like(x), mean, invstd, rm.copy(), rv.copy(), 0.1, 1e-5)
    for training in (True, False):
        check("normalization", "batch_norm_backward",
              [x, _randn(rng, shape, F64), w, mean, invstd, np.empty_like(x), np.empty(C),
               np.empty(C), training], **tol)


@pytest.mark.parametrize("threads", [6, 12, 0])
def test_shared_memory_trees_refuse_a_block_size_that_is_no_power_of_two(threads, monkeypatch):
    """The trees halve the block: with 6 threads a sum of 12 values came out as 48, not 78."""
    from numba import cuda

    from microdl.kernels.cuda import _config as config

    monkeypatch.setattr(config, "THREADS_PER_BLOCK", threads)
    x = np.arange(1, 13, dtype=F64)
    launches = {
        "reduce": lambda d: _module("reduce").sum_axes(d, cuda.device_array(1, F64), (0,)),
        "batch_norm": lambda d: _module("normalization").batch_norm_forward_train(
            d.reshape(3, 2, 2), *(cuda.to_device(a) for a in (
                np.empty(0), np.empty(0), np.empty((3, 2, 2)), np.empty(2), np.empty(2),
                np.empty(0), np.empty(0))), 0.1, 1e-5),
        "conv bias": lambda d: _module("conv").output_grad_to_cols(
            d.reshape(1, 3, 2, 2), cuda.device_array((3, 1, 2, 2), F64),
            cuda.device_array(3, F64)),
    }
    for name, launch in launches.items():
        with pytest.raises(ValueError, match=f"THREADS_PER_BLOCK must be a power of two.*got "
                                             f"{threads}$"):
            launch(cuda.to_device(x))


# ---- convolution: the one Conv2d op on device arrays ---------------------------------------------
# (the conv kernels against numpy_ref, the cuda set included, are in
# tests/kernels/test_conv_kernels.py)
@pytest.mark.parametrize("with_bias, weight_grad", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, (1, 0), 1, 1),
                                                               (2, 1, (1, 2), 2)])
def test_conv2d_op_on_device_arrays_matches_the_cpu_op(stride, padding, dilation, groups,
                                                       with_bias, weight_grad, rng):
    """The Conv2d Function is written once: on cuda tensors, whose arrays offer only what a real
    DeviceNDArray offers (the strict simulator, conftest.py), it gives the cpu op's values and
    gradients, with and without a bias, with and without dW (then no columns are kept)."""
    import microdl
    import microdl.functional as F

    arrays = [rng.standard_normal((2, 4, 5, 4)), rng.standard_normal((4, 4 // groups, 3, 2)),
              rng.standard_normal(4) if with_bias else None]
    needs = (True, weight_grad, True)
    results = {}
    for device in ("cpu", "cuda"):
        x, w, b = (None if a is None else microdl.tensor(a, requires_grad=need, device=device)
                   for a, need in zip(arrays, needs))
        y = F.conv2d(x, w, b, stride, padding, dilation, groups)
        g = np.random.default_rng(1).standard_normal(y.shape)
        y.backward(microdl.tensor(g, device=device))
        results[device] = [y.detach().numpy()] + [t.grad.numpy() for t in (x, w, b)
                                                  if t is not None and t.requires_grad]
    assert len(results["cuda"]) == 2 + weight_grad + with_bias
    for got, expected in zip(results["cuda"], results["cpu"]):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# ---- matmul: outputs past CUDA's grid.y limit ---------------------------------------------------
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("max_grid_y", [65535, 1])
def test_gemm(transpose_a, transpose_b, with_bias, max_grid_y, rng, monkeypatch):
    from microdl.kernels.cuda import _config as config

    # max_grid_y 1: one tile row per launch, as an output past CUDA's grid.y limit runs
    monkeypatch.setattr(config, "MAX_GRID_Y", max_grid_y)
    matmul, grids = _module("matmul"), []
    build = matmul.specialized

    class Recorded:  # the kernel, with each launch's grid noted
        def __init__(self, kernel):
            self.kernel = kernel

        def __getitem__(self, launch):
            grids.append(launch[0])
            return self.kernel[launch]

    monkeypatch.setattr(matmul, "specialized", lambda *how: Recorded(build(*how)))
    m, k, n = 9, 7, 6  # not multiples of the tile (4 in these tests): 3 row bands with 1
    a = _randn(rng, (k, m) if transpose_a else (m, k), F32)
    b = _randn(rng, (n, k) if transpose_b else (k, n), F32)
    bias = _randn(rng, n, F32) if with_bias else np.empty(0, F32)
    expected = (a.T if transpose_a else a) @ (b.T if transpose_b else b)
    if with_bias:
        expected = expected + bias
    got = run_on_device(lambda a_, b_, c_, o: _module("matmul").gemm(a_, b_, c_, o, transpose_a,
                                                                     transpose_b),
                        [a, b, bias, np.empty((m, n), F32)])
    np.testing.assert_allclose(got[3], expected, rtol=1e-5, atol=1e-5)
    assert all(grid_y <= max_grid_y for _, grid_y in grids)
    assert len(grids) == (3 if max_grid_y == 1 else 1)
