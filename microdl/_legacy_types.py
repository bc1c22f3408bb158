"""PyTorch's legacy tensor types (torch.FloatTensor, torch.LongTensor, ...): classes that make
tensors of one dtype on the cpu, answer ``isinstance(x, FloatTensor)`` for a float32 cpu tensor,
and name a dtype for ``x.type(FloatTensor)``.

As in PyTorch they are not Tensor subclasses: ``FloatTensor([1, 2])`` returns a plain Tensor, and
the class itself is an instance of a metaclass (torch's ``torch.tensortype``) whose
``__instancecheck__`` compares the dtype and device."""

from collections.abc import Sequence

import numpy as np

from . import creation
from .tensor import Size, Tensor, tensor


class tensortype(type):
    """The metaclass of the legacy types: calling one makes a tensor, isinstance checks dtype."""

    def __instancecheck__(cls, instance):
        return (isinstance(instance, Tensor) and instance.dtype == cls.dtype
                and instance.device == "cpu")

    def __call__(cls, *args, device=None, **kwargs):
        """FloatTensor() empty; FloatTensor(2, 3) / FloatTensor(Size) uninitialized of that size;
        FloatTensor(data) data copied into the dtype; FloatTensor(tensor) the tensor itself
        (shares its memory) when its dtype matches."""
        if kwargs:
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"unexpected keyword(s) {', '.join(sorted(kwargs))}")
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"legacy constructor expects device type: cpu but device type: "
                               f"{device} was passed")
        if not args:
            return creation.empty(0, dtype=cls.dtype)
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return creation.empty(*(int(a) for a in args), dtype=cls.dtype)
        if len(args) != 1:
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        (data,) = args
        if isinstance(data, Size):
            return creation.empty(*data, dtype=cls.dtype)
        if isinstance(data, Tensor):
            if data.dtype != cls.dtype:
                raise TypeError(f"expected {cls.__name__} dtype {cls.dtype} (got {data.dtype})")
            return data.detach()
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
        if not isinstance(data, (Sequence, np.ndarray)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        return tensor(data, dtype=cls.dtype)

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _legacy_type(name, dtype):
    return tensortype(name, (), {"dtype": np.dtype(dtype), "is_cuda": False, "is_sparse": False,
                                 "__module__": "microdl",
                                 "__doc__": f"Legacy constructor of {np.dtype(dtype)} cpu "
                                            f"tensors (torch.{name})."})


FloatTensor = _legacy_type("FloatTensor", np.float32)
DoubleTensor = _legacy_type("DoubleTensor", np.float64)
HalfTensor = _legacy_type("HalfTensor", np.float16)
LongTensor = _legacy_type("LongTensor", np.int64)
IntTensor = _legacy_type("IntTensor", np.int32)
ShortTensor = _legacy_type("ShortTensor", np.int16)
ByteTensor = _legacy_type("ByteTensor", np.uint8)
CharTensor = _legacy_type("CharTensor", np.int8)
BoolTensor = _legacy_type("BoolTensor", np.bool_)
