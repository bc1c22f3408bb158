"""Bilinear layer: y = x1^T A x2 + b."""

import math

import numpy as np

from .. import functional as F
from . import init
from .module import Module, Parameter


class Bilinear(Module):
    """y[..., o] = x1^T A_o x2 + b_o, A of shape (out_features, in1_features, in2_features),
    b of shape (out_features,).

    Initialised as PyTorch does: weight and bias ~ U(-1/sqrt(in1_features), 1/sqrt(in1_features)).
    Shape: (*, in1), (*, in2) -> (*, out)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's init, in place: U(-1/sqrt(in1_features), 1/sqrt(in1_features))."""
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
