"""microdl: a small deep-learning framework on numpy with Numba kernels."""

from ._threads import apply_defaults as _apply_thread_defaults

_apply_thread_defaults()

# NOTE: imports below come after the thread defaults: they must be set before numba loads.

from . import functional
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import get_kernels, set_kernels
from .gradcheck import gradcheck
from .io import load, save
from .random import manual_seed
from .tensor import Tensor, from_numpy, ones, tensor, zeros

from . import data, nn, optim

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "no_grad", "enable_grad",
    "is_grad_enabled", "set_grad_enabled", "manual_seed", "set_kernels", "get_kernels",
    "gradcheck", "functional", "save", "load", "data", "nn", "optim",
]
