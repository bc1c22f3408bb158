"""Numba activation and softmax kernels against the numpy reference, serial and parallel paths."""

import numpy as np
import pytest

from microdl.backend import kernel_module
from microdl.kernels.cpu._jit import BLOCKED_MIN_ELEMENTS, PARALLEL_MIN_ELEMENTS

ref_act, cpu_act = kernel_module("numpy", "activation"), kernel_module("numba", "activation")
ref_sm, cpu_sm = kernel_module("numpy", "softmax"), kernel_module("numba", "softmax")

# One shape under the parallel threshold, one above it, so both compiled paths run, and one past
# the blocked threshold (numpy's exp/tanh in row blocks over microdl's threads).
SHAPES = [(7, 13), (PARALLEL_MIN_ELEMENTS // 64 + 3, 64), (BLOCKED_MIN_ELEMENTS // 100 + 7, 100)]
DTYPES = [np.float32, np.float64]


def rtol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-12


def run_both(name, ref_module, cpu_module, inputs, out_shapes, *scalars):
    outs = []
    for module in (ref_module, cpu_module):
        buffers = [np.empty(s, dtype) for s, dtype in out_shapes]
        getattr(module, name)(*inputs, *buffers, *scalars)
        outs.append(buffers)
    return outs


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu"])
def test_activation_forward_and_backward_match_reference(name, shape, dtype):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    scalars = (0.2,) if name == "leaky_relu" else ()
    ref, got = run_both(f"{name}_forward", ref_act, cpu_act, [x], [(shape, dtype)], *scalars)
    np.testing.assert_allclose(got[0], ref[0], rtol=rtol(dtype), atol=1e-7)
    saved = x if name == "leaky_relu" else ref[0]
    ref, got = run_both(f"{name}_backward", ref_act, cpu_act, [saved, g], [(shape, dtype)],
                        *scalars)
    np.testing.assert_allclose(got[0], ref[0], rtol=rtol(dtype), atol=1e-7)


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


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_matches_reference(name, shape, dtype):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(shape) * 30).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    ref, got = run_both(f"{name}_forward", ref_sm, cpu_sm, [x], [(shape, dtype)])
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-6)
    ref, got = run_both(f"{name}_backward", ref_sm, cpu_sm, [ref[0], g], [(shape, dtype)])
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-4 if dtype == np.float32 else 1e-10,
                               atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_matches_reference(shape, dtype):
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal(shape) * 10).astype(dtype)
    labels = rng.integers(0, shape[1], shape[0])
    out_shapes = [(shape, dtype), ((shape[0],), dtype)]
    ref, got = run_both("cross_entropy_forward", ref_sm, cpu_sm, [logits, labels], out_shapes)
    for r, o in zip(ref, got):
        np.testing.assert_allclose(o, r, rtol=1e-4 if dtype == np.float32 else 1e-10,
                                   atol=1e-5)
    grad_losses = rng.random(shape[0]).astype(dtype)
    ref2, got2 = run_both("cross_entropy_backward", ref_sm, cpu_sm,
                          [ref[0], labels, grad_losses], [(shape, dtype)])
    np.testing.assert_allclose(got2[0], ref2[0], rtol=1e-4, atol=1e-7)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    out = np.empty_like(x)
    cpu_sm.log_softmax_forward(x, out)
    np.testing.assert_allclose(out, [[0, -1000, -2000]], atol=1e-3)
