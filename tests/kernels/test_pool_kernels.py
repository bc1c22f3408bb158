"""Pool kernels: the numpy reference against naive loops, the numba twins against the reference."""

import numpy as np
import pytest

from microdl.backend import kernel_module

ref, cpu = kernel_module("numpy", "pool"), kernel_module("numba", "pool")

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
def test_numba_max_pool_matches_reference(geometry, dtype):
    shape, *hyper = geometry
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, shape).astype(dtype)
    x.reshape(-1)[::97] = np.nan
    x[0, 1] = -np.inf
    out, idx = run_max(ref, x, hyper)
    got_out, got_idx = run_max(cpu, x, hyper)
    np.testing.assert_array_equal(got_out, out)
    np.testing.assert_array_equal(got_idx, idx)
    g = rng.standard_normal(out.shape).astype(dtype)
    dx = [np.full(shape, np.nan, dtype) for _ in range(2)]
    ref.max_pool2d_backward(g, idx, dx[0], *hyper)
    cpu.max_pool2d_backward(g, idx, dx[1], *hyper)
    np.testing.assert_allclose(dx[1], dx[0], rtol=1e-6)
    np.testing.assert_allclose(dx[0].sum(), g.sum(), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_numba_avg_pool_matches_reference(geometry, dtype):
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    outs = [np.full(out_shape(shape, kernel, stride, padding), np.nan, dtype) for _ in range(2)]
    ref.avg_pool2d_forward(x, outs[0], kernel, stride, padding)
    cpu.avg_pool2d_forward(x, outs[1], kernel, stride, padding)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(outs[1], outs[0], rtol=tol, atol=tol)
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    window = padded[:, :, :kernel[0], :kernel[1]].sum(axis=(2, 3)) / (kernel[0] * kernel[1])
    np.testing.assert_allclose(outs[0][:, :, 0, 0], window, rtol=tol, atol=tol)
    g = rng.standard_normal(outs[0].shape).astype(dtype)
    dx = [np.full(shape, np.nan, dtype) for _ in range(2)]
    ref.avg_pool2d_backward(g, dx[0], kernel, stride, padding)
    cpu.avg_pool2d_backward(g, dx[1], kernel, stride, padding)
    np.testing.assert_allclose(dx[1], dx[0], rtol=tol, atol=tol)
    # <avg_pool(x), g> == <x, avg_pool_backward(g)>: the backward is the forward's adjoint.
    np.testing.assert_allclose(np.sum(outs[0] * g), np.sum(x * dx[0]), rtol=1e-4)
