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
# ---- random generators, runtime knobs, dtype info (data utilities and runtime knobs) ----------
from .random import Generator, get_rng_state, initial_seed, seed, set_rng_state
from .random import default_generator as _default_generator
from . import backends
from .backends import (are_deterministic_algorithms_enabled,
                       is_deterministic_algorithms_warn_only_enabled, use_deterministic_algorithms)
from ._threads import get_num_threads, set_num_threads
from ._typeinfo import finfo, iinfo, is_floating_point, is_nonzero

default_generator = _default_generator()  # the global Generator (manual_seed reseeds it in place)
# ---- end of random generators, runtime knobs, dtype info -------------------------------------
from .tensor import METHODS_AS_FUNCTIONS as _METHODS_AS_FUNCTIONS
from .tensor import Tensor, from_numpy, tensor
from .tensor_methods.shape import cat as _cat, concat as _concat, concatenate as _concatenate
from .tensor_methods.shape import stack as _stack
from .tensor_methods.math import where as _where
from .tensor import Size, as_tensor, set_printoptions

from .tensor_methods.indexing import cdist, einsum
from .tensor_methods.indexing import bucketize, isin, meshgrid, searchsorted
from . import linalg

from . import data, nn, optim
from ._legacy_types import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,
                            HalfTensor, IntTensor, LongTensor, ShortTensor)

# ---- the drop-in surface: torch.device, torch.cuda, torch.utils.data, creation functions -----
from ._device import device
from .creation import get_default_dtype, is_tensor
from . import creation as _creation
from . import cuda, profiler, utils
from ._memory_format import (channels_last, channels_last_3d, contiguous_format, memory_format,
                             preserve_format)
from ._memory_format import check_memory_format as _check_memory_format
from ._out import NO_OUT as _NO_OUT
from ._out import with_out as _with_out

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
    """torch.X(input, *args) for the Tensor method X: the same op under both spellings, with
    PyTorch's out= where torch.X has one (microdl/_out.py)."""
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(input if isinstance(input, Tensor) else tensor(input), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = method.__doc__
    return function if name in _NO_OUT else _with_out(name, function)


globals().update({_name: _function_of(_name) for _name in _METHODS_AS_FUNCTIONS})

# ---- functions defined directly: out= (microdl/_out.py), memory_format= on the *_like ones ----
cat, concat, concatenate = (_with_out("cat", _cat), _with_out("concat", _concat),
                            _with_out("concatenate", _concatenate))
stack, where = _with_out("stack", _stack), _with_out("where", _where)
globals().update({_name: _with_out(_name, getattr(_creation, _name)) for _name in (
    "arange", "linspace", "zeros", "ones", "full", "eye", "empty", "rand", "randn", "randint",
    "randperm")})


def _like(name):
    """creation.X_like taking PyTorch's memory_format= (microdl's tensors are C-contiguous)."""
    function = getattr(_creation, name)

    def like(*args, memory_format=preserve_format, **kwargs):
        _check_memory_format(name, memory_format)
        return function(*args, **kwargs)

    like.__name__ = like.__qualname__ = name
    like.__doc__ = function.__doc__
    return like


globals().update({_name: _like(_name) for _name in (
    "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like")})

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "no_grad", "enable_grad",
    "is_grad_enabled", "set_grad_enabled", "manual_seed", "set_kernels", "get_kernels",
    "gradcheck", "functional", "save", "load", "data", "nn", "optim",
    # the drop-in surface
    "device", "cuda", "utils", "profiler", "arange", "empty", "empty_like", "eye", "full",
    "full_like", "get_default_dtype", "is_tensor", "linspace", "ones_like", "rand", "rand_like",
    "randint", "randn", "randn_like", "randperm", "zeros_like", "einsum", "cdist", "linalg",
    "Size", "as_tensor", "set_printoptions", "inference_mode", "is_inference_mode_enabled",
    "cat", "concat", "concatenate", "stack", "where", "memory_format", "preserve_format",
    "contiguous_format", "channels_last", "channels_last_3d",
]
