"""The ``loss`` kernel family of the numba and cuda (simulated) sets against numpy_ref."""

import numpy as np
import pytest


def _kernel_cases(dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 3)).astype(dtype)
    y = rng.uniform(0, 1, (6, 3)).astype(dtype)
    y[0, 0] = 0
    p = rng.uniform(0.05, 0.95, (6, 3)).astype(dtype)
    g = rng.standard_normal((6, 3)).astype(dtype)
    out = lambda: np.zeros((6, 3), dtype)  # noqa: E731
    labels = np.array([0, 2, -100, 1, 1, 2])
    w = rng.uniform(0.5, 2, 3).astype(dtype)
    none = np.zeros(0, dtype)
    return {
        "nll_forward weighted": ("nll_forward", [x, labels, w, np.zeros(6, dtype),
                                                 np.zeros(6, dtype), -100]),
        "nll_forward": ("nll_forward", [x, labels, none, np.zeros(6, dtype), np.zeros(6, dtype),
                                        -100]),
        "nll_backward": ("nll_backward", [labels, w, g[:, 0].copy(), out(), -100]),
        "binary_cross_entropy_forward": ("binary_cross_entropy_forward", [p, y, out()]),
        "binary_cross_entropy_backward": ("binary_cross_entropy_backward",
                                          [p, y, g, out(), out()]),
        "bce_with_logits_forward": ("bce_with_logits_forward", [x * 30, y, none, out()]),
        "bce_with_logits_forward pos_weight": ("bce_with_logits_forward",
                                               [x * 30, y, p * 3, out()]),
        "bce_with_logits_backward": ("bce_with_logits_backward",
                                     [x * 30, y, none, g, out(), out()]),
        "bce_with_logits_backward pos_weight": ("bce_with_logits_backward",
                                                [x * 30, y, p * 3, g, out(), out()]),
        "huber_forward": ("huber_forward", [x, y, out(), 0.5, 0.5]),
        "huber_backward": ("huber_backward", [x, y, g, out(), 0.5, 1.0]),
        "kl_div_forward": ("kl_div_forward", [x, y, out(), False]),
        "kl_div_forward log_target": ("kl_div_forward", [x, y, out(), True]),
        "kl_div_backward": ("kl_div_backward", [x, y, g, out(), out(), False]),
        "kl_div_backward log_target": ("kl_div_backward", [x, y, g, out(), out(), True]),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(_kernel_cases(np.float32)))
def test_loss_kernels_match_numpy_ref(case, dtype, twin):
    name, args = _kernel_cases(dtype)[case]
    with np.errstate(all="ignore"):
        twin.check("loss", name, args, rtol=1e-5 if dtype == np.float32 else 1e-12,
                   atol=1e-6 if dtype == np.float32 else 1e-12)
