"""Batch-norm kernels: numba's layout choice and each layout forced, numerics, determinism and the
fused ReLU against the unfused pair. (Each kernel against numpy_ref on every layout is
test_kernel_sets.py.)"""

import numba
import numpy as np
import pytest

from microdl.kernels.cpu import normalization as nb
from microdl.kernels.numpy_ref import normalization as ref

# (shape (N, C, S), layout the default settings pick)
DEFAULT_LAYOUTS = [
    ((60, 100, 1), "small"),
    ((330, 102, 1), "serial"),
    ((256, 1024, 1), "serial"),
    ((512, 1024, 1), "rows"),
    ((1000, 37, 61), "rows"),
    ((128, 16, 784), "channels"),
    ((64, 64, 196), "channels"),
    ((256, 256, 64), "rows"),
    ((64, 8, 300), "serial"),
]
# Small shapes on every layout, with the thresholds of SMALL (kept small so the numpy
# reference stays fast): (shape, layout they take).
SMALL = dict(TINY_ELEMENTS=1 << 16, SMALL_ELEMENTS=1 << 12)
LAYOUTS = [
    ((40, 50, 1), "small"),
    ((60, 100, 1), "serial"),
    ((3, 4, 5), "serial"),
    ((256, 1024, 1), "rows"),
    ((256, 64, 16), "rows"),
    ((33, 37, 64), "rows"),
    ((16, 8, 1100), "channels"),
    ((5, 3, 5003), "channels"),
]
# Thresholds low enough that any shape takes a parallel layout.
PARALLEL = dict(TINY_ELEMENTS=0)


@pytest.fixture(autouse=True)
def small_thresholds(monkeypatch):
    for name, value in SMALL.items():
        monkeypatch.setattr(nb, name, value)


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def _inputs(shape, dtype, rng, affine=True, track=True):
    C = shape[1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3, (1, C, 1))
         + rng.uniform(-4, 4, (1, C, 1))).astype(dtype)
    empty = np.empty(0, dtype)
    w = rng.uniform(0.5, 1.5, C).astype(dtype) if affine else empty
    b = rng.standard_normal(C).astype(dtype) if affine else empty
    rm = rng.standard_normal(C).astype(dtype) if track else empty
    rv = rng.uniform(0.5, 2, C).astype(dtype) if track else empty
    g = rng.standard_normal(shape).astype(dtype)
    return x, w, b, rm, rv, g


def _forward_train(module, x, w, b, rm, rv, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    y = np.empty_like(x)
    mean, invstd = np.empty(C), np.empty(C)
    rm, rv = rm.copy(), rv.copy()
    module.batch_norm_forward_train(x, w, b, y, mean, invstd, rm, rv, momentum, eps)
    return y, mean, invstd, rm, rv


def _forward_eval(module, x, w, b, rm, rv, eps=1e-5):
    C = x.shape[1]
    y = np.empty_like(x)
    mean, invstd = np.empty(C), np.empty(C)
    module.batch_norm_forward_eval(x, w, b, rm, rv, y, mean, invstd, eps)
    return y, mean, invstd


def _backward(module, x, g, w, mean, invstd, training):
    C = x.shape[1]
    gdtype = w.dtype if w.size else x.dtype
    gx, gw, gb = np.empty_like(x), np.empty(C, gdtype), np.empty(C, gdtype)
    module.batch_norm_backward(x, g, w, mean, invstd, gx, gw, gb, training)
    return gx, gw, gb


def _close(a, b, dtype):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, **_tol(dtype))


@pytest.mark.parametrize("shape,layout", LAYOUTS)
def test_layout_choice_under_small_thresholds(shape, layout):
    assert nb._layout(np.empty(shape, np.float32)) == layout


@pytest.mark.parametrize("shape,layout", DEFAULT_LAYOUTS)
def test_default_layout_choice(shape, layout, monkeypatch):
    monkeypatch.undo()  # the module's own thresholds, not SMALL
    assert nb._layout(np.empty(shape, np.float32)) == layout


@pytest.mark.parametrize("settings,layout", [
    (dict(PARALLEL, PLANE_MIN=1, SMALL_ELEMENTS=0), "channels"),
    (dict(PARALLEL, PLANE_MIN=10 ** 9, CHUNK_ELEMENTS=64, SMALL_ELEMENTS=0), "rows"),
    (dict(TINY_ELEMENTS=10 ** 9, SMALL_ELEMENTS=0), "serial"),
    (dict(SMALL_ELEMENTS=10 ** 9), "small"),
])
@pytest.mark.parametrize("shape", [(7, 5, 16), (40, 3, 1), (9, 2, 300), (2, 6, 1)])
def test_each_layout_forced_on_odd_shapes(shape, settings, layout, monkeypatch, rng):
    if layout == "small" and shape[2] != 1:
        pytest.skip("the small layout is BatchNorm1d's (S == 1)")
    for name, value in settings.items():
        monkeypatch.setattr(nb, name, value)
    x, w, b, rm, rv, g = _inputs(shape, np.float32, rng)
    assert nb._layout(x) == layout
    _close(_forward_train(nb, x, w, b, rm, rv), _forward_train(ref, x, w, b, rm, rv), np.float32)
    _close(_forward_eval(nb, x, w, b, rm, rv), _forward_eval(ref, x, w, b, rm, rv), np.float32)
    _, mean, invstd, _, _ = _forward_train(ref, x, w, b, rm, rv)
    for training in (True, False):
        _close(_backward(nb, x, g, w, mean, invstd, training),
               _backward(ref, x, g, w, mean, invstd, training), np.float32)


@pytest.mark.parametrize("shape,layout", LAYOUTS)
@pytest.mark.parametrize("infinity", [-np.inf, np.inf])
def test_an_infinite_upstream_gradient_reaches_the_sums_on_every_layout(shape, layout, infinity,
                                                                        rng):
    """dy = +-inf in one place: sum(dy) and sum(dy * xhat) of its channel are infinite, as in
    the reference (and PyTorch); the kernels once masked an -inf dy to 0, as if a ReLU had
    cut it."""
    x, w, b, rm, rv, g = _inputs(shape, np.float32, rng)
    g[1 % shape[0], 1, 0] = infinity
    _, mean, invstd, _, _ = _forward_train(ref, x, w, b, rm, rv)
    for training in (True, False):
        with np.errstate(invalid="ignore"):  # inf - inf in the reference's dx
            want = _backward(ref, x, g, w, mean, invstd, training)
        got = _backward(nb, x, g, w, mean, invstd, training)
        assert np.isinf(got[2][1]) and np.isinf(got[1][1])
        np.testing.assert_allclose(got[2], want[2], **_tol(np.float32))  # grad_bias
        np.testing.assert_allclose(got[1], want[1], **_tol(np.float32))  # grad_weight
        np.testing.assert_array_equal(np.isfinite(got[0]), np.isfinite(want[0]))


@pytest.mark.parametrize("module", [ref, nb], ids=["numpy", "numba"])
@pytest.mark.parametrize("shape", [(4096, 3, 1), (64, 3, 1024), (16, 3, 16)])
def test_variance_of_a_large_mean_channel_in_float32(module, shape, rng):
    x = (1e4 + rng.standard_normal(shape)).astype(np.float32)
    C = shape[1]
    empty = np.empty(0, np.float32)
    y, mean, invstd, _, _ = _forward_train(module, x, empty, empty, empty, empty, eps=0.0)
    exact = x.astype(np.float64).var(axis=(0, 2))
    np.testing.assert_allclose(1 / invstd ** 2, exact, rtol=1e-3)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-9)
    exact_y = (x - mean[:, None]) / np.sqrt(exact[:, None])
    # float32 output: x and the mean are only known to ~1e-3 here, as in PyTorch
    np.testing.assert_allclose(y, exact_y, atol=2e-3)
    assert C == 3


@pytest.mark.parametrize("module", [ref, nb], ids=["numpy", "numba"])
@pytest.mark.parametrize("shape", [(60, 4, 1), (256, 64, 16), (8, 4, 512)])
def test_constant_channel_gives_finite_output_and_nan_propagates(module, shape, rng):
    x, w, b, rm, rv, g = _inputs(shape, np.float32, rng)
    x[:, 0] = 7.25
    x[1, 1, 0] = np.nan
    y, mean, invstd, rm2, rv2 = _forward_train(module, x, w, b, rm, rv)
    assert np.isfinite(y[:, 0]).all()
    np.testing.assert_allclose(y[:, 0], b[0], atol=1e-6)
    assert np.isnan(y[:, 1]).all() and np.isnan(rm2[1]) and np.isnan(rv2[1])
    assert np.isfinite(y[:, 2:]).all()
    gx, gw, gb = _backward(module, x, g, w, mean, invstd, True)
    assert np.isfinite(gx[:, 0]).all() and np.isnan(gx[:, 1]).all()


@pytest.mark.parametrize("shape,layout", [((256, 64, 16), "rows"), ((4096, 512, 1), "rows"),
                                          ((64, 16, 1024), "channels")])
def test_bitwise_identical_whatever_the_thread_count(shape, layout, monkeypatch, rng):
    for name, value in PARALLEL.items():
        monkeypatch.setattr(nb, name, value)
    x, w, b, rm, rv, g = _inputs(shape, np.float32, rng)
    assert nb._layout(x) == layout
    results = []
    previous = numba.get_num_threads()
    try:
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            y, mean, invstd, rm2, rv2 = _forward_train(nb, x, w, b, rm, rv)
            results.append((y, mean, invstd, rm2, rv2)
                           + _backward(nb, x, g, w, mean, invstd, True))
    finally:
        numba.set_num_threads(previous)
    for a, b_ in zip(*results):
        assert np.array_equal(a, b_, equal_nan=True)


# ---- BatchNorm + ReLU, fused ---------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape,layout", LAYOUTS)
def test_fused_relu_matches_reference_and_the_unfused_pair(shape, layout, training, dtype, rng):
    assert nb._layout(np.empty(shape)) == layout
    x, w, b, rm, rv, g = _inputs(shape, dtype, rng)
    C = x.shape[1]
    results = {}
    for name, module in (("numba", nb), ("numpy", ref)):
        y, mean, invstd = np.empty_like(x), np.empty(C), np.empty(C)
        rm2, rv2 = rm.copy(), rv.copy()
        if training:
            module.batch_norm_relu_forward_train(x, w, b, y, mean, invstd, rm2, rv2, 0.1, 1e-5)
        else:
            module.batch_norm_relu_forward_eval(x, w, b, rm2, rv2, y, mean, invstd, 1e-5)
        gx, gw, gb = np.empty_like(x), np.empty(C, dtype), np.empty(C, dtype)
        module.batch_norm_relu_backward(x, y, g, w, mean, invstd, gx, gw, gb, training)
        results[name] = (y, mean, invstd, rm2, rv2, gx, gw, gb)
    _close(results["numba"], results["numpy"], dtype)
    y = results["numba"][0]
    assert (y >= 0).all() and (y == 0).any() and (y > 0).any()
    # the unfused pair: BatchNorm, then ReLU, then the ReLU's gradient into BatchNorm's backward
    if training:
        pre, mean, invstd, _, _ = _forward_train(nb, x, w, b, rm, rv)
    else:
        pre, mean, invstd = _forward_eval(nb, x, w, b, rm, rv)
    np.testing.assert_array_equal(y, np.maximum(pre, 0))
    masked = np.where(pre > 0, g, 0).astype(dtype)
    _close(results["numba"][5:], _backward(nb, x, masked, w, mean, invstd, training), dtype)
