"""Module and Parameter, with PyTorch's behaviour.

A Module owns parameters (trained, in ``named_parameters``), buffers (state that is saved but not
trained, like BatchNorm's running statistics; a buffer may be None) and child modules; all three
are found by attribute assignment. ``state_dict`` flattens them into dotted names
("0.weight", "1.running_mean") holding numpy arrays; ``train``/``eval`` set ``training``
recursively.
"""

import itertools
import weakref
from collections import OrderedDict, namedtuple

import numpy as np

from .. import _device
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that a Module registers as trainable; requires grad by default. Made from a
    tensor, it shares that tensor's storage (PyTorch's rule); from an array or list, a copy."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, np.float32)  # PyTorch: an empty float tensor
        if isinstance(data, Tensor) and (_device.is_device_array(data.array) or
                                         data.array.flags["C_CONTIGUOUS"]):
            # the tensor's storage itself, as torch.nn.Parameter shares it (a write through
            # either shows in the other); kernels update parameters through flat C-order views,
            # so a strided array is copied below instead
            self.array, self.grad, self._node, self.requires_grad = data.array, None, None, False
            self.requires_grad_(requires_grad)
            return
        array = data.array if isinstance(data, Tensor) else np.asarray(data)
        super().__init__(array, requires_grad=requires_grad, dtype=array.dtype,
                         device=_device.of(array))

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """What a Module's ``register_*_hook`` returns: ``remove()`` (or leaving its ``with``
    block) takes the hook out."""

    _ids = itertools.count()

    def __init__(self, module, kind):
        self.id = next(RemovableHandle._ids)
        self._module, self._kind = weakref.ref(module), kind

    def remove(self):
        module = self._module()
        if module is not None:
            module._remove_hook(self._kind, self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model, as PyTorch's ``nn.Module``.

    Subclass it, call ``super().__init__()`` first, assign Parameters, sub-Modules and (with
    ``register_buffer``) buffers as attributes, and define ``forward``; calling the module
    runs ``forward``. Assignment order is registration order, which names the entries of
    ``state_dict`` ("features.0.weight", "bn.running_mean"); ``parameters()`` feeds an
    optimizer, ``train()``/``eval()`` set ``training`` on every submodule (BatchNorm and
    Dropout read it), ``to(device, dtype)`` moves and casts in place, ``apply(fn)`` calls fn on
    every submodule then on self. Buffers are raw arrays (numpy, or device arrays on "cuda"),
    not Tensors.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration -------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign attributes before Module.__init__() call")
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            self._buffers.pop(name, None)
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self._modules[name] = value
        elif name in self._parameters:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            self._parameters[name] = None
        elif name in self._buffers:
            self._buffers[name] = value
        elif name in self._modules and value is None:
            self._modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one) under ``name``, as
        assigning ``self.name = param`` does."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} object to parameter "
                            f"'{name}' (nn.Parameter or None required)")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """A buffer: moved with the module, not trained, saved in state_dict unless
        ``persistent=False``; may be None. A Tensor is stored as its array (microdl's buffers
        are arrays); PyTorch's errors for a bad name or value."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"buffer name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError('buffer name can\'t contain "."')
        if name == "":
            raise KeyError('buffer name can\'t be empty string ""')
        if name not in self._buffers and (name in self.__dict__ or name in self._parameters
                                          or name in self._modules):
            raise KeyError(f"attribute '{name}' already exists")
        if isinstance(tensor, Tensor):
            tensor = tensor.array
        elif tensor is not None and not isinstance(tensor, np.ndarray) \
                and not _device.is_device_array(tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor
        non_persistent = self._non_persistent()
        if persistent:
            non_persistent.discard(name)
        else:
            non_persistent.add(name)

    def _non_persistent(self):
        # modules pickled or copied before the set existed get an empty one
        return self.__dict__.setdefault("_non_persistent_buffers_set", set())

    def add_module(self, name, module):
        """Register ``module`` (a Module, or None) as the child ``name`` (a non-empty string
        without "."), as assigning ``self.name = module`` does. Alias: register_module."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        self._modules[name] = module

    register_module = add_module

    def apply(self, fn):
        """Call fn(module) on every submodule (children first, recursively), then on self;
        returns self (e.g. ``model.apply(init_weights)``)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- calling ------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The module's computation, defined by each subclass (the class docstring gives its math
        and shapes); call the module, ``module(x)``, rather than forward."""
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required "
                                  "\"forward\" function")

    _hooks = None  # {"pre": {id: (hook, with_kwargs)}, "post": {id: (hook, with_kwargs,
    #                 always_call)}} once a forward hook is registered: without, a call costs
    #                 one attribute test

    def __call__(self, *args, **kwargs):
        if self._hooks is None:
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        """forward between its hooks, as PyTorch's ``Module._call_impl``: a pre-hook may replace
        the arguments, a forward hook the output (a value it returns that is not None)."""
        hooks = self._hooks
        for hook, with_kwargs in list(hooks["pre"].values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        try:
            output = self.forward(*args, **kwargs)
        except Exception:
            for hook, with_kwargs, always_call in list(hooks["post"].values()):
                if always_call:
                    try:  # PyTorch: an always_call hook's own error is only warned about
                        hook(self, args, kwargs, None) if with_kwargs else hook(self, args, None)
                    except Exception:
                        pass
            raise
        for hook, with_kwargs, _ in list(hooks["post"].values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args,
                                                                                output)
            if result is not None:
                output = result
        return output

    def _add_hook(self, kind, entry, prepend):
        if self._hooks is None:
            object.__setattr__(self, "_hooks", {"pre": OrderedDict(), "post": OrderedDict()})
        handle = RemovableHandle(self, kind)
        self._hooks[kind][handle.id] = entry
        if prepend:
            self._hooks[kind].move_to_end(handle.id, last=False)
        return handle

    def _remove_hook(self, kind, hook_id):
        hooks = self._hooks
        if hooks is not None:
            hooks[kind].pop(hook_id, None)
            if not hooks["pre"] and not hooks["post"]:
                object.__setattr__(self, "_hooks", None)  # back to the hook-free call

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (``hook(module, args, kwargs)`` with ``with_kwargs``) runs
        before each forward; a value it returns replaces the arguments (a non-tuple is
        wrapped; with kwargs, a tuple ``(args, kwargs)``). Returns a handle (``remove()``)."""
        return self._add_hook("pre", (hook, bool(with_kwargs)), prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) runs after each forward; a value it returns replaces the output. With
        ``always_call`` it also runs (output None) when forward raises. Returns a handle."""
        return self._add_hook("post", (hook, bool(with_kwargs), bool(always_call)), prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Not supported: NotImplementedError (microdl's tape has no module-boundary nodes); use
        Tensor.register_hook on the inputs or outputs."""
        raise NotImplementedError("microdl: Module.register_full_backward_hook is not supported "
                                  "(the tape has no module-boundary nodes); use "
                                  "Tensor.register_hook on the inputs or outputs")

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Not supported: NotImplementedError; use Tensor.register_hook on the outputs."""
        raise NotImplementedError("microdl: Module.register_full_backward_pre_hook is not "
                                  "supported; use Tensor.register_hook on the outputs")

    def register_backward_hook(self, hook):
        """Not supported: NotImplementedError; use Tensor.register_hook on the inputs or outputs."""
        raise NotImplementedError("microdl: Module.register_backward_hook is not supported; use "
                                  "Tensor.register_hook on the inputs or outputs")

    # ---- traversal ----------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self ("" or prefix) and every submodule, depth first in
        registration order; a module reached twice is listed once unless remove_duplicate is
        False."""
        stack = [(prefix, self)]
        seen = set() if memo is None else memo
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if (module if memo is not None else id(module)) in seen:
                    continue
                seen.add(module if memo is not None else id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items()
                        if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        """Every module of the tree: self first, then the submodules depth first in registration
        order, each once."""
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) of each direct child, in registration order (None entries skipped)."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        """The direct child modules, in registration order."""
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs; a shared parameter once unless remove_duplicate is
        False; only self's own with recurse=False."""
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if param is None or (remove_duplicate and id(param) in seen):
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse=True):
        """The Parameters of self and (``recurse``) of every submodule, each once: what an
        optimizer takes."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, array) pairs of the buffers that are not None (persistent or not)."""
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, buf in module._buffers.items():
                if buf is None or (remove_duplicate and id(buf) in seen):
                    continue
                seen.add(id(buf))
                yield (f"{module_name}.{name}" if module_name else name), buf

    def buffers(self, recurse=True):
        """The buffers of self and (``recurse``) of every submodule, None ones skipped; raw
        arrays (numpy, or device arrays on cuda), not Tensors as in PyTorch."""
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    # ---- modes --------------------------------------------------------------------------------
    def train(self, mode=True):
        """Set ``training = mode`` on self and every submodule (BatchNorm and Dropout read it);
        returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self):
        """train(False): BatchNorm normalizes with its running statistics, Dropout passes its
        input through; returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set requires_grad on every parameter (freeze with False); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: ``.grad = None`` (``set_to_none``, the default),
        else zeros written into the existing ``.grad``."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                _device.fill_(p.grad.array, 0)  # a CUDA grad takes no [...] assignment

    def to(self, device=None, dtype=None):
        """Move ("cpu", "cuda") and/or cast every floating parameter and buffer, in place:
        parameters keep their identity, so an optimizer made before still holds them.

        NOTE: integer buffers (BatchNorm's num_batches_tracked) stay on the host, where the
        module reads them every step; on the device each read would wait for the GPU.
        """
        target = None if device is None else _device.parse(device)
        for module in self.modules():
            for name, p in module._parameters.items():
                if p is None:
                    continue
                if dtype is not None and np.issubdtype(p.dtype, np.floating):
                    p.array = _device.astype(p.array, dtype)
                    p.grad = None
                if target is not None:
                    p.array = _device.move(p.array, target)
                    if p.grad is not None:
                        p.grad.array = _device.move(p.grad.array, target)
            for name, b in module._buffers.items():
                if b is None or not np.issubdtype(b.dtype, np.floating):
                    continue
                if dtype is not None:
                    b = _device.astype(b, dtype)
                module._buffers[name] = b if target is None else _device.move(b, target)
        return self

    def float(self):
        """to(dtype=float32): every floating parameter and buffer cast in place (a cast
        parameter's .grad is dropped); returns self."""
        return self.to(dtype=np.float32)

    def half(self):
        """to(dtype=float16): every floating parameter and buffer cast in place; returns self."""
        return self.to(dtype=np.float16)

    def cpu(self):
        """to("cpu"): every parameter and floating buffer moved to the host, in place; returns
        self."""
        return self.to("cpu")

    def cuda(self, device=None):
        """to(device or "cuda"): every parameter and floating buffer moved to the GPU, in place;
        returns self."""
        return self.to("cuda" if device is None else device)

    def type(self, dst_type):
        """Every parameter and buffer cast to ``dst_type``, integer ones too (PyTorch's
        ``Module.type``, unlike ``to(dtype)``); in place, returns self."""
        dst_type = np.dtype(dst_type)
        for module in self.modules():
            for p in module._parameters.values():
                if p is not None and p.dtype != dst_type:
                    p.array, p.grad = _device.astype(p.array, dst_type), None
            for name, b in module._buffers.items():
                if b is not None and b.dtype != dst_type:
                    module._buffers[name] = _device.astype(b, dst_type)
        return self

    def share_memory(self):
        """A no-op: microdl has no inter-process shared storage (its arrays stay where they
        are); returns self."""
        return self

    # ---- lookup by dotted name ------------------------------------------------------------------
    def get_submodule(self, target):
        """The submodule at dotted path ``target`` ("" is self); PyTorch's AttributeErrors."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return module

    def get_parameter(self, target):
        """The Parameter at dotted path ``target`` ("layer.0.weight")."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, name):
            raise AttributeError(f"{type(module).__name__} has no attribute `{name}`")
        param = getattr(module, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def double(self):
        """to(dtype=float64): every floating parameter and buffer cast in place (a cast
        parameter's .grad is dropped); returns self."""
        return self.to(dtype=np.float64)

    # ---- state ----------------------------------------------------------------------------------
    def state_dict(self):
        """Dotted names -> numpy arrays (copies), parameters then buffers, module by module."""
        state = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[prefix + name] = _device.host_copy(param.array)
            skip = module.__dict__.get("_non_persistent_buffers_set", ())
            for name, buf in module._buffers.items():
                if buf is not None and name not in skip:
                    state[prefix + name] = _device.host_copy(buf)
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy arrays into parameters and buffers by dotted name.

        Shapes must match exactly, values must be numbers, and with ``strict`` the keys must
        match too. Returns ``IncompatibleKeys(missing_keys, unexpected_keys)`` like PyTorch.
        Nothing is changed if any check fails.
        """
        targets = {}
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    targets[prefix + name] = (module, name, True)
            skip = module.__dict__.get("_non_persistent_buffers_set", ())
            for name, buf in module._buffers.items():
                if buf is not None and name not in skip:
                    targets[prefix + name] = (module, name, False)
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{k}"' for k in unexpected) + ".")
        arrays = {}
        for key, (module, name, is_param) in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = np.asarray(value.array if isinstance(value, Tensor) else value)
            current = module._parameters[name].array if is_param else module._buffers[name]
            if value.shape != current.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{value.shape} from checkpoint, the shape in current model is "
                              f"{current.shape}.")
            elif value.dtype.kind not in "biuf":
                errors.append(f"dtype mismatch for {key}: cannot copy an array of dtype "
                              f"{value.dtype} into one of dtype {current.dtype}.")
            arrays[key] = value
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for key, value in arrays.items():
            module, name, is_param = targets[key]
            if is_param:
                _device.copy_into(module._parameters[name].array, value)
            else:
                buf = module._buffers[name]
                module._buffers[name] = _device.move(value.astype(buf.dtype, copy=True),
                                                     _device.of(buf))
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside the parentheses of this module's repr (its arguments, as PyTorch
        prints them); empty unless a subclass overrides it."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join(([extra] if extra else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"
