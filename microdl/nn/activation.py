"""Activation modules: thin wrappers on microdl.functional, with PyTorch's constructor arguments
and reprs.

``inplace=True`` writes the result into the input and returns it, as in PyTorch (through
``Tensor._assign``: a leaf that requires grad is refused; on the tape the input takes the
result's node).
"""

import numpy as np

from .. import functional as F
from .module import Module, Parameter


def _inplace_text(inplace, first=False):
    """PyTorch's repr fragment for inplace: nothing unless it is True."""
    if not inplace:
        return ""
    return "inplace=True" if first else ", inplace=True"


class _Activation(Module):
    """An activation with only the ``inplace`` flag (see the module docstring)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return _inplace_text(self.inplace, first=True)


class ReLU(_Activation):
    """y = max(x, 0)."""

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)


class ReLU6(_Activation):
    """y = min(max(x, 0), 6); the gradient is 0 at 0 and at 6, as in PyTorch."""

    # PyTorch's ReLU6 is a Hardtanh(0, 6) and carries its attributes
    min_val = 0.0
    max_val = 6.0

    def forward(self, input):
        return F.relu6(input, inplace=self.inplace)


class SiLU(_Activation):
    """y = x sigmoid(x)."""

    def forward(self, input):
        return F.silu(input, inplace=self.inplace)


class Mish(_Activation):
    """y = x tanh(softplus(x))."""

    def forward(self, input):
        return F.mish(input, inplace=self.inplace)


class SELU(_Activation):
    """y = scale elu(x, alpha), scale = 1.0507009873554805, alpha = 1.6732632423543772."""

    def forward(self, input):
        return F.selu(input, inplace=self.inplace)


class Hardswish(_Activation):
    """y = x relu6(x + 3) / 6."""

    def forward(self, input):
        return F.hardswish(input, inplace=self.inplace)

    def extra_repr(self):
        return ""  # PyTorch's Hardswish shows no arguments


class Hardsigmoid(_Activation):
    """y = relu6(x + 3) / 6."""

    def forward(self, input):
        return F.hardsigmoid(input, inplace=self.inplace)

    def extra_repr(self):
        return ""  # PyTorch's Hardsigmoid shows no arguments


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, inplace=self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{_inplace_text(self.inplace)}"


class ELU(Module):
    """y = x for x > 0, alpha (exp(x) - 1) otherwise."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha, inplace=self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{_inplace_text(self.inplace)}"


class CELU(ELU):
    """y = x for x > 0, alpha (exp(x / alpha) - 1) otherwise."""

    def forward(self, input):
        return F.celu(input, self.alpha, inplace=self.inplace)


class GELU(Module):
    """y = x Phi(x), Phi the standard normal CDF; approximate="tanh":
    y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """y = log(1 + exp(beta x)) / beta, or x where beta x > threshold."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """y = clamp(x, min_val, max_val); the gradient is 0 at and beyond the limits."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace
        if not self.max_val > self.min_val:
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val, inplace=self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_text(self.inplace)}"


class Softshrink(Module):
    """y = x - lambd for x > lambd, x + lambd for x < -lambd, else 0."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return F.softshrink(input, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink):
    """y = x where |x| > lambd, else 0."""

    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class LogSigmoid(Module):
    """y = log(1 / (1 + exp(-x)))."""

    def forward(self, input):
        return F.logsigmoid(input)


class Softsign(Module):
    """y = x / (1 + |x|)."""

    def forward(self, input):
        return F.softsign(input)


class Tanhshrink(Module):
    """y = x - tanh(x)."""

    def forward(self, input):
        return F.tanhshrink(input)


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """y = tanh(x)."""

    def forward(self, input):
        return F.tanh(input)


class Softmax(Module):
    """y = exp(x) / sum exp(x) along dim; dim=None takes PyTorch's deprecated implicit choice
    (0 for 0-, 1- and 3-D input, else 1) and warns."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """y = x - log sum exp(x) along dim; dim=None as in Softmax."""

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)


class PReLU(Module):
    """y = max(0, x) + a * min(0, x) with a learnt slope ``a``: one shared value, or one per
    channel (num_parameters = C, dimension 1 of the input), each starting at ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(np.full(num_parameters, init, np.dtype(dtype or np.float32)))
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """Every slope set back to ``init``, in place."""
        self.weight.data.fill_(self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
