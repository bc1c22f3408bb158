"""Numba activation and softmax kernels on values where the formulas overflow or NaNs arrive.
(The kernels against the numpy reference, per shape and dtype, are test_kernel_sets.py.)"""

import numpy as np
import pytest

from microdl.backend import kernel_module

cpu_act, cpu_sm = kernel_module("numba", "activation"), kernel_module("numba", "softmax")


# Expected outputs for x = -1000, 1000, -inf, inf, 0.
EXTREMES = {
    "relu": [0, 1000, 0, np.inf, 0],
    "sigmoid": [0, 1, 0, 1, 0.5],
    "tanh": [-1, 1, -1, 1, 0],
}


@pytest.mark.parametrize("name", sorted(EXTREMES))
def test_activations_propagate_nan_and_survive_extremes(name):
    x = np.array([np.nan, -1000, 1000, -np.inf, np.inf, 0], np.float32)
    out = np.empty_like(x)
    getattr(cpu_act, f"{name}_forward")(x, out)
    assert np.isnan(out[0])
    np.testing.assert_array_equal(out[1:], np.array(EXTREMES[name], np.float32))


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    out = np.empty_like(x)
    cpu_sm.log_softmax_forward(x, out)
    np.testing.assert_allclose(out, [[0, -1000, -2000]], atol=1e-3)
