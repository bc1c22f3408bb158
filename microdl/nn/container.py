"""Sequential: children named "0", "1", ... (or the keys of an OrderedDict), called in order."""

from collections import OrderedDict

from .activation import ReLU
from .batchnorm import _BatchNorm
from .module import Module


class Sequential(Module):
    """y = m_n(... m_1(m_0(x))); its state_dict keys are "0.weight", "2.bias", ... as PyTorch's.

    A BatchNorm module followed by a ReLU module runs as ``F.batch_norm_relu`` (fused)."""

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
        # NOTE: a BatchNorm module directly followed by a ReLU module runs as one fused op
        # (same values and gradients; the BatchNorm output is never written): in a CNN step
        # that saves a read and a write of each activation, each way.
        pending = None  # a BatchNorm whose output nobody has asked for yet
        for module in self._modules.values():
            if pending is not None:
                if type(module) is ReLU:
                    input, pending = pending.forward_relu(input), None
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
        size = len(self._modules)
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of range")
        return list(self._modules.values())[index]

    def append(self, module):
        """Add module at the end, named by its position; returns self."""
        self._add(str(len(self._modules)), module)
        return self
