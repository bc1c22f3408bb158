"""Dropout and its variants: dropout, dropout1d/2d/3d (whole channels), alpha_dropout and
feature_alpha_dropout."""

import math
import warnings

import numpy as np

from .. import _device
from .. import random
from ..ops import elementwise as _ew
from ..tensor import Tensor
from ._common import _as_tensor, _in_place


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only;
    inplace=True writes the result into input)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    dtype = input.dtype if isinstance(input, Tensor) else np.asarray(input).dtype
    if dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating point input (got dtype {dtype})")
    if not training or p == 0.0:
        return input
    return _in_place(input, _ew.Dropout.apply(input, p=float(p), rng=random.default_generator()),
                     inplace)


# ---- dropout variants ----------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _on_device_of(input, array):
    """A host array as a constant Tensor on ``input``'s device, in input's dtype."""
    return Tensor._wrap(_device.move(array.astype(input.dtype), input.device))


def _keep_mask(input, p, per_channel):
    """True where a value (per_channel: a whole (n, c) channel) is kept, drawn on the host from
    microdl's generator whatever input's device (as ops.elementwise.Dropout draws)."""
    if input.ndim < 2 and per_channel:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = (tuple(input.shape[:2]) + (1,) * (input.ndim - 2)) if per_channel else input.shape
    return random.default_generator().random(shape, dtype=np.float64) >= p


def _feature_dropout(input, p, training):
    """y = x * m / (1 - p) with one m ~ Bernoulli(1 - p) per (n, c) channel (training)."""
    input = _as_tensor(input)
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return input * _on_device_of(input, np.zeros(()))
    scale = np.asarray(1.0 - p, input.dtype)
    mask = _keep_mask(input, p, True).astype(input.dtype) / scale
    return input * _on_device_of(input, mask)


def _unbatched_feature_dropout(input, p, training, batched_rank):
    input = _as_tensor(input)
    if input.ndim == batched_rank or not training or p == 0:
        return _feature_dropout(input, p, training)
    return _feature_dropout(input.unsqueeze(0), p, training).squeeze(0)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p, scale the rest by
    1 / (1 - p) (training only)."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    return _in_place(input, _unbatched_feature_dropout(input, p, training, 3), inplace)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input with probability p, scale the rest by
    1 / (1 - p) (training only); 3-D input is taken as (N, C, L), with PyTorch's warning."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead. Note "
                      "that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change in "
                      "a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout "
                      "behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _in_place(input, _feature_dropout(input, p, training), inplace)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability p, scale
    the rest by 1 / (1 - p) (training only)."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead. Note "
                      "that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", stacklevel=2)
    return _in_place(input, _unbatched_feature_dropout(input, p, training, 5), inplace)


# SELU's -scale * alpha: where alpha dropout sends the dropped values
_SELU_NEGATIVE_SATURATION = 1.7580993408473766


def _alpha_dropout(input, p, training, per_channel):
    """Training: y = a * x + a * s * p where kept, a * s * (p - 1) where dropped, with
    s = 1.7580993... and a = 1 / sqrt((s^2 p + 1)(1 - p)): SELU's mean and variance survive."""
    _check_p(p)
    input = _as_tensor(input)
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return input * _on_device_of(input, np.zeros(()))
    s = _SELU_NEGATIVE_SATURATION
    a = 1.0 / math.sqrt((s * s * p + 1) * (1 - p))
    keep = _keep_mask(input, p, per_channel).astype(input.dtype)
    # PyTorch's arithmetic, in input's dtype: b = (keep - 1) * (s a) + s a p; y = x * (keep a) + b
    s_a = np.asarray(s * a, input.dtype)
    shift = (keep - 1) * s_a + np.asarray(s * a * p, input.dtype)
    return input * _on_device_of(input, keep * np.asarray(a, input.dtype)) + \
        _on_device_of(input, shift)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped values go to SELU's negative saturation, and an
    affine map keeps mean and variance (training only; PyTorch's default training=False)."""
    return _in_place(input, _alpha_dropout(input, p, training, per_channel=False), inplace)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout of whole (n, c) channels."""
    return _in_place(input, _alpha_dropout(input, p, training, per_channel=True), inplace)
