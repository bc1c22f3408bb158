"""Every CUDA kernel against its numpy_ref twin (or numpy itself for the CUDA-only families),
table-driven: each case builds host arguments, both backends run on their own copies (the CUDA
one on device copies of every array argument) and every array argument is compared afterwards,
so outputs and in-place updates (running statistics, SGD state) are all checked."""

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


# ---- activations -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("name", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_activation(name, dtype, rng):
    x = _randn(rng, (5, 7), dtype, 4)
    x[0, :3] = [0, np.nan, -np.inf]
    extra = (0.2,) if name == "leaky_relu" else ()
    out = np.empty_like(x)
    check("activation", f"{name}_forward", [x, out, *extra])
    saved = x if name == "leaky_relu" else run_reference(
        getattr(importlib.import_module("microdl.kernels.numpy_ref.activation"),
                f"{name}_forward"), [x, out, *extra])[1]
    check("activation", f"{name}_backward", [saved, _randn(rng, x.shape, dtype), out, *extra])


# ---- softmax family ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, rng):
    x = _randn(rng, (6, 5), F32, 30)
    y = np.empty_like(x)
    check("softmax", f"{name}_forward", [x, y], rtol=1e-4)
    ref = importlib.import_module("microdl.kernels.numpy_ref.softmax")
    y = run_reference(getattr(ref, f"{name}_forward"), [x, y])[1]
    check("softmax", f"{name}_backward", [y, _randn(rng, x.shape, F32), np.empty_like(x)],
          rtol=1e-4, atol=1e-6)


def test_cross_entropy(rng):
    logits = _randn(rng, (6, 4), F64, 10)
    labels = rng.integers(0, 4, 6)
    check("softmax", "cross_entropy_forward",
          [logits, labels, np.empty_like(logits), np.empty(6, F64)], rtol=1e-12)
    log_probs = np.empty_like(logits)
    ref = importlib.import_module("microdl.kernels.numpy_ref.softmax")
    ref.cross_entropy_forward(logits, labels, log_probs, np.empty(6))
    check("softmax", "cross_entropy_backward",
          [log_probs, labels, rng.random(6), np.empty_like(logits)], rtol=1e-12)


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


# (N, C, S): m = N * S values per channel against BN_VALUES_PER_BLOCK = 16 in these tests
BN_SHAPES = [(6, 4, 1), (3, 2, 5), (4, 3, 9)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine,track", [(True, True), (False, False)])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_batch_norm_train_forward_and_backward(shape, affine, track, dtype, rng):
    x, w, b, rm, rv = _bn_inputs(rng, shape, dtype, affine, track)
    C = shape[1]
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == F32 else dict(rtol=1e-9, atol=1e-10)
    check("normalization", "batch_norm_forward_train",
          [x, w, b, np.empty_like(x), np.empty(C), np.empty(C), rm, rv, 0.1, 1e-5], **tol)
    mean, invstd = np.empty(C), np.empty(C)
    importlib.import_module("microdl.kernels.numpy_ref.normalization").batch_norm_forward_train(
        x, w, b, np.empty_like(x), mean, invstd, rm.copy(), rv.copy(), 0.1, 1e-5)
    gdtype = dtype
    check("normalization", "batch_norm_backward",
          [x, _randn(rng, shape, dtype), w, mean, invstd, np.empty_like(x), np.empty(C, gdtype),
           np.empty(C, gdtype), True], **tol)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_batch_norm_eval_forward_and_backward(dtype, rng):
    shape = (3, 2, 5)
    x, w, b, rm, rv = _bn_inputs(rng, shape, dtype, True, True)
    x -= 100
    C = shape[1]
    check("normalization", "batch_norm_forward_eval",
          [x, w, b, rm, rv, np.empty_like(x), np.empty(C), np.empty(C), 1e-5], rtol=1e-5)
    mean = rm.astype(F64)
    invstd = 1 / np.sqrt(rv.astype(F64) + 1e-5)
    check("normalization", "batch_norm_backward",
          [x, _randn(rng, shape, dtype), w, mean, invstd, np.empty_like(x), np.empty(C, dtype),
           np.empty(C, dtype), False], rtol=1e-5, atol=1e-6)


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

    from microdl.kernels.cuda import config

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


# ---- SGD ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum,dampening,weight_decay,nesterov,first", [
    (0.0, 0.0, 0.0, False, False), (0.9, 0.0, 1e-2, False, True), (0.9, 0.1, 0.0, False, False),
    (0.9, 0.0, 1e-2, True, False)])
def test_sgd_update(momentum, dampening, weight_decay, nesterov, first, rng):
    p, g, buf = (_randn(rng, (3, 5), F32) for _ in range(3))
    check("optim", "sgd_update_",
          [p, g, buf, 0.1, momentum, dampening, weight_decay, nesterov, first], rtol=1e-6)


# ---- pooling ------------------------------------------------------------------------------------
POOLS = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 0))]


@pytest.mark.parametrize("kernel_size,stride,padding", POOLS)
def test_max_pool(kernel_size, stride, padding, rng):
    x = np.round(_randn(rng, (2, 2, 5, 6), F32), 1)  # rounded: ties happen
    x[0, 0, 1, 1] = np.nan
    oh = (5 + 2 * padding[0] - kernel_size[0]) // stride[0] + 1
    ow = (6 + 2 * padding[1] - kernel_size[1]) // stride[1] + 1
    out, indices = np.empty((2, 2, oh, ow), F32), np.empty((2, 2, oh, ow), np.int32)
    geometry = (kernel_size, stride, padding)
    check("pool", "max_pool2d_forward", [x, out, indices, *geometry])
    ref = importlib.import_module("microdl.kernels.numpy_ref.pool")
    ref.max_pool2d_forward(x, out, indices, *geometry)
    check("pool", "max_pool2d_backward",
          [_randn(rng, out.shape, F32), indices, np.empty_like(x), *geometry])


@pytest.mark.parametrize("kernel_size,stride,padding", POOLS)
def test_avg_pool(kernel_size, stride, padding, rng):
    x = _randn(rng, (2, 2, 5, 6), F32)
    oh = (5 + 2 * padding[0] - kernel_size[0]) // stride[0] + 1
    ow = (6 + 2 * padding[1] - kernel_size[1]) // stride[1] + 1
    geometry = (kernel_size, stride, padding)
    check("pool", "avg_pool2d_forward", [x, np.empty((2, 2, oh, ow), F32), *geometry])
    check("pool", "avg_pool2d_backward",
          [_randn(rng, (2, 2, oh, ow), F32), np.empty_like(x), *geometry])


# ---- convolution reorders ----------------------------------------------------------------------
CONVS = [((3, 3), (1, 1), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2), (2, 1))]


@pytest.mark.parametrize("kernel_size,stride,padding,dilation", CONVS)
def test_im2col_and_col2im(kernel_size, stride, padding, dilation, rng):
    x = _randn(rng, (2, 3, 5, 6), F32)
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    oh = (5 + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (6 + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    geometry = (kernel_size, stride, padding, dilation)
    cols = np.empty((3 * kh * kw, 2, oh, ow), F32)
    check("conv", "im2col", [x, cols, *geometry])
    check("conv", "col2im", [_randn(rng, cols.shape, F32), np.empty_like(x), *geometry])


def test_conv_output_reorders(rng):
    y_cols = _randn(rng, (4, 2, 3, 5), F32)
    check("conv", "cols_to_output", [y_cols, _randn(rng, 4, F32), np.empty((2, 4, 3, 5), F32)])
    check("conv", "output_grad_to_cols",
          [_randn(rng, (2, 4, 3, 5), F32), np.empty((4, 2, 3, 5), F32), np.empty(4, F32)])


# ---- CUDA-only families: elementwise, reduce, matmul, against numpy ----------------------------
NUMPY_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                "eq": lambda a, b: (a == b).astype(F32)}


@pytest.mark.parametrize("op", sorted(NUMPY_BINARY))
@pytest.mark.parametrize("a_shape,b_shape", [((3, 4), (3, 4)), ((2, 3, 4), (4,)),
                                             ((3, 1), (1, 4)), ((4,), "scalar")])
def test_binary_broadcasts_like_numpy(op, a_shape, b_shape, rng):
    a = np.round(_randn(rng, a_shape, F32), 1)
    b = 0.5 if b_shape == "scalar" else np.round(_randn(rng, b_shape, F32), 1) + 3
    expected = NUMPY_BINARY[op](a, b)
    out = np.empty(expected.shape, F32)
    got = run_on_device(lambda a_, b_, o: _module("elementwise").binary(a_, b_, o, op),
                        [a, b, out])
    np.testing.assert_allclose(got[2], expected, rtol=1e-6)


@pytest.mark.parametrize("op,scalar,numpy_fn", [
    ("neg", 0.0, np.negative), ("exp", 0.0, np.exp),
    ("log", 0.0, lambda x: np.log(np.abs(x) + 0.1)),
    ("abs", 0.0, np.abs), ("sign", 0.0, np.sign), ("pow", 3.0, lambda x: x ** 3),
    ("scale", 2.5, lambda x: x * 2.5)])
def test_unary_matches_numpy(op, scalar, numpy_fn, rng):
    x = _randn(rng, (4, 5), F32)
    x[0, 0] = 0
    # (log of 0 is -inf on a GPU but an error in the simulator, which runs Python's math)
    source = np.abs(x) + np.float32(0.1) if op == "log" else x
    got = run_on_device(lambda x_, o: _module("elementwise").unary(x_, o, op, scalar),
                        [source, np.empty_like(x)])
    np.testing.assert_allclose(got[1], numpy_fn(x), rtol=1e-5)


def test_fill_copy_cast_and_permute(rng):
    ew = _module("elementwise")
    x = _randn(rng, (2, 3, 4), F32)
    got = run_on_device(lambda x_, o: ew.copy(x_, o), [x, np.empty(x.shape, F64)])
    np.testing.assert_array_equal(got[1], x.astype(F64))
    got = run_on_device(lambda o: ew.fill(o, 1.5), [np.empty((3, 2), F32)])
    np.testing.assert_array_equal(got[0], np.full((3, 2), 1.5, F32))
    got = run_on_device(lambda x_, o: ew.permute(x_, o, (2, 0, 1)), [x, np.empty((4, 2, 3), F32)])
    np.testing.assert_array_equal(got[1], x.transpose(2, 0, 1))


@pytest.mark.parametrize("shape,axes", [((3, 4), (0,)), ((2, 3, 4), (0, 2)), ((5, 7), (0, 1)),
                                        ((2, 3, 4), (1,))])
def test_sum_and_max_over_axes(shape, axes, rng):
    red = _module("reduce")
    x = _randn(rng, shape, F32)
    kept = tuple(n for d, n in enumerate(shape) if d not in axes) or (1,)
    got = run_on_device(lambda x_, o: red.sum_axes(x_, o, axes, 0.5), [x, np.empty(kept, F32)])
    np.testing.assert_allclose(got[1].reshape(-1), 0.5 * x.sum(axis=axes).reshape(-1), rtol=1e-5)
    x.flat[3] = np.nan
    got = run_on_device(lambda x_, o: red.max_axes(x_, o, axes), [x, np.empty(kept, F32)])
    np.testing.assert_array_equal(got[1].reshape(-1), x.max(axis=axes).reshape(-1))


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("max_grid_y", [65535, 1])
def test_gemm(transpose_a, transpose_b, with_bias, max_grid_y, rng, monkeypatch):
    from microdl.kernels.cuda import config

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
