"""PyTorch's test databases and the map from their entries to microdl's callables.

An OpInfo entry is covered when microdl has any spelling of its name or of one of its aliases:
``microdl.<name>`` (dotted names such as ``linalg.norm`` walk attributes), ``microdl.nn.functional``
/ ``microdl.functional`` for ``nn.functional.<name>``, the Tensor method ``<name>`` (and the
in-place ``<name>_`` where PyTorch has one), and the Python operator (``operator.add`` needs
``Tensor.__add__``). Each spelling found is a Variant, run against PyTorch's matching spelling.
A ModuleInfo entry is covered by ``microdl.nn.<ClassName>``, an OptimizerInfo entry by
``microdl.optim.<ClassName>``. Everything is looked up when the suite runs, never listed here,
so an op added to microdl tomorrow is tested tomorrow.
"""

import importlib
from dataclasses import dataclass, field

import numpy as np

import microdl

# dtypes the suite runs, as PyTorch names them; an entry runs the ones it supports
DTYPE_NAMES = ("float32", "float64", "int64", "int32", "bool")
GRAD_DTYPE_NAME = "float64"


def load_databases():
    """(op_db, module_db, optim_db) from PyTorch's test package; ImportError without torch.

    Importing ``common_utils`` loads Hypothesis's "dev" profile (10 examples a test) for the
    whole process; the profile in force before is put back, so other suites keep theirs.
    """
    try:
        import hypothesis
        profile = hypothesis.settings._current_profile
    except (ImportError, AttributeError):
        hypothesis = profile = None
    from torch.testing._internal.common_methods_invocations import op_db
    from torch.testing._internal.common_modules import module_db
    from torch.testing._internal.common_optimizers import optim_db
    if profile is not None:
        hypothesis.settings.load_profile(profile)
    return op_db, module_db, optim_db


@dataclass
class Variant:
    """One spelling of an entry: microdl's callable and PyTorch's of the SAME spelling (an
    OpInfo's own ``op`` may be a lambda that reorders the sample, as ``where``'s does), both
    called ``f(input, *args, **kwargs)`` on the same sample."""
    kind: str          # "function", "method", "inplace" or "operator"
    label: str         # how a reproducer spells the call: "microdl.sum", "Tensor.add_", ...
    microdl_fn: object
    torch_fn: object


@dataclass
class OpTarget:
    key: str           # "max.reduction_no_dim": name, then PyTorch's variant_test_name if any
    entry: object      # the OpInfo
    variants: list = field(default_factory=list)


@dataclass
class ClassTarget:
    key: str           # "module:BatchNorm2d", "optim:SGD"
    entry: object      # the ModuleInfo / OptimizerInfo
    microdl_cls: type


def _attribute_path(root, dotted):
    for part in dotted.split("."):
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def _is_op(obj):
    """A callable op, not a dtype (``microdl.float``), a module or a class (``microdl.Tensor``)."""
    return callable(obj) and not isinstance(obj, (type, np.dtype)) and not hasattr(obj, "__path__")


def _functional_modules():
    found = [microdl.functional]
    try:
        found.insert(0, importlib.import_module("microdl.nn.functional"))
    except ImportError:
        pass
    return found


def _method(name):
    def call(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    call.__name__ = name
    return call


def _torch_function(name):
    """PyTorch's function of the same spelling (``torch.sum``, ``torch.nn.functional.relu``)."""
    import torch
    if name.startswith("nn.functional."):
        return getattr(torch.nn.functional, name[len("nn.functional."):], None)
    return _attribute_path(torch, name)


def _function_variant(name, op):
    if name.startswith("nn.functional."):
        short = name[len("nn.functional."):]
        label, candidates = f"F.{short}", [getattr(m, short, None) for m in _functional_modules()]
    elif name.startswith("_"):
        return None
    else:
        label, candidates = f"microdl.{name}", [_attribute_path(microdl, name)]
    for fn in candidates:
        if _is_op(fn):
            return Variant("function", label, fn, _torch_function(name) or op.op)
    return None


def _method_variants(name, op):
    import torch
    variants = []
    if "." in name:
        return variants
    # NOTE: a name ending in "_" (zero_) is itself in place: it never runs with gradients
    kind = "inplace" if name.endswith("_") and not name.endswith("__") else "method"
    if callable(getattr(microdl.Tensor, name, None)):
        torch_fn = _method(name) if callable(getattr(torch.Tensor, name, None)) else \
            (op.method_variant or op.op)
        variants.append(Variant(kind, f"Tensor.{name}", _method(name), torch_fn))
    inplace = name + "_"
    if kind == "method" and not name.startswith("_") and op.inplace_variant is not None and \
            callable(getattr(microdl.Tensor, inplace, None)):
        variants.append(Variant("inplace", f"Tensor.{inplace}", _method(inplace),
                                _method(inplace)))
    return variants


def _operator_variant(op):
    fn = op.operator_variant
    if fn is None:
        return None
    dunder = f"__{fn.__name__.rstrip('_')}__"   # operator.and_ -> __and__, abs -> __abs__
    if not callable(getattr(microdl.Tensor, dunder, None)):
        return None
    return Variant("operator", f"operator.{fn.__name__}", fn, fn)


def op_key(op):
    return op.name + (f".{op.variant_test_name}" if op.variant_test_name else "")


def resolve_op(op):
    """The OpTarget of an OpInfo with every microdl spelling of it, or None if microdl has none."""
    names = [op.name] + [alias.name for alias in op.aliases]
    variants, seen = [], set()
    for name in names:
        found = [_function_variant(name, op)] + _method_variants(name, op)
        for variant in found:
            if variant is not None and variant.label not in seen:
                seen.add(variant.label)
                variants.append(variant)
    if variants:
        # NOTE: the operator spelling only when the name itself is covered: operator.add
        # alone would count every entry whose Python operator Tensor happens to define
        operator = _operator_variant(op)
        if operator is not None and operator.label not in seen:
            variants.append(operator)
    return OpTarget(op_key(op), op, variants) if variants else None


def resolve_class(entry, namespace, base, prefix, torch_cls):
    cls = getattr(namespace, torch_cls.__name__, None)
    if isinstance(cls, type) and issubclass(cls, base):
        return ClassTarget(f"{prefix}:{torch_cls.__name__}", entry, cls)
    return None


def targets(databases=None):
    """(op targets, module targets, optimizer targets, totals) for the current microdl."""
    op_db, module_db, optim_db = databases or load_databases()
    ops = [t for t in map(resolve_op, op_db) if t is not None]
    modules = [t for t in (resolve_class(m, microdl.nn, microdl.nn.Module, "module",
                                         m.module_cls) for m in module_db) if t is not None]
    optims = [t for t in (resolve_class(o, microdl.optim, microdl.optim.Optimizer, "optim",
                                        o.optim_cls) for o in optim_db) if t is not None]
    totals = {
        "op entries": (len(ops), len(op_db)),
        "op names": (len({t.entry.name for t in ops}), len({op.name for op in op_db})),
        "modules": (len(modules), len(module_db)),
        "optimizers": (len(optims), len(optim_db)),
    }
    return ops, modules, optims, totals


def torch_dtype(name):
    import torch
    return getattr(torch, name)


def entry_dtypes(op):
    """The suite's dtypes that the OpInfo supports on the cpu, as torch dtypes."""
    supported = op.supported_dtypes("cpu")
    return [torch_dtype(n) for n in DTYPE_NAMES if torch_dtype(n) in supported]


def entry_grad_dtype(op):
    """float64 when the entry supports autograd in it, else None."""
    dtype = torch_dtype(GRAD_DTYPE_NAME)
    if op.supports_autograd and dtype in op.supported_backward_dtypes("cpu"):
        return dtype
    return None
