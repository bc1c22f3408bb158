"""F.batch_norm: float64 gradcheck (training, eval), errors, dtypes, buffers updated in place."""

import numpy as np
import pytest

import microdl
import microdl.functional as F
from microdl.gradcheck import gradcheck


def _leaf(array):
    return microdl.tensor(array, requires_grad=True)


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (2, 3, 2, 3), (1, 2, 3, 2)])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_gradcheck(shape, affine, training, kernel_set, rng):
    C = shape[1]
    x = _leaf(rng.standard_normal(shape) * 2 + 1)
    w = _leaf(rng.uniform(0.5, 1.5, C)) if affine else None
    b = _leaf(rng.standard_normal(C)) if affine else None
    rm0, rv0 = rng.standard_normal(C), rng.uniform(0.5, 2, C)

    def fn(x, w, b):
        # fresh copies: training updates the running statistics in place on every call
        return F.batch_norm(x, rm0.copy(), rv0.copy(), w, b, training=training, momentum=0.3,
                            eps=1e-3)

    assert gradcheck(fn, [x, w, b])


def test_gradcheck_without_running_stats_in_training(kernel_set, rng):
    x = _leaf(rng.standard_normal((6, 2, 3)))
    w, b = _leaf(rng.uniform(0.5, 1.5, 2)), _leaf(rng.standard_normal(2))
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [x, w, b])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_training_values_and_running_stats_in_place(dtype, kernel_set, rng):
    x = (rng.standard_normal((8, 3, 2, 2)) * 3 + 2).astype(dtype)
    rm, rv = np.zeros(3, dtype), np.ones(3, dtype)
    rm_id, rv_id = id(rm), id(rv)
    y = F.batch_norm(microdl.tensor(x), rm, rv, training=True, momentum=0.25)
    assert y.dtype == dtype and y.shape == x.shape
    mean = x.astype(np.float64).mean(axis=(0, 2, 3))
    var = x.astype(np.float64).var(axis=(0, 2, 3))
    expected = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(y.array, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(rm, 0.25 * mean, rtol=tol)
    np.testing.assert_allclose(rv, 0.75 + 0.25 * var * 32 / 31, rtol=tol)
    assert id(rm) == rm_id and id(rv) == rv_id and rm.dtype == dtype


def test_eval_uses_running_stats(kernel_set, rng):
    x = rng.standard_normal((4, 3)).astype(np.float32)
    rm, rv = np.array([1, 2, 3], np.float32), np.array([4, 1, 0.25], np.float32)
    w, b = np.array([1, 2, 3], np.float32), np.array([0, 1, -1], np.float32)
    y = F.batch_norm(x, rm, rv, microdl.tensor(w), microdl.tensor(b), training=False, eps=0.0)
    np.testing.assert_allclose(y.array, (x - rm) / np.sqrt(rv) * w + b, rtol=1e-6)
    np.testing.assert_array_equal(rm, [1, 2, 3])


def test_errors_name_what_is_wrong():
    x = microdl.tensor(np.zeros((2, 4), np.float32))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        F.batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32), training=True)
    with pytest.raises(RuntimeError, match="weight should contain 4 elements not 5"):
        F.batch_norm(x, None, None, microdl.tensor(np.ones(5, np.float32)), training=True)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                                         r"training, got input size \[1, 4\]"):
        F.batch_norm(np.zeros((1, 4), np.float32), None, None, training=True)
    with pytest.raises(RuntimeError, match="running_mean and running_var must be defined"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.batch_norm(np.zeros(4, np.float32), None, None, training=True)


def test_batch_of_one_with_a_plane_is_fine(kernel_set, rng):
    x = _leaf(rng.standard_normal((1, 2, 3, 3)))
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), [x])


def test_non_contiguous_input_and_gradient(kernel_set, rng):
    base = rng.standard_normal((3, 5, 4, 2))
    x = _leaf(np.ascontiguousarray(base.transpose(0, 2, 1, 3)))
    y = F.batch_norm(microdl.tensor(base).transpose(0, 2, 1, 3), None, None, training=True)
    expected = F.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(y.array, expected.array, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal((5, 4, 3, 2)).transpose(2, 1, 0, 3)   # non-contiguous upstream
    expected.backward(g)
    x2 = _leaf(x.array.copy())
    F.batch_norm(x2, None, None, training=True).backward(np.ascontiguousarray(g))
    np.testing.assert_allclose(x.grad.array, x2.grad.array, rtol=1e-12, atol=1e-12)


def test_functional_momentum_none_gets_a_clear_error():
    x = microdl.tensor(np.ones((4, 3), np.float32))
    with pytest.raises(TypeError, match="momentum must be a number"):
        F.batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32), training=True,
                     momentum=None)


def _fused_inputs(shape):
    """x, weight and bias (float64, requiring grad) and running statistics for a fused op."""
    rng = np.random.default_rng(7)
    x = microdl.tensor(rng.standard_normal(shape), requires_grad=True)
    w = microdl.tensor(rng.uniform(0.5, 1.5, shape[1]), requires_grad=True)
    b = microdl.tensor(rng.standard_normal(shape[1]) * 0.3, requires_grad=True)
    return x, w, b, rng.standard_normal(shape[1]), rng.uniform(0.5, 2, shape[1])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 4)])
def test_batch_norm_sigmoid_gradcheck(shape, training, kernel_set):
    x, w, b, rm, rv = _fused_inputs(shape)
    expected = F.sigmoid(F.batch_norm(x, rm.copy(), rv.copy(), w, b, training=training))
    out = F.batch_norm_sigmoid(x, rm.copy(), rv.copy(), w, b, training=training)
    np.testing.assert_allclose(out.array, expected.array, rtol=1e-14, atol=1e-15)
    assert microdl.gradcheck(
        lambda x, w, b: F.batch_norm_sigmoid(x, rm.copy(), rv.copy(), w, b, training=training),
        [x, w, b])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 4)])
def test_batch_norm_relu_gradcheck(shape, training, kernel_set):
    x, w, b, rm, rv = _fused_inputs(shape)
    out = F.batch_norm_relu(x, rm.copy(), rv.copy(), w, b, training=training)
    assert (out.array == 0).any() and (out.array > 0).any()  # both sides of the kink are tried
    assert microdl.gradcheck(
        lambda x, w, b: F.batch_norm_relu(x, rm.copy(), rv.copy(), w, b, training=training),
        [x, w, b])
