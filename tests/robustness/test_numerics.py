"""Extreme inputs: sigmoid, tanh, softmax, log_softmax and cross-entropy at +/-1000 stay finite
and correct (forward and gradient), and BatchNorm stays accurate for channels with large means.

The reference values are computed here in float64 with the textbook-stable formulas, and the
ops are run in float32 and float64 on both kernel sets.
"""

import numpy as np
import pytest

import microdl.functional as F
from microdl import tensor

X = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0],
              [1000.0, 999.0, -1000.0, 0.5, -0.5],
              [-1000.0, -1000.0, -1000.0, -1000.0, -999.0]])
LABELS = np.array([0, 2, 4])
G = np.linspace(-1.0, 1.0, X.size).reshape(X.shape)


def log_softmax_ref(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def sigmoid_ref(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


# name -> (op, forward reference, gradient reference for upstream gradient G)
CASES = {
    "sigmoid": (F.sigmoid, sigmoid_ref,
                lambda: G * sigmoid_ref(X) * (1 - sigmoid_ref(X))),
    "tanh": (F.tanh, np.tanh, lambda: G * (1 - np.tanh(X) ** 2)),
    "softmax": (lambda x: F.softmax(x, dim=1), lambda x: np.exp(log_softmax_ref(x)),
                lambda: np.exp(log_softmax_ref(X)) * (G - (G * np.exp(log_softmax_ref(X)))
                                                      .sum(axis=1, keepdims=True))),
    "log_softmax": (lambda x: F.log_softmax(x, dim=1), log_softmax_ref,
                    lambda: G - np.exp(log_softmax_ref(X)) * G.sum(axis=1, keepdims=True)),
    "cross_entropy": (lambda x: F.cross_entropy(x, LABELS, reduction="sum"),
                      lambda x: -log_softmax_ref(x)[np.arange(3), LABELS].sum(),
                      lambda: np.exp(log_softmax_ref(X)) - np.eye(5)[LABELS]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(CASES))
def test_saturating_ops_stay_finite_and_correct_at_plus_minus_1000(name, dtype, kernel_set):
    op, forward_ref, grad_ref = CASES[name]
    x = tensor(X.astype(dtype), requires_grad=True)
    y = op(x)
    y.backward(np.ones((), dtype) if y.ndim == 0 else G.astype(dtype))
    assert np.isfinite(y.array).all() and np.isfinite(x.grad.array).all()
    tol = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.array, forward_ref(X), **tol)
    np.testing.assert_allclose(x.grad.array, grad_ref(), **tol)


@pytest.mark.parametrize("mean", [1e3, 1e5, -3e6])
def test_batch_norm_is_accurate_for_channels_with_large_means(mean, kernel_set):
    # float32 data around a large mean: every value is exact in float32, so the only error is
    # the op's own. The statistics must be float64-accurate (E[x^2] - E[x]^2 would lose every
    # digit: mean^2 / var is up to 1e11). The elementwise pass computes x - mean in float32 with
    # mean rounded to float32, as PyTorch does: an error of up to half a float32 spacing at
    # |mean|, divided by the standard deviation, is the resolution float32 data has here.
    rng = np.random.default_rng(0)
    x = (mean + np.round(rng.standard_normal((64, 4, 3)) * 8)).astype(np.float32)
    assert np.array_equal(x.astype(np.float64) - mean, np.round(x.astype(np.float64) - mean))
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = tensor(np.linspace(0.5, 2.0, 4).astype(np.float32), requires_grad=True)
    xt = tensor(x, requires_grad=True)
    running_mean, running_var = np.zeros(4, np.float32), np.ones(4, np.float32)
    y = F.batch_norm(xt, running_mean, running_var, w, None, training=True, momentum=1.0)
    y.backward(g)

    x64 = x.astype(np.float64)
    axes = (0, 2)
    mu, var = x64.mean(axis=axes, keepdims=True), x64.var(axis=axes, keepdims=True)
    xhat = (x64 - mu) / np.sqrt(var + 1e-5)
    w64 = w.array.astype(np.float64).reshape(1, 4, 1)
    m = x.size // 4
    dgamma = (g * xhat).sum(axis=axes, keepdims=True)
    dx = w64 / np.sqrt(var + 1e-5) * (g - g.sum(axis=axes, keepdims=True) / m - xhat * dgamma / m)
    resolution = float(np.spacing(np.float32(abs(mean)))) / np.sqrt(var.min())
    np.testing.assert_allclose(running_mean, mu.ravel(), rtol=1e-7)
    np.testing.assert_allclose(running_var, var.ravel() * m / (m - 1), rtol=1e-5)
    np.testing.assert_allclose(y.array, xhat * w64, rtol=1e-5, atol=2 * resolution + 1e-5)
    assert np.isfinite(xt.grad.array).all() and np.isfinite(w.grad.array).all()
    scale = np.abs(dx).max()
    np.testing.assert_allclose(xt.grad.array, dx, rtol=1e-4, atol=(2 * resolution + 1e-5) * scale)
    np.testing.assert_allclose(w.grad.array, dgamma.ravel(), rtol=1e-4, atol=1e-3)
