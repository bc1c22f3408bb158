"""The row_norm kernels (LayerNorm, GroupNorm, InstanceNorm) of the "numba" set (both layouts)
and the "cuda" set (the simulator, launches shrunk) against numpy_ref, and numba's results
against the thread count."""

import numba
import numpy as np
import pytest

from kernel_harness import KernelSet
from microdl.kernels.cpu import row_norm as nb_row_norm


# ---- kernels: every set against numpy_ref ---------------------------------------------------

# (N, G, D, S): LayerNorm's (rows, 1, M, 1), GroupNorm's (N, G, C / G, S), InstanceNorm's
KERNEL_SHAPES = [(5, 1, 7, 1), (3, 2, 3, 4), (2, 4, 1, 9), (1, 1, 23, 1), (3, 1, 2, 17)]


def _kernel_arguments(shape, dtype, affine, rng):
    N, G, D, S = shape
    x = (rng.standard_normal(shape) * 3 + 5).astype(dtype)
    w = rng.uniform(0.5, 1.5, G * D).astype(dtype) if affine else np.empty(0, dtype)
    b = rng.standard_normal(G * D).astype(dtype) if affine else np.empty(0, dtype)
    stats = np.full((N, G), np.nan), np.full((N, G), np.nan)
    return x, w, b, stats


def _check_kernels(kernel_set, shape, dtype, affine, rng):
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    x, w, b, (mean, invstd) = _kernel_arguments(shape, dtype, affine, rng)
    forward = [x, w, b, np.full(shape, np.nan, dtype), mean, invstd, 1e-5]
    _, _, _, _, mean, invstd, _ = kernel_set.check("row_norm", "row_norm_forward", forward,
                                                   **tol)
    # "weight_grad_only": the op passes a size-0 grad_bias when bias needs no gradient
    bias_grad_size = 0 if affine == "weight_grad_only" else b.size
    grads = np.full(w.size, np.nan, dtype), np.full(bias_grad_size, np.nan, dtype)
    g = rng.standard_normal(shape).astype(dtype)
    kernel_set.check("row_norm", "row_norm_backward",
                     [x, g, w, mean, invstd, np.full(shape, np.nan, dtype), *grads], **tol)


@pytest.mark.parametrize("affine", [True, False, "weight_grad_only"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_kernels_match_numpy_ref(shape, dtype, affine, twin, rng):
    """numba: the rows layout (rows are short); cuda: a block per row, 8 threads, 3 blocks."""
    _check_kernels(twin, shape, dtype, affine, rng)


@pytest.mark.parametrize("affine", [True, False, "weight_grad_only"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_numba_pieces_layout_matches_numpy_ref(shape, dtype, affine, monkeypatch, rng):
    """Pieces of 3 values, so that tiny rows take the few-long-rows layout too."""
    monkeypatch.setattr(nb_row_norm, "PIECE_ELEMENTS", 3)
    assert nb_row_norm._pieces(np.empty((shape[0] * shape[1], shape[2] * shape[3]))) \
        is not None
    _check_kernels(KernelSet("numba"), shape, dtype, affine, rng)


@pytest.mark.parametrize("shape", [(64, 1, 1024, 1), (2, 1, 40000, 1), (8, 4, 8, 1024)])
def test_numba_results_do_not_depend_on_the_thread_count(shape, rng):
    """Large shapes (parallel builds; the second takes the pieces layout): 1 and 2 threads
    give the same bits."""
    x, w, b, _ = _kernel_arguments(shape, np.float32, True, rng)
    g = rng.standard_normal(shape).astype(np.float32)
    results = []
    previous = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            y, mean, invstd = np.empty_like(x), np.empty(shape[:2]), np.empty(shape[:2])
            nb_row_norm.row_norm_forward(x, w, b, y, mean, invstd, 1e-5)
            gx, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)
            nb_row_norm.row_norm_backward(x, g, w, mean, invstd, gx, gw, gb)
            results.append((y, mean, invstd, gx, gw, gb))
    finally:
        numba.set_num_threads(previous)
    for first, second in zip(*results):
        np.testing.assert_array_equal(first, second)
