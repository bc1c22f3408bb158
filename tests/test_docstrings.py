"""Every public name of microdl has a docstring, so ``help()`` says what it computes.

The walk: the public names of the modules below (``__all__`` and every name without a leading
underscore) that microdl defines (functions, classes), and every public method and property of
each such class, ``microdl.Tensor`` and ``microdl.nn.Module`` included, down their microdl base
classes. Dunder methods are skipped, except ``__init__`` of a class without a docstring.

A method that overrides a documented method of a base class (``Linear.forward``,
``StepLR.get_lr``) counts as documented: ``help()`` shows the base's docstring for it, as
``inspect.getdoc`` does. An alias (``greater = gt``) is the same function, so one docstring
serves both; the ``microdl.X`` functions copy the docstring of the method ``Tensor.X``.
"""

import importlib
import inspect
import pydoc

import microdl

MODULES = ["microdl", "microdl.nn", "microdl.nn.functional", "microdl.optim",
           "microdl.optim.lr_scheduler", "microdl.nn.utils", "microdl.nn.init", "microdl.linalg",
           "microdl.cuda", "microdl.utils.data", "microdl.data"]


def _ours(obj):
    return (getattr(obj, "__module__", None) or "").startswith("microdl")


def _doc(value):
    value = getattr(value, "__func__", value)  # staticmethod, classmethod
    if isinstance(value, property):
        value = value.fget
    return (getattr(value, "__doc__", None) or "").strip()


def _is_method(value):
    value = getattr(value, "__func__", value)
    return isinstance(value, property) or inspect.isfunction(value)


def _inherited_doc(klass, name):
    """The docstring ``help()`` shows for an undocumented override: the nearest base's."""
    for base in klass.__mro__[1:]:
        if name in vars(base) and _doc(vars(base)[name]):
            return _doc(vars(base)[name])
    return ""


def undocumented():
    """The public names without a docstring, as "module.name" / "module.Class.method"."""
    missing, classes = set(), {microdl.Tensor: "microdl.Tensor",
                               microdl.nn.Module: "microdl.nn.Module"}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names = set(getattr(module, "__all__", ())) | {n for n in vars(module)
                                                       if not n.startswith("_")}
        for name in sorted(names):
            obj = getattr(module, name, None)
            if inspect.ismodule(obj) or not _ours(obj):
                continue
            if inspect.isclass(obj):
                classes.setdefault(obj, f"{module_name}.{name}")
            elif callable(obj) and not _doc(obj):
                missing.add(f"{module_name}.{name}")
    for cls, qualified in classes.items():
        class_documented = bool((cls.__dict__.get("__doc__") or "").strip())
        if not class_documented:
            missing.add(qualified)
        for klass in cls.__mro__:
            if not _ours(klass):
                continue
            for name, value in vars(klass).items():
                if name.startswith("_") and not (name == "__init__" and not class_documented):
                    continue
                if not _is_method(value) or _doc(value) or _inherited_doc(klass, name):
                    continue
                missing.add(f"{klass.__module__}.{klass.__qualname__}.{name}")
    return sorted(missing)


def test_every_public_name_has_a_docstring():
    missing = undocumented()
    assert not missing, (f"{len(missing)} public names have no docstring (say what it computes, "
                         f"its arguments and shapes; for an op, the math):\n  "
                         + "\n  ".join(missing))


def test_the_walk_finds_an_undocumented_method():
    class Probe(microdl.nn.Module):
        """A module with one undocumented method."""

        def probe(self):
            return None

    Probe.__module__ = "microdl.nn"
    microdl.nn.Probe = Probe
    try:
        assert any(name.endswith("Probe.probe") for name in undocumented())
    finally:
        del microdl.nn.Probe


def test_help_of_the_central_classes_reads_well():
    for cls in (microdl.Tensor, microdl.nn.Module, microdl.nn.BatchNorm2d):
        assert len(inspect.getdoc(cls).splitlines()) > 3, cls
    text = pydoc.render_doc(microdl.nn.BatchNorm2d, renderer=pydoc.plaintext)
    assert "Args:" in text and "(N, C, H, W)" in text and "running_mean" in text
    text = pydoc.render_doc(microdl.Tensor, renderer=pydoc.plaintext)
    for method in ("sqrt", "topk", "add_", "numpy"):
        documentation = text.split(f"\n |  {method}(", 1)[1].split("\n |  \n", 1)[0]
        assert len(documentation.splitlines()) > 1, method
