"""Functional interface, PyTorch's names: thin wrappers that turn arguments into op calls."""

import math
import warnings

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


def _in_place(input, result, inplace):
    """``result``, or with inplace=True ``input`` holding it (Tensor._assign: PyTorch's in-place
    rules, a leaf that requires grad refused; on the tape the input takes the result's node)."""
    return input._assign(result) if inplace and result is not input else result


def relu(input, inplace=False):
    """y = max(x, 0); with inplace=True the result is written into input, which is returned."""
    return _in_place(input, _act.ReLU.apply(input), inplace)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """y = x if x > 0 else negative_slope * x;  dx = g * (1 if x > 0 else negative_slope).
    inplace=True writes the result into input and returns it."""
    return _in_place(input, _act.LeakyReLU.apply(input, negative_slope=float(negative_slope)),
                     inplace)


def sigmoid(input):
    """y = 1 / (1 + exp(-x)), stable for large |x|;  dx = g * y * (1 - y)."""
    return _act.Sigmoid.apply(input)


def tanh(input):
    """y = tanh(x);  dx = g * (1 - y**2)."""
    return _act.Tanh.apply(input)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """exp(x) / sum exp(x) along dim (dim=None: PyTorch's deprecated implicit choice)."""
    input, dim = _softmax_arguments("softmax", input, dim, _stacklevel, dtype)
    return _act.Softmax.apply(input, dim=dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """x - log sum exp(x) along dim (dim=None: PyTorch's deprecated implicit choice)."""
    input, dim = _softmax_arguments("log_softmax", input, dim, _stacklevel, dtype)
    return _act.LogSoftmax.apply(input, dim=dim)


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


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """-log softmax(input)[target] over the class axis (1, or 0 unbatched), weighted, ignoring
    ignore_index, reduced by mean (over the targets' weights) / sum / none; a float target of
    input's shape holds class probabilities. See the losses section."""
    _legacy_reduction(size_average, reduce)
    ignore_index = _number_argument("cross_entropy_loss", "ignore_index", ignore_index, "int", 5)
    label_smoothing = _number_argument("cross_entropy_loss", "label_smoothing", label_smoothing,
                                       "float", 6)
    return _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean (or sum, or elementwise) of (input - target)**2 (times weight; a weighted mean
    divides by the weights' sum)."""
    _legacy_reduction(size_average, reduce)
    input, target = _regression_pair(input, target)
    if weight is not None:
        return _weighted_loss(_loss.MSELoss.apply(input, target, reduction="none"), input,
                              weight, reduction, by_weight=True)
    return _loss.MSELoss.apply(input, target, reduction=reduction)


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
    if training and not eps > 0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if not eps >= 0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    x = input.array if isinstance(input, Tensor) else np.asarray(input)
    if x.size == 0:
        return _empty_batch_norm(input, weight, bias)
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
    wide = np.result_type(x.dtype, *(v.dtype for v in (weight, bias) if v is not None))
    if wide != x.dtype:
        input = input.to(dtype=wide) if isinstance(input, Tensor) else x.astype(wide)
    return _norm.BatchNorm.apply(input, weight, bias, running_mean=running_mean,
                                 running_var=running_var, training=bool(training),
                                 momentum=momentum, eps=eps, relu=relu)


def _empty_batch_norm(input, weight, bias):
    """PyTorch's answer for an input with no values (an empty batch): input * weight[0] +
    bias[0], empty; the running statistics stay as they are, weight and bias get zero
    gradients. (relu of it is itself.)"""
    out = input if isinstance(input, Tensor) else Tensor._wrap(np.asarray(input))
    for value, combine in ((weight, lambda a, b: a * b), (bias, lambda a, b: a + b)):
        if value is not None and math.prod(value.shape):
            out = combine(out, value[0])
    return out if out is not input else out.clone()


def _unbatched(fn, input, *args):
    """Run a 4-D op on a 3-D (C, H, W) input as a batch of one, as PyTorch accepts both."""
    out = fn(input.reshape(1, *input.shape), *args)
    return out.reshape(*out.shape[1:])


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, co, oh, ow] = bias[co] + sum over c, i, j of weight[co, c, i, j] *
    x[n, g * C/groups + c, oh * sh - ph + i * dh, ow * sw - pw + j * dw] (zero outside x),
    g = co's group (PyTorch's conv2d: a cross-correlation). padding may be "valid" or "same"."""
    _check_input_tensor(input, "conv2d")
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


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y[n, c, oh, ow] = max of x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw] over the
    window's taps inside x; stride defaults to kernel_size. ceil_mode rounds the output size
    up (a last, partial window). return_indices also gives the int64 flat index h * W + w of
    each max in its (H, W) plane, as PyTorch does: (output, indices)."""
    _check_input_tensor(input, "max_pool2d")
    kernel_size, stride, padding, dilation = _pool_geometry(
        "max_pool2d", kernel_size, stride, padding, dilation)
    sink = [] if return_indices else None
    out = _pool.MaxPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding,
                                dilation=dilation, ceil_mode=bool(ceil_mode), indices_out=sink)
    return (out, Tensor._wrap(sink[0])) if return_indices else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """y[n, c, oh, ow] = sum of the window's taps inside x / divisor; stride defaults to
    kernel_size. divisor = divisor_override if given, else the window's size clipped to the
    padded input (count_include_pad=True) or its number of taps inside x (False)."""
    _check_input_tensor(input, "avg_pool2d")
    kernel_size, stride, padding, _ = _pool_geometry("avg_pool2d", kernel_size, stride, padding,
                                                     1)
    if divisor_override is not None:
        if isinstance(divisor_override, bool) or not isinstance(divisor_override,
                                                                (int, np.integer)):
            raise TypeError("avg_pool2d(): argument 'divisor_override' must be int, not "
                            f"{type(divisor_override).__name__}")
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
    return _pool.AvgPool2d.apply(input, kernel_size=kernel_size, stride=stride, padding=padding,
                                 ceil_mode=bool(ceil_mode),
                                 count_include_pad=bool(count_include_pad),
                                 divisor_override=int(divisor_override or 0))


# ---- activations (GELU, SiLU, ELU, ...) ----------------------------------------------------
# The formulas, kinks included, are kernels/numpy_ref/activation.py's POINTWISE table. Where
# PyTorch takes inplace=True the result is written into the input, which is returned
# (``_in_place``).

def _softmax_arguments(name, input, dim, stacklevel, dtype):
    """(input cast to dtype, dim); dim=None picks PyTorch's legacy implicit dimension (0 for
    0-, 1- and 3-D input, else 1) with its deprecation warning."""
    if dim is None:
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the "
                      "call to include dim=X as an argument.", stacklevel=stacklevel)
        dim = 0 if input.ndim in (0, 1, 3) else 1
    if dtype is not None:
        input = input.to(dtype=dtype)
    return input, dim


def gelu(input, approximate="none"):
    """y = x Phi(x), Phi the standard normal CDF; approximate="tanh":
    y = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return (_act.GELU if approximate == "none" else _act.GELUTanh).apply(input)


def silu(input, inplace=False):
    """y = x sigmoid(x)."""
    return _in_place(input, _act.SiLU.apply(input), inplace)


def elu(input, alpha=1.0, inplace=False):
    """y = x for x > 0, alpha (exp(x) - 1) otherwise."""
    return _in_place(input, _act.ELU.apply(input, a=alpha), inplace)


def selu(input, inplace=False):
    """y = scale elu(x, alpha), scale = 1.0507009873554805, alpha = 1.6732632423543772."""
    return _in_place(input, _act.SELU.apply(input), inplace)


def celu(input, alpha=1.0, inplace=False):
    """y = x for x > 0, alpha (exp(x / alpha) - 1) otherwise."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    # NOTE: PyTorch's CELU backward scales by 1 / float32(alpha), not 1 / alpha (b, below)
    return _in_place(input, _act.CELU.apply(input, a=alpha, b=1.0 / float(np.float32(alpha))), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    """y = log(1 + exp(beta x)) / beta, or x where beta x > threshold."""
    return _act.Softplus.apply(input, a=beta, b=threshold)


def logsigmoid(input):
    """y = log(1 / (1 + exp(-x)))."""
    return _act.LogSigmoid.apply(input)


def hardswish(input, inplace=False):
    """y = x relu6(x + 3) / 6."""
    return _in_place(input, _act.Hardswish.apply(input), inplace)


def hardsigmoid(input, inplace=False):
    """y = relu6(x + 3) / 6."""
    return _in_place(input, _act.Hardsigmoid.apply(input), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """y = clamp(x, min_val, max_val); the gradient is 0 at and beyond the limits."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _in_place(input, _act.Hardtanh.apply(input, a=min_val, b=max_val), inplace)


def relu6(input, inplace=False):
    """y = min(max(x, 0), 6) (hardtanh(x, 0, 6))."""
    return _in_place(input, _act.Hardtanh.apply(input, a=0.0, b=6.0), inplace)


def mish(input, inplace=False):
    """y = x tanh(softplus(x))."""
    return _in_place(input, _act.Mish.apply(input), inplace)


def softsign(input):
    """y = x / (1 + |x|)."""
    return _act.Softsign.apply(input)


def tanhshrink(input):
    """y = x - tanh(x)."""
    return _act.Tanhshrink.apply(input)


def softshrink(input, lambd=0.5):
    """y = x - lambd for x > lambd, x + lambd for x < -lambd, else 0."""
    return _act.Softshrink.apply(input, a=lambd)


def hardshrink(input, lambd=0.5):
    """y = x where |x| > lambd, else 0."""
    return _act.Hardshrink.apply(input, a=lambd)



# ---- losses (nll_loss, binary cross entropy, one_hot, ...) ---------------------------------
# The ops (ops/loss.py) validate in PyTorch's words; here: argument handling, and the losses
# PyTorch itself composes from others (cross-entropy = log_softmax + nll_loss, label smoothing,
# class-probability targets, weighted regression losses, kl_div's batchmean).

def _number_argument(function, name, value, kind, position=None):
    """A loss's number argument checked as PyTorch's binding checks it: ``kind`` "float" takes
    bools, ints, floats and 0-d tensors, "int" ints and 0-d integer tensors (no bool), "bool"
    bools only; anything else (a complex delta, a float ignore_index) is its TypeError."""
    if isinstance(value, Tensor) and value.ndim == 0 and \
            (kind == "float" or (kind == "int" and value.dtype.kind in "iu")):
        return value.item()
    accepted = {"float": (bool, int, float, np.bool_, np.integer, np.floating),
                "int": (int, np.integer), "bool": (bool, np.bool_)}[kind]
    if isinstance(value, accepted) and not (kind == "int" and isinstance(value, bool)):
        return value
    given = type(value)
    given = f"numpy.{given.__name__}" if given.__module__ == "numpy" else given.__name__
    where = f" (position {position})" if position else ""
    raise TypeError(f"{function}(): argument '{name}'{where} must be {kind}, not {given}")


def _legacy_reduction(size_average, reduce):
    if size_average is not None or reduce is not None:
        raise ValueError("size_average and reduce are deprecated and not supported here: pass "
                         "reduction='mean', 'sum' or 'none' instead")


def _array_of(x):
    """The array of a Tensor, a device array as it is, anything else as a numpy array."""
    if x is None or isinstance(x, Tensor):
        return None if x is None else x.array
    return x if _device.is_device_array(x) else np.asarray(x)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(_array_of(x))


def _not_differentiable(weight, function, argument="weight"):
    """PyTorch refuses a weight that requires grad where its loss has no gradient for it."""
    if isinstance(weight, Tensor) and weight.requires_grad:
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           f"argument '{argument}'. This input cannot have requires_grad True.")
    return _array_of(weight)


def _regression_pair(input, target):
    """input and target for an elementwise loss; PyTorch's warning when they broadcast."""
    input, target = _as_tensor(input), _tensor_or_array_on_device(target)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({_loss._torch_size(target.shape)}) that is "
                      f"different to the input size ({_loss._torch_size(input.shape)}). This "
                      "will likely lead to incorrect results due to broadcasting. Please ensure "
                      "they have the same size.", stacklevel=3)
    return input, target


def _tensor_or_array_on_device(x):
    return x if isinstance(x, Tensor) else _array_of(x)


def _weighted_loss(terms, input, weight, reduction, by_weight):
    """terms * weight reduced: PyTorch's weighted mse/l1 divide by sum(weight) (by_weight),
    its weighted huber takes the plain mean."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    weighted = terms * _as_tensor(weight)
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / _as_tensor(weight).sum() if by_weight else weighted.mean()


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """loss_i = -weight[t_i] * input[i, t_i] (class axis 1, or 0 unbatched), 0 where t_i ==
    ignore_index; mean = sum_i loss_i / sum_i weight[t_i] over the kept targets."""
    _legacy_reduction(size_average, reduce)
    ignore_index = _number_argument("nll_loss_nd", "ignore_index", ignore_index, "int", 5)
    weight = _not_differentiable(weight, "nll_loss_forward")
    return _loss.NLLLoss.apply(input, _array_of(target), weight, reduction=reduction,
                               ignore_index=int(ignore_index))


def _cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    _loss._check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{float(label_smoothing):g}")  # as C++ prints it: 2, 1.5
    input = _as_tensor(input)
    labels = _array_of(target)
    class_dim = 0 if input.ndim == 1 else 1
    if tuple(labels.shape) == tuple(input.shape):  # class probabilities, as PyTorch decides
        return _cross_entropy_probabilities(input, _tensor_or_array_on_device(target), weight,
                                            ignore_index, reduction, label_smoothing, class_dim)
    weight = _not_differentiable(weight, "nll_loss_forward")
    if (input.ndim == 2 and weight is None and label_smoothing == 0.0
            and isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu"
            and not (labels == ignore_index).any()):
        # NOTE: the fused log-softmax + NLL kernels (one pass each way); labels on a GPU take
        # the general path, as finding ignore_index among them would wait for the device
        return _loss.CrossEntropy.apply(input, labels, reduction=reduction)
    log_probs = log_softmax(input, dim=class_dim)
    if label_smoothing == 0.0:
        return nll_loss(log_probs, labels, weight, ignore_index=ignore_index,
                        reduction=reduction)
    # PyTorch's rule: (1 - s) * nll + s / C * (-sum_c w_c log p_c), ignored targets dropped
    # from both; a mean divides both by the kept targets' weight sum
    classes = input.shape[class_dim]
    nll_terms = nll_loss(log_probs, labels, weight, ignore_index=ignore_index,
                         reduction="none")
    weighted = log_probs if weight is None else log_probs * _class_weights(weight, input.ndim)
    kept = Tensor._wrap(_loss.target_weights(log_probs.array, labels, None, ignore_index))
    terms = nll_terms * (1.0 - label_smoothing) \
        - weighted.sum(dim=class_dim) * kept * (label_smoothing / classes)
    if reduction == "none":
        return terms
    if reduction == "sum":
        return terms.sum()
    return terms.sum() / Tensor._wrap(
        _loss.target_weights(log_probs.array, labels, weight, ignore_index)).sum()


def _class_weights(weight, ndim):
    """weight (C,) shaped to broadcast along the class axis of an ndim-D input."""
    weight = _as_tensor(weight)
    return weight.reshape(-1, *([1] * (ndim - 2))) if ndim > 2 else weight


def _cross_entropy_probabilities(input, target, weight, ignore_index, reduction,
                                 label_smoothing, class_dim):
    """-sum_c w_c y_c log softmax(x)_c per sample, y = target (smoothed: y (1 - s) + s / C);
    a mean divides by the number of samples."""
    target_dtype = target.dtype
    if target_dtype.kind != "f":
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {_loss.torch_name(target_dtype)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    classes = input.shape[class_dim]
    if weight is not None and (len(weight.shape) != 1 or weight.shape[0] != classes):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                           f"{classes} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    target = _as_tensor(target)
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / classes
    terms = log_softmax(input, dim=class_dim) * target
    if weight is not None:
        terms = terms * _class_weights(weight, input.ndim)
    if reduction == "none":
        return -terms.sum(dim=class_dim)
    total = -terms.sum()
    if reduction == "sum":
        return total
    samples = input.numel() // classes if classes else 0
    return total / samples if samples else total * float("nan")


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """-weight * (y log x + (1 - y) log(1 - x)), each log clamped at -100, x = input in [0, 1]."""
    _legacy_reduction(size_average, reduce)
    weight = _not_differentiable(weight, "binary_cross_entropy")
    return _loss.BinaryCrossEntropy.apply(input, _tensor_or_array_on_device(target), weight,
                                          reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """-weight * (pos_weight * y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), computed
    stably from the logits x = input."""
    _legacy_reduction(size_average, reduce)
    weight = _not_differentiable(weight, "binary_cross_entropy_with_logits")
    pos_weight = _not_differentiable(pos_weight, "binary_cross_entropy_with_logits",
                                     "pos_weight")
    return _loss.BinaryCrossEntropyWithLogits.apply(
        input, _tensor_or_array_on_device(target), weight, pos_weight, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """|input - target| (times weight; a weighted mean divides by the weights' sum)."""
    _legacy_reduction(size_average, reduce)
    input, target = _regression_pair(input, target)
    if weight is not None:
        return _weighted_loss(_loss.L1Loss.apply(input, target, reduction="none"), input,
                              weight, reduction, by_weight=True)
    return _loss.L1Loss.apply(input, target, reduction=reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """0.5 d**2 / beta where |d| < beta, else |d| - beta / 2 (d = input - target); l1 at 0."""
    _legacy_reduction(size_average, reduce)
    beta = _number_argument("smooth_l1_loss", "beta", beta, "float", 4)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:  # as PyTorch: the quadratic zone is empty
        return l1_loss(input, target, reduction=reduction)
    input, target = _regression_pair(input, target)
    return _loss.Huber.apply(input, target, delta=float(beta), scale=1.0, reduction=reduction,
                             name="smooth_l1")


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """0.5 d**2 where |d| < delta, else delta * (|d| - delta / 2) (d = input - target)."""
    delta = _number_argument("huber_loss", "delta", delta, "float", 4)
    if not delta > 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    input, target = _regression_pair(input, target)
    if weight is not None:
        return _weighted_loss(huber_loss(input, target, "none", delta), input, weight,
                              reduction, by_weight=False)
    return _loss.Huber.apply(input, target, delta=float(delta), scale=float(delta),
                             reduction=reduction, name="huber")


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """target * (log target - input) (input holds log-probabilities; target too when
    log_target); "batchmean" divides the sum by the batch size, "mean" by the element count."""
    _legacy_reduction(size_average, reduce)
    log_target = _number_argument("kl_div", "log_target", log_target, "bool")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    target = _tensor_or_array_on_device(target)
    if reduction != "batchmean":
        return _loss.KLDiv.apply(input, target, reduction=reduction, log_target=bool(log_target))
    total = _loss.KLDiv.apply(input, target, reduction="sum", log_target=bool(log_target))
    return total / input.shape[0] if len(input.shape) else total


def one_hot(tensor, num_classes=-1):
    """out[..., c] = 1 where tensor[...] == c (int64, a new last axis of num_classes, or
    max + 1 when num_classes is -1)."""
    return Tensor._wrap(_loss.one_hot(_array_of(tensor), int(num_classes)))



# ---- layers (conv1d, pooling options, adaptive pooling, normalization) ---------------------
def _type_name(value):
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _check_input_tensor(input, fn, arrays_ok=True):
    """PyTorch's TypeError for an input that is no Tensor. ``arrays_ok``: F functions that
    always took numpy arrays keep taking them (modules pass False, as PyTorch takes none)."""
    if isinstance(input, Tensor) or (arrays_ok and isinstance(input, np.ndarray)):
        return
    raise TypeError(f"{fn}(): argument 'input' (position 1) must be Tensor, not "
                    f"{_type_name(input)}")


_POOL_ARGUMENTS = {  # name: (position, PyTorch's message for a wrong length)
    "kernel_size": (2, "kernel_size must either be a single int, or a tuple of two ints"),
    "stride": (3, "stride must either be omitted, a single int, or a tuple of two ints"),
    "padding": (4, "padding must either be a single int, or a tuple of two ints"),
    "dilation": (5, "dilation must be either a single int, or a tuple of two ints"),
}


def _ints(value, fn, name, position):
    """An int or a sequence of ints as a tuple (PyTorch's TypeErrors for anything else)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be tuple of ints, "
                        f"not {_type_name(value)}")
    for index, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{fn}(): argument '{name}' must be tuple of ints, but found "
                            f"element of type {_type_name(v)} at pos {index}")
    return tuple(int(v) for v in value)


def _pool_geometry(fn, kernel_size, stride, padding, dilation):
    """(kernel_size, stride, padding, dilation) as (h, w) pairs; an int or a 1-tuple is used
    for both sides, stride None (or ()) means kernel_size."""
    pairs = {}
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("padding", padding),
                        ("dilation", dilation)):
        position, message = _POOL_ARGUMENTS[name]
        if name == "stride" and (value is None or (isinstance(value, (tuple, list))
                                                   and len(value) == 0)):
            pairs[name] = pairs["kernel_size"]
            continue
        values = _ints(value, fn, name, position)
        if len(values) not in (1, 2):
            raise RuntimeError(f"{fn}: {message}")
        pairs[name] = (values[0], values[-1])
    return pairs["kernel_size"], pairs["stride"], pairs["padding"], pairs["dilation"]


def _as_plane_pool(fn, input, name1d):
    """(N, C, L) or (C, L) input of a 1-D op as the (N, C, 1, L) / (C, 1, L) input of its 2-D
    twin; wrong ranks raise PyTorch's 1-D message."""
    _check_input_tensor(input, name1d)
    if input.ndim not in (2, 3):
        raise RuntimeError(fn(list(input.shape), input.ndim))
    return input.reshape(*input.shape[:-1], 1, input.shape[-1])


def _single(value, name, message, fn):
    """An int or a 1-sequence of ints as a 1-tuple; otherwise PyTorch's 1-D message."""
    if value is None:
        return None
    values = _ints(value, fn, name, 2)
    if len(values) != 1:
        raise RuntimeError(message(name, len(values)))
    return values


def _max1d_message(name, size):
    return (f"max_pool1d() {name} must be an int, list of ints or tuple of ints of size 1 but got "
            f"size {size}")


def _avg1d_message(name, size):
    return f"avg_pool1d() argument '{name}' should contain one int (got {size})"


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max_pool2d over the last axis of (N, C, L) or (C, L) input: y[n, c, o] = max of
    x[n, c, o * s - p + i * d] for 0 <= i < k (taps inside x); indices index L."""
    x = _as_plane_pool(
        # PyTorch's path with indices words the wrong rank otherwise
        (lambda shape, nd: f"Expected 2 to 3 dimensions, but got {nd}-dimensional tensor for "
         "argument #1 'self' (while checking arguments for max_pool1d)") if return_indices else
        (lambda shape, nd: "max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 "
         f"dim batch size for input, but got:{shape}"), input, "max_pool1d")
    k, s, p, d = (_single(v, n, _max1d_message, "max_pool1d") for v, n in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding"),
        (dilation, "dilation")))
    s = k if s is None or len(s) == 0 else s
    if not return_indices:  # PyTorch's own 1-D path: its checks, then (floats) the 2-D one
        _pool.check_max_pool1d(input, k[0], s[0], p[0], d[0], ceil_mode)
    out = max_pool2d(x, (1,) + k, (1,) + s, (0,) + p, (1,) + d, ceil_mode, return_indices)
    squeeze = (lambda t: t.reshape(*t.shape[:-2], t.shape[-1]))
    return tuple(squeeze(t) for t in out) if return_indices else squeeze(out)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """avg_pool2d over the last axis of (N, C, L) or (C, L) input: y[n, c, o] = sum of the
    window x[n, c, o * s - p .. o * s - p + k - 1] inside x / divisor (as avg_pool2d)."""
    x = _as_plane_pool(lambda shape, nd: f"Expected 2 to 3 dimensions, but got {nd}-dimensional "
                       "tensor for argument #1 'self' (while checking arguments for avg_pool1d)",
                       input, "avg_pool1d")
    k, s, p = (_single(v, n, _avg1d_message, "avg_pool1d") for v, n in (
        (kernel_size, "kernel_size"), (stride, "stride"), (padding, "padding")))
    s = k if s is None or len(s) == 0 else s
    out = avg_pool2d(x, (1,) + k, (1,) + s, (0,) + p, ceil_mode, count_include_pad)
    return out.reshape(*out.shape[:-2], out.shape[-1])


def _adaptive_size(output_size, input, fn, message):
    """output_size as an (OH, OW) pair: an int for both, None for the input's own size."""
    sizes = (output_size, output_size) if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    if isinstance(output_size, (tuple, list)) and input.ndim <= len(sizes):
        # PyTorch's Python wrapper, filling None entries from the input's sizes, says it first
        raise ValueError(f"Input dimension should be at least {len(sizes) + 1}")
    if len(sizes) != 2:
        raise RuntimeError(f"{fn}{message}")
    return tuple(input.shape[-2 + i] if v is None else int(v) for i, v in enumerate(sizes))


def adaptive_avg_pool2d(input, output_size):
    """y[n, c, oh, ow] = mean of x[n, c, h0:h1, w0:w1], h0 = floor(oh * H / OH),
    h1 = ceil((oh + 1) * H / OH) (and likewise w): windows that tile x, overlapping where OH
    does not divide H. output_size: an int, or a pair whose None entries keep the input's
    size. (N, C, H, W) or (C, H, W) input."""
    _check_input_tensor(input, "adaptive_avg_pool2d")
    size = _adaptive_size(output_size, input, "adaptive_avg_pool2d", ": output_size must be 2")
    if size == (1, 1):  # PyTorch's shortcut, whatever the rank: the mean over H and W
        input = input if isinstance(input, Tensor) else Tensor._wrap(input)
        return input.mean((-1, -2), keepdim=True)
    return _pool.AdaptiveAvgPool2d.apply(input, output_size=size)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """y[n, c, oh, ow] = max of the adaptive window (oh, ow) (see adaptive_avg_pool2d), ties
    and NaN as in max_pool2d; return_indices also gives the int64 flat index h * W + w."""
    _check_input_tensor(input, "adaptive_max_pool2d")
    size = _adaptive_size(output_size, input, "adaptive_max_pool2d",
                          "(): internal error: output_size.size() must be 2")
    if input.ndim in (3, 4) and min(size) < 0:  # PyTorch allocates the output before checking
        shape = list(input.shape[:-2]) + list(size)
        negative = next(v for v in size if v < 0)
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative}: "
                           f"{shape}")
    sink = [] if return_indices else None
    out = _pool.AdaptiveMaxPool2d.apply(input, output_size=size, indices_out=sink)
    return (out, Tensor._wrap(sink[0])) if return_indices else out


def _conv1d_argument(value, name):
    """An int or a 1-sequence as PyTorch's conv1d takes it, as the (1, value) pair of its 2-D
    twin."""
    values = _ints(value, "conv1d", name, {"stride": 4, "padding": 5, "dilation": 6}[name])
    if len(values) != 1:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 values "
                           "to match the convolution dimensions, but got "
                           f"{name}={list(values)}")
    return values


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """y[n, co, o] = bias[co] + sum over c, i of weight[co, c, i] * x[n, c, o * s - p + i * d]
    (zero outside x; c in co's group): conv2d on (N, C, 1, L) with a (Co, C/groups, 1, k)
    weight. (N, C, L) or (C, L) input; padding may be an int, "valid" or "same"."""
    _check_input_tensor(input, "conv1d")
    if input.ndim not in (2, 3):
        raise RuntimeError("Expected 2D (unbatched) or 3D (batched) input to conv1d, but got "
                           f"input of size: {list(input.shape)}")
    if weight.ndim < 3:
        raise RuntimeError("weight should have at least three dimensions")
    if weight.ndim != 3:
        batched = list(input.shape) if input.ndim == 3 else [1] + list(input.shape)
        raise RuntimeError(f"Expected {weight.ndim}-dimensional input for {weight.ndim}-"
                           f"dimensional weight {list(weight.shape)}, but got 3-dimensional "
                           f"input of size {batched} instead")
    stride, dilation = (1,) + _conv1d_argument(stride, "stride"), \
        (1,) + _conv1d_argument(dilation, "dilation")
    if not isinstance(padding, str):
        padding = (0,) + _conv1d_argument(padding, "padding")
    x = input.reshape(*input.shape[:-1], 1, input.shape[-1])
    w = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    out = conv2d(x, w, bias, stride, padding, dilation, groups)
    return out.reshape(*out.shape[:-2], out.shape[-1])


# ---- tensor ops PyTorch keeps in F (pad, ...) ----------------------------------------------
from .ops import shape as _shape  # noqa: E402  (F.pad's ops; kept inside this section)

_NON_CONSTANT_PADS = {1: (2, 3), 2: (3, 4), 3: (4, 5)}  # pairs of pads -> ranks they take


def _pad_positions(size, before, after, mode):
    """The source positions along one dimension of a reflect/replicate/circular pad."""
    if mode == "reflect":
        if before >= size or after >= size:
            return None
        i = np.arange(-before, size + after)
        return np.where(i < 0, -i, np.where(i >= size, 2 * (size - 1) - i, i))
    if mode == "replicate":
        return np.clip(np.arange(-before, size + after), 0, size - 1)
    # circular: the values kept after any negative pad, wrapped around (at most once)
    kept = np.arange(max(0, -before), size - max(0, -after))
    if before > kept.size or after > kept.size:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    return kept[np.arange(-max(0, before), kept.size + max(0, after)) % kept.size]


def pad(input, pad, mode="constant", value=None):
    """input padded on its last len(pad) // 2 dimensions: pad = (before_last, after_last,
    before_second_last, ...); negative amounts crop. "constant" fills with ``value`` (0 by
    default); "reflect" mirrors without repeating the edge, "replicate" repeats the edge,
    "circular" wraps around. The gradient of a padded value flows back to where it came from."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    pairs, ndim = len(pad) // 2, input.ndim
    if pairs > ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{ndim}")
    before, after = [0] * ndim, [0] * ndim
    for i in range(pairs):
        before[ndim - 1 - i], after[ndim - 1 - i] = int(pad[2 * i]), int(pad[2 * i + 1])
    if mode == "constant":
        return _shape.ConstantPad.apply(input, before=tuple(before), after=tuple(after),
                                        value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if ndim not in _NON_CONSTANT_PADS.get(pairs, ()):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    positions = []
    for d in range(ndim - pairs, ndim):
        found = _pad_positions(input.shape[d], before[d], after[d], mode)
        if found is None:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({before[d]}, {after[d]}) at "
                               f"dimension {d} of input {list(input.shape)}")
        positions.append(found)
    return input[(Ellipsis, *np.ix_(*positions))]


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


# ---- embedding, interpolation, dropout variants ---------------------------------------------
from .ops import embedding as _embedding  # noqa: E402  (this section's ops)
from .ops import interpolate as _interp  # noqa: E402


def _embedding_indices(input, num_embeddings):
    """The indices as a host int64 array: PyTorch takes Long and Int tensors only, every index
    in [0, num_embeddings)."""
    indices = _device.host(_array_of(input))
    if indices.dtype not in (np.int64, np.int32):
        name = _ew.TORCH_NAMES.get(indices.dtype, str(indices.dtype))
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got torch."
                           f"{name}Tensor instead (while checking arguments for embedding)")
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        raise IndexError("index out of range in self")
    return indices.astype(np.int64, copy=False)


def _padding_index(padding_idx, num_embeddings):
    """padding_idx in [0, num_embeddings) (a negative one counts from the end), or None;
    checked as PyTorch checks it (0 always passes)."""
    if padding_idx is None:
        return None
    if (padding_idx > 0 and padding_idx >= num_embeddings) or \
            (padding_idx < 0 and padding_idx < -num_embeddings):
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """out[..., :] = weight[input[...], :]; the gradient of a row sums over its occurrences,
    the padding_idx row gets none (divided by the row's count with scale_grad_by_freq)."""
    if max_norm is not None:
        raise NotImplementedError("embedding: max_norm is not implemented in microdl (it "
                                  "renormalizes weight rows in place during the lookup)")
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not implemented in microdl (it has "
                                  "no sparse gradients)")
    if padding_idx is not None:  # (PyTorch reads weight's rows only then)
        padding_idx = _padding_index(padding_idx, weight.shape[0])
    if len(weight.shape) != 2:
        raise RuntimeError("'weight' must be 2-D")
    indices = _embedding_indices(input, weight.shape[0])
    return _embedding.Embedding.apply(_as_tensor(weight), indices, padding_idx=padding_idx,
                                      scale_grad_by_freq=bool(scale_grad_by_freq))


_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
# microdl's modes: the input ranks each takes
_MODE_RANKS = {"nearest": (3, 4), "nearest-exact": (3, 4), "area": (3, 4), "linear": (3,),
               "bilinear": (4,)}
_TORCH_MODES = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                "nearest-exact")


def _per_axis(value, dims, input, what, found, example):
    """``value`` for each of the dims spatial axes (one value for all, or one per axis)."""
    if not isinstance(value, (list, tuple)):
        return [value] * dims
    if len(value) != dims:
        raise ValueError(f"Input and {what} must have the same number of spatial dimensions, "
                         f"but got input with spatial dimensions of {list(input.shape[2:])} "
                         f"and {found} {value}. Please provide input tensor in (N, C, d1, d2, "
                         f"...,dK) format and {example} format.")
    return list(value)


def _check_mode(mode, ndim):
    """PyTorch's errors for a mode that does not fit the rank, and microdl's for the modes it
    does not implement."""
    if ndim in _MODE_RANKS.get(mode, ()):
        return
    mismatch = {(3, "bilinear"): "bilinear mode needs 4D", (3, "trilinear"): "trilinear mode "
                "needs 5D", (3, "bicubic"): "bicubic mode needs 4D", (4, "linear"): "linear mode "
                "needs 3D", (4, "trilinear"): "trilinear mode needs 5D", (5, "linear"): "linear "
                "mode needs 3D", (5, "bilinear"): "bilinear mode needs 4D", (5, "bicubic"):
                "bicubic mode needs 4D"}.get((ndim, mode))
    if mismatch:
        raise NotImplementedError(f"Got {ndim}D input, but {mismatch} input")
    if ndim in (3, 4, 5) and mode in _TORCH_MODES.split(" | "):
        raise NotImplementedError(f"interpolate: mode '{mode}' for {ndim}D input is not "
                                  "implemented in microdl (nearest, nearest-exact and area take "
                                  "3D and 4D input, linear 3D, bilinear 4D)")
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                              f"{ndim}D) for the modes: {_TORCH_MODES} (got {mode})")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial axes of (N, C, L) or (N, C, H, W) input to ``size`` or by
    ``scale_factor``: "nearest", "nearest-exact", "linear" (3-D), "bilinear" (4-D), "area"
    (adaptive average pooling); source positions as ops/interpolate.py states them."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    input = _as_tensor(input)
    dims = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = None
    if size is not None:
        size = _per_axis(size, dims, input, "output", "output size of",
                         "output size in (o1, o2, ...,oK)")
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
            raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                            f"Tuple[int, int, int], but got size with types "
                            f"{[type(s) for s in size]}")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    else:
        scales = [float(s) for s in _per_axis(scale_factor, dims, input, "scale_factor",
                                              "scale_factor of shape",
                                              "scale_factor in (s1, s2, ...,sK)")]
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                         "requires a 4-D tensor as input")
    _check_mode(mode, input.ndim)
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented in microdl")
    out_size = _interp.output_size(input.shape[2:], size, scales)
    if recompute_scale_factor or mode == "area":
        scales = None  # the kernels then use in / out, as PyTorch's recomputed factor does
    _check_sizes(input.shape[2:], out_size)
    if input.dtype.kind != "f":
        raise NotImplementedError(f'"upsample_{mode}{dims}d" not implemented for '
                                  f"'{_ew.TORCH_NAMES.get(input.dtype, input.dtype)}'")
    if mode == "area":
        return _area(input, out_size)
    scales = scales or [None] * dims
    if mode.startswith("nearest"):
        tables = tuple(_interp.nearest_table(n, m, s, mode == "nearest-exact")
                       for n, m, s in zip(input.shape[2:], out_size, scales))
        tables = ((np.zeros(1, np.int64),) if dims == 1 else ()) + tables
        return _interp.Resample.apply(input, kernel="nearest2d", out_size=out_size,
                                      tables=tables)
    tables = [_interp.linear_table(n, m, s, align_corners, input.dtype)
              for n, m, s in zip(input.shape[2:], out_size, scales)]
    if dims == 1:  # one row, read with weight 1
        tables.insert(0, (np.zeros((1, 2), np.int64), np.array([[1, 0]], input.dtype)))
    return _interp.Resample.apply(input, kernel="bilinear2d", out_size=out_size,
                                  tables=(*tables[0], *tables[1]))


def _check_sizes(in_sizes, out_sizes):
    if all(n > 0 for n in in_sizes) and all(m > 0 for m in out_sizes):
        return
    axes = "HW" if len(in_sizes) == 2 else "W"
    text = ", ".join(f"{a}: {n}" for a, n in zip(axes, in_sizes))
    out_text = ", ".join(f"{a}: {m}" for a, m in zip(axes, out_sizes))
    raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                       f"({text}) output ({out_text})")


def _area(input, out_size):
    """"area" is adaptive average pooling (a 3-D input as one row of a plane)."""
    if input.ndim == 4:
        return adaptive_avg_pool2d(input, out_size)
    plane = input.reshape(*input.shape[:2], 1, input.shape[2])
    return adaptive_avg_pool2d(plane, (1, out_size[0])).reshape(*input.shape[:2], out_size[0])


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated in PyTorch: F.interpolate under its old name (with PyTorch's warning)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


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


# ---- normalize (vector norms) ----------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """y = x / max(||x||_p, eps), the p-norm taken over ``dim`` (kept, then broadcast back);
    the gradient flows through the norm too, as in PyTorch."""
    _check_input_tensor(input, "normalize", arrays_ok=False)
    if out is not None:
        raise NotImplementedError("normalize(out=...): microdl returns a new tensor")
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps).expand_as(input)


# ---- attention and transposed convolution ----------------------------------------------------
def _transpose_argument(value, fn, name, dims, position):
    """An int or a 1- or ``dims``-sequence of ints as a ``dims``-tuple, in PyTorch's words."""
    values = _ints(value, fn, name, position)
    if len(values) not in (1, dims):
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {dims} "
                           "values to match the convolution dimensions, but got "
                           f"{name}={list(values)}")
    return values * dims if len(values) == 1 else values


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The adjoint of conv2d(., weight) applied to input, plus bias: weight is (C_in,
    C_out/groups, kh, kw) and y[n, co, hi*sh - ph + i*dh, wi*sw - pw + j*dw] accumulates
    x[n, ci, hi, wi] * weight[ci, co', i, j]; H_out = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1.
    (N, C, H, W) or (C, H, W) input."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """conv_transpose2d over (N, C, L) or (C, L) input, run as height 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                    dims):
    fn = f"conv_transpose{dims}d"
    _check_input_tensor(input, fn, arrays_ok=False)
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to "
                           f"{fn}, but got input of size: {list(input.shape)}")
    if weight.ndim != dims + 2:
        raise RuntimeError(f"{fn}: expected a {dims + 2}-D weight, but got weight of size "
                           f"{list(weight.shape)}")
    hyper = [_transpose_argument(value, fn, name, dims, position) for value, name, position in
             ((stride, "stride", 4), (padding, "padding", 5),
              (output_padding, "output_padding", 6), (dilation, "dilation", 8))]
    batched = input.ndim == dims + 2
    x = input if batched else input.reshape(1, *input.shape)
    if x.shape[0] == 0:
        raise ValueError(f"{fn}: got an empty batch (input of size {list(input.shape)}); pass "
                         "at least one sample")
    if dims == 1:  # height 1: stride, dilation 1 and no padding there
        x = x.reshape(*x.shape[:2], 1, x.shape[2])
        weight = weight.reshape(*weight.shape[:2], 1, weight.shape[2])
        hyper = [(fill,) + v for fill, v in zip((1, 0, 0, 1), hyper)]
    stride, padding, output_padding, dilation = hyper
    _conv.check_conv_transpose2d(x.array, weight.array, None if bias is None else bias.array,
                                 stride, padding, output_padding, dilation, int(groups))
    out = _conv.ConvTranspose2d.apply(x, weight, stride=stride, padding=padding,
                                      output_padding=output_padding, dilation=dilation,
                                      groups=int(groups))
    if bias is not None:
        out = out + bias.reshape(-1, 1, 1)
    if dims == 1:
        out = out.reshape(*out.shape[:2], out.shape[3])
    return out if batched else out.reshape(*out.shape[1:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V over the last two dimensions, scale = 1/sqrt(E) unless
    given. A bool mask keeps where True (the rest gets -inf), a float mask is added; is_causal
    keeps key j <= query i. A query row with no key left gets zeros (PyTorch's safe softmax),
    not NaN. dropout_p drops attention weights (always: F's SDPA has no training flag).
    enable_gqa: key and value heads (dim -3) repeat to match the query's."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_input_tensor(t, "scaled_dot_product_attention", arrays_ok=False)
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_dtype_word(query)} key.dtype: {_dtype_word(key)} "
                           f"and value.dtype: {_dtype_word(value)} instead.")
    if query.array.dtype.kind not in "f":
        raise RuntimeError("expected scalar type Float but found "
                           f"{_mm.SCALAR_TYPE_NAMES[_mm.dtype_key(query.array.dtype)]}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    length, source = query.shape[-2], key.shape[-2]
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        repeat = query.shape[-3] // key.shape[-3]
        key, value = (t.unsqueeze(-3).expand(*t.shape[:-2], repeat, *t.shape[-2:])
                      .reshape(*t.shape[:-3], t.shape[-3] * repeat, *t.shape[-2:])
                      for t in (key, value))
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * factor
    if is_causal:
        attn_mask = Tensor(np.tril(np.ones((length, source), np.bool_))).to(query.device)
    if attn_mask is not None:
        if attn_mask.array.dtype == np.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, dim=-1)
    if attn_mask is not None:
        # a row whose every score is -inf: zeros, as PyTorch's safe softmax gives
        dead = scores.amax(-1, keepdim=True) == float("-inf")
        weights = weights.masked_fill(dead, 0.0)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


def _dtype_word(t):
    """PyTorch's short dtype word (float, double, half, ...)."""
    return {"float32": "float", "float64": "double", "float16": "half",
            "bfloat16": "bfloat16"}.get(str(t.array.dtype), str(t.array.dtype))


# ---- math composites ---------------------------------------------------------------------------
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) over ``dim`` (inputs broadcast). As
    PyTorch, the clamp to eps is outside autograd: the gradient is that of the unclamped norms."""
    x1, x2 = _broadcast_pair(x1, x2)

    def clamped_norm(x):
        norm = x.norm(2, dim=dim, keepdim=True)
        return norm + (norm.detach().clamp(min=eps) - norm.detach())

    return ((x1 / clamped_norm(x1)) * (x2 / clamped_norm(x2))).sum(dim=dim)


def _broadcast_pair(x1, x2):
    if tuple(x1.shape) == tuple(x2.shape):
        return x1, x2
    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    return x1.expand(*shape), x2.expand(*shape)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension (of the larger input)."""
    dim = max(x1.ndim, x2.ndim) - 1
    return (x1 - x2 + eps).norm(p, dim=dim, keepdim=keepdim)


def prelu(input, weight):
    """max(0, x) + weight * min(0, x); weight has one value or one per channel (dimension 1,
    dimension 0 of a 1-d input)."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    if input.ndim == 0 and weight.numel() != 1:
        raise RuntimeError("Not allow zero-dim input tensor.")
    if weight.numel() == 1:
        weight = weight.reshape(())  # a 0-d input keeps its shape
    else:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if input.ndim == 0 or weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{channels if input.ndim else 1}.")
        if input.ndim >= 2:
            weight = weight.reshape(-1, *([1] * (input.ndim - 2)))
    return _where_positive(input, weight)


def _where_positive(input, weight):
    from .tensor_methods.math import where
    return where(input > 0, input, weight * input)


def pixel_shuffle(input, upscale_factor):
    """(*, C r², H, W) -> (*, C, H r, W r)."""
    r = upscale_factor
    *batch, channels, height, width = input.shape
    if channels % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{channels} is not divisible by {r * r}")
    n = len(batch)
    x = input.reshape(*batch, channels // (r * r), r, r, height, width)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*batch, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r², H, W)."""
    r = downscale_factor
    *batch, channels, height, width = input.shape
    if height % r or width % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={height} is not divisible "
                           f"by {r}" if height % r else
                           f"pixel_unshuffle expects width to be divisible by downscale_factor,"
                           f" but input.size(-1)={width} is not divisible by {r}")
    n = len(batch)
    x = input.reshape(*batch, channels, height // r, r, width // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*batch, channels * r * r, height // r, width // r)


def _fold_pair(value, name):
    values = (value,) * 2 if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(values)}")
    return tuple(int(v) for v in values)


def _fold_arguments(kernel_size, dilation, padding, stride):
    hyper = [_fold_pair(v, n) for v, n in ((kernel_size, "kernel_size"), (stride, "stride"),
                                           (padding, "padding"), (dilation, "dilation"))]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = hyper
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kh} kernel_width: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {sh} "
                           f"stride_width: {sw}")
    if ph < 0 or pw < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {ph} "
                           f"pad_width: {pw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dh} dilation_width: {dw}")
    return tuple(hyper)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding kernel_size blocks of a (N, C, H, W) (or unbatched (C, H, W)) input as columns:
    (N, C kh kw, L), L the number of block positions (im2col)."""
    from .ops import fold as _fold
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 4D input Tensors are supported (got "
                                  f"{input.ndim}D)")
    hyper = _fold_arguments(kernel_size, dilation, padding, stride)
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    blocks = _fold.output_hw(batched.shape[2:], *hyper)
    if min(blocks) < 1:
        (kh, kw), _, (ph, pw), (dh, dw) = hyper
        raise RuntimeError(f"Given input with spatial size {tuple(batched.shape[2:])}, "
                           f"kernel_size={hyper[0]}, dilation={hyper[3]}, padding={hyper[2]}, "
                           f"calculated shape of the array of sliding blocks as {blocks}, but "
                           f"its components must be at least one.")
    out = _fold.Unfold.apply(batched, kernel_size=hyper[0], stride=hyper[1], padding=hyper[2],
                             dilation=hyper[3])
    return out if input.ndim == 4 else out.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of unfold: (N, C kh kw, L) columns (or unbatched (C kh kw, L)) summed back
    into a (N, C, *output_size) image, overlapping positions adding up (col2im)."""
    from .ops import fold as _fold
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"[{', '.join(str(s) for s in input.shape)}]")
    output_size = _fold_pair(output_size, "output_size")
    hyper = _fold_arguments(kernel_size, dilation, padding, stride)
    batched = input if input.ndim == 3 else input.unsqueeze(0)
    (kh, kw) = hyper[0]
    if batched.shape[1] % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={batched.shape[1]} and "
                           f"kernel_size={hyper[0]}.")
    blocks = _fold.output_hw(output_size, *hyper)
    if blocks[0] * blocks[1] != batched.shape[2]:
        raise RuntimeError(f"Given output_size={output_size}, kernel_size={hyper[0]}, "
                           f"dilation={hyper[3]}, padding={hyper[2]}, stride={hyper[1]}, "
                           f"expected size of input's dimension 2 to match the calculated "
                           f"number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={batched.shape[2]}.")
    out = _fold.Fold.apply(batched, output_size=output_size, kernel_size=hyper[0],
                           stride=hyper[1], padding=hyper[2], dilation=hyper[3])
    return out if input.ndim == 3 else out.squeeze(0)


def _reduce_loss(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _where(condition, x, y):
    from .tensor_methods.math import where
    return where(condition, x, y)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target * (input1 - input2) + margin)."""
    _legacy_reduction(size_average, reduce)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    return _reduce_loss((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """input where target = 1, max(0, margin - input) where target = -1 (both terms where the
    target is neither, as PyTorch)."""
    _legacy_reduction(size_average, reduce)
    margin_term = _where(target != 1, (margin - input).clamp(min=0), 0.0)
    return _reduce_loss(margin_term + _where(target != -1, input, 0.0), reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input))."""
    _legacy_reduction(size_average, reduce)
    _not_differentiable(target, "soft_margin_loss", "target")
    return _reduce_loss((-target * input).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """-(target log sigmoid(input) + (1 - target) log sigmoid(-input)) (times weight), averaged
    over the last dimension."""
    _legacy_reduction(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce_loss(loss.sum(dim=loss.ndim - 1) / input.shape[-1], reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(input1, input2) where target = 1, max(0, cos - margin) where target = -1; cos
    along the last dimension with 1e-12 added to each squared norm (as PyTorch)."""
    _legacy_reduction(size_average, reduce)
    dim = input1.ndim - 1
    product = (input1 * input2).sum(dim=dim)
    magnitudes = ((input1 * input1).sum(dim=dim) + 1e-12) * ((input2 * input2).sum(dim=dim)
                                                              + 1e-12)
    cos = product / magnitudes.sqrt()
    loss = _where(target == 1, 1 - cos, 0.0) + _where(target == -1, (cos - margin).clamp(min=0),
                                                       0.0)
    return _reduce_loss(loss, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the pairwise distance;
    swap: d(anchor, negative) replaced by d(positive, negative) where that is smaller."""
    _legacy_reduction(size_average, reduce)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {anchor.ndim}D, "
                           f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")
    d_positive = pairwise_distance(anchor, positive, p, eps)
    d_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_negative = d_negative.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce_loss((margin + d_positive - d_negative).clamp(min=0), reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(input) - target * input (log_input), else input - target * log(input + eps); full
    adds Stirling's target log(target) - target + log(2 pi target) / 2 where target > 1."""
    _legacy_reduction(size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + _where(target > 1, stirling, 0.0)
    return _reduce_loss(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """(log(max(var, eps)) + (input - target)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 when
    full); var may lack input's last dimension or have it as 1. As PyTorch, the clamp to eps
    is outside autograd."""
    if not isinstance(var, Tensor):
        var = Tensor._wrap(np.full(tuple(input.shape), float(var), input.dtype))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        # PyTorch's rule: same rank, and the sizes that differ (var's being 1) add up to 1
        elif not (input.ndim == var.ndim and
                  sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var + (var.detach().clamp(min=eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce_loss(loss, reduction)


# ---- bilinear, gumbel softmax, unpooling ----
def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]: input1
    (*, in1), input2 (*, in2) with the same batch dims, weight (out, in1, in2), bias (out,).
    Built from matmul: (x1 @ W as (in1, out * in2)) viewed (N, out, in2), times x2, summed."""
    _check_input_tensor(input1, "bilinear", arrays_ok=False)
    _check_input_tensor(input2, "bilinear", arrays_ok=False)
    given = [("input1", input1), ("input2", input2), ("weight", weight)]
    given += [("bias", bias)] if bias is not None else []
    if len({t.dtype for _, t in given}) > 1:
        names = ", ".join(f"{n}: {_ew.TORCH_NAMES[t.dtype].lower()}" for n, t in given)
        raise RuntimeError(f"All tensors must have the same dtype, got {names}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for d, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: "
                               f"got {a} and {b}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got "
                           f"{weight.ndim}-D")
    out_features, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {in2}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_features):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1] if bias.ndim else 1} but expected {out_features}")
    batch = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    mixed = x1 @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)  # (N, out * in2)
    # (sum(dtype=): integers keep their dtype, as in torch, rather than summing to int64)
    y = (mixed.reshape(-1, out_features, in2) * x2.unsqueeze(1)).sum(-1, dtype=weight.dtype)
    if bias is not None:
        y = y + bias
    return y.reshape(*batch, out_features)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) over ``dim``, g ~ Gumbel(0, 1) drawn as -log(E), E ~ Exp(1)
    (from microdl's generator, as PyTorch draws it). hard=True returns the one-hot of the
    argmax in the forward pass with the soft sample's gradient (straight through):
    y_hard - y_soft.detach() + y_soft. ``eps`` is unused, as in PyTorch (deprecated there)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    _check_input_tensor(logits, "gumbel_softmax", arrays_ok=False)
    gumbels = -logits.detach().new_empty(tuple(logits.shape)).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.detach().argmax(dim, keepdim=True)
    y_hard = logits.detach().new_zeros(tuple(logits.shape)).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def _unpool_output_size(input, kernel_size, stride, padding, output_size):
    """PyTorch's output size of max_unpool: (in - 1) * stride + kernel - 2 * padding per
    spatial dim, or ``output_size`` (its last dims) when within stride of that."""
    default = [(input.shape[-len(kernel_size) + d] - 1) * stride[d] + kernel_size[d]
               - 2 * padding[d] for d in range(len(kernel_size))]
    if output_size is None:
        return default
    output_size = list(output_size)
    if len(output_size) == len(kernel_size) + 2:
        output_size = output_size[2:]
    if len(output_size) != len(kernel_size):
        raise ValueError(f"output_size should be a sequence containing {len(kernel_size)} or "
                         f"{len(kernel_size) + 2} elements, but it has a length of "
                         f"'{len(output_size)}'")
    for d in range(len(kernel_size)):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < output_size[d] < high:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {d} must be '
                             f'between {low} and {high})')
    return output_size


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The inverse of max_pool2d: y[n, c].flat[indices[n, c, i, j]] = x[n, c, i, j], zero
    elsewhere, y of size (H - 1) * stride - 2 * padding + kernel (or output_size). A scatter
    into the flat (H_out * W_out) planes; its gradient gathers at the same indices."""
    _check_input_tensor(input, "max_unpool2d", arrays_ok=False)
    kernel_size, stride, padding, _ = _pool_geometry("max_unpool2d", kernel_size, stride,
                                                     padding, 1)
    height, width = _unpool_output_size(input, kernel_size, stride, padding, output_size)
    if indices.dtype != np.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{_ew.TORCH_NAMES.get(indices.dtype, indices.dtype)}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    if input.ndim not in (3, 4) or any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError(f"Expected 3d or 4d tensor with optional 0 dim batch size for input, "
                           f"but got: {list(input.shape)}")
    if input.dtype.kind != "f":
        raise NotImplementedError(f'"max_unpool2d" not implemented for '
                                  f"'{_ew.TORCH_NAMES.get(input.dtype, input.dtype)}'")
    flat_indices = indices.reshape(*input.shape[:-2], -1)
    bad = np.flatnonzero((_device.host(flat_indices.array) < 0)
                         | (_device.host(flat_indices.array) >= height * width))
    if bad.size:
        raise RuntimeError(f"Found an invalid max index: "
                           f"{_device.host(flat_indices.array).flat[bad[0]]} (output volumes "
                           f"are of size {height}x{width})")
    planes = input.new_zeros((*input.shape[:-2], height * width))
    out = planes.scatter(-1, flat_indices, input.reshape(*input.shape[:-2], -1))
    return out.reshape(*input.shape[:-2], height, width)
