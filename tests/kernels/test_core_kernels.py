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


def _ulps(values, exact):
    """|values - exact| in units of the float32 spacing at exact (the smallest subnormal's at
    0)."""
    spacing = np.spacing(np.abs(exact.astype(np.float32))).astype(np.float64)
    spacing[spacing == 0] = np.spacing(np.float32(0))
    return np.abs(values.astype(np.float64) - exact) / spacing


def test_float32_exp_is_within_one_ulp_over_its_range():
    from numba import njit

    from microdl.kernels.cpu._expf import exp32

    @njit
    def exps(ts, out):
        for i in range(ts.size):
            out[i] = exp32(ts[i])

    t = np.concatenate([np.linspace(-110, 88.72, 400_001, dtype=np.float32),
                        np.random.default_rng(0).standard_normal(100_000).astype(np.float32),
                        np.array([-0.0, 1e-30, -103.9, 88.7228, -np.inf], np.float32)])
    out = np.empty_like(t)
    exps(t, out)
    exact = np.exp(t.astype(np.float64))
    assert _ulps(out, exact).max() < 1
    assert out[-5] == 1 and out[-3] == np.spacing(np.float32(0)) and np.isfinite(out[-2])
    assert out[-1] == 0


def test_float32_sigmoid_is_within_three_ulps_over_the_whole_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-110, 110, 400_001, dtype=np.float32),
                        rng.standard_normal(100_000).astype(np.float32) * 4,
                        np.array([0, -0.0, 1e-30, -1e-30, -88.7, -100, -103.9], np.float32)])
    out = np.empty_like(x)
    cpu_act.sigmoid_forward(x, out)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    assert _ulps(out, exact).max() < 3
    # the subnormal outputs round once (sigmoid(-100) = 3.7835e-44, sigmoid(-103.9) = 1 * 2^-149)
    assert out[-2] == np.float32(3.7835059e-44) and out[-1] == np.spacing(np.float32(0))


def test_float32_tanh_is_within_two_ulps_and_keeps_the_sign_of_zero():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-12, 12, 400_001, dtype=np.float32),
                        np.logspace(-40, 1, 20_000).astype(np.float32),
                        rng.standard_normal(100_000).astype(np.float32) * 0.01,
                        np.array([0.625, np.nextafter(np.float32(0.625), np.float32(0))],
                                 np.float32)])
    x = np.concatenate([x, -x])
    out = np.empty_like(x)
    cpu_act.tanh_forward(x, out)
    assert _ulps(out, np.tanh(x.astype(np.float64))).max() < 2
    zeros = np.array([0.0, -0.0], np.float32)
    cpu_act.tanh_forward(zeros, out[:2])
    assert list(np.signbit(out[:2])) == [False, True]


def test_float32_sigmoid_in_blocks_on_threads_is_the_serial_result():
    x = np.random.default_rng(1).standard_normal(1 << 18).astype(np.float32) * 8
    whole, spread = np.empty_like(x), np.empty_like(x)
    cpu_act._sigmoid_float32.serial(x, whole, 0, 1)
    cpu_act.sigmoid_forward(x, spread)
    np.testing.assert_array_equal(whole, spread)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1000.0, 0.0, -1000.0]], np.float32)
    out = np.empty_like(x)
    cpu_sm.log_softmax_forward(x, out)
    np.testing.assert_allclose(out, [[0, -1000, -2000]], atol=1e-3)


def test_float32_softmax_family_matches_the_reference_on_infinite_and_nan_rows(monkeypatch):
    from microdl.backend import kernel_module

    cpu_sm_module = kernel_module("numba", "softmax")
    ref = kernel_module("numpy", "softmax")
    monkeypatch.setattr(cpu_sm_module, "FLOAT32_MIN_ELEMENTS", 0)  # the float32 path, tiny rows
    x = np.array([[-np.inf, 0, 1, 2], [np.inf, 0, 1, 2], [np.nan, 0, 1, 2], [-np.inf] * 4,
                  [1e30, -1e30, 0, 1], [0, 0, 0, 0], [-100, -90, 3, 88]], np.float32)
    labels = np.array([3, 0, 1, 2, 0, 1, 3])
    grads = np.linspace(0.5, 2, 7).astype(np.float32)
    calls = {"softmax_forward": lambda k, out: k.softmax_forward(x, out),
             "log_softmax_forward": lambda k, out: k.log_softmax_forward(x, out),
             "cross_entropy_backward": lambda k, out: k.cross_entropy_backward(
                 np.clip(x - 90, -np.inf, 0), labels, grads, out),
             "log_softmax_backward": lambda k, out: k.log_softmax_backward(
                 np.clip(x - 90, -np.inf, 0), x, out)}
    with np.errstate(all="ignore"):
        for name, call in calls.items():
            got, want = np.empty_like(x), np.empty_like(x)
            call(cpu_sm_module, got)
            call(ref, want)
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)
        losses, want_losses = np.empty(7, np.float32), np.empty(7, np.float32)
        cpu_sm_module.cross_entropy_forward(x, labels, np.empty_like(x), losses)
        ref.cross_entropy_forward(x, labels, np.empty_like(x), want_losses)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-6)

