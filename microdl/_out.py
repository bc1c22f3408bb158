"""``out=`` for the ``microdl.X`` functions: ``microdl.add(a, b, out=t)`` computes ``a + b`` and
writes it into ``t`` (resized when its shape differs), then returns ``t``.

One helper, ``with_out(name, function)``, gives ``out=`` to a function, as PyTorch's bindings do:

- the result is computed as without ``out``, then written into ``out`` (cast to its dtype where
  PyTorch allows: see OUT_DTYPE); ops that return (values, indices) take a tuple of two;
- ``out`` of another shape is resized (with PyTorch's UserWarning unless it was empty);
- no autograd through ``out=``: when grad mode is on and an argument (or ``out``) requires
  grad, PyTorch's RuntimeError;
- an ``out`` that shares memory with an input is refused where PyTorch refuses it (every op
  for a partial overlap; ops in REFUSE_OVERLAP even for the input itself).
"""

import warnings

import numpy as np

from . import autograd, backend
from .ops.elementwise import TORCH_NAMES
from .tensor import Tensor, _can_cast

# PyTorch's C++ names of the dtypes, as its "Expected out tensor to have dtype ..." says them.
_CPP_NAMES = {np.dtype(np.float16): "c10::Half", np.dtype(np.float32): "float",
              np.dtype(np.float64): "double", np.dtype(np.uint8): "unsigned char",
              np.dtype(np.int8): "signed char", np.dtype(np.int16): "short int",
              np.dtype(np.int32): "int", np.dtype(np.int64): "long int",
              np.dtype(np.bool_): "bool"}

# How a result may go into an out of another dtype, per function (PyTorch 2.13's rules):
# CAST: any dtype the result's can be cast to (never float into integers, nor into bool);
# DTYPE: out's dtype is the one computed in (the function's dtype= argument: sums, creation);
# ANY: any dtype (random draws made in out's dtype); otherwise a message: the dtypes must be
# equal, and it is PyTorch's RuntimeError text ({result}/{out}: Float..., {result_c}/{out_c}:
# float...).
CAST, DTYPE, ANY = "cast", "dtype", "any"
_FOUND = "Found dtype {out} but expected {result}"
_EXPECTED = "Expected out tensor to have dtype {result_c}, but got {out_c} instead"
_SAME_SCALAR_TYPE = "{name}(): self and result must have the same scalar type"
OUT_DTYPE = {
    **dict.fromkeys(
        "exp log sqrt add sub subtract mul multiply div divide true_divide floor_divide remainder "
        "pow square rsqrt reciprocal sin cos tan log2 log10 log1p expm1 maximum minimum sigmoid "
        "tanh eq ne lt le gt ge not_equal less less_equal greater greater_equal logical_not "
        "logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor mean var std "
        "logsumexp outer ger cat concat concatenate stack".split(), CAST),
    **dict.fromkeys("abs neg negative floor ceil round trunc fix sign clamp clip bitwise_not"
                    .split(), _FOUND),
    **dict.fromkeys("sum prod cumsum cumprod arange linspace zeros ones full eye empty rand "
                    "randn randint randperm".split(), DTYPE),
    "bernoulli": ANY,
    "amax": "Expected the dtype for input and out to match, but got {result} for input's dtype "
            "and {out} for out's dtype.",
    "amin": "Expected the dtype for input and out to match, but got {result} for input's dtype "
            "and {out} for out's dtype.",
    "index_select": _SAME_SCALAR_TYPE,
    "masked_select": _SAME_SCALAR_TYPE,
    "take": "take(): self and out expected to have the same dtype, but got self.dtype = "
            "{result} and out.dtype = {out}",
    "multinomial": "multinomial expects Long tensor out, got: {out}",
    "where": "Expected out type to be {result} but got {out}",
    "nonzero": "nonzero: Expected out tensor to have scalar type Long but got scalar type{out}",
    "all": "all only supports bool tensor for result, got: {out}",
    "any": "any only supports bool tensor for result, got: {out}",
    "dot": "result dtype {out} does not match input dtype {result}",
}
# The functions made from Tensor methods (microdl.X) that PyTorch gives no out= (torch.X(...,
# out=t) is its TypeError there too).
NO_OUT = frozenset(
    "isnan isinf isfinite masked_fill equal isclose allclose relu reshape flatten transpose "
    "permute numel clone detach squeeze unsqueeze flip t narrow movedim split chunk unbind "
    "argsort unique diagonal trace".split())

# cat and stack say their CAST refusal as a TypeError of their own.
_CAT_REFUSAL = "torch.cat(): input types can't be cast to the desired output type {out}"

# Functions that refuse an out sharing any memory with an input, itself included (PyTorch
# checks these ops' inputs against the written-to tensor); elementwise ops and matrix products
# accept the very tensor of an input (add(x, y, out=x) is x += y).
REFUSE_OVERLAP = frozenset("gather index_select take masked_select cat concat concatenate stack "
                           "kthvalue bernoulli".split())
OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to tensor "
           "refer to a single memory location. Please clone() the tensor before performing the "
           "operation.")
RESIZED = ("An output with one or more elements was resized since it had shape {old}, which "
           "does not match the required output shape {new}. This behavior is deprecated, and in "
           "a future PyTorch release outputs will not be resized unless they have zero elements. "
           "You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
           "with t.resize_(0).")


def with_out(name, function):
    """``function`` taking PyTorch's ``out=`` keyword too (see the module docstring)."""

    def function_with_out(*args, out=None, **kwargs):
        if out is None:
            return function(*args, **kwargs)
        return call_into(name, function, args, kwargs, out)

    function_with_out.__name__ = function_with_out.__qualname__ = name
    function_with_out.__doc__ = function.__doc__
    function_with_out.__wrapped__ = function
    return function_with_out


def call_into(name, function, args, kwargs, out):
    """function(*args, **kwargs) written into ``out`` (a Tensor, or a tuple of them for ops
    with several results); returns ``out``."""
    outs = _out_tensors(name, out)
    inputs = _tensors_in((args, kwargs))
    if autograd.is_grad_enabled() and any(t.requires_grad for t in inputs + outs):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")
    _check_overlap(name, inputs, outs)
    rule = OUT_DTYPE.get(name, _EXPECTED)
    if rule == DTYPE and kwargs.get("dtype") is None:
        kwargs = dict(kwargs, dtype=outs[0].dtype)
    with autograd.no_grad():
        result = function(*args, **kwargs)
    results = tuple(result) if isinstance(result, tuple) else (result,)
    if len(results) != len(outs):
        raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(results)} Tensors "
                        f"(got {len(outs)})")
    for value, target in zip(results, outs):
        _check_dtype(name, rule, value.dtype, target.dtype)
    for value, target in zip(results, outs):
        _write(value, target)
    if isinstance(result, tuple):
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)
    return out


def _out_tensors(name, out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)) and all(isinstance(t, Tensor) for t in out):
        return list(out)
    raise TypeError(f"{name}(): argument 'out' must be Tensor or a tuple of Tensors, not "
                    f"{type(out).__name__}")


def _tensors_in(value):
    """The Tensors among (nested lists, tuples and dicts of) arguments."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors_in(v)]
    return []


def _check_overlap(name, inputs, outs):
    for target in outs:
        for source in inputs:
            same = target.array is source.array
            if same and name not in REFUSE_OVERLAP:
                continue  # out is an input itself: the result is computed before it is written
            if same or _partial_overlap(target.array, source.array):
                raise RuntimeError(OVERLAP)


def _partial_overlap(a, b):
    """Whether two arrays share memory (host arrays; device arrays only as the same object)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        return False
    return np.may_share_memory(a, b)


def _check_dtype(name, rule, result, out):
    result, out = np.dtype(result), np.dtype(out)
    if result == out or rule in (DTYPE, ANY):
        return
    if rule == CAST:
        if _can_cast(result, out):
            return
        if name in ("cat", "concat", "concatenate", "stack"):
            raise TypeError(_CAT_REFUSAL.format(out=TORCH_NAMES[out]))
        raise RuntimeError(f"result type {TORCH_NAMES[result]} can't be cast to the desired "
                           f"output type {TORCH_NAMES[out]}")
    raise RuntimeError(rule.format(name=name, result=TORCH_NAMES[result], out=TORCH_NAMES[out],
                                   result_c=_CPP_NAMES[result], out_c=_CPP_NAMES[out]))


def _write(value, target):
    """value's values into target (resized to value's shape first), cast to target's dtype."""
    value_device, target_device = backend.of(value.array), backend.of(target.array)
    if value_device is not target_device and value.array.ndim:
        raise RuntimeError(backend.SAME_DEVICE)
    if tuple(target.shape) != tuple(value.shape):
        if target.numel():
            warnings.warn(RESIZED.format(old=list(target.shape), new=list(value.shape)),
                          UserWarning, stacklevel=4)
        target.array = target_device.empty(tuple(value.shape), target.dtype)
    target_device.kernels("elementwise").copy(value.array, target.array)

