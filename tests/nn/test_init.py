"""nn.init: PyTorch's formulas, in place, seeded."""

import math

import numpy as np
import pytest

import microdl
from microdl import nn


def param(*shape):
    return nn.Parameter(np.zeros(shape, np.float32))


def test_kaiming_and_xavier_spreads():
    microdl.manual_seed(0)
    w = nn.init.kaiming_normal_(param(256, 512), nonlinearity="relu")
    assert w.array.std() == pytest.approx(math.sqrt(2 / 512), rel=0.02)
    w = nn.init.xavier_uniform_(param(300, 200))
    bound = math.sqrt(6 / 500)
    assert np.abs(w.array).max() <= bound and w.array.std() == pytest.approx(bound / math.sqrt(3),
                                                                            rel=0.03)
    w = nn.init.kaiming_uniform_(param(64, 32, 3, 3), a=math.sqrt(5))
    assert np.abs(w.array).max() <= 1 / math.sqrt(32 * 9)
    assert w.dtype == np.float32


def test_gains_and_errors():
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_normal_(param(5))


def test_constant_fills():
    assert np.all(nn.init.ones_(param(3)).array == 1)
    assert np.all(nn.init.constant_(param(3), 0.5).array == 0.5)


def test_uniform_and_normal_statistics_dtype_and_seed():
    microdl.manual_seed(3)
    w = nn.init.uniform_(param(400, 500), -2.0, 4.0)
    assert w.array.min() >= -2 and w.array.max() < 4 and w.dtype == np.float32
    assert w.array.mean() == pytest.approx(1.0, abs=0.01)
    assert w.array.std() == pytest.approx(6 / math.sqrt(12), rel=0.01)
    w = nn.init.normal_(nn.Parameter(np.zeros((400, 500))), 0.5, 2.0)
    assert w.dtype == np.float64
    assert w.array.mean() == pytest.approx(0.5, abs=0.01)
    assert w.array.std() == pytest.approx(2.0, rel=0.01)
    microdl.manual_seed(11)
    a = nn.init.normal_(param(7, 3)).array.copy()
    microdl.manual_seed(11)
    np.testing.assert_array_equal(nn.init.normal_(param(7, 3)).array, a)


def test_fills_in_place_and_returns_the_same_tensor():
    p = param(4, 3)
    array = p.array
    assert nn.init.kaiming_uniform_(p) is p and p.array is array
    raw = np.zeros((3, 2), np.float32)
    assert nn.init.constant_(raw, 2.5) is raw and np.all(raw == 2.5)
    assert np.all(nn.init.zeros_(nn.init.ones_(param(2))).array == 0)


@pytest.mark.parametrize("shape", [(30, 20), (16, 8, 3, 3), (5, 7, 2)])
def test_fans_match_pytorch(shape):
    torch = pytest.importorskip("torch")
    ours = nn.init._calculate_fan_in_and_fan_out(param(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_gains_match_pytorch():
    torch = pytest.importorskip("torch")
    for name, arg in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                      ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                      ("leaky_relu", 0), ("selu", None)]:
        assert nn.init.calculate_gain(name, arg) == pytest.approx(
            torch.nn.init.calculate_gain(name, arg), rel=1e-12), (name, arg)
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        nn.init.calculate_gain("leaky_relu", True)


def test_kaiming_modes_and_the_linear_default():
    microdl.manual_seed(0)
    w = nn.init.kaiming_uniform_(param(200, 800), mode="fan_out", nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(w.array).max() <= bound
    assert w.array.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    w = nn.init.xavier_normal_(param(300, 500), gain=2.0)
    assert w.array.std() == pytest.approx(2.0 * math.sqrt(2 / 800), rel=0.02)
    # Linear's default: a = sqrt(5) gives exactly U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    assert gain * math.sqrt(3 / 64) == pytest.approx(1 / math.sqrt(64), rel=1e-12)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        nn.init.kaiming_normal_(param(3, 3), mode="fan_avg")


def test_zero_element_tensors_are_left_alone_with_a_warning():
    with pytest.warns(UserWarning, match="zero-element tensors is a no-op"):
        nn.init.kaiming_uniform_(param(0, 4))
