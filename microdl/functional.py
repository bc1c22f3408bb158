"""Functional interface, PyTorch's names: thin wrappers that turn arguments into op calls."""

import numpy as np

from . import random
from .ops import activation as _act
from .ops import elementwise as _ew
from .ops import loss as _loss
from .ops import matmul as _mm
from .tensor import Tensor


def _tensor_or_array(x):
    return x if isinstance(x, Tensor) else np.asarray(x)


def linear(input, weight, bias=None):
    """y = input @ weight^T + bias."""
    return _mm.Linear.apply(input, weight, bias)


def relu(input):
    return _act.ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01):
    return _act.LeakyReLU.apply(input, negative_slope=float(negative_slope))


def sigmoid(input):
    return _act.Sigmoid.apply(input)


def tanh(input):
    return _act.Tanh.apply(input)


def softmax(input, dim=-1):
    return _act.Softmax.apply(input, dim=dim)


def log_softmax(input, dim=-1):
    return _act.LogSoftmax.apply(input, dim=dim)


def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    return _ew.Dropout.apply(input, p=float(p), rng=random.default_generator())


def cross_entropy(input, target, reduction="mean"):
    """Mean (or sum, or per-sample) of -log softmax(input)[target] for integer class labels."""
    return _loss.CrossEntropy.apply(input, _tensor_or_array(target), reduction=reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum, or elementwise) of (input - target)**2."""
    return _loss.MSELoss.apply(input, _tensor_or_array(target), reduction=reduction)
