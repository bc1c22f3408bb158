"""Run one database entry through PyTorch and microdl, compare, and classify each difference.

Every sample gives one Outcome per microdl spelling (Variant): "passed", "skipped" (PyTorch itself
refused the sample, or it holds something microdl cannot represent, such as a complex tensor), or
the first failure found, in this order: the call (crashed / unsupported argument), the output's
structure (tensor or tuple, named fields), shape, dtype, values, then gradients (float64) and,
for modules and optimizers, buffers and state. Error inputs pass when microdl raises PyTorch's
exception type (or a subclass) with a message that says the same thing (see ``messages_agree``).

Silent classes, which fail the pytest test: a wrong answer given without complaint.
Loud classes: microdl refused, so a user finds out at once; reported, and of them "unsupported
argument" fails the test too unless the skip table gives the reason (GATED).
"""

import math
import numbers
import re
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import torch

import microdl

from . import names

SILENT = ("value", "dtype", "shape", "structure", "gradient", "buffer", "bad input accepted")
LOUD = ("different error", "unsupported argument", "crashed")
# The classes the pytest test fails on unless a SKIPS row covers the check: the silent ones, and
# an argument microdl refuses (NotImplementedError, or a keyword it does not take). An argument
# at its default is always accepted; a value microdl does not support is a deliberate
# NotImplementedError with its reason in the skip table.
GATED = SILENT + ("unsupported argument",)
PASSED, SKIPPED = "passed", "skipped"
CLASSES = (PASSED,) + SILENT + LOUD + (SKIPPED,)

# (atol, rtol) when the entry states none for the dtype. float32 allows for sums that microdl's
# kernels add in another order than PyTorch's (DESIGN.md: 1e-4 where sums are reordered).
DEFAULT_TOLERANCE = {torch.float32: (1e-5, 1e-4), torch.float64: (1e-7, 1e-7)}
OPTIMIZER_STEPS = 3

NUMPY_DTYPES = {torch.float16: np.float16, torch.float32: np.float32, torch.float64: np.float64,
                torch.uint8: np.uint8, torch.int8: np.int8, torch.int16: np.int16,
                torch.int32: np.int32, torch.int64: np.int64, torch.bool: np.bool_}


@dataclass
class Outcome:
    key: str          # the entry: "sum", "max.binary", "module:BatchNorm2d", "optim:SGD"
    variant: str      # the microdl spelling: "microdl.sum", "Tensor.add_", "nn.BatchNorm2d"
    dtype: str
    index: int        # the sample's number within (entry, dtype, phase)
    phase: str        # "sample", "error", "module train", "module eval", "optimizer"
    klass: str        # one of CLASSES
    detail: str = ""
    repro: str = ""   # one line: the call, then what differed


class Unrepresentable(Exception):
    """A PyTorch value microdl has no counterpart for (complex or bfloat16 tensors, ...)."""


# ---- conversion -------------------------------------------------------------------------------
class ToMicrodl:
    """PyTorch values -> microdl values, recursively through lists, tuples and dicts.

    A tensor seen twice (``x + x``) becomes one microdl tensor, so gradients accumulate alike;
    ``pairs`` keeps (torch tensor, microdl tensor) for every tensor that requires grad.
    """

    def __init__(self):
        self.memo, self.pairs = {}, []

    def __call__(self, value):
        if isinstance(value, torch.Tensor):
            if id(value) not in self.memo:
                self.memo[id(value)] = self._tensor(value)
            return self.memo[id(value)]
        if isinstance(value, torch.dtype):
            return np.dtype(numpy_dtype(value))
        if isinstance(value, torch.Size):
            return tuple(value)
        if isinstance(value, torch.device):
            return str(value)
        if isinstance(value, torch.memory_format):
            return getattr(microdl, str(value).replace("torch.", ""))
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*map(self, value))
        if isinstance(value, (list, tuple)):
            return type(value)(map(self, value))
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value

    def _tensor(self, t):
        array = t.detach().cpu().resolve_conj().resolve_neg()
        array = np.array(array.numpy(), dtype=numpy_dtype(t.dtype), copy=True)
        grad = t.requires_grad and t.is_floating_point()
        if isinstance(t, torch.nn.Parameter):
            out = microdl.nn.Parameter(array, requires_grad=t.requires_grad)
            if t.grad is not None:
                out.grad = microdl.tensor(t.grad.detach().numpy().copy())
        else:
            out = microdl.tensor(array, requires_grad=grad)
        if grad:
            self.pairs.append((t, out))
        return out


def check_out_representable(sample):
    """Unrepresentable where an error input's ``out=`` overlaps in a way the conversion loses:
    an expanded out (elements sharing memory) or a view of an input other than the input
    itself. ToMicrodl copies every tensor, so microdl would be shown a harmless call."""
    outs = sample.kwargs.get("out")
    outs = outs if isinstance(outs, (tuple, list)) else () if outs is None else (outs,)
    inputs = flat_tensors([sample.input, list(sample.args)])
    for out in outs:
        if not isinstance(out, torch.Tensor):
            continue
        if torch._debug_has_internal_overlap(out) == 1:
            raise Unrepresentable("out= is an expanded tensor (elements sharing memory)")
        storage = out.untyped_storage().data_ptr()
        if storage and any(t is not out and t.untyped_storage().data_ptr() == storage
                           for t in inputs):
            raise Unrepresentable("out= is a view of an input's memory")


def numpy_dtype(torch_dtype):
    if torch_dtype not in NUMPY_DTYPES:
        raise Unrepresentable(f"no microdl dtype for {torch_dtype}")
    return NUMPY_DTYPES[torch_dtype]


def fresh_torch(value, memo=None, requires_grad=True):
    """A copy of every tensor in ``value`` as a new leaf (an op that writes into its input must
    not change the sample the next spelling runs on); shared tensors stay shared."""
    memo = {} if memo is None else memo
    if isinstance(value, torch.Tensor):
        if id(value) not in memo:
            copy = value.detach().clone()
            if isinstance(value, torch.nn.Parameter):
                copy = torch.nn.Parameter(copy, requires_grad=value.requires_grad)
                if value.grad is not None:
                    copy.grad = value.grad.detach().clone()
            elif requires_grad and value.requires_grad:
                copy.requires_grad_(True)
            memo[id(value)] = copy
        return memo[id(value)]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(fresh_torch(v, memo, requires_grad) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(fresh_torch(v, memo, requires_grad) for v in value)
    if isinstance(value, dict):
        return {k: fresh_torch(v, memo, requires_grad) for k, v in value.items()}
    return value


def host(t):
    """A microdl tensor's values as a numpy array."""
    return np.asarray(t.array if isinstance(t, microdl.Tensor) else t)


# ---- comparison -------------------------------------------------------------------------------
class Mismatch(Exception):
    def __init__(self, klass, detail):
        super().__init__(detail)
        self.klass, self.detail = klass, detail


def tolerances(op=None, dtype=None):
    """{output dtype: (atol, rtol)}: DEFAULT_TOLERANCE, loosened for the sample's dtype to the
    loosest cpu toleranceOverride among the entry's decorators (PyTorch's own comparisons).
    Keyed by the OUTPUT's dtype: exp of an int64 tensor is float32 and compares as float32."""
    tol = dict(DEFAULT_TOLERANCE)
    try:
        from torch.testing._internal.common_device_type import toleranceOverride
    except ImportError:
        return tol
    for info in getattr(op, "decorators", ()) or ():
        if getattr(info, "device_type", None) not in (None, "cpu"):
            continue
        for decorator in getattr(info, "decorators", ()) or ():
            if isinstance(decorator, toleranceOverride) and dtype in decorator.d and dtype in tol:
                atol, rtol = tol[dtype]
                override = decorator.d[dtype]
                tol[dtype] = (max(atol, override.atol), max(rtol, override.rtol))
    return tol


def compare(expected, actual, tol, values=True, where="output"):
    """Raise Mismatch at the first difference between a PyTorch result and microdl's."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(actual, microdl.Tensor):
            raise Mismatch("structure", f"{where}: {type(actual).__name__}, expected a Tensor")
        if tuple(actual.shape) != tuple(expected.shape):
            raise Mismatch("shape", f"{where}: shape {tuple(actual.shape)}, expected "
                                    f"{tuple(expected.shape)}")
        compare_arrays(expected, host(actual), tol, values, where)
    elif isinstance(expected, (tuple, list)) and not isinstance(expected, torch.Size):
        if isinstance(actual, microdl.Tensor) or not isinstance(actual, (tuple, list)):
            raise Mismatch("structure", f"{where}: {type(actual).__name__}, expected a "
                                        f"{type(expected).__name__} of {len(expected)}")
        if len(actual) != len(expected):
            raise Mismatch("structure", f"{where}: {len(actual)} items, expected "
                                        f"{len(expected)}")
        for field in getattr(expected, "_fields", ()):
            if not hasattr(actual, field):
                raise Mismatch("structure", f"{where}: no field .{field} (PyTorch returns a "
                                            f"named tuple {expected._fields})")
        for i, (e, a) in enumerate(zip(expected, actual)):
            compare(e, a, tol, values, f"{where}[{i}]")
    elif expected is None:
        if actual is not None:
            raise Mismatch("structure", f"{where}: {type(actual).__name__}, expected None")
    elif isinstance(expected, (numbers.Number, torch.Size)):
        if isinstance(actual, microdl.Tensor) or (isinstance(expected, torch.Size) and
                                                  not isinstance(actual, (tuple, list))):
            raise Mismatch("structure", f"{where}: {type(actual).__name__}, expected a "
                                        f"{type(expected).__name__}")
        if isinstance(expected, torch.Size):
            if tuple(actual) != tuple(expected):
                raise Mismatch("value", f"{where}: {tuple(actual)}, expected {tuple(expected)}")
            return
        if not isinstance(actual, (numbers.Number, np.generic)):
            raise Mismatch("structure", f"{where}: {type(actual).__name__}, expected a number")
        kind = lambda v: "bool" if isinstance(v, (bool, np.bool_)) else \
            "int" if isinstance(v, (numbers.Integral, np.integer)) else "float"
        if kind(expected) != kind(actual):
            raise Mismatch("dtype", f"{where}: Python {kind(actual)}, expected {kind(expected)}")
        atol, rtol = tol[torch.float32] if kind(expected) == "float" else (0, 0)
        if values and not np.isclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True):
            raise Mismatch("value", f"{where}: {actual!r}, expected {expected!r}")
    elif actual != expected:
        raise Mismatch("value", f"{where}: {actual!r}, expected {expected!r}")


def compare_arrays(expected, actual, tol, values=True, where="output"):
    """A PyTorch tensor against a numpy array of the same shape: dtype, then values."""
    try:
        want = np.dtype(numpy_dtype(expected.dtype))
    except Unrepresentable:
        raise Mismatch("dtype", f"{where}: dtype {actual.dtype}, expected {expected.dtype}")
    if actual.dtype != want:
        raise Mismatch("dtype", f"{where}: dtype {actual.dtype}, expected {want}")
    if not values:
        return
    expected = expected.detach().resolve_conj().resolve_neg().numpy()
    if expected.dtype.kind == "f":
        atol, rtol = tol.get(getattr(torch, str(expected.dtype)), (0.0, 0.0))
        close = np.isclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True)
    else:
        close = actual == expected
    if not np.all(close):
        bad = tuple(int(i) for i in np.argwhere(~np.asarray(close))[0]) if actual.ndim else ()
        raise Mismatch("value", f"{where}: {np.count_nonzero(~np.asarray(close))} of "
                                f"{actual.size} values differ, e.g. at {list(bad)}: "
                                f"{actual[bad]!r}, expected {expected[bad]!r}")


def flat_tensors(value):
    """The tensors in a (nested) result, in order."""
    if isinstance(value, (torch.Tensor, microdl.Tensor)):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flat_tensors(v)]
    return []


# ---- errors -----------------------------------------------------------------------------------
_STOPWORDS = set("""the and but for with got was were are has have had not can can't cannot
    that this than then into only must should when which while expected expects expect been
    also any all its one two tensor tensors input inputs argument arguments given instead of
    be is to""".split())


def keywords(regex):
    """The words a regex of PyTorch's asks for, minus filler: what a message must talk about."""
    text = re.sub(r"\\(.)", r"\1", regex or "")
    text = re.sub(r"\[[^\]]*\]|\(\?[^)]*\)|[.*+?^$|(){}]", " ", text)
    return {w.lower() for w in re.findall(r"[A-Za-z_]{3,}", text)} - _STOPWORDS


def messages_agree(regex, message):
    """PyTorch's regex matches, or the message holds at least half of its key words."""
    if not regex or re.search(regex, message):
        return True
    wanted = keywords(regex)
    found = sum(word in message.lower() for word in wanted)
    return not wanted or found >= max(1, math.ceil(len(wanted) / 2))


def call_class(exc):
    """The class of an exception microdl raised where PyTorch raised none."""
    text = str(exc)
    if isinstance(exc, NotImplementedError):
        return "unsupported argument"
    if isinstance(exc, TypeError) and ("unexpected keyword argument" in text or
                                       "positional argument" in text):
        return "unsupported argument"
    return "crashed"


def short(exc):
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:160]}"


def raises_expected(call, error_type, regex, torch_said=""):
    """(class, detail) of calling ``call`` where PyTorch raises ``error_type`` matching regex
    (``torch_said``: PyTorch's own message, quoted where microdl accepted the input)."""
    warning = isinstance(error_type, type) and issubclass(error_type, Warning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
        except Exception as exc:   # noqa: BLE001  (any exception is an answer to classify)
            if isinstance(exc, error_type) and messages_agree(regex, str(exc)):
                return PASSED, ""
            if isinstance(exc, error_type):
                return "different error", f"{short(exc)} (PyTorch says /{regex}/)"
            klass = call_class(exc)
            klass = klass if klass == "unsupported argument" else "different error"
            return klass, f"{short(exc)} (PyTorch: {error_type.__name__} /{regex}/)"
    if warning and any(issubclass(w.category, error_type) and messages_agree(regex, str(w.message))
                       for w in caught):
        return PASSED, ""
    return "bad input accepted", f"no {error_type.__name__} (PyTorch: {torch_said or regex})"


def torch_raises(call, error_type):
    """PyTorch's message when it raises (or warns) as its database says, else None: a database
    entry can go stale, and a call spelled differently from the entry's may not raise."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call()
        except Exception as exc:   # noqa: BLE001
            return short(exc) if isinstance(exc, error_type) else None
    if issubclass(error_type, Warning):
        for w in caught:
            if issubclass(w.category, error_type):
                return f"{w.category.__name__}: {w.message}"
    return None


# ---- reproducers ------------------------------------------------------------------------------
def describe(value):
    """Arguments as one short line: small tensors written out, larger ones as t(dtype[shape])."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).replace("torch.", "")
        grad = ", requires_grad=True" if value.requires_grad else ""
        if value.numel() <= 4:
            return f"t({value.detach().tolist()!r}, {dtype}{grad})"
        return f"t({dtype}{list(value.shape)}{grad})"
    if isinstance(value, torch.dtype):
        return str(value).replace("torch.", "microdl.")
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        inner = ", ".join(map(describe, value))
        if isinstance(value, list):
            return f"[{inner}]"
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in value.items()) + "}"
    return repr(tuple(value)) if isinstance(value, torch.Size) else repr(value)


def call_line(label, args, kwargs):
    parts = [describe(a) for a in args] + [f"{k}={describe(v)}" for k, v in kwargs.items()]
    return f"{label}({', '.join(parts)})"


# ---- ops --------------------------------------------------------------------------------------
# Values left uninitialized by design: only structure, shape and dtype can compare.
UNINITIALIZED = {"empty", "empty_like", "new_empty", "empty_strided", "new_empty_strided",
                 "empty_permuted"}


def _is_random(op):
    """Entries whose values cannot agree: PyTorch reseeds its generator around the call
    (dropout, randn, ...; microdl's generator is another one) or leaves memory uninitialized.
    Only structure, shape and dtype compare for them, and no gradients."""
    code = getattr(op.op, "__code__", None)
    return op.name in UNINITIALIZED or (code is not None and "wrapper_set_seed" in code.co_names)


# Entries whose database op is a lambda that reorders the sample before calling the function
# (``op=lambda weight, idx, **kw: F.embedding(idx, weight, **kw)``): the spelled function takes
# the sample in this order instead (both libraries get the same call).
SAMPLE_ORDER = {
    "nn.functional.embedding": lambda input, args: (args[0], (input,) + tuple(args[1:])),
}


def in_call_order(target, input, args):
    """(input, args) in the order the spelled function takes them."""
    reorder = SAMPLE_ORDER.get(target.entry.name if not target.entry.variant_test_name else
                               f"{target.entry.name}.{target.entry.variant_test_name}")
    return reorder(input, args) if reorder else (input, args)


def run_op(target, max_samples=None):
    """Every sample (each supported dtype) and every error input of an OpTarget, each spelling."""
    op, outcomes = target.entry, []
    grad_dtype = names.entry_grad_dtype(op)
    for dtype in names.entry_dtypes(op):
        grad = dtype == grad_dtype
        samples = _samples(op, dtype, grad, max_samples)
        for index, sample in enumerate(samples):
            for variant in target.variants:
                outcomes.append(run_op_sample(target, variant, sample, dtype, index, grad))
    errors = _error_inputs(op, max_samples)
    for index, error in enumerate(errors):
        for variant in target.variants:
            if variant.kind in ("function", "method"):
                outcomes.append(run_op_error(target, variant, error, index))
    return outcomes


def _samples(op, dtype, requires_grad, limit):
    samples = []
    for sample in op.sample_inputs("cpu", dtype, requires_grad=requires_grad):
        if limit is not None and len(samples) >= limit:
            break
        samples.append(sample)
    return samples


def _error_inputs(op, limit):
    if op.error_inputs_func is None:
        return []
    try:
        errors = list(op.error_inputs("cpu"))
    except Exception:   # noqa: BLE001  (a database generator that fails on this build of torch)
        return []
    return errors if limit is None else errors[:limit]


def run_op_sample(target, variant, sample, dtype, index, grad):
    """One sample through one spelling: forward compared, then gradients when ``grad``."""
    dtype_name = str(dtype).replace("torch.", "")
    grad = grad and variant.kind != "inplace"
    memo = {}
    t_input, t_args, t_kwargs = (fresh_torch(v, memo, grad) for v in
                                 (sample.input, sample.args, sample.kwargs))
    t_input, t_args = in_call_order(target, t_input, t_args)
    line = call_line(variant.label, (t_input,) + tuple(t_args), t_kwargs)
    result = lambda klass, detail="": Outcome(target.key, variant.label, dtype_name, index,
                                              "sample", klass, detail, f"{line} -> {detail}")
    try:
        convert = ToMicrodl()
        m_input, m_args, m_kwargs = convert(t_input), convert(t_args), convert(t_kwargs)
    except Exception as exc:   # noqa: BLE001  (a value microdl cannot hold)
        return result(SKIPPED, f"not representable: {short(exc)}")
    try:
        expected = variant.torch_fn(t_input, *t_args, **t_kwargs)
    except Exception as exc:   # noqa: BLE001
        return result(SKIPPED, f"PyTorch raised {short(exc)}")
    try:
        actual = variant.microdl_fn(m_input, *m_args, **m_kwargs)
    except Exception as exc:   # noqa: BLE001
        return result(call_class(exc), short(exc))
    random = _is_random(target.entry)
    try:
        compare(expected, actual, tolerances(target.entry, dtype), values=not random)
        if grad and not random:
            compare_gradients(sample, expected, actual, convert.pairs, index)
    except Mismatch as mismatch:
        return result(mismatch.klass, mismatch.detail)
    except Exception as exc:   # noqa: BLE001  (backward raised)
        return result(call_class(exc), f"backward: {short(exc)}")
    return result(PASSED)


def compare_gradients(sample, expected, actual, pairs, seed, extra=()):
    """d(sum of outputs * random weights)/d(every input that requires grad), both libraries.

    ``extra``: more (torch tensor, microdl tensor) pairs to differentiate by, such as a module's
    parameters. PyTorch's ``output_process_fn_grad`` picks the differentiable part first.
    """
    process = getattr(sample, "output_process_fn_grad", None) or (lambda x: x)
    expected, actual = process(expected), process(actual)
    t_outs, m_outs = flat_tensors(expected), flat_tensors(actual)
    chosen = [(t, m) for t, m in zip(t_outs, m_outs) if t.requires_grad]
    pairs = list(pairs) + list(extra)
    if not chosen or not pairs:
        return
    for i, (t, m) in enumerate(chosen):
        if not getattr(m, "requires_grad", False):
            raise Mismatch("gradient", f"output {i} is not on the tape (requires_grad=False)")
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(t.shape).astype(numpy_dtype(t.dtype)) for t, _ in chosen]
    t_grads = torch.autograd.grad([t for t, _ in chosen], [t for t, _ in pairs],
                                  [torch.from_numpy(w) for w in weights], allow_unused=True)
    if len(chosen) == 1:
        chosen[0][1].backward(microdl.tensor(weights[0]))
    else:
        total = None
        for (_, m), w in zip(chosen, weights):
            term = (m * microdl.tensor(w)).sum()
            total = term if total is None else total + term
        total.backward()
    tol = tolerances()
    for i, ((t, m), t_grad) in enumerate(zip(pairs, t_grads)):
        if t_grad is None:
            t_grad = torch.zeros_like(t)
        m_grad = m.grad if m.grad is not None else microdl.tensor(np.zeros(t.shape,
                                                                           numpy_dtype(t.dtype)))
        try:
            if tuple(m_grad.shape) != tuple(t_grad.shape):
                raise Mismatch("gradient", f"shape {tuple(m_grad.shape)}, expected "
                                           f"{tuple(t_grad.shape)}")
            compare_arrays(t_grad, host(m_grad), tol)
        except Mismatch as mismatch:
            raise Mismatch("gradient", f"grad of input {i} {tuple(t.shape)}: {mismatch.detail}")


def run_op_error(target, variant, error, index):
    sample = error.sample_input
    input, args = in_call_order(target, sample.input, sample.args)
    line = call_line(variant.label, (input,) + tuple(args), sample.kwargs)
    result = lambda klass, detail="": Outcome(target.key, variant.label, "-", index, "error",
                                              klass, detail, f"{line} -> {detail}")
    try:
        check_out_representable(sample)
        convert = ToMicrodl()
        m_input, m_args, m_kwargs = (convert(v) for v in (input, args, sample.kwargs))
    except Exception as exc:   # noqa: BLE001  (a value microdl cannot hold)
        return result(SKIPPED, f"not representable: {short(exc)}")
    said = torch_raises(lambda: variant.torch_fn(input, *args, **sample.kwargs),
                        error.error_type)
    if said is None:
        return result(SKIPPED, "PyTorch does not raise as its database says")
    klass, detail = raises_expected(lambda: variant.microdl_fn(m_input, *m_args, **m_kwargs),
                                    error.error_type, error.error_regex, said)
    return result(klass, detail)


# ---- modules ----------------------------------------------------------------------------------
def run_module(target, max_samples=None):
    """Every module input (float32, float64; train and eval) and every module error input."""
    info, outcomes = target.entry, []
    for dtype in (torch.float32, torch.float64):
        if dtype not in info.dtypes:
            continue
        grad = dtype == torch.float64
        for training in (True, False):
            inputs = info.module_inputs_func(info, device="cpu", dtype=dtype,
                                             requires_grad=grad, training=training)
            for index, module_input in enumerate(inputs[:max_samples]):
                outcomes.append(run_module_sample(target, module_input, dtype, training, grad,
                                                  index))
    if info.module_error_inputs_func is not None:
        errors = info.module_error_inputs_func(info, device="cpu", dtype=torch.float32,
                                               requires_grad=False, training=True)
        for index, error in enumerate(errors[:max_samples]):
            outcomes.append(run_module_error(target, error, index))
    return outcomes


def _construct_line(target, constructor):
    return call_line(f"nn.{target.microdl_cls.__name__}", constructor.args, constructor.kwargs)


def run_module_sample(target, module_input, dtype, training, grad, index):
    info, cls = target.entry, target.microdl_cls
    dtype_name = str(dtype).replace("torch.", "")
    constructor, forward = module_input.constructor_input, module_input.forward_input
    mode = "train" if training else "eval"
    line = (f"{_construct_line(target, constructor)}.{dtype_name}().{mode}()"
            + call_line("", forward.args, forward.kwargs)
            + (f" [{module_input.desc}]" if module_input.desc else ""))
    result = lambda klass, detail="": Outcome(target.key, f"nn.{cls.__name__}", dtype_name,
                                              index, f"module {mode}", klass, detail,
                                              f"{line} -> {detail}")
    try:
        torch.manual_seed(0)
        t_module = info.module_cls(*constructor.args, **constructor.kwargs).to(dtype)
        t_module.train(training)
        t_args, t_kwargs = fresh_torch((forward.args, forward.kwargs), requires_grad=grad)
    except Exception as exc:   # noqa: BLE001
        return result(SKIPPED, f"PyTorch raised {short(exc)}")
    try:
        convert = ToMicrodl()
        m_cargs, m_ckwargs = convert(constructor.args), convert(constructor.kwargs)
        m_args, m_kwargs = convert(t_args), convert(t_kwargs)
    except Exception as exc:   # noqa: BLE001  (a value microdl cannot hold)
        return result(SKIPPED, f"not representable: {short(exc)}")
    try:
        m_module = cls(*m_cargs, **m_ckwargs).to(dtype=numpy_dtype(dtype))
        m_module.train(training)
    except Exception as exc:   # noqa: BLE001
        return result(call_class(exc), f"construction: {short(exc)}")
    try:
        load_torch_state(t_module, m_module)   # before either forward updates running stats
    except Mismatch as mismatch:
        return result(mismatch.klass, mismatch.detail)
    try:
        expected = t_module(*t_args, **t_kwargs)
    except Exception as exc:   # noqa: BLE001
        return result(SKIPPED, f"PyTorch raised {short(exc)}")
    try:
        actual = m_module(*m_args, **m_kwargs)
    except Exception as exc:   # noqa: BLE001
        return result(call_class(exc), short(exc))
    tol = tolerances()
    try:
        compare(expected, actual, tol)
        compare_buffers(t_module, m_module, tol)
        if grad:
            t_params = dict(t_module.named_parameters())
            extra = [(t_params[n], p) for n, p in m_module.named_parameters() if n in t_params]
            compare_gradients(module_input, expected, actual, convert.pairs, index, extra)
    except Mismatch as mismatch:
        return result(mismatch.klass, mismatch.detail)
    except Exception as exc:   # noqa: BLE001
        return result(call_class(exc), f"backward: {short(exc)}")
    return result(PASSED)


def load_torch_state(t_module, m_module):
    """PyTorch's parameters and buffers into the microdl module, by state_dict name; a name or
    shape microdl does not have is a buffer mismatch (the layouts must agree for checkpoints)."""
    t_state, m_state = t_module.state_dict(), m_module.state_dict()
    if list(t_state) != list(m_state):
        raise Mismatch("buffer", f"state_dict keys {list(m_state)}, expected {list(t_state)}")
    try:
        m_module.load_state_dict({k: v.detach().numpy().copy() for k, v in t_state.items()})
    except Exception as exc:   # noqa: BLE001
        raise Mismatch("buffer", f"load_state_dict of PyTorch's state: {short(exc)}")


def compare_buffers(t_module, m_module, tol):
    m_state = m_module.state_dict()
    for name, t_value in t_module.state_dict().items():
        try:
            compare_arrays(t_value, np.asarray(m_state[name]), tol, where=name)
        except Mismatch as mismatch:
            raise Mismatch("buffer", f"after forward: {mismatch.detail}")


def run_module_error(target, error, index):
    from torch.testing._internal.common_modules import ModuleErrorEnum
    info, cls = target.entry, target.microdl_cls
    module_input = error.module_error_input
    constructor, forward = module_input.constructor_input, module_input.forward_input
    forward = forward or FunctionInputStandIn()
    line = _construct_line(target, constructor) + call_line("", forward.args, forward.kwargs)
    result = lambda klass, detail="": Outcome(target.key, f"nn.{cls.__name__}", "float32",
                                              index, "error", klass, detail,
                                              f"{line} -> {detail}")
    on_construction = error.error_on == ModuleErrorEnum.CONSTRUCTION_ERROR
    try:
        convert = ToMicrodl()
        m_cargs, m_ckwargs = convert(constructor.args), convert(constructor.kwargs)
        m_args, m_kwargs = convert(forward.args), convert(forward.kwargs)
    except Exception as exc:   # noqa: BLE001  (a value microdl cannot hold)
        return result(SKIPPED, f"not representable: {short(exc)}")

    def torch_call():
        module = info.module_cls(*constructor.args, **constructor.kwargs)
        if not on_construction:
            module(*forward.args, **forward.kwargs)

    def microdl_call():
        module = cls(*m_cargs, **m_ckwargs)
        if not on_construction:
            module(*m_args, **m_kwargs)

    said = torch_raises(torch_call, error.error_type)
    if said is None:
        return result(SKIPPED, "PyTorch does not raise as its database says")
    return result(*raises_expected(microdl_call, error.error_type, error.error_regex, said))


# ---- optimizers -------------------------------------------------------------------------------
class Problem:
    """A small least-squares fit, loss = mean((X W^T + b - Y)^2), whose gradients PyTorch
    computes for both libraries: the optimizers see the same gradients for the same parameters,
    so only the update rule is under test."""

    def __init__(self, dtype, seed=0):
        rng = np.random.default_rng(seed)
        self.dtype = numpy_dtype(dtype)
        self.x = torch.from_numpy(rng.standard_normal((5, 4)).astype(self.dtype))
        self.y = torch.from_numpy(rng.standard_normal((5, 3)).astype(self.dtype))
        self.initial = [rng.standard_normal((3, 4)).astype(self.dtype),
                        rng.standard_normal(3).astype(self.dtype)]

    def gradients(self, arrays):
        w, b = (torch.tensor(a, requires_grad=True) for a in arrays)
        loss = ((self.x @ w.T + b - self.y) ** 2).mean()
        return [g.numpy() for g in torch.autograd.grad(loss, [w, b])], float(loss)


def run_optimizer(target, max_samples=None):
    info, outcomes = target.entry, []
    for dtype in (torch.float32, torch.float64):
        inputs = info.optim_inputs_func(device="cpu", dtype=dtype)
        for index, optim_input in enumerate(inputs[:max_samples]):
            outcomes.append(run_optimizer_sample(target, optim_input, dtype, index))
    if info.optim_error_inputs_func is not None:
        errors = info.optim_error_inputs_func(device="cpu", dtype=torch.float32)
        for index, error in enumerate(errors[:max_samples]):
            outcomes.append(run_optimizer_error(target, error, index))
    return outcomes


def _step(optimizer, params, problem, torch_side, closure):
    """Set PyTorch's gradients of the problem at ``params`` and step (with a closure returning
    the loss where the optimizer needs one, as LBFGS does)."""
    grads, loss = problem.gradients([p.detach().numpy() if torch_side else host(p)
                                     for p in params])
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy()) if torch_side else microdl.tensor(g.copy())
    if closure:
        optimizer.step(lambda: loss)
    else:
        optimizer.step()


def run_optimizer_sample(target, optim_input, dtype, index):
    info, cls = target.entry, target.microdl_cls
    dtype_name = str(dtype).replace("torch.", "")
    line = call_line(f"optim.{cls.__name__}", ("[W(3, 4), b(3)]",), optim_input.kwargs)
    line += f" [{optim_input.desc}]" if optim_input.desc else ""
    result = lambda klass, detail="": Outcome(target.key, f"optim.{cls.__name__}", dtype_name,
                                              index, "optimizer", klass, detail,
                                              f"{line} -> {detail}")
    if optim_input.params is not None:
        return result(SKIPPED, "the input brings its own parameters")
    problem = Problem(dtype)
    t_params = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in problem.initial]
    m_params = [microdl.nn.Parameter(a.copy()) for a in problem.initial]
    try:
        t_opt = info.optim_cls(t_params, **optim_input.kwargs)
        m_kwargs = ToMicrodl()(optim_input.kwargs)
    except (Unrepresentable,) as exc:
        return result(SKIPPED, f"not representable: {short(exc)}")
    except Exception as exc:   # noqa: BLE001
        return result(SKIPPED, f"PyTorch raised {short(exc)}")
    try:
        m_opt = cls(m_params, **m_kwargs)
    except Exception as exc:   # noqa: BLE001
        return result(call_class(exc), f"construction: {short(exc)}")
    tol = tolerances()
    closure = info.step_requires_closure
    try:
        for step in range(1, OPTIMIZER_STEPS + 1):
            _step(t_opt, t_params, problem, True, closure)
            try:
                _step(m_opt, m_params, problem, False, closure)
            except Exception as exc:   # noqa: BLE001
                return result(call_class(exc), f"step {step}: {short(exc)}")
            for i, (t, m) in enumerate(zip(t_params, m_params)):
                compare_arrays(t, host(m), tol, where=f"step {step}: param {i}")
        compare_optimizer_state(t_opt, t_params, m_opt, m_params, tol)
        # round trip: a fresh optimizer on copies of the parameters, loaded from state_dict,
        # must take the next step exactly as PyTorch does
        m_copies = [microdl.nn.Parameter(host(p).copy()) for p in m_params]
        try:
            m_reloaded = cls(m_copies, **m_kwargs)
            m_reloaded.load_state_dict(m_opt.state_dict())
            _step(t_opt, t_params, problem, True, closure)
            _step(m_reloaded, m_copies, problem, False, closure)
        except Exception as exc:   # noqa: BLE001
            return result(call_class(exc), f"state_dict round trip: {short(exc)}")
        for i, (t, m) in enumerate(zip(t_params, m_copies)):
            compare_arrays(t, host(m), tol, where=f"after state_dict round trip: param {i}")
    except Mismatch as mismatch:
        return result(mismatch.klass, mismatch.detail)
    return result(PASSED)


def compare_optimizer_state(t_opt, t_params, m_opt, m_params, tol):
    """Each parameter's state (momentum_buffer, step, ...) under PyTorch's names and values."""
    for i, (t, m) in enumerate(zip(t_params, m_params)):
        m_state = m_opt.state.get(m, {}) if hasattr(m_opt.state, "get") else {}
        for name, t_value in t_opt.state.get(t, {}).items():
            m_value = m_state.get(name)
            if t_value is None:
                continue
            if m_value is None:
                raise Mismatch("buffer", f"param {i}: no state '{name}' (PyTorch has one)")
            t_value = t_value if isinstance(t_value, torch.Tensor) else torch.tensor(t_value)
            m_array = host(m_value)
            if m_array.shape != tuple(t_value.shape):
                raise Mismatch("buffer", f"param {i}: state '{name}' shape {m_array.shape}, "
                                         f"expected {tuple(t_value.shape)}")
            try:
                compare_arrays(t_value.to(torch.float64) if t_value.is_floating_point() and
                               m_array.dtype == np.float64 else t_value, m_array, tol,
                               where=f"param {i}: state '{name}'")
            except Mismatch as mismatch:
                raise Mismatch("buffer", mismatch.detail)


def run_optimizer_error(target, error, index):
    from torch.testing._internal.common_optimizers import OptimizerErrorEnum
    info, cls = target.entry, target.microdl_cls
    optim_input = error.optimizer_error_input
    line = call_line(f"optim.{cls.__name__}", (optim_input.params,), optim_input.kwargs)
    result = lambda klass, detail="": Outcome(target.key, f"optim.{cls.__name__}", "float32",
                                              index, "error", klass, detail,
                                              f"{line} -> {detail}")
    on_step = error.error_on == OptimizerErrorEnum.STEP_ERROR
    try:
        m_params, m_kwargs = ToMicrodl()((optim_input.params, optim_input.kwargs))
    except Exception as exc:   # noqa: BLE001  (a value microdl cannot hold)
        return result(SKIPPED, f"not representable: {short(exc)}")
    t_params, t_kwargs = fresh_torch((optim_input.params, optim_input.kwargs))

    def run(cls_, params, kwargs):
        def call():
            optimizer = cls_(params, **kwargs)
            if on_step:
                optimizer.step()
        return call

    said = torch_raises(run(info.optim_cls, t_params, t_kwargs), error.error_type)
    if said is None:
        return result(SKIPPED, "PyTorch does not raise as its database says")
    return result(*raises_expected(run(cls, m_params, m_kwargs), error.error_type,
                                   error.error_regex, said))


class FunctionInputStandIn:
    """No forward call (a module error input raised on construction carries none)."""
    args, kwargs = (), {}


def run_target(target, max_samples=None):
    """Every Outcome of one target; at most ``max_samples`` samples per dtype and phase.

    NOTE: runs in a thread of its own. PyTorch's test helpers walk the caller's stack on every
    sample (``inspect.stack()`` to find a unittest case, ``traceback.format_stack()`` in each
    ``manual_seed``); under pytest's forty-odd frames that walk cost five times the checks.
    A fresh thread's stack is a few frames deep.
    """
    answer = {}

    def work():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # deprecation notes, once per sample
                if isinstance(target, names.OpTarget):
                    answer["outcomes"] = run_op(target, max_samples)
                elif target.key.startswith("module:"):
                    answer["outcomes"] = run_module(target, max_samples)
                else:
                    answer["outcomes"] = run_optimizer(target, max_samples)
        except BaseException as exc:   # noqa: BLE001  (re-raised in the caller's thread)
            answer["error"] = exc

    thread = threading.Thread(target=work, name=f"conformance {target.key}")
    thread.start()
    thread.join()
    if "error" in answer:
        raise answer["error"]
    return answer["outcomes"]
