"""``microdl.finfo`` / ``iinfo`` (numpy's finfo/iinfo underneath, with PyTorch's fields) and
the tensor predicates ``is_floating_point`` / ``is_nonzero``."""

import numpy as np

from .creation import get_default_dtype
from .tensor import Tensor


def _typename(value):
    return value.__class__.__name__


class finfo:
    """Machine limits of a floating dtype: bits, eps (gap from 1 to the next value), max, min
    (= -max), tiny = smallest_normal (smallest positive normal), resolution (10 ** -digits),
    dtype (its name). ``finfo()`` describes the default dtype."""

    def __init__(self, type=None):
        type = get_default_dtype() if type is None else type
        if not isinstance(type, np.dtype):
            raise TypeError(f"finfo(): argument 'type' (position 1) must be torch.dtype, not "
                            f"{_typename(type)}")
        if type.kind != "f":
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        info = np.finfo(type)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)  # as PyTorch: not numpy's rounded float
        self.dtype = type.name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype: bits, min, max (Python ints), dtype (its name)."""

    def __init__(self, type):
        if not isinstance(type, np.dtype):
            raise TypeError(f"iinfo(): argument 'type' (position 1) must be torch.dtype, not "
                            f"{_typename(type)}")
        if type.kind == "b":
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if type.kind not in "iu":
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(type)
        self.bits, self.min, self.max, self.dtype = int(info.bits), int(info.min), \
            int(info.max), type.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def _tensor_argument(function, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{function}(): argument 'input' (position 1) must be Tensor, not "
                        f"{_typename(input)}")
    return input


def is_floating_point(input):
    """Whether ``input``'s dtype is a floating-point one."""
    return _tensor_argument("is_floating_point", input).dtype.kind == "f"


def is_nonzero(input):
    """Whether the single value of a one-element tensor is nonzero (NaN counts as nonzero)."""
    _tensor_argument("is_nonzero", input)
    count = int(np.prod(input.shape))
    if count == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if count > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item() != 0)
