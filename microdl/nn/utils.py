"""Model utilities beyond PyTorch's modules: folding BatchNorm into the layer before it."""

import copy
from collections import Counter

import numpy as np

from .. import _device
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
