"""What tensor.py and the method modules share: PyTorch's type names for messages, the check
of a ``dim`` argument, a reduction's ``dtype=``."""

import numpy as np


# the C type names PyTorch's masked_fill error gives
_C_TYPE_NAMES = {np.dtype(np.int64): "long int", np.dtype(np.int32): "int",
                 np.dtype(np.int16): "short int", np.dtype(np.int8): "signed char",
                 np.dtype(np.uint8): "unsigned char", np.dtype(np.float32): "float",
                 np.dtype(np.float64): "double", np.dtype(np.float16): "c10::Half"}


_TORCH_TYPES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _torch_type(t):
    """PyTorch's legacy type name of a tensor, as its messages print it (torch.FloatTensor)."""
    return f"torch.{_TORCH_TYPES.get(str(t.dtype), str(t.dtype))}Tensor"


def _dim_index(dim, ndim):
    """``dim`` as an index in [0, ndim), PyTorch's error for one out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _in_dtype(result, dtype):
    """A reduction's result in the asked ``dtype`` (integers sum as int64 first)."""
    if dtype is None or result.array.dtype == np.dtype(dtype):
        return result
    return result.to(dtype=dtype)


# Ops whose result PyTorch returns as a view of the input (sharing its memory: an in-place write
# into the result changes the input) but microdl writes out as a new array. The result is marked
# with the op's name, and an in-place write into it raises (Tensor._check_writable) instead of
# silently missing the input. NONCONTIGUOUS: views PyTorch itself must copy for contiguous().
VIEWS_MADE_AS_COPIES = ("transpose", "swapaxes", "swapdims", "permute", "t", "movedim",
                        "moveaxis", "expand", "expand_as", "__getitem__", "narrow", "split",
                        "chunk", "unbind", "diagonal")
NONCONTIGUOUS = frozenset({"transpose", "swapaxes", "swapdims", "permute", "t", "movedim",
                           "moveaxis", "expand", "expand_as", "diagonal"})
# Ops that do share memory with their input here too: they pass an input's mark on (a view of
# such a copy is a copy of a view).
SHARING_VIEWS = ("reshape", "view", "view_as", "reshape_as", "flatten", "squeeze", "unsqueeze")

