"""Model utilities: PyTorch's ``nn.utils`` gradient clipping and parameter/vector conversions,
and microdl's own (not in PyTorch, so named apart from its API): ``count_parameters``,
``summary`` and folding BatchNorm into the layer before it."""

import copy
import math
from collections import Counter

import numpy as np

from .. import _device
from ..autograd import no_grad
from ..tensor import Tensor
from ..tensor_methods.shape import cat
from .activation import ReLU
from .batchnorm import _BatchNorm
from .container import Sequential
from .conv import Conv2d
from .linear import Identity, Linear
from .module import Parameter


def _foldable_layer_types():
    return (Linear, Conv2d)


def _fold_into(layer, bn):
    """W' = W * s (per output channel), b' = (b - running_mean) * s + beta,
    s = gamma / sqrt(running_var + eps); exact for an eval-mode BatchNorm."""
    w = layer.weight.array
    scale = 1.0 / np.sqrt(bn.running_var.astype(np.float64) + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight.array
    shift = -bn.running_mean.astype(np.float64) * scale
    if bn.bias is not None:
        shift = shift + bn.bias.array
    if layer.bias is not None:
        shift = shift + layer.bias.array.astype(np.float64) * scale
    shape = (-1,) + (1,) * (w.ndim - 1)
    # New parameters, not writes into the old ones: a weight tied to another layer stays as it is.
    bias = layer.weight if layer.bias is None else layer.bias  # a new bias follows the weight
    layer.weight = Parameter((w.astype(np.float64) * scale.reshape(shape)).astype(w.dtype),
                             requires_grad=layer.weight.requires_grad)
    layer.bias = Parameter(shift.astype(bias.dtype), requires_grad=bias.requires_grad)


def fold_batchnorm(model):
    """A deep copy of ``model`` where each eval-mode BatchNorm (with running statistics) that
    directly follows a Linear (or Conv2d) inside a Sequential is folded into that layer's
    weight and bias and replaced by Identity. The model itself is left unchanged.

    y = gamma * (W x + b - mean) / sqrt(var + eps) + beta = (s W) x + (s (b - mean) + beta).
    """
    folded, on_device = _host_copy(model)
    layer_types = _foldable_layer_types()
    uses = Counter(id(child) for module in folded.modules()
                   for child in module._modules.values())
    for module in folded.modules():
        if not isinstance(module, Sequential):
            continue
        names = list(module._modules)
        for before, name in zip(names, names[1:]):
            layer, bn = module._modules[before], module._modules[name]
            if (isinstance(layer, layer_types) and isinstance(bn, _BatchNorm)
                    and not bn.training and bn.running_mean is not None
                    and bn.num_features == layer.weight.shape[0]):
                if uses[id(layer)] > 1:  # used elsewhere too: fold into a copy of its own
                    layer = module._modules[before] = copy.deepcopy(layer)
                _fold_into(layer, bn)
                module._modules[name] = Identity()
    return folded.to(on_device) if on_device is not None else folded


def _host_copy(model):
    """(a deep copy of model with every array on the host, the device model's arrays were on
    or None). The folding arithmetic is numpy's; device arrays enter the copy as host copies
    (through deepcopy's memo), so the model itself is neither moved nor changed."""
    memo, on_device = {}, None
    for module in model.modules():
        arrays = [b for b in module._buffers.values() if b is not None]
        for p in module._parameters.values():
            if p is not None:
                arrays += [p.array] + ([p.grad.array] if p.grad is not None else [])
        for array in arrays:
            if _device.is_device_array(array):
                memo[id(array)] = _device.host_copy(array)
                on_device = _device.of(array)
    return copy.deepcopy(model, memo), on_device


# ---- PyTorch's nn.utils ----------------------------------------------------------------------
def _tensors(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _scale_(grad, factor):
    """grad *= factor, in place, in grad's dtype (a host or device array)."""
    if _device.is_device_array(grad.array):
        grad.mul_(float(factor))
    else:
        np.multiply(grad.array, grad.array.dtype.type(factor), out=grad.array)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Scale the gradients of ``parameters`` (a Tensor or an iterable) in place so that their
    total norm is at most ``max_norm``; returns the total norm (before clipping) as a 0-d
    Tensor, as PyTorch does.

        total = || (||g_1||_p, ..., ||g_k||_p) ||_p      (p = norm_type; inf: max |g|)
        g_i <- g_i * min(1, max_norm / (total + 1e-6))

    ``error_if_nonfinite``: RuntimeError when total is NaN or inf (else the gradients are
    scaled by it anyway). ``foreach`` is accepted and ignored (one implementation).
    """
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not (norm_type > 0 or norm_type == math.inf):
        raise NotImplementedError(f"clip_grad_norm_: norm_type={norm_type} is not supported "
                                  "(a positive number or inf)")
    if not grads:
        return Tensor(np.float32(0.0))
    dtype = np.result_type(*(g.dtype for g in grads))
    hosts = [_device.host(g.array).reshape(-1) for g in grads]
    if norm_type == math.inf:
        norms = np.array([np.abs(h).max() if h.size else 0 for h in hosts], dtype)
        total = norms.max()
    else:
        norms = np.array([np.linalg.norm(h, norm_type) if h.size else 0 for h in hosts], dtype)
        total = np.linalg.norm(norms, norm_type).astype(dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    coef = min(dtype.type(max_norm) / (total + dtype.type(1e-6)), dtype.type(1.0))
    with no_grad():
        for g in grads:
            _scale_(g, coef)
    return Tensor(np.asarray(total, dtype), device=grads[0].device)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient of ``parameters`` into [-clip_value, clip_value], in place (NaN
    stays NaN). Returns None, as PyTorch."""
    value = float(clip_value)
    for p in _tensors(parameters):
        if p.grad is None:
            continue
        array = p.grad.array
        if _device.is_device_array(array):
            _device.copy_into(array, np.clip(_device.host(array), -value, value))
        else:
            np.clip(array, -value, value, out=array)


def parameters_to_vector(parameters):
    """One 1-D tensor of every parameter's values, flattened and concatenated in order
    (differentiable, as PyTorch's)."""
    tensors = _tensors(parameters)
    devices = {str(p.device) for p in tensors}
    if len(devices) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
    return cat([p.reshape(-1) for p in tensors])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D tensor ``vec`` into ``parameters``, in order (the
    inverse of parameters_to_vector); values past the last parameter are ignored."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    values = _device.host(vec.array).reshape(-1)
    pointer = 0
    for p in _tensors(parameters):
        n = int(np.prod(p.shape, dtype=np.int64))
        chunk = values[pointer:pointer + n]
        if chunk.size != n:
            raise RuntimeError(f"shape '{list(p.shape)}' is invalid for input of size "
                               f"{chunk.size}")
        _device.copy_into(p.array, chunk.reshape(p.shape))
        pointer += n


# ---- microdl's own: parameter count and summary -----------------------------------------------
def count_parameters(model, trainable_only=False):
    """The number of parameter values of ``model`` (shared parameters counted once); with
    ``trainable_only`` only those that require grad."""
    return sum(int(np.prod(p.shape, dtype=np.int64)) for p in model.parameters()
               if p.requires_grad or not trainable_only)


def summary(model, input_size, dtype=np.float32, device="cpu"):
    """A table of ``model``'s leaf modules, in call order: name, type, output shape, parameter
    count; then the totals. ``input_size`` is the shape of one input batch, e.g. (1, 1, 28, 28).
    The model runs once on zeros in eval mode under no_grad (its state is left as it was).
    microdl's own helper: PyTorch has no summary (torchinfo's is similar)."""
    shapes = {}
    patched = []

    def recording(module, method):
        def run(*args, **kwargs):
            out = method(*args, **kwargs)
            shapes.setdefault(id(module), tuple(getattr(out, "shape", ())))
            return out
        return run

    leaves = [(name, m) for name, m in model.named_modules() if not m._modules]
    for _, module in leaves:
        for attr in ("forward", "forward_relu"):
            if hasattr(type(module), attr):
                module.__dict__[attr] = recording(module, getattr(module, attr))
                patched.append((module, attr))
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        with no_grad():
            model(Tensor(np.zeros(input_size, dtype), device=device))
    finally:
        for module, attr in patched:
            del module.__dict__[attr]
        for module, mode in modes:
            object.__setattr__(module, "training", mode)
    rows, previous = [], None
    for name, module in leaves:
        shape = shapes.get(id(module))
        if shape is None and isinstance(module, ReLU) and isinstance(previous, _BatchNorm):
            shape = shapes.get(id(previous))  # ran fused into the BatchNorm before it
        count = sum(int(np.prod(p.shape, dtype=np.int64)) for p in module.parameters())
        rows.append((name or type(model).__name__, type(module).__name__,
                     "-" if shape is None else str(list(shape)), f"{count:,}"))
        previous = module
    header = ("Layer", "Type", "Output shape", "Param #")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    line = "  ".join("{:<%d}" % w for w in widths[:3]) + "  {:>%d}" % widths[3]
    rule = "-" * (sum(widths) + 6)
    total, trainable = count_parameters(model), count_parameters(model, trainable_only=True)
    return "\n".join([rule, line.format(*header), rule] + [line.format(*r) for r in rows]
                     + [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                        f"Non-trainable params: {total - trainable:,}", rule])
