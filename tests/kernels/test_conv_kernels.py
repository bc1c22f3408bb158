"""Conv kernels: the numpy reference against a naive loop, the numba twins against the reference."""

import numpy as np
import pytest

from microdl.backend import kernel_module
from microdl.kernels.cpu._jit import PARALLEL_MIN_ELEMENTS

ref, cpu = kernel_module("numpy", "conv"), kernel_module("numba", "conv")

# (N, C, H, W), kernel, stride, padding, dilation: odd and even kernels, strides, dilation,
# padding wider than the dilated half-kernel, and one shape above the parallel threshold.
GEOMETRIES = [
    ((2, 3, 7, 6), (3, 2), (1, 1), (1, 0), (1, 1)),
    ((2, 3, 9, 8), (3, 3), (2, 3), (2, 1), (2, 1)),
    ((1, 2, 5, 5), (1, 1), (2, 2), (0, 0), (1, 1)),
    ((3, 1, 6, 7), (2, 3), (1, 2), (3, 2), (1, 2)),
    ((16, 8, 12, 12), (3, 3), (1, 1), (1, 1), (1, 1)),
]


def out_hw(shape, kernel, stride, padding, dilation):
    return tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                 for s, k, st, p, d in zip(shape[2:], kernel, stride, padding, dilation))


def naive_im2col(x, kernel, stride, padding, dilation):
    n_, c_, h, w = x.shape
    oh_, ow_ = out_hw(x.shape, kernel, stride, padding, dilation)
    cols = np.zeros((c_ * kernel[0] * kernel[1], n_, oh_, ow_), x.dtype)
    for c in range(c_):
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                for n in range(n_):
                    for oh in range(oh_):
                        for ow in range(ow_):
                            ih = oh * stride[0] - padding[0] + i * dilation[0]
                            iw = ow * stride[1] - padding[1] + j * dilation[1]
                            if 0 <= ih < h and 0 <= iw < w:
                                cols[(c * kernel[0] + i) * kernel[1] + j, n, oh, ow] = \
                                    x[n, c, ih, iw]
    return cols


def test_geometries_cover_both_compiled_paths():
    sizes = [np.prod(g[0]) * np.prod(g[1]) for g in GEOMETRIES]
    assert min(sizes) < PARALLEL_MIN_ELEMENTS <= max(sizes)


@pytest.mark.parametrize("geometry", GEOMETRIES[:4])
def test_reference_im2col_matches_naive_loops_and_col2im_is_its_adjoint(geometry):
    shape, *hyper = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    cols = np.empty((shape[1] * hyper[0][0] * hyper[0][1], shape[0])
                    + out_hw(shape, *hyper))
    ref.im2col(x, cols, *hyper)
    np.testing.assert_array_equal(cols, naive_im2col(x, *hyper))
    # <im2col(x), c> == <x, col2im(c)> for any c: col2im is exactly im2col's transpose.
    c = rng.standard_normal(cols.shape)
    back = np.empty_like(x)
    ref.col2im(c, back, *hyper)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_numba_im2col_col2im_match_reference(geometry, dtype):
    shape, *hyper = geometry
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    cols_shape = (shape[1] * hyper[0][0] * hyper[0][1], shape[0]) + out_hw(shape, *hyper)
    expected, got = np.empty(cols_shape, dtype), np.full(cols_shape, np.nan, dtype)
    ref.im2col(x, expected, *hyper)
    cpu.im2col(x, got, *hyper)
    np.testing.assert_array_equal(got, expected)
    c = rng.standard_normal(cols_shape).astype(dtype)
    expected_dx, got_dx = np.empty_like(x), np.full_like(x, np.nan)
    ref.col2im(c, expected_dx, *hyper)
    cpu.col2im(c, got_dx, *hyper)
    np.testing.assert_allclose(got_dx, expected_dx, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (32, 16, 12, 12)])
def test_numba_reorders_match_reference(shape, dtype):
    n, cout, oh, ow = shape
    rng = np.random.default_rng(2)
    y_cols = rng.standard_normal((cout, n, oh, ow)).astype(dtype)
    bias = rng.standard_normal(cout).astype(dtype)
    outs = [np.empty(shape, dtype), np.full(shape, np.nan, dtype)]
    ref.cols_to_output(y_cols, bias, outs[0])
    cpu.cols_to_output(y_cols, bias, outs[1])
    np.testing.assert_array_equal(outs[1], outs[0])
    np.testing.assert_array_equal(outs[0][1, 2], y_cols[2, 1] + bias[2])
    g = rng.standard_normal(shape).astype(dtype)
    grads = [np.empty_like(y_cols), np.full_like(y_cols, np.nan)]
    sums = [np.empty(cout, dtype), np.full(cout, np.nan, dtype)]
    ref.output_grad_to_cols(g, grads[0], sums[0])
    cpu.output_grad_to_cols(g, grads[1], sums[1])
    np.testing.assert_array_equal(grads[1], grads[0])
    np.testing.assert_array_equal(grads[0], g.transpose(1, 0, 2, 3))
    np.testing.assert_allclose(sums[1], sums[0], rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(sums[0], g.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-6)
