"""Normalization: batch_norm (and microdl's fused batch_norm_relu and batch_norm_sigmoid),
layer_norm, group_norm, the instance norm helper of nn.InstanceNorm, and normalize (vector
norms)."""

import math

import numpy as np

from .. import _device
from ..ops import loss as _loss
from ..ops import normalization as _norm
from ..tensor import Tensor
from ._common import _check_input_tensor, _type_name


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Per channel (axis 1): y = (x - mean) / sqrt(var + eps) * weight + bias.

    Training uses the batch's mean and biased variance and, when running_mean/running_var are
    given, updates them in place: r = (1 - momentum) * r + momentum * stat (var unbiased there).
    Otherwise the running statistics are used.
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       relu=False)


def batch_norm_relu(input, running_mean, running_var, weight=None, bias=None, training=False,
                    momentum=0.1, eps=1e-5):
    """relu(batch_norm(...)) with the same arguments, fused (microdl's own; not in PyTorch):
    the BatchNorm output is never written, so the pair reads and writes its activation once
    each way. nn.Sequential runs a BatchNorm module followed by a ReLU module this way."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       relu=True)


def batch_norm_sigmoid(input, running_mean, running_var, weight=None, bias=None, training=False,
                       momentum=0.1, eps=1e-5):
    """sigmoid(batch_norm(...)) with the same arguments, as one op (microdl's own; not in
    PyTorch): one tape node where the pair makes two. nn.Sequential runs a BatchNorm module
    followed by a Sigmoid module this way."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       relu=False, sigmoid=True)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, relu,
                sigmoid=False):
    if momentum is None:
        raise TypeError("batch_norm: momentum must be a number; for a cumulative average pass "
                        "1 / num_batches_tracked, as nn.BatchNorm does with momentum=None")
    if training and not eps > 0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if not eps >= 0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    x = input.array if isinstance(input, Tensor) else np.asarray(input)
    if x.size == 0:
        return _empty_batch_norm(input, weight, bias)  # (relu and sigmoid of nothing: nothing)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input with at least 2 dimensions (N, C, ...) "
                         f"(got {x.ndim}D input)")
    if x.dtype.kind != "f":
        raise TypeError(f"batch_norm: expected a floating point input (got dtype {x.dtype})")
    channels = x.shape[1]
    if isinstance(running_mean, Tensor):
        running_mean = running_mean.array
    if isinstance(running_var, Tensor):
        running_var = running_var.array
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        count = None if value is None else math.prod(value.shape)
        if count is not None and count != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {count}")
    if _device.is_device_array(x) or _device.is_device_array(running_mean) or \
            _device.is_device_array(running_var):
        # the running statistics reach the op as hyper-parameters, which Function.apply's
        # device check never sees (a False is_device_array is all the CPU path pays)
        for value in (running_mean, running_var):
            if value is not None and _device.is_device_array(value) != \
                    _device.is_device_array(x):
                raise RuntimeError(_device.SAME_DEVICE)
    if training:
        if x.size == channels:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {list(x.shape)}")
    elif running_mean is None or running_var is None:
        raise RuntimeError("batch_norm: running_mean and running_var must be defined in "
                           "evaluation mode")
    # NOTE: the promotion rule (README): float64 weight and bias make the output float64; the
    # kernels take a float64 input with float32 parameters and buffers, not the other way.
    # (np.result_type only when a parameter's dtype differs: it cost ~3 us a call)
    if any(v is not None and v.dtype != x.dtype for v in (weight, bias)):
        wide = np.result_type(x.dtype, *(v.dtype for v in (weight, bias) if v is not None))
    else:
        wide = x.dtype
    if wide != x.dtype:
        input = input.to(dtype=wide) if isinstance(input, Tensor) else x.astype(wide)
    return _norm.BatchNorm.apply(input, weight, bias, running_mean=running_mean,
                                 running_var=running_var, training=bool(training),
                                 momentum=momentum, eps=eps, relu=relu, sigmoid=sigmoid)


def _empty_batch_norm(input, weight, bias):
    """PyTorch's answer for an input with no values (an empty batch): input * weight[0] +
    bias[0], empty; the running statistics stay as they are, weight and bias get zero
    gradients. (relu of it is itself.)"""
    out = input if isinstance(input, Tensor) else Tensor._wrap(np.asarray(input))
    for value, combine in ((weight, lambda a, b: a * b), (bias, lambda a, b: a + b)):
        if value is not None and math.prod(value.shape):
            out = combine(out, value[0])
    return out if out is not input else out.clone()


# ---- normalization layers (layer_norm, group_norm) ------------------------------------------
# Per-row statistics (ops/normalization.py's RowNorm): checks in PyTorch's order and words.

def _check_row_norm_dtypes(x, weight, bias, kernel):
    """PyTorch's CPU dtype rules: parameters in the input's dtype (its "mixed dtype" errors are
    decided by the first parameter given), a floating-point input."""
    params = [p for p in (weight, bias) if p is not None]
    if params and params[0].dtype != x.dtype:
        if any(p.dtype != np.float32 for p in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    for p in params[1:]:
        if p.dtype != x.dtype:
            raise RuntimeError(f"expected scalar type {_loss.torch_name(x.dtype)} but found "
                               f"{_loss.torch_name(p.dtype)}")
    if x.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{_loss.torch_name(x.dtype)}'")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Over the last len(normalized_shape) dims, per leading index:
    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias (Var biased; weight and bias of shape
    normalized_shape, elementwise; statistics in float64, by two passes)."""
    _check_input_tensor(input, "layer_norm", arrays_ok=False)
    message = "layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, "
    if not isinstance(normalized_shape, (tuple, list)):
        raise TypeError(f"{message}not {_type_name(normalized_shape)}")
    for index, n in enumerate(normalized_shape):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{message}but found element of type {_type_name(n)} at pos {index}")
    shape = [int(n) for n in normalized_shape]
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., "
                           "containing at least one element, but got normalized_shape = []")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and list(p.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(p.shape)} and normalized_shape = "
                               f"{shape}")
    x = input.array
    if list(x.shape[x.ndim - len(shape):]) != shape or x.ndim < len(shape):
        raise RuntimeError(f"Given normalized_shape={shape}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size"
                           f"{list(x.shape)}")
    _check_row_norm_dtypes(x, weight, bias, "LayerNormKernelImpl")
    view = (math.prod(x.shape[:x.ndim - len(shape)]), 1, math.prod(shape), 1)
    return _norm.RowNorm.apply(input, weight, bias, view=view, eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Per sample and group of C / num_groups channels (with every position of those channels):
    y = (x - E[x]) / sqrt(Var[x] + eps) * weight[c] + bias[c] (Var biased; statistics in
    float64, by two passes)."""
    _check_input_tensor(input, "group_norm", arrays_ok=False)
    x = input.array
    if x.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{x.ndim}")
    # NOTE: PyTorch's F.group_norm runs this Python check first (num_groups=0 gives its
    # ZeroDivisionError); the size it prints is (N * C // groups, groups, *spatial).
    _verify_batch_size([x.shape[0] * x.shape[1] // num_groups, num_groups, *x.shape[2:]])
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)):
        raise TypeError(f"group_norm(): argument 'num_groups' (position 2) must be int, not "
                        f"{_type_name(num_groups)}")
    if num_groups <= 0:
        raise RuntimeError(f"Expected num groups to be greater than 0, got {num_groups}")
    channels = x.shape[1]
    if channels % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(x.shape)} and "
                           f"num_groups={num_groups}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and (p.ndim != 1 or p.shape[0] != channels):
            # NOTE: PyTorch prints the weight's shape ([0] without one) in both messages
            shown = [0] if weight is None else list(weight.shape)
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {shown} and input "
                               f"of shape {list(x.shape)}")
    _check_row_norm_dtypes(x, weight, bias, "GroupNormKernelImpl")
    view = (x.shape[0], num_groups, channels // num_groups, math.prod(x.shape[2:]))
    return _norm.RowNorm.apply(input, weight, bias, view=view, eps=eps)


def _verify_batch_size(size):
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input "
                         f"size {size}")


def _instance_norm(input, eps=1e-5):
    """InstanceNorm without affine or running statistics: each (n, c) plane normalized by its
    own mean and biased variance (a group_norm with one channel per group)."""
    x = input.array
    if math.prod(x.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.size()}")
    _check_row_norm_dtypes(x, None, None, "batch_norm")  # PyTorch's kernel name here
    view = (x.shape[0], x.shape[1], 1, math.prod(x.shape[2:]))
    return _norm.RowNorm.apply(input, None, None, view=view, eps=eps)


# ---- normalize (vector norms) ----------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """y = x / max(||x||_p, eps), the p-norm taken over ``dim`` (kept, then broadcast back);
    the gradient flows through the norm too, as in PyTorch."""
    _check_input_tensor(input, "normalize", arrays_ok=False)
    if out is not None:
        raise NotImplementedError("normalize(out=...): microdl returns a new tensor")
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)
