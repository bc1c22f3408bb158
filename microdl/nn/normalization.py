"""LayerNorm, GroupNorm and InstanceNorm1d/2d, as PyTorch's ``nn/modules/normalization.py`` and
``instancenorm.py`` define them: statistics per sample (never across the batch), so training and
eval compute the same thing and there are no running statistics.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias      (Var biased)

LayerNorm takes E and Var over the last dims (``normalized_shape``), with an elementwise affine;
GroupNorm over each group of channels (and all their positions), with a per-channel affine;
InstanceNorm over each channel's positions.
"""

import warnings

import numpy as np

from .. import _device
from .. import functional as F
from .module import Module, Parameter


def _affine_parameters(module, shape, dtype, affine, bias, device):
    """LayerNorm's and GroupNorm's learned weight (ones) and bias (zeros) of ``shape``, or None
    parameters (PyTorch registers them as None), then the module on ``device``."""
    module.register_parameter("weight", Parameter(np.ones(shape, dtype)) if affine else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, dtype))
                              if affine and bias else None)
    module.reset_parameters()
    if device is not None:
        module.to(device)


def _reset_affine(module):
    if module.weight is not None:
        _device.fill_(module.weight.array, 1)
    if module.bias is not None:
        _device.fill_(module.bias.array, 0)


class LayerNorm(Module):
    """Layer Normalization (Ba et al., 2016): for each index of the leading dims, over the
    last len(normalized_shape) dims,

        y = (x - mean) / sqrt(var + eps) * weight + bias

    mean and var (biased) taken over those dims; weight (ones) and bias (zeros) have shape
    normalized_shape. Args: normalized_shape (int or tuple), eps (1e-5), elementwise_affine
    (learn weight and bias, True), bias (learn bias too, True), device, dtype (float32).
    Gradients per row (m values, xhat = (x - mean) / sqrt(var + eps), gw = dy * weight):
    dx = (gw - mean(gw) - xhat * mean(gw * xhat)) / sqrt(var + eps); dweight = sum dy * xhat,
    dbias = sum dy over the leading dims.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, self.normalized_shape, dtype, elementwise_affine, bias, device)

    def reset_parameters(self):
        """weight = 1 and bias = 0 (when elementwise_affine), in place."""
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group Normalization (Wu & He, 2018): the C channels of an (N, C, *) input in num_groups
    groups of C / num_groups; per sample and group, over its channels and positions,

        y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c]

    (var biased). Args: num_groups (must divide num_channels), num_channels, eps (1e-5), affine
    (learn per-channel weight, ones, and bias, zeros; True), device, dtype (float32), bias
    (keyword only, learn bias too, True). Gradients as LayerNorm's, per (sample, group) row;
    dweight and dbias sum over samples and positions.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None,
                 *, bias=True):
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, (num_channels,), dtype, affine, bias, device)

    def reset_parameters(self):
        """weight = 1 and bias = 0 (when affine), in place."""
        _reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class _InstanceNorm(Module):
    """Instance Normalization (Ulyanov et al., 2016): per sample and channel, over the
    channel's positions, y = (x - mean) / sqrt(var + eps) (var biased). microdl supports
    affine=False and track_running_stats=False (PyTorch's defaults) only: the others raise
    NotImplementedError. Gradients as GroupNorm's with one channel per group."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__()
        for name, value in (("affine", affine), ("track_running_stats", track_running_stats)):
            if value:
                raise NotImplementedError(f"{type(self).__name__}: {name}=True is not supported "
                                          f"by microdl (only {name}=False)")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    def forward(self, input):
        F._check_input_tensor(input, "instance_norm", arrays_ok=False)
        unbatched = self._NO_BATCH_DIM
        if input.ndim not in (unbatched, unbatched + 1):
            raise ValueError(f"expected {unbatched}D or {unbatched + 1}D input (got "
                             f"{input.ndim}D input)")
        feature_dim = input.ndim - unbatched
        if input.shape[feature_dim] != self.num_features:
            warnings.warn(f"input's size at dim={feature_dim} does not match num_features. You "
                          "can silence this warning by not passing in num_features, which is "
                          "not used because affine=False", stacklevel=2)
        if input.ndim == unbatched:
            return F._instance_norm(input.reshape(1, *input.shape), self.eps).reshape(
                *input.shape)
        return F._instance_norm(input, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    __doc__ = _InstanceNorm.__doc__ + "\n    Input (N, C, L) or (C, L).\n"
    _NO_BATCH_DIM = 2


class InstanceNorm2d(_InstanceNorm):
    __doc__ = _InstanceNorm.__doc__ + "\n    Input (N, C, H, W) or (C, H, W).\n"
    _NO_BATCH_DIM = 3
