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
    assert w.data.std() == pytest.approx(math.sqrt(2 / 512), rel=0.02)
    w = nn.init.xavier_uniform_(param(300, 200))
    bound = math.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound and w.data.std() == pytest.approx(bound / math.sqrt(3),
                                                                            rel=0.03)
    w = nn.init.kaiming_uniform_(param(64, 32, 3, 3), a=math.sqrt(5))
    assert np.abs(w.data).max() <= 1 / math.sqrt(32 * 9)
    assert w.dtype == np.float32


def test_gains_and_errors():
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_normal_(param(5))


def test_constant_fills():
    assert np.all(nn.init.ones_(param(3)).data == 1)
    assert np.all(nn.init.constant_(param(3), 0.5).data == 0.5)
