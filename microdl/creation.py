"""Tensors made from nothing: PyTorch's creation functions (zeros, ones, full, arange, linspace,
eye, empty, rand, randn, randint, randperm and their ``_like`` forms).

Every function takes PyTorch's keyword arguments ``dtype=`` (None: float32 for floats, int64 for
integers, as PyTorch's defaults), ``device=`` (None: "cpu") and ``requires_grad=``. Constant
tensors are allocated on the requested device through ``backend`` and filled there; random ones
are drawn on the host from microdl's generator (``microdl.manual_seed`` repeats them, and a cuda
run draws the same numbers as a cpu run with the same seed) and then copied to the device.
"""

import math
import numbers

import numpy as np

from . import _device, backend, random
from .ops.elementwise import checked_scalar
from .tensor import Tensor

_DEFAULT_FLOAT = np.dtype(np.float32)
_DEFAULT_INT = np.dtype(np.int64)


def get_default_dtype():
    """The dtype floats get when none is asked for: float32 (microdl has no set_default_dtype)."""
    return _DEFAULT_FLOAT


def is_tensor(obj):
    """True when ``obj`` is a microdl Tensor."""
    return isinstance(obj, Tensor)


# ---- arguments ------------------------------------------------------------------------------

def _size(name, size):
    """The shape tuple from PyTorch's ``*size`` (``zeros(2, 3)``, ``zeros((2, 3))``,
    ``zeros([2, 3])``, ``zeros(x.shape)``), checked as PyTorch checks it."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for d in size:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found "
                            f"element of type {type(d).__name__}")
    shape = tuple(int(d) for d in size)
    negative = [d for d in shape if d < 0]
    if negative:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: "
                           f"{list(shape)}")
    return shape


def _dtype(dtype, default=_DEFAULT_FLOAT):
    return default if dtype is None else np.dtype(dtype)


def _require_float(name, dtype):
    """rand/randn draw floats; PyTorch has no integer kernel for them."""
    if dtype.kind != "f":
        raise NotImplementedError(f"{name} is not implemented for dtype {dtype}: it draws "
                                  "floating-point values (use randint for integers)")


def _on_device(array, device, requires_grad):
    """A tensor holding the host array ``array``, copied to ``device`` (None: "cpu")."""
    target = _device.parse("cpu" if device is None else device)
    array = _device.move(array, target) if target != _device.CPU else array
    return Tensor._wrap(array).requires_grad_(requires_grad)


def _filled(shape, value, dtype, device, requires_grad):
    """A tensor of ``shape`` with every element ``value``, allocated and filled on ``device``."""
    target = _device.parse("cpu" if device is None else device)
    if target == _device.CPU:
        array = np.full(shape, value, dtype)
    else:
        array = backend.for_device(target).full(shape, value, dtype)
    return Tensor._wrap(array).requires_grad_(requires_grad)


def _generator(generator):
    """The numpy Generator to draw from: ``generator`` when given, else microdl's global one."""
    return random.default_generator() if generator is None else generator


# ---- constants ------------------------------------------------------------------------------

def zeros(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of zeros of shape ``size``."""
    return _filled(_size("zeros", size), 0, _dtype(dtype), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    """A tensor of ones of shape ``size``."""
    return _filled(_size("ones", size), 1, _dtype(dtype), device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """A tensor of shape ``size`` filled with ``fill_value``; its dtype follows the value when
    none is given (bool, int64 for integers, float32 for floats), as in PyTorch."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    if dtype is None:
        dtype = _scalar_dtype(fill_value)
    return _filled(_size("full", (size,)), fill_value, np.dtype(dtype), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of shape ``size`` (its values are whatever the memory held)."""
    target = _device.parse("cpu" if device is None else device)
    array = backend.for_device(target).empty(_size("empty", size), _dtype(dtype))
    return Tensor._wrap(array).requires_grad_(requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The n x m matrix (m = n by default) with ones on the diagonal and zeros elsewhere."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, (numbers.Integral, np.integer))):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(value).__name__}")
        if value is not None and value < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {value}")
    array = np.eye(int(n), None if m is None else int(m), dtype=_dtype(dtype))
    return _on_device(array, device, requires_grad)


def _scalar_dtype(value):
    """The dtype PyTorch gives a tensor made from the Python number ``value`` alone."""
    if isinstance(value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(value, (numbers.Integral, np.integer)):
        return _DEFAULT_INT
    return _DEFAULT_FLOAT


# ---- ranges ---------------------------------------------------------------------------------

def _scalar_text(value):
    """A bound as PyTorch's C++ prints it in errors (ostream default: 6 significant digits)."""
    if isinstance(value, (numbers.Integral, np.integer)):
        return str(int(value))
    return f"{float(value):g}"


def _wrap_integer(values, dtype):
    """int64 ``values`` cast to the integer ``dtype``, wrapping around as C++ casts do
    (linspace(4.3, -3, 5, dtype=uint8) ends at 253)."""
    return values.astype(dtype, casting="unsafe")


def _integer_bound(value):
    """A bound cast to int64 as PyTorch's Scalar.to<int64_t>() casts it: truncated toward zero;
    out of int64's range is an overflow error."""
    value = int(value) if isinstance(value, (numbers.Integral, np.integer)) else float(value)
    if not -2.0 ** 63 <= value < 2.0 ** 63:
        raise RuntimeError("value cannot be converted to type int64_t without overflow")
    return int(value)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """[start, start + step, ...) up to, not including, ``end``; ``arange(end)`` starts at 0.

    n = ceil((end - start) / step) values, value i = start + i * step, computed in float64 and
    rounded once to the dtype, as PyTorch's fused multiply-add rounds it (float32 values equal
    PyTorch's; float64 ones may differ in the last bit). dtype: int64 when start, end and step
    are all integers, else float32.

    Integer dtypes follow PyTorch's kernel: the checks see the bounds as given (in float64), the
    values are start' + i * step' with the bounds truncated toward zero (arange(0.5, 5.7, 1.5,
    dtype=int32) is 0, 1, 2, 3); int64 counts n from the truncated bounds, narrower integer
    dtypes count it from the given ones (so int64 gives 0, 1, 2, 3, 4 there)."""
    if end is None:
        start, end = 0, start
    numbers_given = (start, end, step)
    if dtype is None:
        integral = all(isinstance(v, (numbers.Integral, np.integer)) for v in numbers_given)
        dtype = _DEFAULT_INT if integral else _DEFAULT_FLOAT
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {_scalar_text(start)} -> {_scalar_text(end)}")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype != np.int64:  # counted in float64 from the bounds as given
        n = max(math.ceil((float(end) - float(start)) / float(step)), 0)
        if n > np.iinfo(np.int64).max:
            raise RuntimeError("invalid size, possible overflow?")
    if dtype.kind == "f":
        values = start + np.arange(n, dtype=np.float64) * step
        return _on_device(values.astype(dtype), device, requires_grad)
    int_start, int_end, int_step = (_integer_bound(v) for v in numbers_given)
    if dtype == np.int64:
        if int_step == 0:  # 0.3 truncated; PyTorch raises ValueError here, RuntimeError above
            raise ValueError("step must be nonzero")
        n = max(-((int_start - int_end) // int_step), 0)  # exact ceil((end - start) / step)
    values = int_start + np.arange(n, dtype=np.int64) * int_step
    return _on_device(_wrap_integer(values, dtype), device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """``steps`` values evenly spaced from ``start`` to ``end``, both included.

    step = (end - start) / (steps - 1); the first half counts up from start (start + i * step),
    the second half down from end (end - (steps - 1 - i) * step), as PyTorch's kernel does, so
    both ends are exact. float32 is computed as PyTorch's fused multiply-add rounds it (the
    product and sum in float64, one rounding to float32), so the values equal PyTorch's.
    Integer dtypes, as PyTorch: start and end truncated to the dtype first, the step and the
    values in float64, each value truncated toward zero (linspace(4.3, -3, 50, dtype=int64)
    is 4, 3, 3, ...)."""
    if isinstance(steps, bool) or not isinstance(steps, (numbers.Integral, np.integer)):
        got = ", ".join(type(v).__name__ for v in (start, end, steps))
        raise TypeError(f"linspace() received an invalid combination of arguments - got "
                        f"({got}), but expected (Number start, Number end, int steps, *, "
                        "dtype=None, device=None, requires_grad=False): 'steps' must be int")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    if isinstance(start, Tensor) or isinstance(end, Tensor):  # the tensor overload: 0-d only
        ndims = [v.ndim if isinstance(v, Tensor) else 0 for v in (start, end)]
        if any(ndims):
            raise RuntimeError("linspace only supports 0-dimensional start and end tensors, but "
                               f"got start with {ndims[0]} dimension(s) and end with "
                               f"{ndims[1]} dimension(s).")
        start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    dtype = _dtype(dtype)
    if dtype.kind == "b":
        raise NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'")
    integer = dtype.kind in "iu"
    if integer:  # checked and truncated as PyTorch's Scalar.to<int>(), wrapped as C++ casts
        start, end = (_wrap_integer(np.int64(int(checked_scalar(v, dtype))), dtype).item()
                      for v in (start, end))
    if steps == 1:
        return _on_device(np.full(1, start).astype(dtype), device, requires_grad)
    compute = np.float32 if dtype == np.float32 else np.float64
    first, last = compute(start), compute(end)
    step = (last - first) / compute(max(steps - 1, 1))
    i = np.arange(steps)
    step, first, last = np.float64(step), np.float64(first), np.float64(last)
    values = np.where(i < steps // 2, first + step * i, last - step * (steps - 1 - i))
    if integer:  # truncated toward zero, then wrapped to the dtype as C++ casts
        values = _wrap_integer(np.trunc(values).astype(np.int64), dtype)
    return _on_device(values.astype(dtype), device, requires_grad)


# ---- random ---------------------------------------------------------------------------------

def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform draws in [0, 1) of shape ``size`` from microdl's generator (or ``generator``, a
    numpy Generator)."""
    dtype = _dtype(dtype)
    _require_float("rand", dtype)
    shape = _size("rand", size)
    array = _generator(generator).random(shape, dtype=_draw_dtype(dtype)).astype(dtype)
    return _on_device(array, device, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal draws (mean 0, variance 1) of shape ``size``."""
    dtype = _dtype(dtype)
    _require_float("randn", dtype)
    shape = _size("randn", size)
    array = _generator(generator).standard_normal(shape, dtype=_draw_dtype(dtype)).astype(dtype)
    return _on_device(array, device, requires_grad)


def _draw_dtype(dtype):
    """numpy draws float32 or float64 only; float16 is drawn as float32 and cast."""
    return np.float64 if dtype == np.float64 else np.float32


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``; int64 unless ``dtype`` says otherwise."""
    if size is None and high is not None:  # randint(high, size)
        low, high, size = 0, low, high
    if high is None or size is None:
        raise TypeError("randint() missing required arguments: high and size "
                        "(randint(high, size) or randint(low, high, size))")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    dtype = _dtype(dtype, _DEFAULT_INT)
    shape = _size("randint", (size,))
    array = _generator(generator).integers(int(low), int(high), shape, dtype=np.int64)
    return _on_device(array.astype(dtype), device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0, ..., n - 1."""
    if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)):
        raise TypeError(f"randperm(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    array = _generator(generator).permutation(int(n)).astype(_dtype(dtype, _DEFAULT_INT))
    return _on_device(array, device, requires_grad)


# ---- the _like forms: input's shape, and its dtype and device unless given --------------------

def _like(input, dtype, device):
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor as input (got {type(input).__name__})")
    return (input.shape, input.dtype if dtype is None else np.dtype(dtype),
            input.device if device is None else device)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False):
    """Zeros of input's shape, in its dtype and on its device unless ``dtype``/``device`` are
    given; ``memory_format``: preserve_format or contiguous_format only (tensors are
    C-contiguous)."""
    shape, dtype, device = _like(input, dtype, device)
    return zeros(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False):
    """Ones of input's shape, in its dtype and on its device unless ``dtype``/``device`` are
    given; ``memory_format``: preserve_format or contiguous_format only (tensors are
    C-contiguous)."""
    shape, dtype, device = _like(input, dtype, device)
    return ones(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` in input's shape, in its dtype and on its device unless ``dtype``/``device``
    are given; ``memory_format``: preserve_format or contiguous_format only (tensors are
    C-contiguous)."""
    shape, dtype, device = _like(input, dtype, device)
    return full(shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of input's shape, in its dtype and on its device unless
    ``dtype``/``device`` are given; ``memory_format``: preserve_format or contiguous_format only
    (tensors are C-contiguous)."""
    shape, dtype, device = _like(input, dtype, device)
    return empty(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False):
    """Uniform draws in [0, 1) of input's shape, in its dtype and on its device unless
    ``dtype``/``device`` are given; ``memory_format``: preserve_format or contiguous_format only
    (tensors are C-contiguous)."""
    shape, dtype, device = _like(input, dtype, device)
    return rand(shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False):
    """Standard normal draws of input's shape, in its dtype and on its device unless
    ``dtype``/``device`` are given; ``memory_format``: preserve_format or contiguous_format only
    (tensors are C-contiguous)."""
    shape, dtype, device = _like(input, dtype, device)
    return randn(shape, dtype=dtype, device=device, requires_grad=requires_grad)


__all__ = [
    "zeros", "ones", "full", "empty", "eye", "arange", "linspace", "rand", "randn", "randint",
    "randperm", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like",
    "is_tensor", "get_default_dtype",
]
