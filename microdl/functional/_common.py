"""Helpers the functional modules share: Tensors and arrays, in-place results, and argument
checks in PyTorch's words."""

import numpy as np

from .. import _device
from ..tensor import Tensor


def _tensor_or_array(x):
    return x if isinstance(x, Tensor) else np.asarray(x)


def _in_place(input, result, inplace):
    """``result``, or with inplace=True ``input`` holding it (Tensor._assign: PyTorch's in-place
    rules, a leaf that requires grad refused; on the tape the input takes the result's node)."""
    return input._assign(result) if inplace and result is not input else result


def _array_of(x):
    """The array of a Tensor, a device array as it is, anything else as a numpy array."""
    if x is None or isinstance(x, Tensor):
        return None if x is None else x.array
    return x if _device.is_device_array(x) else np.asarray(x)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(_array_of(x))


def _tensor_or_array_on_device(x):
    return x if isinstance(x, Tensor) else _array_of(x)


def _type_name(value):
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _check_input_tensor(input, fn, arrays_ok=True):
    """PyTorch's TypeError for an input that is no Tensor. ``arrays_ok``: F functions that
    always took numpy arrays keep taking them (modules pass False, as PyTorch takes none)."""
    if isinstance(input, Tensor) or (arrays_ok and isinstance(input, np.ndarray)):
        return
    raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                    f"{_type_name(input)}")


def _ints(value, fn, name, position):
    """An int or a sequence of ints as a tuple (PyTorch's TypeErrors for anything else)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be tuple of ints, "
                        f"not {_type_name(value)}")
    for index, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{fn}(): argument '{name}' must be tuple of ints, but found "
                            f"element of type {_type_name(v)} at pos {index}")
    return tuple(int(v) for v in value)
