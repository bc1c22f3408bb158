"""Activation functions: relu, sigmoid, tanh, softmax, gelu, silu, elu, ..., prelu and
gumbel_softmax."""

import warnings

import numpy as np

from ..ops import activation as _act
from ._common import _check_input_tensor, _in_place


def relu(input, inplace=False):
    """y = max(x, 0); with inplace=True the result is written into input, which is returned."""
    return _in_place(input, _act.ReLU.apply(input), inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """y = x if x > 0 else negative_slope * x;  dx = g * (1 if x > 0 else negative_slope).
    inplace=True writes the result into input and returns it."""
    return _in_place(input, _act.LeakyReLU.apply(input, negative_slope=float(negative_slope)),
                     inplace)


def sigmoid(input):
    """y = 1 / (1 + exp(-x)), stable for large |x|;  dx = g * y * (1 - y)."""
    return _act.Sigmoid.apply(input)


def tanh(input):
    """y = tanh(x);  dx = g * (1 - y**2)."""
    return _act.Tanh.apply(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum exp(x) along dim (dim=None: PyTorch's deprecated implicit choice)."""
    input, dim = _softmax_arguments("softmax", input, dim, _stacklevel, dtype)
    return _act.Softmax.apply(input, dim=dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - log sum exp(x) along dim (dim=None: PyTorch's deprecated implicit choice)."""
    input, dim = _softmax_arguments("log_softmax", input, dim, _stacklevel, dtype)
    return _act.LogSoftmax.apply(input, dim=dim)


# ---- activations (GELU, SiLU, ELU, ...) ----------------------------------------------------
# The formulas, kinks included, are kernels/numpy_ref/activation.py's POINTWISE table. Where
# PyTorch takes inplace=True the result is written into the input, which is returned
# (``_in_place``).

def _softmax_arguments(name, input, dim, stacklevel, dtype):
    """(input cast to dtype, dim); dim=None picks PyTorch's legacy implicit dimension (0 for
    0-, 1- and 3-D input, else 1) with its deprecation warning."""
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                      "call to include dim=X as an argument.", stacklevel=stacklevel)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if dtype is not None:
        input = input.to(dtype=dtype)
    return input, dim


def gelu(input, approximate="none"):
    """y = x Phi(x), Phi the standard normal CDF; approximate="tanh":
    y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return (_act.GELU if approximate == "none" else _act.GELUTanh).apply(input)


def silu(input, inplace=False):
    """y = x sigmoid(x)."""
    return _in_place(input, _act.SiLU.apply(input), inplace)


def elu(input, alpha=1.0, inplace=False):
    """y = x for x > 0, alpha (exp(x) - 1) otherwise."""
    return _in_place(input, _act.ELU.apply(input, a=alpha), inplace)


def selu(input, inplace=False):
    """y = scale elu(x, alpha), scale = 1.0507009873554805, alpha = 1.6732632423543772."""
    return _in_place(input, _act.SELU.apply(input), inplace)


def celu(input, alpha=1.0, inplace=False):
    """y = x for x > 0, alpha (exp(x / alpha) - 1) otherwise."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    # NOTE: PyTorch's CELU backward scales by 1 / float32(alpha), not 1 / alpha (b, below)
    return _in_place(input, _act.CELU.apply(input, a=alpha, b=1.0 / float(np.float32(alpha))), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """y = log(1 + exp(beta x)) / beta, or x where beta x > threshold."""
    return _act.Softplus.apply(input, a=beta, b=threshold)


def logsigmoid(input):
    """y = log(1 / (1 + exp(-x)))."""
    return _act.LogSigmoid.apply(input)


def hardswish(input, inplace=False):
    """y = x relu6(x + 3) / 6."""
    return _in_place(input, _act.Hardswish.apply(input), inplace)


def hardsigmoid(input, inplace=False):
    """y = relu6(x + 3) / 6."""
    return _in_place(input, _act.Hardsigmoid.apply(input), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """y = clamp(x, min_val, max_val); the gradient is 0 at and beyond the limits."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _in_place(input, _act.Hardtanh.apply(input, a=min_val, b=max_val), inplace)


def relu6(input, inplace=False):
    """y = min(max(x, 0), 6) (hardtanh(x, 0, 6))."""
    return _in_place(input, _act.Hardtanh.apply(input, a=0.0, b=6.0), inplace)


def mish(input, inplace=False):
    """y = x tanh(softplus(x))."""
    return _in_place(input, _act.Mish.apply(input), inplace)


def softsign(input):
    """y = x / (1 + |x|)."""
    return _act.Softsign.apply(input)


def tanhshrink(input):
    """y = x - tanh(x)."""
    return _act.Tanhshrink.apply(input)


def softshrink(input, lambd=0.5):
    """y = x - lambd for x > lambd, x + lambd for x < -lambd, else 0."""
    return _act.Softshrink.apply(input, a=lambd)


def hardshrink(input, lambd=0.5):
    """y = x where |x| > lambd, else 0."""
    return _act.Hardshrink.apply(input, a=lambd)


# ---- prelu (a math composite) --------------------------------------------------------------
def prelu(input, weight):
    """max(0, x) + weight * min(0, x); weight has one value or one per channel (dimension 1,
    dimension 0 of a 1-d input)."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if input.ndim == 0 and weight.numel() != 1:
        raise RuntimeError("Not allow zero-dim input tensor.")
    if weight.numel() == 1:
        weight = weight.reshape(())  # a 0-d input keeps its shape
    else:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if input.ndim == 0 or weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{channels if input.ndim else 1}.")
        if input.ndim >= 2:
            weight = weight.reshape(-1, *([1] * (input.ndim - 2)))
    return _where_positive(input, weight)


def _where_positive(input, weight):
    from ..tensor_methods.math import where
    return where(input > 0, input, weight * input)


# ---- gumbel softmax ------------------------------------------------------------------------
def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) over ``dim``, g ~ Gumbel(0, 1) drawn as -log(E), E ~ Exp(1)
    (from microdl's generator, as PyTorch draws it). hard=True returns the one-hot of the
    argmax in the forward pass with the soft sample's gradient (straight through):
    y_hard - y_soft.detach() + y_soft. ``eps`` is unused, as in PyTorch (deprecated there)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    _check_input_tensor(logits, "gumbel_softmax", arrays_ok=False)
    gumbels = -logits.detach().new_empty(tuple(logits.shape)).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.detach().argmax(dim, keepdim=True)
    y_hard = logits.detach().new_zeros(tuple(logits.shape)).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
