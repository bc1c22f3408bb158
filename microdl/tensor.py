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
    """"cpu" or "cuda:0"; asking for CUDA without a GPU is a RuntimeError saying what to do."""
    return _device.parse(device)


def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = _device.host(data.array)
    from_python = not isinstance(data, np.ndarray)
    # NOTE: order="C": a copy of a transposed or Fortran-ordered array would keep its layout,
    # and in-place kernels (the SGD update) write through flat C-order views.
    array = np.array(data, dtype=dtype, copy=True, order="C")
    if dtype is None and from_python and array.dtype == np.float64:
        array = array.astype(_DEFAULT_FLOAT)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a tensor from {type(data).__name__} data of dtype "
                        f"{array.dtype}: tensors hold booleans, integers or floats")
    return array


class Tensor:
    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad=False, dtype=None, device="cpu"):
        target = _check_device(device)
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
        """"cpu", or "cuda:0" for a tensor holding a numba device array."""
        return _device.of(self.array)

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

    def to(self, device=None, dtype=None):
        """This tensor on ``device`` ("cpu", "cuda") and/or as ``dtype``: itself when nothing
        changes, else a copy that stays on the tape (gradients flow back to this tensor)."""
        out = self
        if device is not None:
            target = _check_device(device)
            if target != _device.of(self.array):
                out = elementwise.ToDevice.apply(self, device=target)
        if dtype is not None and np.dtype(dtype) != out.array.dtype:
            return elementwise.Cast.apply(out, dtype=np.dtype(dtype))
        return out

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
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (bool, int, float)) and np.issubdtype(self.dtype, np.floating):
            return np.asarray(other, dtype=self.dtype)
        return np.asarray(other)

    def __add__(self, other):
        return elementwise.Add.apply(self, self._operand(other))

    def __radd__(self, other):
        return elementwise.Add.apply(self._operand(other), self)

    def __sub__(self, other):
        return elementwise.Sub.apply(self, self._operand(other))

    def __rsub__(self, other):
        return elementwise.Sub.apply(self._operand(other), self)

    def __mul__(self, other):
        return elementwise.Mul.apply(self, self._operand(other))

    def __rmul__(self, other):
        return elementwise.Mul.apply(self._operand(other), self)

    def __truediv__(self, other):
        return elementwise.Div.apply(self, self._operand(other))

    def __rtruediv__(self, other):
        return elementwise.Div.apply(self._operand(other), self)

    def __neg__(self):
        return elementwise.Neg.apply(self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError("pow supports a scalar exponent only (tensor ** number)")
        # NOTE: an int exponent stays an int: int_tensor ** 2 is an integer tensor, ** 2.0 a
        # float one, as in PyTorch
        whole = isinstance(exponent, (int, np.integer)) and not isinstance(exponent, bool)
        return elementwise.Pow.apply(self, exponent=int(exponent) if whole else float(exponent))

    def __matmul__(self, other):
        return matmul.MatMul.apply(self, self._operand(other))

    def __rmatmul__(self, other):
        return matmul.MatMul.apply(self._operand(other), self)

    def exp(self):
        return elementwise.Exp.apply(self)

    def log(self):
        return elementwise.Log.apply(self)

    def sqrt(self):
        return self ** 0.5

    def abs(self):
        return elementwise.Abs.apply(self)

    # ---- comparisons and elementwise math (more) -----------------------------------------------

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

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return reduce.Max.apply(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim)
        return Tensor._wrap(reduce.argmax(self.array, axis, keepdims))

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
                return shape.Transpose.apply(self, axes=())
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
        if isinstance(index, Tensor):
            index = index.array
        elif isinstance(index, tuple):
            index = tuple(i.array if isinstance(i, Tensor) else i for i in index)
        return shape.GetItem.apply(self, index=index)


    # ---- shape (more) ---------------------------------------------------------------------------

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


# ---- functions over several tensors (cat, stack, where, ...) ----------------------------------


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


def zeros(*size, dtype=np.float32, requires_grad=False):
    size = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    return Tensor(np.zeros(size, dtype), requires_grad=requires_grad)


def ones(*size, dtype=np.float32, requires_grad=False):
    size = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    return Tensor(np.ones(size, dtype), requires_grad=requires_grad)


# Ops PyTorch spells both as a Tensor method and as a function, torch.X(input, ...): microdl's
# functions are made from the methods (microdl/__init__.py, one per name), so the two spellings
# are one op. A name added here needs a Tensor method of that name.
METHODS_AS_FUNCTIONS = (
    # arithmetic and math
    "abs", "exp", "log", "sqrt",
    # activations
    "relu", "sigmoid", "tanh", "softmax", "log_softmax",
    # reductions
    "sum", "mean", "max", "argmax",
    # shape
    "reshape", "flatten", "transpose", "permute", "numel", "clone", "detach",
)
