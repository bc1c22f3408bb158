"""microdl: a small deep-learning framework on numpy with Numba kernels."""

from . import functional
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import get_kernels, set_kernels
from .gradcheck import gradcheck
from .random import manual_seed
from .tensor import Tensor, from_numpy, ones, tensor, zeros

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "no_grad", "enable_grad",
    "is_grad_enabled", "set_grad_enabled", "manual_seed", "set_kernels", "get_kernels",
    "gradcheck", "functional",
]
