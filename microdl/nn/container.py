"""Containers, as PyTorch's: Sequential (children named "0", "1", ... or the keys of an
OrderedDict, called in order), ModuleList (an indexable list of registered modules) and
ModuleDict (a dict of them)."""

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .activation import ReLU, Sigmoid
from .batchnorm import _BatchNorm
from .module import Module


def _absolute_index(index, size):
    """index (an int, negatives from the end) as a position, PyTorch's IndexError outside."""
    index = operator.index(index)
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of range")
    return index % size


class Sequential(Module):
    """y = m_n(... m_1(m_0(x))); its state_dict keys are "0.weight", "2.bias", ... as PyTorch's.

    Sequential(m0, m1, ...) or Sequential(OrderedDict(name=module, ...)). Indexing (ints and
    slices, a slice giving a Sequential), len, iteration, append, insert, extend, pop and del
    as in PyTorch (deleting renumbers the children "0", "1", ...).

    A BatchNorm module followed by a ReLU module runs as ``F.batch_norm_relu`` (fused), one
    followed by a Sigmoid module as ``F.batch_norm_sigmoid`` (one op)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self._add(name, module)
        else:
            for index, module in enumerate(modules):
                self._add(str(index), module)

    def _add(self, name, module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass (Sequential "
                            f"child {name})")
        self.add_module(name, module)

    def forward(self, input):
        """Each child applied in turn to the previous one's output; a BatchNorm child followed by
        a ReLU child runs as one fused batch_norm_relu, by a Sigmoid child as one
        batch_norm_sigmoid."""
        # NOTE: a BatchNorm module directly followed by a ReLU module runs as one fused op
        # (same values and gradients; the BatchNorm output is never written): in a CNN step
        # that saves a read and a write of each activation, each way.
        # Modules with hooks run as themselves (their __call__ runs the hooks).
        pending = None  # a BatchNorm whose output nobody has asked for yet
        for module in self._modules.values():
            if pending is not None:
                unhooked = pending._hooks is None and module._hooks is None
                if type(module) is ReLU and unhooked:
                    input, pending = pending.forward_relu(input), None
                    continue
                if type(module) is Sigmoid and unhooked:
                    input, pending = pending.forward_sigmoid(input), None
                    continue
                input, pending = pending(input), None
            if isinstance(module, _BatchNorm) and type(module).forward is _BatchNorm.forward:
                pending = module
            else:
                input = module(input)
        return input if pending is None else pending(input)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_absolute_index(index, len(self._modules))]

    def __setitem__(self, index, module):
        key = list(self._modules)[_absolute_index(index, len(self._modules))]
        self._add(key, module)

    def __delitem__(self, index):
        keys = list(self._modules)
        for key in (keys[index] if isinstance(index, slice)
                    else [keys[_absolute_index(index, len(keys))]]):
            del self._modules[key]
        # NOTE: PyTorch renumbers what is left, named or not, "to preserve numbering"
        modules = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def append(self, module):
        """Add module at the end, named by its position; returns self."""
        self._add(str(len(self._modules)), module)
        return self

    def insert(self, index, module):
        """Put module at position index (negatives from the end), shifting the rest up."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m
        return self

    def extend(self, sequential):
        """Append every module of an iterable of modules; returns self."""
        for layer in sequential:
            self.append(layer)
        return self

    def pop(self, key):
        """Remove and return the module at position key."""
        module = self[key]
        del self[key]
        return module


def _repr_runs(container):
    """PyTorch's ModuleList repr: consecutive children with equal reprs fold into one line,
    "(0-2): 3 x ReLU()"."""
    lines, runs = [], []
    for name, module in container._modules.items():
        text = repr(module)
        if runs and runs[-1][2] == text:
            runs[-1][1] = name
            runs[-1][3] += 1
        else:
            runs.append([name, name, text, 1])
    for first, last, text, count in runs:
        text = text.replace("\n", "\n  ")
        lines.append(f"({first}): {text}" if count == 1 else f"({first}-{last}): {count} x {text}")
    if not lines:
        return f"{type(container).__name__}()"
    return f"{type(container).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleList(Module):
    """A list of modules, registered as children "0", "1", ... so their parameters, buffers,
    train/eval and state_dict are the container's. Not callable itself: iterate over it in
    your own forward. Methods as Python's list and PyTorch's: indexing (an int, or a slice
    giving a ModuleList), assignment, del (renumbers), len, iteration, append, extend, insert,
    pop, ``+`` and ``+=``."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._modules[str(_absolute_index(index, len(self._modules)))]

    def __setitem__(self, index, module):
        self.add_module(str(_absolute_index(index, len(self._modules))), module)

    def __delitem__(self, index):
        if isinstance(index, slice):
            for k in range(len(self._modules))[index]:
                del self._modules[str(k)]
        else:
            del self._modules[str(_absolute_index(index, len(self._modules)))]
        modules = list(self._modules.values())
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def append(self, module):
        """Add module at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Append every module of an iterable; returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleList.extend should be called with an iterable, but got "
                            + type(modules).__name__)
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put module before position index, as list.insert."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"{type(m).__name__} is not a Module subclass")
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def pop(self, key):
        """Remove and return the module at key."""
        module = self[key]
        del self[key]
        return module

    def __repr__(self):
        return _repr_runs(self)


class ModuleDict(Module):
    """An ordered dict of modules, registered as children under their keys (strings with no
    "."), so their parameters and state_dict ("key.weight") are the container's. Not callable
    itself. Methods as Python's dict and PyTorch's: [key], assignment, del, in, len, iteration
    over keys, keys, items, values, update, pop, clear."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        """The keys, in insertion order (a view of the registry)."""
        return self._modules.keys()

    def items(self):
        """(key, module) pairs, in insertion order (a view of the registry)."""
        return self._modules.items()

    def values(self):
        """The modules, in insertion order (a view of the registry)."""
        return self._modules.values()

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def pop(self, key):
        """Remove key and return its module."""
        module = self[key]
        del self[key]
        return module

    def update(self, modules):
        """Add (or replace) from a mapping, a ModuleDict, or an iterable of (key, module)."""
        if not isinstance(modules, Iterable):
            raise TypeError("ModuleDict.update should be called with an iterable of key/value "
                            "pairs, but got " + type(modules).__name__)
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        for index, pair in enumerate(modules):
            if not isinstance(pair, Iterable):
                raise TypeError(f"ModuleDict update sequence element #{index} should be "
                                f"Iterable; is{type(pair).__name__}")
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{index} has length "
                                 f"{len(pair)}; 2 is required")
            self[pair[0]] = pair[1]
