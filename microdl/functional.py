"""Functional interface, PyTorch's names: thin wrappers that turn arguments into op calls."""

import math

import numpy as np

from . import _device
from . import random
from .ops import activation as _act
from .ops import conv as _conv
from .ops import elementwise as _ew
from .ops import loss as _loss
from .ops import matmul as _mm
from .ops import normalization as _norm
from .ops import pool as _pool
from .tensor import Tensor


def _tensor_or_array(x):
    return x if isinstance(x, Tensor) else np.asarray(x)


def linear(input, weight, bias=None):
    """y = input @ weight^T + bias."""
    return _mm.Linear.apply(input, weight, bias)


def relu(input):
    return _act.ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01):
    return _act.LeakyReLU.apply(input, negative_slope=float(negative_slope))


def sigmoid(input):
    return _act.Sigmoid.apply(input)


def tanh(input):
    return _act.Tanh.apply(input)


def softmax(input, dim=-1):
    return _act.Softmax.apply(input, dim=dim)


def log_softmax(input, dim=-1):
    return _act.LogSoftmax.apply(input, dim=dim)


def dropout(input, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (training only)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    dtype = input.dtype if isinstance(input, Tensor) else np.asarray(input).dtype
    if dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating point input (got dtype {dtype})")
    if not training or p == 0.0:
        return input
    return _ew.Dropout.apply(input, p=float(p), rng=random.default_generator())


def cross_entropy(input, target, reduction="mean"):
    """Mean (or sum, or per-sample) of -log softmax(input)[target] for integer class labels."""
    return _loss.CrossEntropy.apply(input, _tensor_or_array(target), reduction=reduction)


def mse_loss(input, target, reduction="mean"):
    """Mean (or sum, or elementwise) of (input - target)**2."""
    return _loss.MSELoss.apply(input, _tensor_or_array(target), reduction=reduction)


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


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, relu):
    if momentum is None:
        raise TypeError("batch_norm: momentum must be a number; for a cumulative average pass "
                        "1 / num_batches_tracked, as nn.BatchNorm does with momentum=None")
    x = input.array if isinstance(input, Tensor) else np.asarray(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input with at least 2 dimensions (N, C, ...) "
                         f"(got {x.ndim}D input)")
    if x.dtype.kind != "f":
        raise TypeError(f"batch_norm: expected a floating point input (got dtype {x.dtype})")
    if x.size == 0:
        raise ValueError(f"batch_norm: got an empty input of size {list(x.shape)}: there are "
                         "no values to take statistics of (an empty batch?)")
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
    wide = np.result_type(x.dtype, *(v.dtype for v in (weight, bias) if v is not None))
    if wide != x.dtype:
        input = input.to(dtype=wide) if isinstance(input, Tensor) else x.astype(wide)
    return _norm.BatchNorm.apply(input, weight, bias, running_mean=running_mean,
                                 running_var=running_var, training=bool(training),
                                 momentum=momentum, eps=eps, relu=relu)


def _unbatched(fn, input, *args):
    """Run a 4-D op on a 3-D (C, H, W) input as a batch of one, as PyTorch accepts both."""
    out = fn(input.reshape(1, *input.shape), *args)
    return out.reshape(*out.shape[1:])


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, co, oh, ow] = bias[co] + sum over c, i, j of weight[co, c, i, j] *
    x[n, g * C/groups + c, oh * sh - ph + i * dh, ow * sw - pw + j * dw] (zero outside x),
    g = co's group (PyTorch's conv2d: a cross-correlation). padding may be "valid" or "same"."""
    if input.ndim == 3:
        return _unbatched(conv2d, input, weight, bias, stride, padding, dilation, groups)
    if input.ndim == 4 and input.shape[0] == 0:
        # NOTE: PyTorch returns an empty output here; the kernels' layouts do not take N = 0
        raise ValueError(f"conv2d: got an empty batch (input of size {list(input.shape)}); "
                         "pass at least one sample")
    stride, dilation = _conv.pair(stride, "stride"), _conv.pair(dilation, "dilation")
    padding, crop = _conv.conv2d_padding(padding, tuple(weight.shape[2:]), stride, dilation)
    out = _conv.Conv2d.apply(input, weight, bias, stride=stride, padding=padding,
                             dilation=dilation, groups=int(groups))
    return out[:, :, crop[0]:, crop[1]:] if any(crop) else out


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """y[n, c, oh, ow] = max of x[n, c, oh * sh - ph + i, ow * sw - pw + j] over the window
    (padding is -inf); stride defaults to kernel_size."""
    if input.ndim == 3:
        return _unbatched(max_pool2d, input, kernel_size, stride, padding)
    kernel_size = _conv.pair(kernel_size, "kernel_size")
    stride = kernel_size if stride is None else _conv.pair(stride, "stride")
    return _pool.MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride,
                                 padding=_conv.pair(padding, "padding"))


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """y[n, c, oh, ow] = mean of the kh * kw window, zero padding counted (count_include_pad);
    stride defaults to kernel_size."""
    if input.ndim == 3:
        return _unbatched(avg_pool2d, input, kernel_size, stride, padding)
    kernel_size = _conv.pair(kernel_size, "kernel_size")
    stride = kernel_size if stride is None else _conv.pair(stride, "stride")
    return _pool.AvgPool2d.apply(input, kernel_size=kernel_size, stride=stride,
                                 padding=_conv.pair(padding, "padding"))


# ---- activations (GELU, SiLU, ELU, ...) ----------------------------------------------------


# ---- losses (nll_loss, binary cross entropy, one_hot, ...) ---------------------------------


# ---- layers (conv1d, pooling options, adaptive pooling, normalization) ---------------------


# ---- tensor ops PyTorch keeps in F (pad, ...) ----------------------------------------------
