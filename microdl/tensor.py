"""Tensor: a numpy array, its gradient, and the tape node of the op that made it.

Arithmetic follows numpy's broadcasting and PyTorch's type promotion (``ops.elementwise.promote``:
a Python scalar takes the tensor's dtype, float32 with int64 gives float32, float32 with a
float64 array gives float64). Floats default to float32 when the data comes from Python lists or
scalars; numpy arrays keep their dtype, as ``torch.tensor`` does.
"""

import numpy as np

from . import autograd, backend
from . import _device
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
    @property
    def shape(self):
        return self.array.shape

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
        """The shape (a tuple), or the length of dimension ``dim``."""
        if dim is None:
            return self.array.shape
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
    def T(self):
        return self.transpose()

    def dim(self):
        return self.array.ndim

    def numel(self):
        return self.array.size

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

    def clone(self):
        return elementwise.Clone.apply(self)

    def to(self, *args, **kwargs):
        """This tensor on a device and/or as a dtype, as PyTorch takes them: ``to("cuda")``,
        ``to(microdl.device("cpu"))``, ``to(microdl.float64)``, ``to(device, dtype)``,
        ``to(other)`` (other's device and dtype); ``non_blocking`` is accepted and ignored.
        Itself when nothing changes (unless ``copy=True``), else a copy that stays on the tape
        (gradients flow back to this tensor)."""
        device, dtype, copy = _to_arguments(args, kwargs)
        out = self
        if device is not None:
            target = _check_device(device)
            if target != _device.of(self.array):
                out = elementwise.ToDevice.apply(self, device=target)
        if dtype is not None and np.dtype(dtype) != out.array.dtype:
            return elementwise.Cast.apply(out, dtype=np.dtype(dtype))
        return out.clone() if copy and out is self else out

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def __repr__(self):
        body = np.array2string(_device.host(self.array), separator=", ", prefix="tensor(")
        extras = [] if self.device == "cpu" else [f"device='{self.device}'"]
        if self.array.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.array.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.function.__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

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
                    f"{self.shape}); pass backward(grad) with a gradient of that shape"
                )
            grad = backend.of(self.array).full(self.shape, 1, self.dtype)
        else:
            grad = grad.array if isinstance(grad, Tensor) else grad
            if tuple(np.shape(grad)) != self.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {tuple(np.shape(grad))} "
                    f"and output[0] has a shape of {self.shape}."
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
        value = value if isinstance(value, Tensor) else np.asarray(value)
        return elementwise.Where.apply(mask, value, self, dtype=self.dtype)

    def masked_fill_(self, mask, value):
        return self._assign(self.masked_fill(mask, value))

    def half(self):
        return self.to(dtype=np.float16)

    def long(self):
        return self.to(dtype=np.int64)

    def int(self):
        return self.to(dtype=np.int32)

    def short(self):
        return self.to(dtype=np.int16)

    def bool(self):
        return self.to(dtype=np.bool_)

    def type(self, dtype=None):
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

    def softmax(self, dim=-1):
        return activation.Softmax.apply(self, dim=dim)

    def log_softmax(self, dim=-1):
        return activation.LogSoftmax.apply(self, dim=dim)

    # ---- reductions (numpy's axis/keepdims; PyTorch's dim/keepdim work too) --------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return reduce.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return reduce.Mean.apply(self, axis=axis, keepdims=keepdims)

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

    def prod(self, dim=None, keepdim=False):
        """The product over ``dim`` (or all values); int64 for integer and bool tensors."""
        return reduce.Prod.apply(self, axis=dim, keepdims=bool(keepdim))

    def cumsum(self, dim):
        """y_i = x_0 + ... + x_i along ``dim``; int64 for integer and bool tensors."""
        return reduce.Cumsum.apply(self, axis=dim)

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

    def flip(self, *dims):
        """The values in reverse order along each of ``dims``."""
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        axes = [_dim_index(d, self.ndim) for d in dims]
        if len(set(axes)) != len(axes):
            repeated = next(d for d in axes if axes.count(d) > 1)
            raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
        return shape.Flip.apply(self, axes=tuple(axes)) if self.ndim else self

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def contiguous(self):
        """Itself when its array is C-contiguous (microdl's ops always make those), else a
        C-contiguous copy on the tape."""
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
        """The ``length`` values from ``start`` along ``dim`` (a copy; PyTorch gives a view)."""
        d = _dim_index(dim, self.ndim)
        size = self.shape[d]
        if isinstance(start, Tensor):
            start = start.item()
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
        source = [_dim_index(d, self.ndim) for d in source]
        destination = [_dim_index(d, self.ndim) for d in destination]
        order = [None] * self.ndim
        for s, d in zip(source, destination):
            order[d] = s
        rest = iter(d for d in range(self.ndim) if d not in source)
        order = [next(rest) if o is None else o for o in order]
        return self.permute(order) if self.ndim else self

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
        return tuple(self.narrow(d, i, 1).squeeze(d) for i in range(self.shape[d]))

    # ---- indexing, sorting and linear algebra (gather, sort, topk, mm, norm, ...) ---------------

    # ---- in place ---------------------------------------------------------------------------
    def _assign(self, result):
        """Make this tensor hold ``result`` (an out-of-place op's output): the values go into this
        tensor's array (others sharing it, such as ``.data`` views, see them); when grad mode
        records, this tensor takes the result's place on the tape, as PyTorch's in-place ops do."""
        if autograd.is_grad_enabled() and (self.requires_grad or result.requires_grad):
            if self.is_leaf and self.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            # NOTE: the tape keeps the old array for ops that saved it, so gradients stay right
            self.array, self._node = result.array, result._node
            self.requires_grad = result.requires_grad
            return self
        if tuple(result.shape) != tuple(self.shape):
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the "
                               f"broadcast shape {list(result.shape)}")
        # the values cast to this tensor's dtype, written on its device
        backend.of(self.array).kernels("elementwise").copy(result.array, self.array)
        return self

    def add_(self, other, alpha=1):
        return self._assign(self + (other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1):
        return self._assign(self - (other if alpha == 1 else other * alpha))

    def mul_(self, other):
        return self._assign(self * other)

    def div_(self, other):
        return self._assign(self / other)

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
    """A new tensor holding a copy of ``data`` (PyTorch's ``torch.tensor``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with ``array`` (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return Tensor._wrap(array)



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
)
