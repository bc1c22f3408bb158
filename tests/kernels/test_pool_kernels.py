"""Pool kernels: the numpy reference against naive loops, window means and its own adjoint. (The
numba and cuda twins against the reference are test_kernel_sets.py.)"""

import numpy as np
import pytest

from microdl.backend import kernel_module

ref = kernel_module("numpy", "pool")

# (N, C, H, W), kernel, stride, padding; (16, 32, 28, 28) is above the parallel threshold.
GEOMETRIES = [
    ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    ((2, 2, 7, 5), (3, 2), (2, 1), (1, 1)),
    ((1, 2, 5, 6), (3, 3), (1, 2), (1, 0)),
    ((16, 32, 28, 28), (2, 2), (2, 2), (0, 0)),
    ((3, 2, 7, 9), (2, 2), (2, 2), (0, 0)),  # odd sides: the last row and column get no window
]


def out_shape(shape, kernel, stride, padding):
    return shape[:2] + tuple((s + 2 * p - k) // st + 1
                             for s, k, st, p in zip(shape[2:], kernel, stride, padding))


def naive_max_pool(x, kernel, stride, padding):
    out = np.empty(out_shape(x.shape, kernel, stride, padding), x.dtype)
    idx = np.empty(out.shape, np.int64)
    for n, c, oh, ow in np.ndindex(*out.shape):
        best, arg = -np.inf, None
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                h, w = oh * stride[0] - padding[0] + i, ow * stride[1] - padding[1] + j
                if 0 <= h < x.shape[2] and 0 <= w < x.shape[3]:
                    v = x[n, c, h, w]
                    if arg is None or v > best or np.isnan(v):
                        best, arg = v, h * x.shape[3] + w
        out[n, c, oh, ow], idx[n, c, oh, ow] = best, arg
    return out, idx


def run_max(module, x, geometry):
    out = np.full(out_shape(x.shape, *geometry), np.nan, x.dtype)
    idx = np.full(out.shape, -1, np.int32)
    module.max_pool2d_forward(x, out, idx, *geometry)
    return out, idx


def test_reference_max_pool_matches_naive_loops_with_ties_nan_and_inf():
    rng = np.random.default_rng(0)
    x = rng.integers(-2, 3, (2, 3, 7, 5)).astype(np.float64)  # many ties
    x[0, 0, 1, 1] = x[0, 0, 3, 2] = np.nan
    x[1, 1] = -np.inf  # windows of -inf only: the first tap inside x is the index
    for _, *geometry in GEOMETRIES[:3]:
        out, idx = run_max(ref, x, geometry)
        expected_out, expected_idx = naive_max_pool(x, *geometry)
        np.testing.assert_array_equal(out, expected_out)
        np.testing.assert_array_equal(idx, expected_idx)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_reference_max_pool_backward_routes_every_gradient(geometry, dtype):
    """Each output's gradient lands on exactly one input, its arg-max (ties, NaN and -inf in
    the inputs), so dx sums to g's sum however the windows overlap."""
    shape, *hyper = geometry
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, shape).astype(dtype)
    x.reshape(-1)[::97] = np.nan
    x[0, 1] = -np.inf
    out, idx = run_max(ref, x, hyper)
    g = rng.standard_normal(out.shape).astype(dtype)
    dx = np.full(shape, np.nan, dtype)
    ref.max_pool2d_backward(g, idx, dx, *hyper)
    np.testing.assert_allclose(dx.sum(), g.sum(), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_reference_avg_pool_is_the_window_mean_and_its_backward_the_adjoint(geometry, dtype):
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    out = np.full(out_shape(shape, kernel, stride, padding), np.nan, dtype)
    ref.avg_pool2d_forward(x, out, kernel, stride, padding)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # the first window, zero padding counted (count_include_pad, PyTorch's default)
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    window = padded[:, :, :kernel[0], :kernel[1]].sum(axis=(2, 3)) / (kernel[0] * kernel[1])
    np.testing.assert_allclose(out[:, :, 0, 0], window, rtol=tol, atol=tol)
    g = rng.standard_normal(out.shape).astype(dtype)
    dx = np.full(shape, np.nan, dtype)
    ref.avg_pool2d_backward(g, dx, kernel, stride, padding)
    # <avg_pool(x), g> == <x, avg_pool_backward(g)>: the backward is the forward's adjoint.
    np.testing.assert_allclose(np.sum(out * g), np.sum(x * dx), rtol=1e-4)
