"""Linear layer and Identity."""

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter
from ..tensor import Tensor


class Identity(Module):
    """y = x. Any constructor arguments are accepted and ignored, as in PyTorch (so a layer
    can be swapped for Identity without changing the call)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features), b of shape (out_features,).

    Args: in_features, out_features, bias=True, device=None ("cpu" or "cuda"), dtype=None
    (float32). Shape: (*, in_features) -> (*, out_features).

    Initialised as PyTorch does: W from kaiming_uniform_(a=sqrt(5)), which works out to
    U(-1/sqrt(in_features), 1/sqrt(in_features)) (gain sqrt(2 / (1 + 5)) times sqrt(3 / fan_in)),
    and b from the same U(-1/sqrt(in_features), 1/sqrt(in_features)).
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear needs positive sizes (got in_features={in_features}, "
                             f"out_features={out_features})")
        self.in_features, self.out_features = in_features, out_features
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's default init, in place: weight and bias ~ U(-1/sqrt(in_features),
        1/sqrt(in_features)) (kaiming_uniform_(a=sqrt(5)))."""
        init.default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        if not isinstance(input, Tensor):  # (the check is a call: only when it can fail)
            F._check_input_tensor(input, "linear", arrays_ok=False)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
