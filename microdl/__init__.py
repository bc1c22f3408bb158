"""microdl: a small deep-learning framework on numpy with Numba kernels."""

import numpy as _np

from ._threads import apply_defaults as _apply_thread_defaults

_apply_thread_defaults()

# NOTE: imports below come after the thread defaults: they must be set before numba loads.

from . import functional
from .autograd import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled,
                       no_grad, set_grad_enabled)
from .backend import get_kernels, set_kernels
from .gradcheck import gradcheck
from .io import load, save
from .random import manual_seed
from .tensor import METHODS_AS_FUNCTIONS as _METHODS_AS_FUNCTIONS
from .tensor import Tensor, cat, concat, concatenate, from_numpy, stack, tensor, where
from .tensor import Size, as_tensor, set_printoptions

from .tensor import cdist, einsum
from . import linalg

from . import data, nn, optim

# ---- the drop-in surface: torch.device, torch.cuda, torch.utils.data, creation functions -----
from ._device import device
from .creation import (arange, empty, empty_like, eye, full, full_like, get_default_dtype,
                       is_tensor, linspace, ones, ones_like, rand, rand_like, randint, randn,
                       randn_like, randperm, zeros, zeros_like)
from . import cuda, profiler, utils

__version__ = "0.1.0"

# dtype names, PyTorch's: numpy dtypes underneath (x.dtype == microdl.float32 holds)
float16 = half = _np.dtype(_np.float16)
float32 = float = _np.dtype(_np.float32)
float64 = double = _np.dtype(_np.float64)
uint8 = _np.dtype(_np.uint8)
int8 = _np.dtype(_np.int8)
int16 = short = _np.dtype(_np.int16)
int32 = int = _np.dtype(_np.int32)
int64 = long = _np.dtype(_np.int64)
bool = _np.dtype(_np.bool_)


def _function_of(name):
    """torch.X(input, *args) for the Tensor method X: the same op under both spellings."""
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(input if isinstance(input, Tensor) else tensor(input), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = method.__doc__
    return function


globals().update({_name: _function_of(_name) for _name in _METHODS_AS_FUNCTIONS})

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "no_grad", "enable_grad",
    "is_grad_enabled", "set_grad_enabled", "manual_seed", "set_kernels", "get_kernels",
    "gradcheck", "functional", "save", "load", "data", "nn", "optim",
    # the drop-in surface
    "device", "cuda", "utils", "profiler", "arange", "empty", "empty_like", "eye", "full",
    "full_like", "get_default_dtype", "is_tensor", "linspace", "ones_like", "rand", "rand_like",
    "randint", "randn", "randn_like", "randperm", "zeros_like", "einsum", "cdist", "linalg",
    "Size", "as_tensor", "set_printoptions", "inference_mode", "is_inference_mode_enabled",
]
