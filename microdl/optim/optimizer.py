"""Optimizer base: parameter groups with defaults, per-parameter state, state_dict."""

import copy
import warnings
from collections import defaultdict

import numpy as np

from .. import _device, backend
from ..autograd import enable_grad
from ..tensor import Tensor


class Optimizer:
    """Holds ``param_groups`` (dicts: 'params' plus the hyper-parameters, defaults filled in) and
    ``state`` (Parameter -> dict, e.g. SGD's momentum_buffer), as torch.optim.Optimizer does."""

    def __init__(self, params, defaults):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            # NOTE: a set's order changes between runs: the state_dict's parameter numbers, and
            # so a resumed checkpoint, would be attached to the wrong parameters
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        """Append a group: its 'params' plus any hyper-parameters that override the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        group["params"] = list(params)
        _split_names(group)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            # PyTorch only warns, and keeps the duplicate: step() then updates it twice
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error; "
                          "see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        for other in self.param_groups:
            if ("param_names" in group) != ("param_names" in other):
                kind = "with names" if "param_names" in group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {kind} to the optimizer")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        """Drop every gradient (or, with set_to_none=False, fill it with zeros)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    _device.fill_(p.grad.array, 0)  # a CUDA grad takes no [...] assignment

    def step(self, closure=None):
        """One update of every parameter from its .grad (each optimizer's rule); ``closure``: a
        function that recomputes and returns the loss, called with grad on, whose value step
        returns."""
        raise NotImplementedError(f"{type(self).__name__} does not define step()")

    @staticmethod
    def _evaluate(closure):
        """closure()'s loss, computed with gradients on (step() may run under no_grad), or
        None."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self):
        """(group, p) for every parameter p that has a gradient, group by group, as step()
        visits them; a group asking for another implementation (foreach=True, ...) is refused
        when reached."""
        for group in self.param_groups:
            refuse_other_implementations(type(self).__name__, group)
            for p in group["params"]:
                if p.grad is not None:
                    yield group, p

    def _init_state(self, param, names, initial=0):
        """Make param's state: the step count (a float32 scalar on the host, as in PyTorch)
        and, for each of ``names``, an array of param's shape, dtype and device filled with
        ``initial``."""
        state = self.state[param]
        state["step"] = np.zeros((), np.float32)
        dev = backend.of(param.array)
        for name in names:
            state[name] = dev.full(param.shape, initial, param.dtype)

    def _step_state(self, param, *names, initial=0):
        """The named arrays of param's state (None for a name given as None), made by
        _init_state on param's first step."""
        if not self.state[param]:
            self._init_state(param, [name for name in names if name is not None], initial)
        return self._state_arrays(param, *names)

    def _count_step(self, param):
        """One more step of param: state['step'] += 1; returns the new count."""
        state = self.state[param]
        state["step"] += 1
        return float(state["step"])

    def _state_arrays(self, param, *names):
        """The named arrays of param's state (None for a name given as None), each moved to
        param's device first when the model moved (model.to) since they were made: state
        follows its parameter, as in PyTorch."""
        state = self.state[param]
        for name in names:
            if name is not None and type(state[name]) is not type(param.array):
                state[name] = _device.move(state[name], _device.of(param.array))
        return [None if name is None else state[name] for name in names]

    def state_dict(self):
        """PyTorch's layout: {'state': {index: {name: value}}, 'param_groups': [{..., 'params':
        [index, ...]}]}, parameters numbered 0, 1, ... in group order. Arrays are copies."""
        index, groups, start = {}, [], 0
        for group in self.param_groups:
            # PyTorch's numbering, duplicates included: a group's parameters take the numbers
            # start, start + 1, ... (a repeated one its last), the next group's follow them
            index.update({id(p): i for i, p in enumerate(group["params"], start)
                          if id(p) not in index})
            start += len(group["params"])
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (_device.host_copy(v) if _is_array(v) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what state_dict() returned: state and hyper-parameters, matched by position.

        Floating arrays are cast to their parameter's dtype. Raises ValueError, changing
        nothing, when the groups or the state do not fit this optimizer's parameters.
        """
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise ValueError(f"optimizer state dict is missing the key(s) {missing}: expected "
                             "the dict returned by Optimizer.state_dict()")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} saved, {len(self.param_groups)} here)")
        params = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group (group {i}: "
                                 f"{len(saved['params'])} saved, {len(group['params'])} here)")
            params.update(zip((int(k) for k in saved["params"]), group["params"]))
        state = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if int(key) not in params:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no "
                                 "parameter group lists")
            p = params[int(key)]
            state[p] = {name: self._cast_state(p, key, name, value)
                        for name, value in saved_state.items()}
        self.state = state
        for saved, group in zip(saved_groups, self.param_groups):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})

    @staticmethod
    def _cast_state(param, key, name, value):
        if name == "step":
            # PyTorch's step count: a float32 scalar on the host, whatever the parameter's
            # device (older checkpoints hold a Python number)
            return np.array(_to_scalar(value), dtype=np.float32)
        if not isinstance(value, np.ndarray):
            return copy.deepcopy(value)
        if value.shape != param.shape:
            raise ValueError(f"loaded state dict has {name!r} of shape {value.shape} for "
                             f"parameter {key}, whose shape is {tuple(param.shape)}")
        dtype = param.dtype if np.issubdtype(value.dtype, np.floating) else value.dtype
        # state lives where its parameter lives (a CUDA parameter's momentum on the GPU)
        return _device.move(np.array(value, dtype=dtype, copy=True), param.device)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines + [")"])


def _split_names(group):
    """PyTorch's named parameters: (name, tensor) pairs become group['params'] and
    group['param_names'] (all of a group's parameters named, or none)."""
    names = [p[0] for p in group["params"] if isinstance(p, tuple)]
    group["params"] = [p[1] if isinstance(p, tuple) else p for p in group["params"]]
    if names:
        if len(names) != len(group["params"]):
            raise ValueError("all optimizer params should be with/without names. Some param "
                             "names are missing")
        group["param_names"] = names


# Switches between torch.optim's implementations (for-each, fused, capturable in CUDA graphs,
# differentiable through step). microdl has one: a fused kernel per parameter.
IMPLEMENTATION_FLAGS = {"foreach": None, "fused": None, "capturable": False,
                        "differentiable": False}


def refuse_other_implementations(optimizer_name, settings):
    """NotImplementedError naming the first of foreach / fused / capturable / differentiable
    in ``settings`` (constructor arguments or a param group) set to anything but None or
    False."""
    for name, default in IMPLEMENTATION_FLAGS.items():
        value = settings.get(name, default)
        if value is not None and value is not False:
            raise NotImplementedError(
                f"{optimizer_name}: {name}={value!r} is not supported: microdl has one "
                f"implementation, one fused kernel per parameter (leave {name} at {default})")


# torch.optim's words for a setting in "Invalid <words>: <value>"; any other is "<name> value"
_SETTING_WORDS = {"lr": "learning rate", "eps": "epsilon value"}


def require_nonnegative(**settings):
    """ValueError for the first of ``settings``, in the order given, that is not >= 0 (NaN
    included), worded as torch.optim words it ("Invalid learning rate: -1", "Invalid epsilon
    value: -1", "Invalid momentum value: -1"). lr may be a one-element Tensor."""
    for name, value in settings.items():
        if not 0.0 <= (lr_value(value) if name == "lr" else value):
            raise ValueError(f"Invalid {_SETTING_WORDS.get(name, name + ' value')}: {value}")


def lr_value(lr):
    """The number a learning rate holds: PyTorch takes a number or a one-element Tensor.
    (Each optimizer compares it as its PyTorch twin does: the TypeErrors of a None lr differ.)"""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    return _to_scalar(lr)


def _to_scalar(value):
    """A Python number from a number, a one-element Tensor or array (PyTorch takes a Tensor
    lr; a saved state_dict brings it back as an array)."""
    if type(value) is float or type(value) is int:  # the common case, one test
        return value
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, np.ndarray) or _device.is_device_array(value):
        return _device.host(value).reshape(-1)[0].item()
    return value


def _is_array(value):
    """A host or device array (optimizer state that state_dict copies to the host)."""
    return isinstance(value, np.ndarray) or _device.is_device_array(value)
