"""Tensor: a numpy array, its gradient, and the tape node of the op that made it.

Arithmetic follows numpy's broadcasting and PyTorch's type promotion (``ops.elementwise.promote``:
a Python scalar takes the tensor's dtype, float32 with int64 gives float32, float32 with a
float64 array gives float64). Floats default to float32 when the data comes from Python lists or
scalars; numpy arrays keep their dtype, as ``torch.tensor`` does.
"""

import numpy as np

from . import autograd, backend
from . import _device
from . import random as _random  # uniform_, normal_, ...: microdl's generator
from ._memory_format import check_memory_format as _check_memory_format
from ._memory_format import contiguous_format as _contiguous_format
from ._memory_format import preserve_format as _preserve_format
from .ops import activation, elementwise, matmul, reduce, shape

_DEFAULT_FLOAT = np.float32


def _check_device(device):
    """"cpu" or "cuda:0" for a device or its name ("cpu", "cuda", "cuda:0", microdl.device);
    asking for CUDA without a GPU is a RuntimeError saying what to do."""
    return _device.parse(device)


def _is_dtype(value):
    """A dtype as ``Tensor.to`` takes one positionally: microdl.float32 (a numpy dtype), a numpy
    scalar type (np.float32), or Python's float / int / bool (float64, int64, bool, as in
    PyTorch)."""
    return isinstance(value, np.dtype) or any(value is t for t in (float, int, bool)) or (
        isinstance(value, type) and issubclass(value, np.generic))


def _to_arguments(args, kwargs):
    """(device, dtype, copy) from PyTorch's three forms of ``Tensor.to``:
    to(dtype, non_blocking=False, copy=False), to(device=None, dtype=None, non_blocking=False,
    copy=False) and to(other, non_blocking=False, copy=False)."""
    names = ["device", "dtype", "non_blocking", "copy"]
    if args and isinstance(args[0], Tensor):  # to(other): other's device and dtype
        other, args = args[0], args[1:]
        kwargs = dict(kwargs, device=other.device, dtype=other.dtype)
        names = ["non_blocking", "copy"]
    elif args and _is_dtype(args[0]):
        names = names[1:]
    if len(args) > len(names):
        raise TypeError(f"to() takes at most {len(names)} positional arguments after the "
                        f"tensor ({len(args)} given)")
    given = dict(zip(names, args))
    for key, value in kwargs.items():
        if key not in ("device", "dtype", "non_blocking", "copy"):
            raise TypeError(f"to() got an unexpected keyword argument '{key}'")
        if key in given:
            raise TypeError(f"to() got multiple values for argument '{key}'")
        given[key] = value
    device, dtype = given.get("device"), given.get("dtype")
    if device is not None and not isinstance(device, (str, int, np.integer, _device.device)):
        raise TypeError(f"to() received an invalid combination of arguments - got "
                        f"({type(device).__name__}), but expected a device, a dtype or a Tensor")
    if dtype is not None and not _is_dtype(dtype):
        raise TypeError(f"to(): argument 'dtype' must be a dtype (microdl.float32, ...), not "
                        f"{type(dtype).__name__}")
    return device, dtype, bool(given.get("copy", False))


def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = _device.host(data.array)
    elif isinstance(data, (list, tuple)) and isinstance(_first_value(data), Tensor):
        data = _tensors_as_values(data)  # torch.tensor([t1, t2]): one value per tensor
    # a numpy scalar keeps its dtype as an array does (tensor(np.float64(1)) is float64)
    from_python = not isinstance(data, (np.ndarray, np.generic))
    # NOTE: order="C": a copy of a transposed or Fortran-ordered array would keep its layout,
    # and in-place kernels (the SGD update) write through flat C-order views.
    array = np.array(data, dtype=dtype, copy=True, order="C")
    if (dtype is None and from_python and array.dtype == np.float64
            and not _holds_numpy_float64(data)):
        array = array.astype(_DEFAULT_FLOAT)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} data of dtype "
                        f"{array.dtype}: tensors hold booleans, integers or floats")
    return array


def _holds_numpy_float64(data):
    """Whether a list (nested) holds numpy float64 scalars or arrays: PyTorch then makes the
    tensor float64, where Python floats give float32. NOTE: the first element stands for all
    (a scan of every element cost more than np.array itself on long lists)."""
    while isinstance(data, (list, tuple)) and len(data):
        data = data[0]
    return isinstance(data, (np.float64, np.ndarray)) and data.dtype == np.float64


class Tensor:
    """An n-dimensional array that can record the ops made from it, PyTorch's ``torch.Tensor``.

    Tensor(data, requires_grad=False, dtype=None, device="cpu"); usually made by
    ``microdl.tensor(...)``, the creation functions (``zeros``, ``randn``, ...) or an op.

    - ``array``: the values (a numpy array on "cpu", a numba device array on "cuda"); what the
      kernels read and write. ``data`` is PyTorch's: a Tensor sharing ``array``, off the tape.
    - ``grad``: the accumulated gradient (a Tensor) after ``backward()``, for tensors that
      require grad; ``requires_grad``, ``is_leaf``, ``grad_fn`` describe its place on the tape.
    - ``shape`` / ``size()``, ``dtype`` (a numpy dtype, equal to ``microdl.float32`` ...),
      ``device``, ``ndim`` / ``dim()``, ``numel()``.
    Operators and methods follow PyTorch 2.13's names, broadcasting, type promotion and errors.
    """

    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad=False, dtype=None, device="cpu"):
        target = _check_device("cpu" if device is None else device)
        self.array = _to_array(data, dtype)
        if target != "cpu":
            self.array = _device.move(self.array, target)
        self.grad = None
        self._node = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """A tensor around an existing array: no copy, no checks (for ops and the engine)."""
        t = cls.__new__(cls)
        t.array = array
        t.grad = None
        t._node = None
        t.requires_grad = requires_grad
        return t

    # ---- properties -------------------------------------------------------------------------
    _grad_hooks = None  # a leaf's register_hook list (the engine reads it); None: no hooks

    @property
    def shape(self):
        """The dimensions, a ``microdl.Size`` (a tuple that prints as PyTorch's Size)."""
        return _as_size(self.array.shape)

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def data(self):
        """PyTorch's ``.data``: a tensor sharing this one's values, cut from the tape. Writes
        through it (``p.data.mul_(0.9)``) change this tensor and are not recorded.
        ``.array`` is the array itself (numpy on cpu, a numba device array on cuda)."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else _to_array(value)

    def size(self, dim=None):
        """The shape (a ``microdl.Size``), or the length of dimension ``dim``."""
        if dim is None:
            return _as_size(self.array.shape)
        return self.array.shape[_dim_index(dim, self.array.ndim)]

    @property
    def device(self):
        """``microdl.device("cpu")``, or ``device("cuda", 0)`` for a tensor holding a numba
        device array; it equals its string too (``t.device == "cpu"``)."""
        return _device.device_of(self.array)

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        """The backward node of the op that made this tensor (None for a leaf): ``name()`` is
        PyTorch's ("MulBackward0"), ``next_functions`` leads to the inputs' nodes."""
        return self._node

    @property
    def retains_grad(self):
        """True when ``retain_grad()`` asked a non-leaf to keep its ``.grad``."""
        hooks = self._node.hooks if self._node is not None else None
        return bool(hooks) and any(isinstance(h, autograd.RetainGrad) for h in hooks)

    @property
    def is_cuda(self):
        return _device.of(self.array) != _device.CPU

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        """The last two dimensions swapped (a batch of matrices transposed)."""
        if self.ndim == 0:
            return self  # PyTorch: the identity on a 0-d tensor (deprecated there)
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of "
                               f"matrices. Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    def dim(self):
        return self.array.ndim

    ndimension = dim

    def numel(self):
        return self.array.size

    nelement = numel

    def element_size(self):
        """Bytes per element."""
        return self.array.dtype.itemsize

    def is_floating_point(self):
        return self.array.dtype.kind == "f"

    def is_contiguous(self):
        """Whether the values lie in row-major (C) order without gaps (microdl's ops always make
        such arrays; a ``from_numpy`` of a transposed array is not)."""
        return bool(self.array.flags["C_CONTIGUOUS"])

    def __len__(self):
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and not np.issubdtype(self.array.dtype, np.floating):
            raise RuntimeError(
                "Only Tensors of floating point dtype can require gradients "
                f"(got dtype {self.array.dtype})"
            )
        self.requires_grad = bool(requires_grad)
        return self

    # ---- conversion ---------------------------------------------------------------------------
    def numpy(self):
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        # NOTE: a CUDA tensor gives a host copy (PyTorch asks for .cpu() first).
        return _device.host(self.array)

    def __array__(self, dtype=None, copy=None):
        data = _device.host(self.array)
        if copy:
            return np.array(data, dtype=dtype, copy=True)
        return data if dtype is None else data.astype(dtype)

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar"
            )
        return _device.host(self.array).item()

    def tolist(self):
        return _device.host(self.array).tolist()

    def detach(self):
        """The same data, cut from the tape: no gradient flows through the result."""
        return Tensor._wrap(self.array)

    def clone(self, *, memory_format=_preserve_format):
        _check_memory_format("clone", memory_format)
        return elementwise.Clone.apply(self)

    def to(self, *args, memory_format=_preserve_format, **kwargs):
        """This tensor on a device and/or as a dtype, as PyTorch takes them: ``to("cuda")``,
        ``to(microdl.device("cpu"))``, ``to(microdl.float64)``, ``to(device, dtype)``,
        ``to(other)`` (other's device and dtype); ``non_blocking`` is accepted and ignored;
        ``memory_format``: preserve_format or contiguous_format (microdl's arrays are
        C-contiguous). Itself when nothing changes (unless ``copy=True``), else a copy that
        stays on the tape (gradients flow back to this tensor)."""
        _check_memory_format("to", memory_format)
        device, dtype, copy = _to_arguments(args, kwargs)
        out = self
        if device is not None:
            target = _check_device(device)
            if target != _device.of(self.array):
                out = elementwise.ToDevice.apply(self, device=target)
        if dtype is not None and np.dtype(dtype) != out.array.dtype:
            return elementwise.Cast.apply(out, dtype=np.dtype(dtype))
        return out.clone() if copy and out is self else out

    def cpu(self, memory_format=_preserve_format):
        return self.to("cpu", memory_format=memory_format)

    def cuda(self, device=None, non_blocking=False, memory_format=_preserve_format):
        return self.to("cuda" if device is None else device, memory_format=memory_format)

    def float(self, memory_format=_preserve_format):
        return self.to(dtype=np.float32, memory_format=memory_format)

    def double(self, memory_format=_preserve_format):
        return self.to(dtype=np.float64, memory_format=memory_format)

    def __repr__(self):
        body = np.array2string(_device.host(self.array), separator=", ", prefix="tensor(",
                               **_PRINT_OPTIONS)
        extras = [] if self.device == "cpu" else [f"device='{self.device}'"]
        if self.array.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.array.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # new_*: PyTorch's creation methods, this tensor's dtype and device unless given
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A copy of ``data`` in this tensor's dtype and on its device (unless given)."""
        return Tensor(data, requires_grad=requires_grad,
                      dtype=self.dtype if dtype is None else dtype,
                      device=self.device if device is None else device)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, "
                            f"not {type(size).__name__}")
        return self._new_filled("new_full", (size,), fill_value, dtype, device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled("new_zeros", size, 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled("new_ones", size, 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        """Uninitialised: the values are whatever the memory held."""
        return self._new_filled("new_empty", size, None, dtype, device, requires_grad)

    def _new_filled(self, name, size, value, dtype, device, requires_grad):
        shape = _shape_argument(name, size)
        dtype = self.array.dtype if dtype is None else np.dtype(dtype)
        target = _device.of(self.array) if device is None else _check_device(device)
        allocator = backend.for_device(target)
        array = allocator.empty(shape, dtype) if value is None else \
            allocator.full(shape, value, dtype)
        return Tensor._wrap(array).requires_grad_(requires_grad)

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) * grad into every leaf's ``.grad`` that requires grad."""
        if not self.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        if grad is None:
            if self.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (got shape "
                    f"{self.array.shape}); pass backward(grad) with a gradient of that shape"
                )
            grad = backend.of(self.array).full(self.shape, 1, self.dtype)
        else:
            grad = grad.array if isinstance(grad, Tensor) else grad
            if tuple(np.shape(grad)) != self.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {tuple(np.shape(grad))} "
                    f"and output[0] has a shape of {self.array.shape}."
                )
            # the gradient in the output's dtype, on the output's device (no copy when it
            # already is: the engine never writes into it)
            grad = _device.move(grad if _device.is_device_array(grad) else np.asarray(grad),
                                self.device)
            if grad.dtype != self.dtype:
                grad = _device.astype(grad, self.dtype)
        autograd.run_backward(self, grad, retain_graph=retain_graph)

    def zero_grad_(self):
        self.grad = None

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` on backward (accumulated, as a
        leaf's); a leaf keeps it anyway."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._node is not None and not self.retains_grad:
            if self._node.hooks is None:
                self._node.hooks = []
            self._node.hooks.append(autograd.RetainGrad(self))

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this tensor's gradient on each backward (for a leaf, the
        whole gradient, before it is added to ``.grad``); a tensor it returns replaces the
        gradient. Returns a handle whose ``remove()`` takes the hook out."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self._node is None:
            if self._grad_hooks is None:
                self._grad_hooks = []
            hooks = self._grad_hooks
        else:
            if self._node.hooks is None:
                self._node.hooks = []
            hooks = self._node.hooks
        hooks.append(hook)
        return autograd.RemovableHandle(hooks, hook)

    # ---- arithmetic ---------------------------------------------------------------------------
    def _operand(self, other):
        """``other`` as an op input: a Tensor as it is; a Python or numpy number as a 0-d array
        of the dtype PyTorch gives ``self op number`` (int32 tensor + 5 -> int32, int tensor +
        0.5 -> float32, bool tensor + 1 -> int64); anything else as a numpy array."""
        if isinstance(other, Tensor):
            return other
        if elementwise.is_number(other):
            if self.array.dtype.kind == "f":  # the common case: a float tensor decides
                return np.asarray(other, self.array.dtype)
            return np.asarray(other, elementwise.result_type(self.array, other))
        array = np.asarray(other)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"unsupported operand type for a tensor op: "
                            f"'{type(other).__name__}'")
        return array

    def __add__(self, other):
        return elementwise.Add.apply(self, self._operand(other))

    def __radd__(self, other):
        return elementwise.Add.apply(self._operand(other), self)

    def __sub__(self, other):
        return elementwise.Sub.apply(self, self._sub_operand(other))

    def __rsub__(self, other):
        return elementwise.Sub.apply(self._sub_operand(other), self)

    def _sub_operand(self, other):
        # NOTE: a Python bool stays bool: PyTorch refuses t - True as it refuses t - bool_tensor
        return np.asarray(other) if isinstance(other, (bool, np.bool_)) else self._operand(other)

    def __mul__(self, other):
        return elementwise.Mul.apply(self, self._operand(other))

    def __rmul__(self, other):
        return elementwise.Mul.apply(self._operand(other), self)

    def __truediv__(self, other):
        return elementwise.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other):
        return elementwise.Div.apply(self._operand(other), self)

    def __floordiv__(self, other):
        return elementwise.FloorDivide.apply(self, self._operand(other))

    def __rfloordiv__(self, other):
        return elementwise.FloorDivide.apply(self._operand(other), self)

    def __mod__(self, other):
        return elementwise.Remainder.apply(self, self._operand(other))

    def __rmod__(self, other):
        return elementwise.Remainder.apply(self._operand(other), self)

    def __neg__(self):
        return elementwise.Neg.apply(self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or not elementwise.is_number(exponent):
            return elementwise.PowTensor.apply(self, self._operand(exponent))
        # NOTE: an int exponent stays an int: int_tensor ** 2 is an integer tensor, ** 2.0 a
        # float one, as in PyTorch
        if isinstance(exponent, (bool, np.bool_)):
            return elementwise.Pow.apply(self, exponent=bool(exponent))
        whole = isinstance(exponent, (int, np.integer))
        return elementwise.Pow.apply(self, exponent=int(exponent) if whole else float(exponent))

    def __rpow__(self, base):
        return elementwise.PowTensor.apply(self._operand(base), self)

    def __matmul__(self, other):
        return matmul.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other):
        return matmul.MatMul.apply(self._operand(other), self)

    def add(self, other, *, alpha=1):
        """self + alpha * other."""
        return self + self._times_alpha(other, alpha)

    def sub(self, other, *, alpha=1):
        """self - alpha * other."""
        return self - self._times_alpha(other, alpha)

    subtract = sub

    def _times_alpha(self, other, alpha):
        if alpha == 1 and not isinstance(alpha, float):
            return other
        other = other if isinstance(other, Tensor) else self._operand(other)
        dtype = elementwise.result_type(self.array, getattr(other, "array", other))
        if dtype.kind != "f" and isinstance(alpha, (float, np.floating)):
            raise RuntimeError("For integral input tensors, argument alpha must not be a "
                               "floating point number.")
        return other * alpha if isinstance(other, Tensor) else Tensor._wrap(other) * alpha

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode=None):
        """self / other; rounding_mode "trunc" or "floor" rounds the quotient (integers stay
        integers) and has a zero gradient."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                               f"'floor' but found '{rounding_mode}'")
        return elementwise.DivRounded.apply(self, self._operand(other),
                                            rounding_mode=rounding_mode)

    divide = div

    def true_divide(self, other):
        return self / other

    def floor_divide(self, other):
        return self // other

    def remainder(self, other):
        return self % other

    def neg(self):
        return -self

    negative = neg

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        return self @ other

    def exp(self):
        return elementwise.Exp.apply(self)

    def log(self):
        return elementwise.Log.apply(self)

    def sqrt(self):
        return elementwise.Sqrt.apply(self)

    def abs(self):
        return elementwise.Abs.apply(self)

    # ---- comparisons and elementwise math (more) -----------------------------------------------
    __hash__ = object.__hash__  # identity, as PyTorch: tensors stay usable as dict keys

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with "
                               f"{'no values' if self.array.size == 0 else 'more than one value'}"
                               f" is ambiguous")
        return bool(self.item())

    def _compare(self, other, op):
        return elementwise.Compare.apply(self, self._operand(other), op=op)

    def __eq__(self, other):
        try:
            return self._compare(other, "eq")
        except TypeError:  # t == None, t == "a": False, as PyTorch
            return NotImplemented

    def __ne__(self, other):
        try:
            return self._compare(other, "ne")
        except TypeError:
            return NotImplemented

    def __lt__(self, other):
        return self._compare(other, "lt")

    def __le__(self, other):
        return self._compare(other, "le")

    def __gt__(self, other):
        return self._compare(other, "gt")

    def __ge__(self, other):
        return self._compare(other, "ge")

    def eq(self, other):
        return self._compare(other, "eq")

    def ne(self, other):
        return self._compare(other, "ne")

    def lt(self, other):
        return self._compare(other, "lt")

    def le(self, other):
        return self._compare(other, "le")

    def gt(self, other):
        return self._compare(other, "gt")

    def ge(self, other):
        return self._compare(other, "ge")

    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge

    def equal(self, other):
        """True when both have the same shape and values (a Python bool; NaN != NaN)."""
        if tuple(self.shape) != tuple(other.shape):
            return False
        return elementwise.all_true(self.eq(other).array)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """|self - other| <= atol + rtol * |other| elementwise (both of one dtype)."""
        return Tensor._wrap(elementwise.isclose(self.array, other.array, rtol, atol, equal_nan))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return elementwise.all_true(self.isclose(other, rtol, atol, equal_nan).array)

    def logical_not(self):
        return Tensor._wrap(elementwise.logical_not(self.array))

    def logical_and(self, other):
        return elementwise.Logical.apply(self, self._operand(other), op="and")

    def logical_or(self, other):
        return elementwise.Logical.apply(self, self._operand(other), op="or")

    def logical_xor(self, other):
        return elementwise.Logical.apply(self, self._operand(other), op="xor")

    def __invert__(self):
        return Tensor._wrap(elementwise.bitwise_not(self.array))

    def bitwise_not(self):
        return Tensor._wrap(elementwise.bitwise_not(self.array, operator=False))

    def __and__(self, other):
        return elementwise.Bitwise.apply(self, self._operand(other), op="and")

    def __or__(self, other):
        return elementwise.Bitwise.apply(self, self._operand(other), op="or")

    def __xor__(self, other):
        return elementwise.Bitwise.apply(self, self._operand(other), op="xor")

    def __rand__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="and")

    def __ror__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="or")

    def __rxor__(self, other):
        return elementwise.Bitwise.apply(self._operand(other), self, op="xor")

    bitwise_and, bitwise_or, bitwise_xor = __and__, __or__, __xor__

    def isnan(self):
        return Tensor._wrap(elementwise.is_value(self.array, "isnan"))

    def isinf(self):
        return Tensor._wrap(elementwise.is_value(self.array, "isinf"))

    def isfinite(self):
        return Tensor._wrap(elementwise.is_value(self.array, "isfinite"))

    def square(self):
        return self ** 2

    def rsqrt(self):
        return elementwise.Rsqrt.apply(self)

    def reciprocal(self):
        return elementwise.Reciprocal.apply(self)

    def sin(self):
        return elementwise.Sin.apply(self)

    def cos(self):
        return elementwise.Cos.apply(self)

    def tan(self):
        return elementwise.Tan.apply(self)

    def log2(self):
        return elementwise.Log2.apply(self)

    def log10(self):
        return elementwise.Log10.apply(self)

    def log1p(self):
        return elementwise.Log1p.apply(self)

    def expm1(self):
        return elementwise.Expm1.apply(self)

    def floor(self):
        return elementwise.StepFunction.apply(self, op="floor")

    def ceil(self):
        return elementwise.StepFunction.apply(self, op="ceil")

    def trunc(self):
        return elementwise.StepFunction.apply(self, op="trunc")

    fix = trunc

    def round(self, decimals=0):
        """Nearest integer, halves to even (as PyTorch); ``decimals`` rounds x * 10**decimals."""
        if decimals == 0:
            return elementwise.StepFunction.apply(self, op="round")
        scale = 10.0 ** decimals
        return (self * scale).round() / scale

    def sign(self):
        return elementwise.StepFunction.apply(self, op="sign")

    def maximum(self, other):
        return elementwise.Maximum.apply(self, self._operand(other))

    def minimum(self, other):
        return elementwise.Minimum.apply(self, self._operand(other))

    def clamp(self, min=None, max=None):
        """min(max(self, min), max); either bound a number or a tensor, or None."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        _, low, high = _numbers_as_arrays(self, min, max)
        return elementwise.Clamp.apply(self, low, high)

    clip = clamp

    def clamp_(self, min=None, max=None):
        return self._assign(self.clamp(min, max))

    clip_ = clamp_

    def where(self, condition, other):
        """self where condition else other (PyTorch's Tensor.where)."""
        return where(condition, self, other)

    def masked_fill(self, mask, value):
        """self with ``value`` (a number or a 0-d tensor) where the bool ``mask`` is True."""
        mask = mask if isinstance(mask, Tensor) else Tensor._wrap(np.asarray(mask))
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                               f"dtype {_C_TYPE_NAMES.get(mask.dtype, mask.dtype)}")
        if isinstance(value, Tensor) and value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value.ndim} dimension(s).")
        if isinstance(value, (int, float, complex, np.number, np.bool_)):  # as PyTorch checks
            value = elementwise.checked_scalar(value, self.dtype)
        value = value if isinstance(value, Tensor) else np.asarray(value)
        return elementwise.Where.apply(mask, value, self, dtype=self.dtype)

    def masked_fill_(self, mask, value):
        return self._assign(self.masked_fill(mask, value))

    def half(self, memory_format=_preserve_format):
        return self.to(dtype=np.float16, memory_format=memory_format)

    def long(self, memory_format=_preserve_format):
        return self.to(dtype=np.int64, memory_format=memory_format)

    def int(self, memory_format=_preserve_format):
        return self.to(dtype=np.int32, memory_format=memory_format)

    def short(self, memory_format=_preserve_format):
        return self.to(dtype=np.int16, memory_format=memory_format)

    def bool(self, memory_format=_preserve_format):
        return self.to(dtype=np.bool_, memory_format=memory_format)

    def type(self, dtype=None, non_blocking=False):
        """No argument: PyTorch's type name ("torch.FloatTensor"); a dtype or such a name:
        this tensor cast to it."""
        if dtype is None:
            prefix = "torch." if self.device == "cpu" else "torch.cuda."
            return f"{prefix}{elementwise.TORCH_NAMES[self.dtype]}Tensor"
        if isinstance(dtype, str):
            name = dtype.rsplit(".", 1)[-1].removesuffix("Tensor")
            by_name = {v: k for k, v in elementwise.TORCH_NAMES.items()}
            if name not in by_name:
                raise ValueError(f"invalid type: '{dtype}'")
            dtype = by_name[name]
        return self.to(dtype=dtype)

    # ---- activations --------------------------------------------------------------------------
    def relu(self):
        return activation.ReLU.apply(self)

    def sigmoid(self):
        return activation.Sigmoid.apply(self)

    def tanh(self):
        return activation.Tanh.apply(self)

    def softmax(self, dim=-1, dtype=None):
        """exp(x) / sum exp(x) along ``dim``; ``dtype``: the input is cast to it first."""
        return activation.Softmax.apply(self._as_dtype(dtype), dim=dim)

    def log_softmax(self, dim=-1, dtype=None):
        """x - log sum exp(x) along ``dim``; ``dtype``: the input is cast to it first."""
        return activation.LogSoftmax.apply(self._as_dtype(dtype), dim=dim)

    # ---- reductions (numpy's axis/keepdims; PyTorch's dim/keepdim work too) --------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """The sum over ``dim`` (all when None); ``dtype``: the input is cast to it first."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return _in_dtype(reduce.Sum.apply(self._as_dtype(dtype), axis=axis, keepdims=keepdims),
                         dtype)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None):
        """The mean over ``dim`` (all when None); ``dtype`` (a float): the input is cast to it
        first."""
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Optional dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{elementwise.TORCH_NAMES[np.dtype(dtype)]}")
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return reduce.Mean.apply(self._as_dtype(dtype), axis=axis, keepdims=keepdims)

    def _as_dtype(self, dtype):
        """Itself, or cast to ``dtype`` on the tape (a reduction's ``dtype=`` argument: the input
        is cast, then summed; integers, which sum as int64, are cast back after: _in_dtype)."""
        if dtype is None or np.dtype(dtype) == self.array.dtype:
            return self
        return self.to(dtype=dtype)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """max(): the largest value (0-d; the gradient split among ties). max(dim): the named
        tuple (values, indices), the gradient going to the index. max(other): maximum(other).
        ``axis``/``keepdims`` are aliases of ``dim``/``keepdim``, as in PyTorch (the values
        over several dims at once: amax)."""
        return self._extreme(dim, keepdim, axis, keepdims, largest=True)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """min(), min(dim) -> (values, indices), min(other): as max."""
        return self._extreme(dim, keepdim, axis, keepdims, largest=False)

    def _extreme(self, dim, keepdim, axis, keepdims, largest):
        name = "max" if largest else "min"
        if isinstance(dim, Tensor):
            return getattr(self, name + "imum")(dim)
        dim, keepdim = _axis_args(dim, keepdim, axis, keepdims)
        if dim is None:
            return reduce.Extreme.apply(self, largest=largest, name=name)
        if isinstance(dim, tuple):
            raise TypeError(f"{name}(): argument 'dim' must be int, not tuple (over several "
                            f"dims: a{name})")
        values, indices = reduce.extreme_along(self, dim, bool(keepdim), largest)
        result = reduce.max_result if largest else reduce.min_result
        return result(values, Tensor._wrap(indices))

    def amax(self, dim=(), keepdim=False):
        """The largest values over ``dim`` (an int or a tuple; all when empty); the gradient is
        split evenly among ties."""
        axis = None if dim in ((), []) else (tuple(dim) if isinstance(dim, list) else dim)
        return reduce.Extreme.apply(self, axis=axis, keepdims=keepdim, largest=True, name="amax")

    def amin(self, dim=(), keepdim=False):
        axis = None if dim in ((), []) else (tuple(dim) if isinstance(dim, list) else dim)
        return reduce.Extreme.apply(self, axis=axis, keepdims=keepdim, largest=False,
                                    name="amin")

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _axis_args(dim, keepdim, axis, keepdims)
        return Tensor._wrap(reduce.arg_extreme(self.array, dim, keepdim, largest=True))

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _axis_args(dim, keepdim, axis, keepdims)
        return Tensor._wrap(reduce.arg_extreme(self.array, dim, keepdim, largest=False))

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sum((x - mean)^2) / max(0, n - correction) over ``dim`` (int, tuple or all);
        correction 1 (unbiased, the default) or 0 (unbiased=False); float64 accumulation."""
        return self._variance(dim, unbiased, keepdim, correction, root=False)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        """sqrt(var) (see var)."""
        return self._variance(dim, unbiased, keepdim, correction, root=True)

    def _variance(self, dim, unbiased, keepdim, correction, root):
        if isinstance(dim, bool):  # var(unbiased): PyTorch's other overload
            dim, unbiased = None, dim
        if correction is None:
            correction = 0 if unbiased is False else 1
        dim = tuple(dim) if isinstance(dim, list) else dim
        return reduce.Var.apply(self, axis=dim, keepdims=bool(keepdim), correction=correction,
                                root=root)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        """The product over ``dim`` (or all values); int64 for integer and bool tensors;
        ``dtype``: the input is cast to it first and the result has it."""
        return _in_dtype(reduce.Prod.apply(self._as_dtype(dtype), axis=dim,
                                           keepdims=bool(keepdim)), dtype)

    def cumsum(self, dim, *, dtype=None):
        """y_i = x_0 + ... + x_i along ``dim``; int64 for integer and bool tensors; ``dtype``:
        the input is cast to it first."""
        return _in_dtype(reduce.Cumsum.apply(self._as_dtype(dtype), axis=dim), dtype)

    def all(self, dim=None, keepdim=False):
        """Whether every value is nonzero (over ``dim``): bool (uint8 for uint8 tensors)."""
        dim = tuple(dim) if isinstance(dim, list) else dim
        return Tensor._wrap(reduce.all_any(self.array, dim, bool(keepdim), any_=False))

    def any(self, dim=None, keepdim=False):
        """Whether some value is nonzero (over ``dim``): bool (uint8 for uint8 tensors)."""
        dim = tuple(dim) if isinstance(dim, list) else dim
        return Tensor._wrap(reduce.all_any(self.array, dim, bool(keepdim), any_=True))

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) over ``dim``, shifted by the (detached) max for stability:
        m + log(sum(exp(x - m))). The gradient is softmax(x) over ``dim``."""
        x = self if self.dtype.kind == "f" else self.float()
        dim = tuple(dim) if isinstance(dim, list) else dim
        shift = x.amax(dim, keepdim=True).detach()
        out = (x - shift).exp().sum(dim, keepdim=True).log() + shift
        return out if keepdim else out.squeeze(dim)

    # ---- shape --------------------------------------------------------------------------------
    def reshape(self, *new_shape):
        if len(new_shape) == 1 and isinstance(new_shape[0], (tuple, list)):
            new_shape = tuple(new_shape[0])
        return shape.Reshape.apply(self, shape=new_shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        nd = max(self.ndim, 1)
        start, end = start_dim % nd, end_dim % nd
        dims = self.shape
        merged = int(np.prod(dims[start:end + 1], dtype=np.int64))
        return self.reshape(dims[:start] + (merged,) + dims[end + 1:])

    def transpose(self, *dims):
        """No arguments: reverse the axes. Two: swap them (PyTorch). All: permute (numpy)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) == 2:
            # NOTE: two dims always swap, 2-D included (read as a permutation, (0, 1) was the
            # identity and W.transpose(0, 1) silently returned W)
            n = max(self.ndim, 1)  # a 0-d tensor takes dims 0 and -1, as in PyTorch
            for d in dims:
                if not -n <= d < n:
                    raise IndexError(f"Dimension out of range (expected to be in range of "
                                     f"[{-n}, {n - 1}], but got {d})")
            if self.ndim == 0:
                return self  # PyTorch: a 0-d tensor transposed is itself
            axes = list(range(self.ndim))
            a, b = dims[0] % self.ndim, dims[1] % self.ndim
            axes[a], axes[b] = axes[b], axes[a]
            dims = tuple(axes)
        return shape.Transpose.apply(self, axes=dims or None)

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return shape.Transpose.apply(self, axes=dims)

    def __getitem__(self, index):
        """PyTorch's indexing (ops/shape.py torch_index): an integer selects before any
        advanced index applies; index tensors are read on the host."""
        if isinstance(index, Tensor):
            index = _device.host(index.array)
        elif isinstance(index, tuple):
            index = tuple(_device.host(i.array) if isinstance(i, Tensor) else i for i in index)
        return shape.GetItem.apply(self, index=index)


    # ---- shape (more) ---------------------------------------------------------------------------
    def squeeze(self, dim=None):
        """Drop the dimensions of size 1 (all, or those of ``dim``, an int or a tuple: a named
        dimension that is not 1 stays, as in PyTorch)."""
        dims = range(self.ndim) if dim is None else \
            [_dim_index(d, self.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        drop = {d for d in dims if self.ndim and self.shape[d] == 1}
        return self.reshape(tuple(n for d, n in enumerate(self.shape) if d not in drop))

    def unsqueeze(self, dim):
        """A dimension of size 1 inserted at ``dim`` (in [-ndim - 1, ndim])."""
        d = _dim_index(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes):
        """This tensor broadcast to ``sizes`` (-1 keeps a dimension; new ones go in front),
        written out as a copy (PyTorch gives a view; the values are the same)."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else tuple(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand({_torch_type(self)}{{{list(self.shape)}}}, size="
                               f"{list(sizes)}): the number of sizes provided ({len(sizes)}) "
                               "must be greater or equal to the number of dimensions in the "
                               f"tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = list(sizes)
        for d, n in enumerate(self.shape):
            want = sizes[lead + d]
            if want == -1:
                target[lead + d] = n
            elif n != 1 and want != n:
                raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                                   f"existing size ({n}) at non-singleton dimension {lead + d}."
                                   f"  Target sizes: {list(sizes)}.  Tensor sizes: "
                                   f"{list(self.shape)}")
        if min(target[:lead], default=0) < 0:
            raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a leading, "
                               "non-existing dimension 0")
        if tuple(target) == self.shape:
            return self
        return shape.Expand.apply(self, shape=tuple(target))

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *repeats):
        """This tensor tiled ``repeats[d]`` times along each dimension d (leading repeats add
        dimensions)."""
        repeats = tuple(repeats[0]) if len(repeats) == 1 and \
            isinstance(repeats[0], (tuple, list)) else tuple(repeats)
        if len(repeats) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        return shape.Repeat.apply(self, repeats=repeats)

    def flip(self, *dims, **keyword):
        """The values in reverse order along each of ``dims`` (flip(0, 1), flip((0, 1)) or
        flip(dims=(0, 1)))."""
        for key in keyword:
            if key != "dims":
                raise TypeError(f"flip() got an unexpected keyword argument '{key}'")
            if dims:
                raise TypeError("flip() got multiple values for argument 'dims'")
            dims = (keyword["dims"],)
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        axes = [_dim_index(d, self.ndim) for d in dims]
        if len(set(axes)) != len(axes):
            repeated = next(d for d in axes if axes.count(d) > 1)
            raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
        return shape.Flip.apply(self, axes=tuple(axes)) if self.ndim else self

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def contiguous(self, memory_format=_contiguous_format):
        """Itself when its array is C-contiguous (microdl's ops always make those), else a
        C-contiguous copy on the tape."""
        _check_memory_format("contiguous", memory_format)
        if self.array.flags["C_CONTIGUOUS"]:
            return self
        return shape.Reshape.apply(self, shape=self.shape)

    def t(self):
        """The 2-D transpose; a tensor of fewer dimensions is returned as it is."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def narrow(self, dim, start, length):
        """The ``length`` values from ``start`` along ``dim`` (a copy; PyTorch gives a view).
        ``start``: an int or a 0-d integer tensor."""
        if not self.ndim:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        if isinstance(start, Tensor):
            if start.ndim or start.dtype.kind not in "iu":
                raise RuntimeError("start must be an 0-dim integral Tensor.")
            start = start.item()
        arguments = (dim, start, length)
        if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in arguments):
            got = ", ".join(type(a).__name__ for a in arguments)
            raise TypeError(f"narrow() received an invalid combination of arguments - got "
                            f"({got}), but expected one of: (int dim, Tensor start, int "
                            "length), (int dim, int start, int length)")
        d = _dim_index(dim, self.ndim)
        size = self.shape[d]
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, "
                             f"{size}], but got {start})")
        start = start % size if start < 0 else start
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}).")
        offsets = tuple(start if a == d else 0 for a in range(self.ndim))
        block = self.shape[:d] + (length,) + self.shape[d + 1:]
        return shape.ReadBlock.apply(self, offsets=offsets, shape=block)

    def movedim(self, source, destination):
        """Dimensions ``source`` moved to ``destination`` (ints or tuples), the others keeping
        their order."""
        source = list(source) if isinstance(source, (tuple, list)) else [source]
        destination = list(destination) if isinstance(destination, (tuple, list)) \
            else [destination]
        if len(source) != len(destination):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source "
                               f"({source} dims) should contain the same number of dims as "
                               f"destination ({destination} dims)")
        given = {"source": source, "destination": destination}
        source = [_dim_index(d, self.ndim) for d in source]
        destination = [_dim_index(d, self.ndim) for d in destination]
        for name, dims in (("source", source), ("destination", destination)):
            if len(set(dims)) != len(dims):
                raise RuntimeError(f"movedim: repeated dim in `{name}` ({given[name]})")
        if not self.ndim:
            return self
        order = [None] * self.ndim
        for s, d in zip(source, destination):
            order[d] = s
        rest = iter(d for d in range(self.ndim) if d not in source)
        order = [next(rest) if o is None else o for o in order]
        return self.permute(order)

    def split(self, split_size_or_sections, dim=0):
        """Pieces along ``dim``: of ``split_size`` each (the last smaller), or of the listed
        sizes."""
        d = _dim_index(dim, self.ndim)
        size = self.shape[d]
        if isinstance(split_size_or_sections, (tuple, list)):
            sizes = list(split_size_or_sections)
            if sum(sizes) != size or min(sizes, default=0) < 0:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                                   f"{size} (input tensor's size at dimension {d}), but got "
                                   f"split_sizes={sizes}")
        else:
            step = int(split_size_or_sections)
            if step < 0 or (step == 0 and size != 0):
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {size}" if step == 0 else
                                   f"split expects split_size be non-negative, but got "
                                   f"split_size={step}")
            sizes = [min(step, size - s) for s in range(0, size, step)] or [0]
        pieces, start = [], 0
        for n in sizes:
            pieces.append(self.narrow(d, start, n))
            start += n
        return tuple(pieces)

    def chunk(self, chunks, dim=0):
        """At most ``chunks`` pieces along ``dim``, of ceil(size / chunks) each (PyTorch's rule,
        so fewer pieces may come back)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        size = self.shape[_dim_index(dim, self.ndim)]
        return self.split(max(1, -(-size // chunks)), dim)

    def unbind(self, dim=0):
        """The slices along ``dim``, each without that dimension."""
        d = _dim_index(dim, self.ndim)
        if not self.ndim:
            raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        return tuple(self.narrow(d, i, 1).squeeze(d) for i in range(self.shape[d]))

    # ---- indexing, sorting and linear algebra (gather, sort, topk, mm, norm, ...) ---------------
    # NOTE: the ops of this section (ops/indexing.py, ops/linalg.py) are imported as _indexing
    # and _linalg with the functions of this section, below the class.
    def gather(self, dim, index, *, sparse_grad=False):
        """y[p] = self[p0, ..., index[p], ..., pn] along ``dim`` (index of self's rank, no larger
        than self off ``dim``); the gradient is added back at the same positions."""
        d = _dim_index(dim, self.ndim)
        if index.numel() == 0:  # PyTorch checks nothing more of an empty index (dtype, rank)
            return self.reshape(-1)[:0].reshape(tuple(index.shape))
        _indexing.check_along_axis("gather", self.array, index.array, d)
        return _indexing.Gather.apply(self, index=index.array, axis=d)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        """A copy of self with src[p] (or ``value``) written at (p0, ..., index[p], ..., pn)
        along ``dim``; reduce="add" adds instead (scatter_add). Of repeated positions the last
        written wins (PyTorch leaves that order unspecified)."""
        if reduce not in (None, "add"):
            raise NotImplementedError(f"scatter(reduce={reduce!r}): microdl supports "
                                      "reduce='add' only (scatter_add)")
        if src is not None and not isinstance(src, Tensor):
            src, value = None, src  # scatter(dim, index, value): PyTorch's other overload
        d = _dim_index(dim, self.ndim)
        if src is None:
            if value is None:
                raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
            src = Tensor._wrap(backend.of(self.array).full(index.shape, value, self.dtype))
        if src.dtype != self.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        if index.numel() == 0:  # PyTorch checks nothing more of an empty index (dtype, rank)
            return self.clone()
        _indexing.check_along_axis("scatter", self.array, index.array, d, src.array)
        return _indexing.Scatter.apply(self, src, index=index.array, axis=d,
                                       accumulate=reduce == "add")

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        return self._assign(self.scatter(dim, index, src, value, reduce=reduce))

    def scatter_add(self, dim, index, src):
        """A copy of self with src[p] added at (p0, ..., index[p], ..., pn) along ``dim``
        (repeats add up); the gradient of src is the output's gathered at index."""
        return self.scatter(dim, index, src, reduce="add")

    def scatter_add_(self, dim, index, src):
        return self._assign(self.scatter_add(dim, index, src))

    def _index_along(self, name, dim, index):
        """(dim normalized, the 1-D int64 index broadcast to the shape of the selection)."""
        d = _dim_index(dim, self.ndim)
        if index.ndim > 1:
            raise IndexError(f"{name}(): Index is supposed to be a vector")
        if index.dtype.kind not in "iu" or index.dtype.itemsize not in (4, 8):
            raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index")
        index = index.reshape(-1).long()
        shape = list(self.shape) or [1]
        values = _indexing.host_array(index.array)
        if values.size and (values.min() < -shape[d] or values.max() >= shape[d]):
            bad = values.min() if values.min() < -shape[d] else values.max()
            raise (RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim="
                                f"{shape[d]}") if name == "index_select" else
                   RuntimeError(f"index {bad} is out of bounds for dimension {d} with size "
                                f"{shape[d]}"))
        if values.size and values.min() < 0:  # a negative index counts from the end
            index = Tensor._wrap(_indexing.to_device_of(self.array, values % shape[d]))
        lines = [1] * len(shape)
        lines[d] = index.shape[0]
        shape[d] = index.shape[0]
        return d, index.reshape(lines).expand(*shape)

    def index_select(self, dim, index):
        """The slices of self at the positions ``index`` (a vector) along ``dim``; a 0-d self
        takes exactly one index and gives a 0-d result, as in PyTorch."""
        d, lines = self._index_along("index_select", dim, index)
        if not self.ndim and index.numel() != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{index.numel()} value(s)")
        return _indexing.Gather.apply(self, index=lines.array, axis=d).reshape(
            self.shape[:d] + (lines.shape[d],) + self.shape[d + 1:] if self.ndim else ())

    def index_add(self, dim, index, source, *, alpha=1):
        """A copy of self with alpha * source's slices added at positions ``index`` along
        ``dim`` (repeats add up). A 0-d self is one slot: a 0-d source added at one index."""
        d = _dim_index(dim, self.ndim)
        if not self.ndim:
            if source.ndim:
                raise RuntimeError(f"source tensor shape must match self tensor shape, "
                                   f"excluding the specified dimension. Got self.shape = [] "
                                   f"source.shape = {list(source.shape)}")
            if index.numel() != 1:  # PyTorch reads source.size(dim) of the 0-d source here
                raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
            if index.dtype.kind in "iu" and _indexing.host_array(index.array).item() != 0:
                raise IndexError("index out of range in self")
            return self.reshape(1).index_add(0, index.reshape(1), source.reshape(1),
                                             alpha=alpha).reshape(())
        if source.ndim and index.numel() != source.shape[d]:
            raise RuntimeError(f"index_add_(): Number of indices ({index.numel()}) should be "
                               f"equal to source.size(dim): ({source.shape[d]}), for dim: {d}")
        d, lines = self._index_along("index_add", dim, index)
        if source.shape != lines.shape:
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding "
                               f"the specified dimension. Got self.shape = {list(self.shape)} "
                               f"source.shape = {list(source.shape)}")
        source = source if alpha == 1 else source * alpha
        return _indexing.Scatter.apply(self, source, index=lines.array, axis=d,
                                       accumulate=True)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._assign(self.index_add(dim, index, source, alpha=alpha))

    def masked_select(self, mask):
        """The values of self where ``mask`` (bool, broadcast with self) is True, as a vector
        in C order."""
        mask = mask if isinstance(mask, Tensor) else tensor(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        shape = np.broadcast_shapes(self.shape, mask.shape)
        x = self if self.shape == shape else self.expand(*shape)
        chosen = np.broadcast_to(_indexing.host_array(mask.array), shape)
        return _indexing.Take.apply(x, positions=np.flatnonzero(chosen))

    def take(self, index):
        """self read as a vector at ``index`` (int64; negative counts from the end): the
        output has index's shape."""
        if index.dtype != np.int64:
            raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                               f"{_TORCH_TYPES.get(str(index.dtype), index.dtype)}")
        positions = _indexing.host_array(index.array).astype(np.int64)
        n = self.numel()
        outside = (positions < -n) | (positions >= n)
        if outside.any():
            raise IndexError(f"out of range: tried to access index {positions[outside][0]} on "
                             f"a tensor of {n} elements.")
        return _indexing.Take.apply(self, positions=positions % max(n, 1))

    def nonzero(self, *, as_tuple=False):
        """The int64 coordinates of the nonzero values, one row each in C order (as_tuple: one
        vector per dimension). Found on the host."""
        found = Tensor._wrap(_indexing.nonzero(self.array))
        if not as_tuple:
            return found
        if not self.ndim:  # PyTorch reads a 0-d tensor as a vector of one value here
            return (self.reshape(1).nonzero()[:, 0],)
        return tuple(found[:, d] for d in range(found.shape[1]))

    def argsort(self, dim=-1, descending=False, stable=False):
        """The int64 positions that sort self along ``dim`` (see sort)."""
        return self.sort(dim, descending, stable=stable).indices

    def sort(self, dim=-1, descending=False, *, stable=False):
        """(values, indices) sorted along ``dim``; NaN counts as the largest value. Always a
        stable sort (ties keep their order; PyTorch promises that with stable=True only). On
        cuda the order is found on the host (a copy there and back: numpy's sort); the values
        are gathered on the device, the gradient going back to the positions they came from."""
        order, d = _sort_order(self, dim, descending)
        return _sort_result(*self._taken_along(order, d))

    def _taken_along(self, order, d):
        """(values of self at positions ``order`` along d, the positions as a tensor)."""
        indices = Tensor._wrap(_indexing.to_device_of(self.array, order))
        return _indexing.Gather.apply(self, index=indices.array, axis=d), indices

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """(values, indices) of the k largest (or smallest) along ``dim``, largest first
        (smallest first); NaN counts as the largest value. Always sorted."""
        d = _dim_index(dim, self.ndim)
        size = self.shape[d] if self.ndim else 1
        if not 0 <= k <= size:
            raise RuntimeError("selected index k out of range")
        order, _ = _sort_order(self, d, descending=largest)
        return _topk_result(*self._taken_along(_first_along(order, d, k), d))

    def kthvalue(self, k, dim=-1, keepdim=False):
        """(values, indices) of the k-th smallest (k from 1) along ``dim``."""
        d = _dim_index(dim, self.ndim)
        size = self.shape[d] if self.ndim else 1
        if not 1 <= k <= size:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
        order, _ = _sort_order(self, d, descending=False)
        return self._picked_along(_kthvalue_result, order.take([k - 1], axis=d) if self.ndim
                                  else order, d, keepdim)

    def _picked_along(self, result, index, d, keepdim):
        """result(values, indices) at one position per line (``index``, 1 long on d)."""
        values, indices = self._taken_along(index, d)
        if not keepdim and self.ndim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return result(values, indices)

    def median(self, dim=None, keepdim=False):
        """median(): the lower median of all values (NaN if any is NaN). median(dim):
        (values, indices) of each line's lower median (a line holding NaN: its first NaN)."""
        host = _indexing.host_array(self.array)
        if dim is None:
            flat = host.reshape(-1)
            nan = np.flatnonzero(np.isnan(flat)) if flat.dtype.kind == "f" else []
            if flat.size == 0:
                return Tensor._wrap(_indexing.to_device_of(self.array, np.array(np.nan,
                                                                                self.dtype)))
            pick = nan[0] if len(nan) else np.argsort(flat, kind="stable")[(flat.size - 1) // 2]
            return _indexing.Take.apply(self, positions=np.array(pick, np.int64))
        d = _dim_index(dim, self.ndim)
        order, _ = _sort_order(self, d, descending=False)
        line = host.reshape(host.shape or (1,))
        pick = order.reshape(line.shape).take([(line.shape[d] - 1) // 2], axis=d)
        if line.dtype.kind == "f":  # a line holding NaN: its first NaN
            nan = np.isnan(line)
            pick = np.where(nan.any(axis=d, keepdims=True),
                            np.argmax(nan, axis=d, keepdims=True), pick)
        return self._picked_along(_median_result, pick.reshape(pick.shape if self.ndim else ()),
                                  d, keepdim)

    def mode(self, dim=-1, keepdim=False):
        """(values, indices): the most frequent value of each line along ``dim`` (the smallest
        among equally frequent ones) and the last position it holds. Found on the host."""
        d = _dim_index(dim, self.ndim)
        host = _indexing.host_array(self.array)
        lines = np.moveaxis(host.reshape(host.shape or (1,)), d, -1)
        picks = np.empty(lines.shape[:-1], np.int64)
        for at in np.ndindex(lines.shape[:-1]):
            values, counts = np.unique(lines[at], return_counts=True)
            best = values[np.argmax(counts)]  # the first of the most frequent: the smallest
            picks[at] = np.flatnonzero(lines[at] == best)[-1]
        return self._picked_along(_mode_result, np.expand_dims(picks, d) if self.ndim
                                  else picks.reshape(()), d, keepdim)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """The distinct values (sorted; over ``dim``: the distinct slices), with the int64
        position of each value among them (return_inverse) and the counts (return_counts).
        Found on the host; not differentiable."""
        host = _indexing.host_array(self.array)
        if dim is not None:
            dim = _dim_index(dim, self.ndim)
        found = np.unique(host, return_inverse=True, return_counts=True, axis=dim)
        values, inverse, counts = found
        if dim is None:
            inverse = inverse.reshape(self.shape)
        as_tensor = lambda a, dtype: Tensor._wrap(  # noqa: E731
            _indexing.to_device_of(self.array, np.asarray(a, dtype)))
        out = [as_tensor(values, self.dtype)]
        if return_inverse:
            out.append(as_tensor(inverse.reshape(-1) if dim is not None else inverse,
                                 np.int64))
        if return_counts:
            out.append(as_tensor(counts, np.int64))
        return out[0] if len(out) == 1 else tuple(out)

    def mm(self, mat2):
        """The matrix product of two 2-D tensors of one dtype."""
        if self.ndim != 2:
            raise RuntimeError("self must be a matrix")
        if mat2.ndim != 2:
            raise RuntimeError("mat2 must be a matrix")
        if self.dtype != mat2.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_C_TYPE_NAMES.get(self.dtype, self.dtype)} != "
                               f"{_C_TYPE_NAMES.get(mat2.dtype, mat2.dtype)}")
        return matmul.MatMul.apply(self, mat2)

    def bmm(self, mat2):
        """Batched matrix products: (b, n, m) @ (b, m, p) -> (b, n, p)."""
        for name, t in (("batch1", self), ("batch2", mat2)):
            if t.ndim != 3:
                raise RuntimeError(f"{name} must be a 3D tensor")
        want = [self.shape[0], self.shape[2]]
        if list(mat2.shape[:2]) != want:
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"{want} but got: {list(mat2.shape[:2])}.")
        if self.dtype != mat2.dtype:
            raise RuntimeError(f"expected scalar type {_TORCH_TYPES[str(self.dtype)]} but "
                               f"found {_TORCH_TYPES[str(mat2.dtype)]}")
        return matmul.MatMul.apply(self, mat2)

    def mv(self, vec):
        """The product of a 2-D tensor and a vector."""
        if self.ndim != 2 or vec.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {self.ndim}, "
                               f"{vec.ndim}")
        if self.shape[1] != vec.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({self.shape[0]}), mat "
                               f"({self.shape[0]}x{self.shape[1]}), vec ({vec.shape[0]})")
        if self.dtype != vec.dtype:
            names = [_TORCH_TYPES[str(t.dtype)] for t in (self, self, vec)]
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                               f"{names[2]}, {names[0]}, and {names[2]}")
        return matmul.MatMul.apply(self, vec)

    def dot(self, other):
        """sum(self * other) of two vectors of one length and dtype (0-d)."""
        if self.ndim != 1 or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and {other.ndim}D "
                               "tensors")
        if self.dtype != other.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_TORCH_TYPES[str(self.dtype)]} and "
                               f"{_TORCH_TYPES[str(other.dtype)]}")
        if self.shape != other.shape:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and "
                               f"src [{other.shape[0]}] to have the same number of elements, "
                               f"but got {self.shape[0]} and {other.shape[0]} elements "
                               "respectively")
        return _linalg.Einsum.apply(self, other, equation="i,i->")

    def outer(self, vec2):
        """y[i, j] = self[i] * vec2[j] (PyTorch's promoted dtype)."""
        for name, t in (("self", self), ("vec2", vec2)):
            if t.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def diagonal(self, offset=0, dim1=0, dim2=1):
        """The values x[..., i, ..., i + offset, ...] of dims dim1 and dim2, along a new last
        dimension (a copy; PyTorch gives a view)."""
        d1, d2 = _dim_index(dim1, self.ndim), _dim_index(dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        flat = np.arange(self.numel(), dtype=np.int64).reshape(self.shape)
        return _indexing.Take.apply(self, positions=np.ascontiguousarray(
            np.diagonal(flat, offset, d1, d2)))

    def diag(self, diagonal=0):
        """A vector: the square matrix with it on diagonal ``diagonal``. A matrix: that
        diagonal of it, as a vector."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        n, k = self.shape[0], diagonal
        size = n + abs(k)
        rows, cols = np.arange(n) + max(-k, 0), np.arange(n) + max(k, 0)
        return _indexing.Spread.apply(self, positions=(rows * size + cols).astype(np.int64),
                                      shape=(size, size))

    def tril(self, diagonal=0):
        """self with the values above diagonal ``diagonal`` of the last two dims set to 0."""
        return self._triangle(np.tril, "tril", diagonal)

    def triu(self, diagonal=0):
        """self with the values below diagonal ``diagonal`` of the last two dims set to 0."""
        return self._triangle(np.triu, "triu", diagonal)

    def _triangle(self, pick, name, diagonal):
        if self.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        keep = pick(np.ones(self.shape[-2:], np.bool_), diagonal)
        keep = Tensor._wrap(_indexing.to_device_of(self.array, keep))
        return where(keep, self, Tensor._wrap(_indexing.to_device_of(
            self.array, np.zeros((), self.dtype))))

    def tril_(self, diagonal=0):
        return self._assign(self.tril(diagonal))

    def triu_(self, diagonal=0):
        return self._assign(self.triu(diagonal))

    def trace(self):
        """The sum of the main diagonal of a matrix (int64 for integer matrices)."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    def cumprod(self, dim, *, dtype=None):
        """y_i = x_0 * ... * x_i along ``dim`` (int64 for integer and bool tensors); the
        gradient is exact where x holds zeros. ``dtype``: the input is cast to it first and the
        result has it (integers multiply as int64, cast back after: the same bits mod 2^n)."""
        return _in_dtype(_linalg.Cumprod.apply(self._as_dtype(dtype), axis=dim), dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        """torch.norm: the vector p-norm over ``dim`` (all values when None); "fro" is the
        2-norm. See microdl.linalg.vector_norm."""
        x = self if dtype is None else self.to(dtype=dtype)
        if p == "nuc":
            raise NotImplementedError("norm(p='nuc'): the nuclear norm needs a singular value "
                                      "decomposition, which microdl does not have")
        return _vector_norm(x, 2.0 if p in ("fro", None) else p, dim, keepdim)

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        """int64 category indices drawn with probabilities proportional to self (a vector, or
        one distribution per row), with microdl's generator; without replacement each category
        once (those of probability 0 last). Drawn on the host."""
        return _multinomial(self, num_samples, replacement)

    def bernoulli(self, p=None, *, generator=None):
        """1 with probability self (or ``p``, a number, for every value), else 0, in self's
        dtype, drawn with microdl's generator on the host."""
        return _bernoulli(self, p)

    # ---- in place ---------------------------------------------------------------------------
    def _assign(self, result):
        """Make this tensor hold ``result`` (an out-of-place op's output): the values go into this
        tensor's array (others sharing it, such as ``.data`` views, see them); when grad mode
        records, this tensor takes the result's place on the tape, as PyTorch's in-place ops do.
        The result keeps this tensor's shape and dtype: PyTorch refuses a broadcast that grows it
        and a cast to a lower kind (float into an integer tensor, a number into a bool one)."""
        if result.array.shape != self.array.shape:
            raise RuntimeError(f"output with shape {list(self.array.shape)} doesn't match the "
                               f"broadcast shape {list(result.array.shape)}")
        if result.array.dtype != self.array.dtype and not _can_cast(result.array.dtype,
                                                                   self.array.dtype):
            raise RuntimeError(f"result type {elementwise.TORCH_NAMES[result.array.dtype]} can't "
                               f"be cast to the desired output type "
                               f"{elementwise.TORCH_NAMES[self.array.dtype]}")
        if autograd.is_grad_enabled() and (self.requires_grad or result.requires_grad):
            if self.is_leaf and self.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            if result.array.dtype != self.array.dtype:
                result = result.to(dtype=self.array.dtype)
            # the nodes that made the result read this tensor's old value: they get a tensor of
            # their own holding it, else this tensor's new node would be its own input
            before = Tensor._wrap(self.array, requires_grad=self.requires_grad)
            before._node = self._node
            _redirect_inputs(result._node, self, before)
            # NOTE: the tape keeps the old array for ops that saved it, so gradients stay right.
            # Nodes recorded before this call that read this tensor (z = y * 2; y.exp_()) still
            # see it, so they now follow its new node: PyTorch's version check would refuse
            # such a backward, microdl does not detect it.
            self.array, self._node = result.array, result._node
            self.requires_grad = result.requires_grad
            return self
        # the values cast to this tensor's dtype, written on its device
        backend.of(self.array).kernels("elementwise").copy(result.array, self.array)
        return self

    def add_(self, other, alpha=1):
        return self._assign(self + (other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1):
        return self._assign(self - (other if alpha == 1 else other * alpha))

    def mul_(self, other):
        return self._assign(self * other)

    def div_(self, other, *, rounding_mode=None):
        return self._assign(self.div(other, rounding_mode=rounding_mode))

    def neg_(self):
        return self._assign(-self)

    def pow_(self, exponent):
        return self._assign(self ** exponent)

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        if isinstance(value, Tensor):
            value = value.item()
        _device.fill_(self.array, value)
        return self

    def copy_(self, src):
        """This tensor's values replaced by ``src``'s (broadcast, cast to this dtype)."""
        src = src if isinstance(src, Tensor) else Tensor(src)
        src = src.to(device=self.device)
        if tuple(src.shape) != tuple(self.shape):
            src = src.expand(*self.shape)
        return self._assign(src if src.dtype == self.dtype else src.to(dtype=self.dtype))

    # in-place forms of the elementwise math: the op, then _assign (tape, shape and dtype rules)
    def exp_(self):
        return self._assign(self.exp())

    def log_(self):
        return self._assign(self.log())

    def sqrt_(self):
        return self._assign(self.sqrt())

    def rsqrt_(self):
        return self._assign(self.rsqrt())

    def abs_(self):
        return self._assign(self.abs())

    def relu_(self):
        return self._assign(self.relu())  # integers too, in their dtype, as PyTorch

    def sigmoid_(self):
        self._require_float_result()
        return self._assign(self.sigmoid())

    def tanh_(self):
        self._require_float_result()
        return self._assign(self.tanh())

    def _require_float_result(self):
        """PyTorch's refusal to write a float result into an integer tensor (for the ops that
        refuse integer inputs before _assign could say it)."""
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{elementwise.TORCH_NAMES[self.array.dtype]}")

    def sin_(self):
        return self._assign(self.sin())

    def cos_(self):
        return self._assign(self.cos())

    def log1p_(self):
        return self._assign(self.log1p())

    def expm1_(self):
        return self._assign(self.expm1())

    def floor_(self):
        return self._assign(self.floor())

    def ceil_(self):
        return self._assign(self.ceil())

    def trunc_(self):
        return self._assign(self.trunc())

    def round_(self, decimals=0):
        return self._assign(self.round(decimals=decimals))

    def sign_(self):
        return self._assign(self.sign())

    def square_(self):
        return self._assign(self.square())

    def reciprocal_(self):
        return self._assign(self.reciprocal())

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def clamp_min_(self, min):
        return self._assign(self.clamp(min=min))

    def clamp_max_(self, max):
        return self._assign(self.clamp(max=max))

    def fill_diagonal_(self, fill_value, wrap=False):
        """``fill_value`` on the main diagonal (every dimension equal, or a 2-D matrix; a tall
        matrix restarts the diagonal every columns + 1 rows when ``wrap``)."""
        if self.ndim < 2:
            raise RuntimeError("dimensions must larger than 1")
        if self.ndim > 2 and len(set(self.shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        on_diagonal = np.zeros(self.array.shape, np.bool_)
        np.fill_diagonal(on_diagonal, True, wrap=wrap)
        return self.masked_fill_(Tensor(on_diagonal, device=self.device), fill_value)

    # random fills from microdl's generator (``manual_seed`` repeats them; ``generator``: a numpy
    # Generator), drawn on the host, then written like an in-place op's result
    def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kwargs):
        """Values drawn uniformly from [from, to) (``from`` is a keyword PyTorch allows)."""
        from_ = kwargs.pop("from", from_)
        _no_other_keywords("uniform_", kwargs)
        self._require_float_fill("check_uniform_bounds")
        if from_ > to:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={from_} > to={to}")
        unit = _generator_of(generator).random(self.array.shape, dtype=self._draw_dtype())
        return self._fill_drawn(from_ + (to - from_) * unit)

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Values drawn from the normal distribution N(mean, std^2)."""
        self._require_float_fill("normal_kernel_cpu")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        unit = _generator_of(generator).standard_normal(self.array.shape,
                                                        dtype=self._draw_dtype())
        return self._fill_drawn(mean + std * unit)

    def exponential_(self, lambd=1.0, *, generator=None):
        """Values drawn from the exponential distribution of rate ``lambd`` (mean 1 / lambd)."""
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"Exponential distribution is a continuous probability "
                               f"distribution. dtype must be a floating point but you specified "
                               f"{elementwise.TORCH_NAMES[self.array.dtype]}")
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        return self._fill_drawn(_generator_of(generator).exponential(1.0 / lambd,
                                                                      self.array.shape))

    def bernoulli_(self, p=0.5, *, generator=None):
        """1 with probability ``p`` (a number, or a tensor of probabilities that broadcasts to
        this shape), else 0, in this tensor's dtype."""
        if isinstance(p, Tensor):
            p = np.broadcast_to(_device.host(p.array), self.array.shape)
            if p.size and not (p.min() >= 0 and p.max() <= 1):
                raise RuntimeError("bernoulli_ expects all elements of p to be in [0, 1]")
        elif not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        return self._fill_drawn(_generator_of(generator).random(self.array.shape) < p)

    def random_(self, *bounds, generator=None, **kwargs):
        """Integers drawn uniformly: ``random_()`` from [0, the largest integer the dtype holds
        exactly] (2^24 for float32, 2^53 for float64), ``random_(to)`` from [0, to),
        ``random_(from, to)`` from [from, to)."""
        if len(bounds) > 2:
            raise TypeError(f"random_() takes at most 2 positional arguments ({len(bounds)} "
                            f"given)")
        given = dict(zip(("from", "to") if len(bounds) == 2 else ("to",), bounds))
        for key in kwargs:
            if key not in ("from", "to") or key in given:
                raise TypeError(f"random_() got an unexpected keyword argument '{key}'")
        given.update(kwargs)
        from_, to = given.get("from", 0), given.get("to")
        dtype = self.array.dtype
        if to is None:
            high = _largest_exact_integer(dtype)
        else:
            if from_ >= to:
                raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got "
                                   f"from={from_} >= to={to}")
            high = to - 1
            if dtype.kind in "iub":
                info = np.iinfo(dtype) if dtype.kind != "b" else None
                low_limit, high_limit = (0, 1) if info is None else (info.min, info.max)
                name = _C_TYPE_NAMES.get(dtype, str(dtype))
                if not low_limit <= from_ <= high_limit:
                    raise RuntimeError(f"from is out of bounds for {name}")
                if not low_limit <= high <= high_limit:
                    raise RuntimeError(f"to - 1 is out of bounds for {name}")
        drawn = _generator_of(generator).integers(int(from_), int(high), self.array.shape,
                                                  dtype=np.int64, endpoint=True)
        return self._fill_drawn(drawn)

    def _require_float_fill(self, kernel):
        if self.array.dtype.kind != "f":
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{elementwise.TORCH_NAMES[self.array.dtype]}'")

    def _draw_dtype(self):
        """numpy draws float32 or float64; float16 is drawn as float32 and cast."""
        return np.float64 if self.array.dtype == np.float64 else np.float32

    def _fill_drawn(self, values):
        """This tensor's values replaced by the host array ``values`` (cast to its dtype): not
        recorded on the tape (a leaf that requires grad is refused, as PyTorch refuses it)."""
        values = np.ascontiguousarray(values, dtype=self.array.dtype)
        return self._assign(Tensor._wrap(_device.move(values, _device.of(self.array))))

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, index, value):
        if autograd.is_grad_enabled() and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an "
                               "in-place operation." if self.is_leaf else
                               "microdl: index assignment on a tensor that is recorded on the "
                               "tape is not supported; build the result with where() or "
                               "masked_fill()")
        if isinstance(value, Tensor):
            value = _device.host(value.array)
        if isinstance(index, Tensor):
            index = _device.host(index.array)
        elif isinstance(index, tuple):
            index = tuple(_device.host(i.array) if isinstance(i, Tensor) else i for i in index)
        if not isinstance(self.array, np.ndarray):
            raise NotImplementedError("index assignment into a cuda tensor: use "
                                      "masked_fill() or move it to the cpu")
        self.array[index] = value


# ---- functions: indexing, sorting and linear algebra (einsum, outer, ...) -----------------------
# NOTE: imported here, not with the ops at the top, so this section stays one block; the methods
# above read these names when they run.
from collections import namedtuple  # noqa: E402

from .ops import indexing as _indexing, linalg as _linalg  # noqa: E402

# PyTorch's torch.return_types: named tuples (values, indices)
_sort_result = namedtuple("sort", ["values", "indices"])
_topk_result = namedtuple("topk", ["values", "indices"])
_kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
_median_result = namedtuple("median", ["values", "indices"])
_mode_result = namedtuple("mode", ["values", "indices"])


def _sort_order(x, dim, descending):
    """(the int64 host positions that sort x along dim, stably, NaN as the largest value; dim
    normalized). Descending: the ascending stable sort of the reversed line, reversed, so ties
    still keep their order."""
    d = _dim_index(dim, x.ndim)
    host = _indexing.host_array(x.array)
    line = host.reshape(host.shape or (1,))
    if descending:
        reversed_order = np.argsort(np.flip(line, d), axis=d, kind="stable")
        order = line.shape[d] - 1 - np.flip(reversed_order, d)
    else:
        order = np.argsort(line, axis=d, kind="stable")
    return np.ascontiguousarray(order, np.int64).reshape(host.shape), d


def _first_along(order, d, k):
    return np.ascontiguousarray(order.take(range(k), axis=d)) if order.ndim else order


def _vector_norm(x, ord, dim, keepdim):
    """The VectorNorm op over ``dim`` (None: all values; an int or a tuple)."""
    axis = tuple(dim) if isinstance(dim, list) else dim
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: Expected a number as ord, got {ord!r}")
    return _linalg.VectorNorm.apply(x, ord=float(ord), axis=axis, keepdims=bool(keepdim))


def _check_distributions(rows, totals, whole):
    """PyTorch's multinomial checks, in its order: ``whole`` (without replacement, or one
    sample) checks all values first, then the sums; otherwise its kernel goes row by row, each
    value (< 0, then inf or NaN; NaN fails the first), then the row's sum."""
    if whole:
        if not np.isfinite(rows).all() or (rows < 0).any():
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element "
                               "< 0")
        if (totals <= 0).any():
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        return
    for row, total in zip(rows, totals[:, 0]):
        bad = np.flatnonzero(~(row >= 0) | ~np.isfinite(row))
        if bad.size:
            first = row[bad[0]]
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               + ("entry < 0)" if not first >= 0 else
                                  "entry = infinity or NaN)"))
        if not total > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def _multinomial(probs, num_samples, replacement):
    if probs.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if probs.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_TORCH_TYPES.get(str(probs.dtype), probs.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > probs.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if probs.shape[-1] > 2 ** 24:  # PyTorch's limit: categories are drawn in float32
        raise RuntimeError("number of categories cannot exceed 2^24")
    p = _indexing.host_array(probs.array).astype(np.float64)
    rows = p.reshape(-1, p.shape[-1])
    totals = rows.sum(axis=1, keepdims=True)
    _check_distributions(rows, totals, whole=not replacement or num_samples == 1)
    rng = _random.default_generator()
    if replacement:  # inverse transform: each uniform draw to its category
        edges = np.cumsum(rows / totals, axis=1)
        draws = rng.random((rows.shape[0], num_samples))
        picks = np.stack([np.minimum(np.searchsorted(e, u, side="right"), rows.shape[1] - 1)
                          for e, u in zip(edges, draws)])
    else:  # exponential race: the k earliest arrivals, a category of probability 0 never first
        with np.errstate(divide="ignore"):
            arrivals = rng.exponential(size=rows.shape) / rows
        picks = np.argsort(arrivals, axis=1, kind="stable")[:, :num_samples]
    picks = picks.astype(np.int64).reshape(p.shape[:-1] + (num_samples,))
    return Tensor._wrap(_indexing.to_device_of(probs.array, picks))


def _bernoulli(x, p):
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"bernoulli_tensor_cpu_p_\" not implemented for "
                                  f"'{_TORCH_TYPES.get(str(x.dtype), x.dtype)}'")
    chance = _indexing.host_array(x.array) if p is None else np.full(x.shape, float(p))
    if not ((chance >= 0) & (chance <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    drawn = (_random.default_generator().random(x.shape) < chance).astype(x.dtype)
    return Tensor._wrap(_indexing.to_device_of(x.array, drawn))


def einsum(equation, *operands):
    """Einstein summation as numpy's einsum spells it ("ij,jk->ik", "...ij,...jk", implicit
    outputs, repeated labels for diagonals; "..." and size-1 dims broadcast); operands of one
    dtype. The gradient of each operand is the einsum of the output's gradient with the others.
    Contracted without path optimisation on cuda (pairwise, left to right)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    operands = [t if isinstance(t, Tensor) else tensor(t) for t in operands]
    explicit, shapes = _linalg.einsum_plan(equation, [t.shape for t in operands])
    operands = [t if t.shape == s else t.expand(*s) for t, s in zip(operands, shapes)]
    return _linalg.Einsum.apply(*operands, equation=explicit)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M):
    (..., P, R); the gradient is 0 where a distance is 0, as in PyTorch."""
    for name, t in (("X1", x1), ("X2", x2)):
        if t.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t.ndim}D")
        if t.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_TORCH_TYPES.get(str(t.dtype), t.dtype)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return _vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1, False)


# ---- functions over several tensors (cat, stack, where, ...) ----------------------------------
def where(condition, input, other):
    """``input`` where ``condition`` (a bool tensor) else ``other``, broadcast together; either
    may be a number. The dtype is PyTorch's result type of the two; gradients flow to both."""
    condition = condition if isinstance(condition, Tensor) else Tensor._wrap(np.asarray(condition))
    _, x, y = _numbers_as_arrays(condition, input, other)
    return elementwise.Where.apply(condition, x, y)


def _numbers_as_arrays(*values):
    """``values`` with Python numbers made 0-d arrays of the dtype PyTorch gives an op over all
    of them (tensors, arrays and None stay)."""
    arrays = elementwise.numbers_as_arrays(*(v.array if isinstance(v, Tensor) else v
                                             for v in values))
    return [v if isinstance(v, Tensor) else a for v, a in zip(values, arrays)]


# the C type names PyTorch's masked_fill error gives
_C_TYPE_NAMES = {np.dtype(np.int64): "long int", np.dtype(np.int32): "int",
                 np.dtype(np.int16): "short int", np.dtype(np.int8): "signed char",
                 np.dtype(np.uint8): "unsigned char", np.dtype(np.float32): "float",
                 np.dtype(np.float64): "double", np.dtype(np.float16): "c10::Half"}


def cat(tensors, dim=0):
    """The tensors one after another along ``dim`` (same shapes elsewhere), in PyTorch's promoted
    dtype (a float decides over integers; else the widest)."""
    if isinstance(tensors, Tensor):  # iterating it would cat its rows: PyTorch refuses
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    # NOTE: PyTorch skips 1-D empty tensors (the legacy "torch.cat([torch.ones(0), x])")
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    first = kept[0]
    d = _dim_index(dim, first.ndim)
    for i, t in enumerate(kept[1:], 1):
        if t.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got "
                               f"{first.ndim} and {t.ndim}")
        for a in range(first.ndim):
            if a != d and t.shape[a] != first.shape[a]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {first.shape[a]} but got size "
                                   f"{t.shape[a]} for tensor number {i} in the list.")
    return shape.Cat.apply(*kept, axis=d, dtype=shape.cat_dtype([t.dtype for t in tensors]))


concat = concatenate = cat


def stack(tensors, dim=0):
    """The tensors (all of one shape) along a new dimension ``dim``."""
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    d = _dim_index(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)


_TORCH_TYPES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _torch_type(t):
    """PyTorch's legacy type name of a tensor, as its messages print it (torch.FloatTensor)."""
    return f"torch.{_TORCH_TYPES.get(str(t.dtype), str(t.dtype))}Tensor"


autograd.Tensor = Tensor  # the tape wraps op outputs in it (autograd does not import this module)


def _dim_index(dim, ndim):
    """``dim`` as an index in [0, ndim), PyTorch's error for one out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _axis_args(axis, keepdims, dim, keepdim):
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims)


def tensor(data, requires_grad=False, dtype=None, device="cpu"):
    """A new tensor holding a copy of ``data`` (PyTorch's ``torch.tensor``): a number, nested
    lists of numbers, an array, or a list of one-element tensors (each becomes one value)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._wrap(array)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, without a copy when it can be: a tensor of that dtype and device
    is returned as it is, a C-ordered numpy array of that dtype is shared (writes show through
    both); anything else is copied as ``tensor`` copies it."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    same_device = device is None or _check_device(device) == _device.CPU
    if (isinstance(data, np.ndarray) and same_device and data.dtype.kind in "biuf"
            and (dtype is None or np.dtype(dtype) == data.dtype)
            and data.flags["C_CONTIGUOUS"]):
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype, device=device)


class Size(tuple):
    """A tensor's shape, PyTorch's ``torch.Size``: a tuple of ints (equal to the plain tuple,
    hashed as it) that prints as PyTorch prints it, ``torch.Size([2, 3])``; slices and sums of
    it are Sizes too. ``numel()`` is the product."""

    def __new__(cls, sizes=()):
        values = []
        for i, n in enumerate(sizes):
            if isinstance(n, Tensor) and n.array.size == 1:
                n = n.item()
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"torch.Size() takes an iterable of 'int' (item {i} is "
                                f"'{type(n).__name__}')")
            values.append(int(n))
        return super().__new__(cls, values)

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return _as_size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _as_size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return _as_size(tuple.__add__(other, self))

    def __mul__(self, times):
        if not isinstance(times, (int, np.integer)):
            return NotImplemented
        return _as_size(tuple.__mul__(self, times))

    __rmul__ = __mul__

    def __reduce__(self):
        return Size, (tuple(self),)

    def numel(self):
        count = 1
        for n in self:
            count *= n
        return count


def _as_size(shape):
    """A Size from an array's shape tuple, unchecked (the fast path of Tensor.shape)."""
    return tuple.__new__(Size, shape)


def _shape_argument(name, size):
    """The shape from PyTorch's ``*size`` (``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``,
    ``f(x.shape)``), checked as PyTorch checks it."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found "
                            f"element of type {type(n).__name__}")
    shape = tuple(int(n) for n in size)
    if any(n < 0 for n in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(shape)}: {list(shape)}")
    return shape


def _can_cast(source, target):
    """PyTorch's rule for writing a result into a tensor of another dtype: never to a lower
    kind (float into integers, anything but bool into bool)."""
    rank = {"b": 0, "u": 1, "i": 1, "f": 2}
    return rank[source.kind] <= rank[target.kind]


def _in_dtype(result, dtype):
    """A reduction's result in the asked ``dtype`` (integers sum as int64 first)."""
    if dtype is None or result.array.dtype == np.dtype(dtype):
        return result
    return result.to(dtype=dtype)


def _generator_of(generator):
    """The numpy Generator to draw from: ``generator``, else microdl's global one."""
    return _random.default_generator() if generator is None else generator


def _no_other_keywords(name, kwargs):
    for key in kwargs:
        raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")


def _largest_exact_integer(dtype):
    """The largest integer random_() draws for ``dtype``: 2^(mantissa bits + 1) for floats
    (every integer up to it is exact), the largest value for integers, 1 for bool."""
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1)
    return 1 if dtype.kind == "b" else int(np.iinfo(dtype).max)


def _tensors_as_values(data):
    """A (nested) list with its tensors replaced by their one value (a 0-d array keeping its
    dtype), as ``torch.tensor([t1, t2])`` reads them."""
    if isinstance(data, (list, tuple)):
        return [_tensors_as_values(item) for item in data]
    if isinstance(data, Tensor):
        if data.array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars "
                             "(to join tensors of several values: microdl.stack)")
        return _device.host(data.array).reshape(())
    return data


def _redirect_inputs(node, tensor, replacement):
    """In the nodes reachable from ``node`` and newer than ``tensor``'s own node (only those can
    have read it), ``tensor`` replaced by ``replacement`` as an input (for Tensor._assign)."""
    oldest = tensor._node.sequence if tensor._node is not None else -1
    stack, seen = [node] if node is not None else [], set()
    while stack:
        current = stack.pop()
        if id(current) in seen or current.sequence <= oldest:
            continue
        seen.add(id(current))
        if any(inp is tensor for inp in current.inputs):
            current.inputs = tuple(replacement if inp is tensor else inp
                                   for inp in current.inputs)
        stack.extend(inp._node for inp in current.inputs
                     if getattr(inp, "_node", None) is not None)


def _first_value(data):
    while isinstance(data, (list, tuple)) and len(data):
        data = data[0]
    return data


# torch.set_printoptions: the options Tensor.__repr__ passes to numpy's array2string
_PRINT_OPTIONS = {}
_PRINT_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
                   "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
                   "full": dict(precision=4, threshold=np.inf, edgeitems=3, linewidth=80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """How tensors print (PyTorch's options: digits after the point, the element count above
    which the middle is elided, the items kept at each edge, the line width, a ``profile`` of
    them, and ``sci_mode``: True always scientific, False never, None numpy's choice)."""
    if profile is not None:
        if profile not in _PRINT_PROFILES:
            raise ValueError(f"set_printoptions(): profile must be one of "
                             f"{sorted(_PRINT_PROFILES)} (got {profile!r})")
        _PRINT_OPTIONS.clear()
        _PRINT_OPTIONS.update(_PRINT_PROFILES[profile])
        _PRINT_OPTIONS["max_line_width"] = _PRINT_OPTIONS.pop("linewidth")
    given = dict(precision=precision, threshold=threshold, edgeitems=edgeitems,
                 max_line_width=linewidth)
    _PRINT_OPTIONS.update({k: v for k, v in given.items() if v is not None})
    _PRINT_OPTIONS.pop("suppress_small", None)
    _PRINT_OPTIONS.pop("formatter", None)
    if sci_mode is False:
        _PRINT_OPTIONS["suppress_small"] = True
    elif sci_mode:
        digits = _PRINT_OPTIONS.get("precision", 4)
        _PRINT_OPTIONS["formatter"] = {"float_kind": lambda v: f"{v:.{digits}e}"}



# zeros, ones and the other creation functions: microdl/creation.py


# Ops PyTorch spells both as a Tensor method and as a function, torch.X(input, ...): microdl's
# functions are made from the methods (microdl/__init__.py, one per name), so the two spellings
# are one op. A name added here needs a Tensor method of that name.
METHODS_AS_FUNCTIONS = (
    # arithmetic and math
    "abs", "exp", "log", "sqrt",
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide",
    "remainder", "neg", "negative", "pow", "matmul", "square", "rsqrt", "reciprocal", "sin",
    "cos", "tan", "log2", "log10", "log1p", "expm1", "floor", "ceil", "round", "trunc", "fix",
    "sign", "isnan", "isinf", "isfinite", "maximum", "minimum", "clamp", "clip", "masked_fill",
    "eq", "ne", "lt", "le", "gt", "ge", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "equal", "isclose", "allclose", "logical_not", "logical_and", "logical_or",
    "logical_xor", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor",
    # activations
    "relu", "sigmoid", "tanh", "softmax", "log_softmax",
    # reductions
    "sum", "mean", "max", "min", "argmax", "argmin", "amax", "amin", "var", "std", "prod",
    "cumsum", "all", "any", "logsumexp",
    # shape
    "reshape", "flatten", "transpose", "permute", "numel", "clone", "detach",
    "squeeze", "unsqueeze", "flip", "t", "narrow", "movedim", "split", "chunk", "unbind",
    # indexing, sorting and linear algebra
    "gather", "scatter", "scatter_add", "index_select", "index_add", "masked_select", "take",
    "nonzero", "sort", "argsort", "topk", "kthvalue", "median", "mode", "unique", "mm", "bmm",
    "mv", "dot", "outer", "ger", "diagonal", "diag", "tril", "triu", "trace", "cumprod", "norm",
    "multinomial", "bernoulli",
)
