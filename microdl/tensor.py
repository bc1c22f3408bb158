"""Tensor: a numpy array, its gradient, and the tape node of the op that made it.

Arithmetic follows numpy's broadcasting and PyTorch's type promotion (``ops.elementwise.promote``:
a Python scalar takes the tensor's dtype, float32 with int64 gives float32, float32 with a
float64 array gives float64). Floats default to float32 when the data comes from Python lists or
scalars; numpy arrays keep their dtype, as ``torch.tensor`` does.

This file is the core: construction, properties, conversion (numpy(), to(), repr), autograd
(backward, hooks), the Python operators (``a + b``, ``a @ b``, ...), the in-place machinery
(``_assign`` and the in-place forms, random fills), ``tensor()`` and ``Size``. The methods by
topic are mixins in microdl/tensor_methods/ (math, activations, reductions, shape, indexing),
each with the functions of its topic (where, cat, stack, einsum, cdist).
"""

import warnings

import numpy as np

from . import autograd, backend
from . import _device
from . import random as _random  # uniform_, normal_, ...: microdl's generator
from ._memory_format import check_memory_format as _check_memory_format
from ._memory_format import preserve_format as _preserve_format
from .ops import elementwise, indexing, matmul
from .tensor_methods import (ActivationMethods, IndexingMethods, MathMethods, ReductionMethods,
                             ShapeMethods)
from .tensor_methods import bind as _bind_methods
from .tensor_methods._common import _C_TYPE_NAMES, _dim_index

_DEFAULT_FLOAT = np.float32
_warned_scalar_of_grad = False  # float() of a tensor that requires grad: PyTorch warns once


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


class Tensor(MathMethods, ActivationMethods, ReductionMethods, ShapeMethods, IndexingMethods):
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
    In-place methods (``add_``, ``exp_``, ...) write the result into this tensor, keeping its
    shape and dtype, and take its place on the tape; under grad mode a leaf that requires grad
    is refused, as PyTorch refuses it.
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
        return tuple.__new__(Size, self.array.shape)  # _as_size, inlined: read on every op

    @property
    def dtype(self):
        """The element type, a numpy dtype (equal to microdl.float32, ...; PyTorch's
        torch.dtype)."""
        return self.array.dtype

    @property
    def ndim(self):
        """The number of dimensions, len(shape) (also dim())."""
        return self.array.ndim

    @property
    def data(self):
        """PyTorch's ``.data``: a tensor sharing this one's values, cut from the tape. Writes
        through it (``p.data.mul_(0.9)``) change this tensor and are not recorded.
        ``.array`` is the array itself (numpy on cpu, a numba device array on cuda)."""
        shared = Tensor._wrap(self.array)
        shared._view_copy_of = self._view_copy_of
        return shared

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
        """True when no recorded op made this tensor (made by the user, or under no_grad); only
        leaves get .grad on backward (unless retain_grad())."""
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
        """True when the values live on the GPU (a numba device array)."""
        return _device.of(self.array) != _device.CPU

    @property
    def T(self):
        """The dimensions reversed: x.permute(n-1, ..., 0) (a copy on the tape; PyTorch
        deprecates T for ndim != 2, microdl takes any rank)."""
        return self.transpose()

    @property
    def mH(self):
        """The conjugate transpose of the last two dimensions: mT (microdl's tensors are real)."""
        return self.mT

    @property
    def H(self):
        """The conjugate transpose of a matrix: T for microdl's real 2-D tensors."""
        if self.ndim != 2:
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                               f"{self.ndim}-D tensor.")
        return self.T

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
        """The number of dimensions (len(shape)). Alias: ndimension."""
        return self.array.ndim

    ndimension = dim

    def numel(self):
        """The number of elements, the product of the shape. Alias: nelement."""
        return self.array.size

    nelement = numel

    def element_size(self):
        """Bytes per element."""
        return self.array.dtype.itemsize

    def is_floating_point(self):
        """True for float16, float32 and float64 tensors."""
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
        """Set requires_grad (only floating point tensors may require grad) and return self."""
        if requires_grad and not np.issubdtype(self.array.dtype, np.floating):
            raise RuntimeError(
                "Only Tensors of floating point dtype can require gradients "
                f"(got dtype {self.array.dtype})"
            )
        self.requires_grad = bool(requires_grad)
        return self

    # ---- conversion ---------------------------------------------------------------------------
    def numpy(self):
        """The values as a numpy array sharing memory with this tensor (a host copy of a cuda
        tensor, where PyTorch asks for .cpu() first); refused while it requires grad (detach()
        first)."""
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
        """The one value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to Scalar"
            )
        return _device.host(self.array).item()

    def _python_scalar(self):
        """The one value as a Python number, for float() and int() (PyTorch's error else)."""
        if self.array.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return _device.host(self.array).item()

    def __float__(self):
        """float(t) of a one-element tensor; warns once per process while it requires grad,
        as PyTorch."""
        global _warned_scalar_of_grad
        if self.requires_grad and not _warned_scalar_of_grad:
            _warned_scalar_of_grad = True
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                          "unexpected behavior.\nConsider using tensor.detach() first.",
                          UserWarning, stacklevel=2)
        return float(self._python_scalar())

    def __int__(self):
        """int(t) of a one-element tensor (a float truncates toward 0, as int() of a float)."""
        return int(self._python_scalar())

    def __index__(self):
        """The tensor used as an index (lst[t], range(t)): one integer or bool value only."""
        if self.array.size != 1 or self.array.dtype.kind not in "biu":
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(_device.host(self.array).item())

    def tolist(self):
        """The values as nested Python lists of numbers (a 0-d tensor gives a number)."""
        return _device.host(self.array).tolist()

    def detach(self):
        """The same data, cut from the tape: no gradient flows through the result."""
        shared = Tensor._wrap(self.array)
        shared._view_copy_of = self._view_copy_of
        return shared

    def clone(self, *, memory_format=_preserve_format):
        """A copy of the values, on the tape:  y = x;  dx = g."""
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
        """This tensor on the cpu: itself when it is there, else a copy on the tape."""
        return self.to("cpu", memory_format=memory_format)

    def cuda(self, device=None, non_blocking=False, memory_format=_preserve_format):
        """This tensor on the GPU ``device`` (default "cuda", i.e. cuda:0): itself when it is
        there, else a copy on the tape; ``non_blocking`` is ignored."""
        return self.to("cuda" if device is None else device, memory_format=memory_format)

    def float(self, memory_format=_preserve_format):
        """self cast to float32 (itself when it already is); on the tape."""
        return self.to(dtype=np.float32, memory_format=memory_format)

    def double(self, memory_format=_preserve_format):
        """self cast to float64 (itself when it already is); on the tape."""
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
        """A tensor of shape ``size`` (a tuple or list) filled with ``fill_value``, in self's
        dtype and on its device unless ``dtype``/``device`` are given."""
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, "
                            f"not {type(size).__name__}")
        return self._new_filled("new_full", (size,), fill_value, dtype, device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of zeros of shape ``size`` (ints, or one tuple), in self's dtype and on its
        device unless given."""
        return self._new_filled("new_zeros", size, 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        """A tensor of ones of shape ``size`` (ints, or one tuple), in self's dtype and on its
        device unless given."""
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
            if (grad.shape if type(grad) is np.ndarray else tuple(np.shape(grad))) != \
                    self.array.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {tuple(np.shape(grad))} "
                    f"and output[0] has a shape of {self.array.shape}."
                )
            # the gradient in the output's dtype, on the output's device (no copy when it
            # already is: the engine never writes into it). NOTE: two host arrays skip the
            # device lookups (~4 us, on every training step)
            if type(grad) is not np.ndarray or type(self.array) is not np.ndarray:
                grad = _device.move(grad if _device.is_device_array(grad) else np.asarray(grad),
                                    self.device)
            if grad.dtype != self.dtype:
                grad = _device.astype(grad, self.dtype)
        autograd.run_backward(self, grad, retain_graph=retain_graph)

    def zero_grad_(self):
        """self.grad = None (microdl's own, not a PyTorch method; Module.zero_grad and
        Optimizer.zero_grad are PyTorch's)."""
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
    # (the named forms, add / sub / mul / div / ..., are in tensor_methods/math.py)
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

    # ---- in place ---------------------------------------------------------------------------
    # Set on the results of ops that PyTorch returns as views but microdl as copies
    # (tensor_methods.VIEWS_MADE_AS_COPIES): the op's name, and in-place writes into them raise.
    _view_copy_of = None

    def _check_writable(self):
        if self._view_copy_of is not None:
            raise RuntimeError(
                f"in-place write into the result of {self._view_copy_of}: in PyTorch that result "
                f"is a view sharing its input's memory, so the write would change the input; in "
                f"microdl it is a copy, and the write would silently miss the input. Write into "
                f"the input itself (x[index] = value, x.masked_fill_(mask, value), x.copy_(...)), "
                f"or call .clone() on the result first if a separate tensor is what you want.")

    def _assign(self, result):
        """Make this tensor hold ``result`` (an out-of-place op's output): the values go into this
        tensor's array (others sharing it, such as ``.data`` views, see them); when grad mode
        records, this tensor takes the result's place on the tape, as PyTorch's in-place ops do.
        The result keeps this tensor's shape and dtype: PyTorch refuses a broadcast that grows it
        and a cast to a lower kind (float into an integer tensor, a number into a bool one)."""
        self._check_writable()
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
            # NOTE: every node recorded so far (the result's included) keeps this tensor's old
            # node as its parent and the old array if it saved it, so backward differentiates
            # what was computed. The old array is not written: tensors sharing it (a .data or
            # detach() taken before) keep the old values here, where PyTorch writes through them
            # (and refuses the backward of an op that saved them).
            self.array, self._node = result.array, result._node
            self.requires_grad = result.requires_grad
            return self
        # the values cast to this tensor's dtype, written on its device
        backend.of(self.array).kernels("elementwise").copy(result.array, self.array)
        return self

    def add_(self, other, alpha=1):
        """In place: self = self + alpha * other; returns self."""
        return self._assign(self + (other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1):
        """In place: self = self - alpha * other; returns self."""
        return self._assign(self - (other if alpha == 1 else other * alpha))

    def mul_(self, other):
        """In place: self = self * other; returns self."""
        return self._assign(self * other)

    def div_(self, other, *, rounding_mode=None):
        """In place: self = self / other (rounding_mode as div); returns self."""
        return self._assign(self.div(other, rounding_mode=rounding_mode))

    def neg_(self):
        """In place: self = -self; returns self."""
        return self._assign(-self)

    def pow_(self, exponent):
        """In place: self = self ** exponent; returns self."""
        return self._assign(self ** exponent)

    def zero_(self):
        """Every value set to 0 in place (fill_(0)); returns self."""
        return self.fill_(0)

    def fill_(self, value):
        """Every value set to ``value`` (a number or a one-element tensor) in place; returns
        self. Written straight into the array, not recorded on the tape (PyTorch records it, and
        refuses it on a leaf that requires grad)."""
        self._check_writable()
        if autograd.is_grad_enabled() and (self.requires_grad or
                                           getattr(value, "requires_grad", False)):
            # on the tape, as PyTorch records it: the old values get a zero gradient, a value
            # tensor the sum of this tensor's gradient
            if not isinstance(value, Tensor):
                value = Tensor(value, dtype=self.array.dtype, device=self.device)
            everywhere = Tensor(np.ones(self.array.shape, np.bool_), device=self.device)
            return self._assign(self.where(~everywhere, value.reshape(())
                                           if value.ndim else value))
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

    # in-place shape forms: the out-of-place op, then this tensor takes its result's array and,
    # when grad mode records, its place on the tape. PyTorch changes only this view's shape
    # metadata; microdl's shape ops may copy, so a tensor sharing the old array (``.data``)
    # keeps the old shape and may stop seeing this tensor's later writes.
    def _become(self, result):
        if result is self:
            return self
        result._view_copy_of = self._view_copy_of  # its shape changes, not what it copies
        if autograd.is_grad_enabled() and self.requires_grad:
            if self.is_leaf:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            self._node = result._node  # the result's node has the old one as parent (_assign)
        self.array = result.array
        return self

    def unsqueeze_(self, dim):
        """In place: self becomes self.unsqueeze(dim), shape included; returns self (a leaf that
        requires grad is refused under grad mode)."""
        return self._become(self.unsqueeze(dim))

    def squeeze_(self, dim=None):
        """In place: self becomes self.squeeze(dim), shape included; returns self (a leaf that
        requires grad is refused under grad mode)."""
        return self._become(self.squeeze(dim))

    def t_(self):
        """In place: self becomes self.t(), shape included; returns self (a leaf that requires
        grad is refused under grad mode)."""
        return self._become(self.t())

    def transpose_(self, dim0, dim1):
        """In place: self becomes self.transpose(dim0, dim1), shape included; returns self (a
        leaf that requires grad is refused under grad mode)."""
        return self._become(self.transpose(dim0, dim1))

    def swapaxes_(self, axis0, axis1):
        """transpose_(axis0, axis1) (numpy's name)."""
        return self.transpose_(axis0, axis1)

    def swapdims_(self, dim0, dim1):
        """transpose_(dim0, dim1)."""
        return self.transpose_(dim0, dim1)

    # in-place forms of the elementwise math: the op, then _assign (tape, shape and dtype rules)
    def exp_(self):
        """In place: self = exp(self); returns self."""
        return self._assign(self.exp())

    def log_(self):
        """In place: self = log(self); returns self."""
        return self._assign(self.log())

    def sqrt_(self):
        """In place: self = sqrt(self); returns self."""
        return self._assign(self.sqrt())

    def rsqrt_(self):
        """In place: self = rsqrt(self); returns self."""
        return self._assign(self.rsqrt())

    def abs_(self):
        """In place: self = |self|; returns self."""
        return self._assign(self.abs())

    def relu_(self):
        """In place: self = max(self, 0); returns self. Integer tensors too, in their dtype."""
        return self._assign(self.relu())  # integers too, in their dtype, as PyTorch

    def sigmoid_(self):
        """In place: self = 1 / (1 + exp(-self)); returns self. Float tensors only."""
        self._require_float_result()
        return self._assign(self.sigmoid())

    def tanh_(self):
        """In place: self = tanh(self); returns self. Float tensors only."""
        self._require_float_result()
        return self._assign(self.tanh())

    def _require_float_result(self):
        """PyTorch's refusal to write a float result into an integer tensor (for the ops that
        refuse integer inputs before _assign could say it)."""
        if self.array.dtype.kind != "f":
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{elementwise.TORCH_NAMES[self.array.dtype]}")

    def sin_(self):
        """In place: self = sin(self); returns self."""
        return self._assign(self.sin())

    def cos_(self):
        """In place: self = cos(self); returns self."""
        return self._assign(self.cos())

    def log1p_(self):
        """In place: self = log(1 + self); returns self."""
        return self._assign(self.log1p())

    def expm1_(self):
        """In place: self = exp(self) - 1; returns self."""
        return self._assign(self.expm1())

    def floor_(self):
        """In place: self = floor(self); returns self."""
        return self._assign(self.floor())

    def ceil_(self):
        """In place: self = ceil(self); returns self."""
        return self._assign(self.ceil())

    def trunc_(self):
        """In place: self = trunc(self); returns self."""
        return self._assign(self.trunc())

    def round_(self, decimals=0):
        """In place: self = round(self, decimals); returns self."""
        return self._assign(self.round(decimals=decimals))

    def sign_(self):
        """In place: self = sign(self); returns self."""
        return self._assign(self.sign())

    def square_(self):
        """In place: self = self ** 2; returns self."""
        return self._assign(self.square())

    def reciprocal_(self):
        """In place: self = 1 / self; returns self."""
        return self._assign(self.reciprocal())

    def clamp_min(self, min):
        """clamp(min=min): y = max(x, min);  dx = g where x >= min."""
        return self.clamp(min=min)

    def clamp_max(self, max):
        """clamp(max=max): y = min(x, max);  dx = g where x <= max."""
        return self.clamp(max=max)

    def clamp_min_(self, min):
        """In place: self = max(self, min); returns self."""
        return self._assign(self.clamp(min=min))

    def clamp_max_(self, max):
        """In place: self = min(self, max); returns self."""
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
        self._check_writable()
        if autograd.is_grad_enabled() and (self.requires_grad or
                                           getattr(value, "requires_grad", False)):
            if self.is_leaf and self.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            return self._assign(self._index_put(index, value))
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


def _index_put(self, index, value):
    """self with ``value`` (broadcast) at ``index``, on the tape: the positions are those
    self[index] reads (PyTorch's indexing rules), value lands there, self stays elsewhere."""
    positions = Tensor._wrap(np.arange(self.array.size).reshape(self.array.shape))[index].array
    if not isinstance(value, Tensor):
        value = Tensor(value, dtype=self.array.dtype, device=self.device)
    value = value.to(dtype=self.array.dtype).expand(*positions.shape)
    placed = indexing.Spread.apply(value, positions=positions, shape=self.array.shape)
    chosen = np.zeros(self.array.size, np.bool_)
    chosen[positions.reshape(-1)] = True
    return placed.where(Tensor(chosen.reshape(self.array.shape), device=self.device), self)


Tensor._index_put = _index_put


def tensor(data, requires_grad=False, dtype=None, device="cpu"):
    """A new tensor holding a copy of ``data`` (PyTorch's ``torch.tensor``): a number, nested
    lists of numbers, an array, or a list of one-element tensors (each becomes one value)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


autograd.Tensor = Tensor  # the tape wraps op outputs in it (autograd does not import this module)
_bind_methods(Tensor, tensor)  # the method modules make tensors with them (tensor_methods.bind)


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
        """The number of elements a tensor of this shape holds: the product of the sizes (1 for
        Size([]))."""
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
    # more math (inverse trigonometric, hyperbolic, erf; composites)
    "erf", "erfc", "erfinv", "atan", "asin", "acos", "sinh", "cosh", "asinh", "acosh", "atanh", "arctan",
    "arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "exp2", "atan2", "arctan2", "hypot",
    "logaddexp", "lerp", "nan_to_num", "addcmul", "addcdiv", "addmm", "addmv", "baddbmm", "roll",
    "count_nonzero", "xlogy", "rot90", "argwhere", "var_mean", "std_mean", "bincount",
    "histc", "cummax", "cummin",
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
    # inverses, determinants and decompositions (microdl.linalg)
    "inverse", "det", "logdet", "slogdet", "cholesky", "svd", "pinverse",
)
