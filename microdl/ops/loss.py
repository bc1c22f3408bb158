"""Losses: cross-entropy with integer labels (fused log-softmax + NLL), NLL on log-probabilities,
binary cross-entropy (on probabilities and on logits), L1, MSE, smooth L1 / Huber, KL divergence.

Each op returns the loss terms reduced by ``reduction`` ("mean", "sum" or "none"); the loss
kernels (family ``loss``) write the terms and their gradients, ``_reduce`` / ``_spread`` do the
rest. Validation words errors as PyTorch does.
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import absent, binary, broadcast_to, contiguous, copy, reduce_sum, unary
from .activation import _rows_back, _rows_view
from .elementwise import promote, result_dtype

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_labels(logits, labels):
    if logits.ndim != 2:
        raise RuntimeError(f"cross_entropy: expected logits of shape (N, C), got "
                           f"{logits.ndim}D input of shape {logits.shape}")
    if logits.dtype.kind != "f":  # (np.issubdtype's answer, at a tenth of its cost)
        raise TypeError(f"cross_entropy: expected floating point logits (got dtype "
                        f"{logits.dtype})")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: expected integer class labels (got dtype "
                        f"{labels.dtype}); use labels.astype(np.int64)")
    if labels.ndim > 1:
        raise RuntimeError(f"0D or 1D target tensor expected, multi-target not supported "
                           f"(cross_entropy takes one integer class label per sample: shape "
                           f"({logits.shape[0]},), got labels of shape {labels.shape})")
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"Expected input batch_size ({logits.shape[0]}) to match target "
                         f"batch_size ({labels.shape[0] if labels.ndim else 0}): labels shape "
                         f"{labels.shape}, logits shape {logits.shape}")
    # NOTE: label values are checked on the host only: on a GPU the check would wait for the
    # device every step (a label out of range there gives a NaN loss)
    if labels.size and not backend.is_device_array(labels) and \
            (labels.min() < 0 or labels.max() >= logits.shape[1]):
        bad = labels[(labels < 0) | (labels >= logits.shape[1])][0]
        raise IndexError(f"Target {bad} is out of bounds (logits have {logits.shape[1]} "
                         "classes)")


def _reduce(values, reduction):
    """The mean or sum of the loss terms (float64 accumulation), or the terms themselves."""
    if reduction == "none":
        return values
    # the mean of no values is NaN, as in PyTorch
    scale = (1.0 / values.size if values.size else np.nan) if reduction == "mean" else 1.0
    return reduce_sum(values, tuple(range(values.ndim)), False, scale)


def _spread(g, shape, reduction):
    """Gradient of the reduction: one value per loss term."""
    if reduction == "none":
        return g
    full = broadcast_to(g, shape)
    if reduction == "mean":  # scaled in place: full is this function's own array
        backend.for_arrays(full).kernels("elementwise").unary(full, full, "scale",
                                                             1.0 / max(math.prod(shape), 1))
    return full


class CrossEntropy(Function):
    """loss_i = -log softmax(logits_i)[label_i], reduced by mean/sum/none;
    dlogits_i = (softmax(logits_i) - onehot(label_i)) * dloss_i."""

    @staticmethod
    def forward(ctx, logits, labels, reduction="mean"):
        _check_reduction(reduction)
        _check_labels(logits, labels)
        dev = backend.for_arrays(logits, labels)
        log_probs = dev.empty(logits.shape, logits.dtype)
        losses = dev.empty(logits.shape[0], logits.dtype)
        dev.kernels("softmax").cross_entropy_forward(logits, labels, log_probs, losses)
        ctx.save_for_backward(log_probs, labels)
        ctx.reduction = reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, g):
        log_probs, labels = ctx.saved
        grad_losses = _spread(g, (log_probs.shape[0],), ctx.reduction)
        dev = backend.for_arrays(log_probs)
        grad_logits = dev.empty_like(log_probs)
        dev.kernels("softmax").cross_entropy_backward(log_probs, labels, grad_losses,
                                                      grad_logits)
        return grad_logits, None


class MSELoss(Function):
    """loss = (pred - target)**2 reduced by mean/sum/none;  dpred = 2 (pred - target) * g'."""

    @staticmethod
    def forward(ctx, pred, target, reduction="mean"):
        _check_reduction(reduction)
        pred, target = broadcast_pair(*promote(pred, target))
        _check_float(pred.dtype, "mse_cpu")
        diff = binary(pred, target, "sub", result_dtype(pred, target))
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(binary(diff, diff, "mul", diff.dtype), reduction)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved
        grad = unary(binary(diff, _spread(g, diff.shape, ctx.reduction), "mul", diff.dtype),
                     "scale", scalar=2.0)
        return grad, unary(grad, "neg")


# ---- validation and shapes shared by the losses below ------------------------------------------

_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def torch_name(dtype):
    """PyTorch's name of a dtype, as its error messages print it (float32 -> Float)."""
    return _TORCH_NAMES.get(np.dtype(dtype).name, np.dtype(dtype).name)


def _check_float(dtype, kernel):
    if dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{torch_name(dtype)}\'')


def broadcast_pair(a, b):
    """a and b written out to their common shape (PyTorch's message when there is none)."""
    if a.shape == b.shape:
        return a, b
    shape = broadcast_shape(a.shape, b.shape)
    return (a if a.shape == shape else broadcast_to(a, shape),
            b if b.shape == shape else broadcast_to(b, shape))


def broadcast_shape(sa, sb):
    """The broadcast shape of sa and sb, or PyTorch's RuntimeError naming the first clash."""
    sa, sb = tuple(sa), tuple(sb)
    ndim = max(len(sa), len(sb))
    for d in range(ndim - 1, -1, -1):
        na = sa[d - ndim + len(sa)] if d - ndim + len(sa) >= 0 else 1
        nb = sb[d - ndim + len(sb)] if d - ndim + len(sb) >= 0 else 1
        if na != nb and na != 1 and nb != 1:
            raise RuntimeError(f"The size of tensor a ({na}) must match the size of tensor b "
                               f"({nb}) at non-singleton dimension {d}")
    return tuple(np.broadcast_shapes(sa, sb))


def _expanded(x, shape, dtype):
    """An optional weight in ``dtype``, broadcast to ``shape`` (absent stays None)."""
    if x is None:
        return None
    x = x if x.dtype == dtype else copy(x, dtype)
    return x if tuple(x.shape) == tuple(shape) else broadcast_to(x, broadcast_shape(x.shape,
                                                                                   shape))


def _host_values(x):
    """x itself on the host, None on a device (values are checked on the host only: a check
    on a GPU would wait for the device every step)."""
    return None if backend.is_device_array(x) else x


# ---- negative log-likelihood -------------------------------------------------------------------

def _check_nll(log_probs, labels, weight, ignore_index):
    """PyTorch's checks of nll_loss, in its order and words."""
    if log_probs.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {log_probs.ndim})")
    if log_probs.ndim == 1:
        if labels.ndim == 1 and labels.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{labels.shape[0]}")
    elif (labels.shape[0] if labels.ndim else 0) != log_probs.shape[0]:
        raise ValueError(f"Expected input batch_size ({log_probs.shape[0]}) to match target "
                         f"batch_size ({labels.shape[0] if labels.ndim else 0}).")
    if labels.dtype.kind not in "iu":
        # NOTE: any integer dtype is taken (numpy's default int is int32 on some platforms);
        # PyTorch takes int64 and uint8 only
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{torch_name(labels.dtype)}")
    _check_float(log_probs.dtype, "nll_loss_out_frame")
    classes = log_probs.shape[0 if log_probs.ndim == 1 else 1]
    if weight is not None:
        if weight.ndim != 1 or weight.shape[0] != classes:
            raise RuntimeError(f"weight tensor should be defined either for all {classes} "
                               f"classes or no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        if weight.dtype != log_probs.dtype:
            raise RuntimeError(f"expected scalar type {torch_name(log_probs.dtype)} but found "
                               f"{torch_name(weight.dtype)}")
    _check_target_shape(log_probs.shape, labels.shape)
    host = _host_values(labels)
    if host is not None and host.size:
        bad = host[((host < 0) | (host >= classes)) & (host != ignore_index)]
        if bad.size:
            raise IndexError(f"Target {bad.flat[0]} is out of bounds.")


def _check_target_shape(input_shape, target_shape):
    if len(input_shape) == 2 and len(target_shape) > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if len(input_shape) == 4 and len(target_shape) != 3:
        raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got "
                           f"targets of dimension: {len(target_shape)}")
    expected = tuple(input_shape[:1]) + tuple(input_shape[2:])
    if len(input_shape) == 4 and tuple(target_shape) != expected:
        raise RuntimeError(f"size mismatch (got input: {list(input_shape)} , target: "
                           f"{list(target_shape)}")
    if len(input_shape) > 2 and tuple(target_shape) != expected:
        raise RuntimeError(f"Expected target size {list(expected)}, got {list(target_shape)}")


def _nll_rows(log_probs, labels, weight, ignore_index):
    """Per-row terms and target weights of NLL on (rows, C) log-probabilities (class axis moved
    last), with what backward needs to undo the move."""
    rows_, axes = _rows_view(log_probs, 0 if log_probs.ndim == 1 else 1)
    flat_labels = contiguous(labels).reshape(rows_.shape[0])
    dev = backend.for_arrays(rows_, flat_labels)
    weight = absent(dev, log_probs.dtype) if weight is None else contiguous(weight)
    losses = dev.empty(rows_.shape[0], log_probs.dtype)
    label_weights = dev.empty(rows_.shape[0], log_probs.dtype)
    dev.kernels("loss").nll_forward(rows_, flat_labels, weight, losses, label_weights,
                                    int(ignore_index))
    return losses, label_weights, (flat_labels, weight, rows_.shape, axes)


def target_weights(log_probs, labels, weight, ignore_index):
    """weight[label] (1 without weight) per target, 0 where label == ignore_index, shaped as
    labels (the divisor of a weighted mean)."""
    _check_nll(log_probs, labels, weight, ignore_index)
    return _nll_rows(log_probs, labels, weight, ignore_index)[1].reshape(labels.shape)


class NLLLoss(Function):
    """loss_i = -w[t_i] * logp[i, t_i] over the class axis (1, or 0 for an unbatched input),
    0 where t_i == ignore_index; mean = sum_i loss_i / sum_i w[t_i] (kept targets only);
    dlogp[i, t_i] = -w[t_i] * dloss_i."""

    @staticmethod
    def forward(ctx, log_probs, labels, weight, reduction="mean", ignore_index=-100):
        _check_reduction(reduction)
        _check_nll(log_probs, labels, weight, ignore_index)
        losses, label_weights, ctx.layout = _nll_rows(log_probs, labels, weight, ignore_index)
        ctx.reduction, ctx.shape, ctx.ignore_index = reduction, log_probs.shape, ignore_index
        ctx.total_weight = None
        if reduction == "none":
            return losses.reshape(labels.shape)
        total = reduce_sum(losses, (0,), False)
        if reduction == "sum":
            return total
        ctx.total_weight = reduce_sum(label_weights, (0,), False)
        return binary(total, ctx.total_weight, "div", total.dtype)

    @staticmethod
    def backward(ctx, g):
        labels, weight, rows_shape, axes = ctx.layout
        if ctx.reduction == "none":
            grad_losses = contiguous(g).reshape(rows_shape[0])
        else:
            if ctx.reduction == "mean":
                g = binary(g, ctx.total_weight, "div", g.dtype)
            grad_losses = broadcast_to(g, (rows_shape[0],))
        dev = backend.for_arrays(labels, grad_losses)
        grad_rows = dev.empty(rows_shape, grad_losses.dtype)
        dev.kernels("loss").nll_backward(labels, weight, grad_losses, grad_rows,
                                         int(ctx.ignore_index))
        return _rows_back(grad_rows, ctx.shape, axes), None, None


# ---- binary cross-entropy ----------------------------------------------------------------------

def _torch_size(shape):
    return f"torch.Size({list(shape)})"


def _weighted(losses, weight):
    return losses if weight is None else binary(losses, weight, "mul", losses.dtype)


class BinaryCrossEntropy(Function):
    """loss = -w * (y * max(log x, -100) + (1 - y) * max(log(1 - x), -100));
    dx = g * w * (x - y) / max(x (1 - x), 1e-12),  dy = g * w * (log(1 - x) - log x)."""

    @staticmethod
    def forward(ctx, probs, targets, weight, reduction="mean"):
        _check_reduction(reduction)
        if targets.shape != probs.shape:
            raise ValueError(f"Using a target size ({_torch_size(targets.shape)}) that is "
                             f"different to the input size ({_torch_size(probs.shape)}) is "
                             "deprecated. Please ensure they have the same size.")
        if targets.dtype != probs.dtype:
            raise RuntimeError(f"Found dtype {torch_name(targets.dtype)} but expected "
                               f"{torch_name(probs.dtype)}")
        _check_float(probs.dtype, "binary_cross_entropy")
        for name, values in (("input", _host_values(probs)), ("target", _host_values(targets))):
            if values is not None and values.size and not ((values >= 0) & (values <= 1)).all():
                raise RuntimeError(f"all elements of {name} should be between 0 and 1")
        dev = backend.for_arrays(probs, targets)
        probs, targets = contiguous(probs), contiguous(targets)
        weight = _expanded(weight, probs.shape, probs.dtype)
        losses = dev.empty(probs.shape, probs.dtype)
        dev.kernels("loss").binary_cross_entropy_forward(probs, targets, losses)
        ctx.save_for_backward(probs, targets, weight)
        ctx.reduction = reduction
        return _reduce(_weighted(losses, weight), reduction)

    @staticmethod
    def backward(ctx, g):
        probs, targets, weight = ctx.saved
        grad_losses = contiguous(_weighted(_spread(g, probs.shape, ctx.reduction), weight))
        dev = backend.for_arrays(probs, grad_losses)
        grad_probs, grad_targets = dev.empty_like(probs), dev.empty_like(probs)
        dev.kernels("loss").binary_cross_entropy_backward(probs, targets, grad_losses,
                                                          grad_probs, grad_targets)
        return grad_probs, grad_targets, None


class BinaryCrossEntropyWithLogits(Function):
    """loss = w * ((1 - y) x - (1 + (p - 1) y) log_sigmoid(x)), p = pos_weight (stable for any
    x);  dx = g w ((1 - y) - (1 + (p - 1) y) sigmoid(-x)),  dy = g w (-x - (p - 1)
    log_sigmoid(x)). Computed in the target's dtype, as PyTorch."""

    @staticmethod
    def forward(ctx, logits, targets, weight, pos_weight, reduction="mean"):
        _check_reduction(reduction)
        if targets.shape != logits.shape:
            raise ValueError(f"Target size ({_torch_size(targets.shape)}) must be the same as "
                             f"input size ({_torch_size(logits.shape)})")
        if targets.dtype.kind != "f":
            raise RuntimeError(f"result type Float can't be cast to the desired output type "
                               f"{torch_name(targets.dtype)}")
        _check_float(logits.dtype, "binary_cross_entropy_with_logits")
        dev = backend.for_arrays(logits, targets)
        dtype = targets.dtype
        logits = contiguous(logits) if logits.dtype == dtype else copy(logits, dtype)
        targets = contiguous(targets)
        pos_weight = _expanded(pos_weight, logits.shape, dtype)
        weight = _expanded(weight, logits.shape, dtype)
        pos_weight_or_absent = absent(dev, dtype) if pos_weight is None else pos_weight
        losses = dev.empty(logits.shape, dtype)
        dev.kernels("loss").bce_with_logits_forward(logits, targets, pos_weight_or_absent, losses)
        ctx.save_for_backward(logits, targets, weight, pos_weight_or_absent)
        ctx.reduction = reduction
        return _reduce(_weighted(losses, weight), reduction)

    @staticmethod
    def backward(ctx, g):
        logits, targets, weight, pos_weight = ctx.saved
        grad_losses = contiguous(_weighted(_spread(g, logits.shape, ctx.reduction), weight))
        dev = backend.for_arrays(logits, grad_losses)
        grad_logits, grad_targets = dev.empty_like(logits), dev.empty_like(logits)
        dev.kernels("loss").bce_with_logits_backward(logits, targets, pos_weight, grad_losses,
                                                     grad_logits, grad_targets)
        return grad_logits, grad_targets, None, None


# ---- regression losses and KL divergence -------------------------------------------------------

class L1Loss(Function):
    """loss = |x - y|;  dx = g * sign(x - y) (0 at x = y, as PyTorch),  dy = -dx."""

    @staticmethod
    def forward(ctx, inputs, targets, reduction="mean"):
        _check_reduction(reduction)
        inputs, targets = broadcast_pair(*promote(inputs, targets))
        diff = binary(inputs, targets, "sub", result_dtype(inputs, targets))
        if reduction == "mean" and diff.dtype.kind != "f":
            raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{torch_name(diff.dtype)}")
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(unary(diff, "abs"), reduction)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved
        grad = binary(_spread(g, diff.shape, ctx.reduction), unary(diff, "sign"), "mul",
                      g.dtype)
        return grad, unary(grad, "neg")


class Huber(Function):
    """loss = scale * (0.5 d**2 / delta if |d| < delta else |d| - delta / 2), d = x - y
    (smooth_l1: delta = beta, scale = 1; huber: scale = delta);
    dx = g * scale * (d / delta if |d| <= delta else sign(d)),  dy = -dx."""

    @staticmethod
    def forward(ctx, inputs, targets, delta, scale, reduction="mean", name="huber"):
        _check_reduction(reduction)
        if name == "huber" and inputs.dtype.kind == "f" and targets.dtype != inputs.dtype:
            targets = copy(targets, inputs.dtype)  # PyTorch's huber keeps the input's dtype
        inputs, targets = broadcast_pair(*promote(inputs, targets))
        _check_float(inputs.dtype, f"{name}_cpu")
        dev = backend.for_arrays(inputs, targets)
        inputs, targets = contiguous(inputs), contiguous(targets)
        losses = dev.empty(inputs.shape, inputs.dtype)
        dev.kernels("loss").huber_forward(inputs, targets, losses, float(delta), float(scale))
        ctx.save_for_backward(inputs, targets)
        ctx.reduction, ctx.delta, ctx.scale = reduction, float(delta), float(scale)
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, g):
        inputs, targets = ctx.saved
        grad_losses = contiguous(_spread(g, inputs.shape, ctx.reduction))
        dev = backend.for_arrays(inputs, grad_losses)
        grad = dev.empty_like(inputs)
        dev.kernels("loss").huber_backward(inputs, targets, grad_losses, grad, ctx.delta,
                                           ctx.scale)
        return grad, unary(grad, "neg")


class KLDiv(Function):
    """loss = y (log y - x) (0 where y = 0), or exp(y) (y - x) with log_target; x holds
    log-probabilities;  dx = -g y (-g exp(y)),  dy = g (log y + 1 - x) (g exp(y) (y - x + 1))."""

    @staticmethod
    def forward(ctx, inputs, targets, reduction="mean", log_target=False):
        _check_reduction(reduction)
        if inputs.dtype.kind != "f" and targets.dtype.kind != "f":
            raise RuntimeError("kl_div: Integral inputs not supported.")
        inputs, targets = broadcast_pair(*promote(inputs, targets))
        dev = backend.for_arrays(inputs, targets)
        inputs, targets = contiguous(inputs), contiguous(targets)
        losses = dev.empty(inputs.shape, inputs.dtype)
        dev.kernels("loss").kl_div_forward(inputs, targets, losses, bool(log_target))
        ctx.save_for_backward(inputs, targets)
        ctx.reduction, ctx.log_target = reduction, bool(log_target)
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, g):
        inputs, targets = ctx.saved
        grad_losses = contiguous(_spread(g, inputs.shape, ctx.reduction))
        dev = backend.for_arrays(inputs, grad_losses)
        grad_inputs, grad_targets = dev.empty_like(inputs), dev.empty_like(inputs)
        dev.kernels("loss").kl_div_backward(inputs, targets, grad_losses, grad_inputs,
                                            grad_targets, ctx.log_target)
        return grad_inputs, grad_targets


def one_hot(labels, num_classes=-1):
    """out[..., c] = 1 where labels[...] == c, else 0 (int64), on the labels' device."""
    if labels.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    dev = backend.of(labels)
    host = _host_values(labels)
    if num_classes == -1:
        if labels.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        host = dev.to_host(labels) if host is None else host
        num_classes = int(host.max()) + 1
    if host is not None and host.size:
        if host.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if host.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    if num_classes < 0:
        raise RuntimeError("Class values must be smaller than num_classes.")
    classes = dev.to_here(np.arange(num_classes, dtype=np.int64))
    column = contiguous(labels).reshape(tuple(labels.shape) + (1,))
    return binary(column, classes, "eq", np.dtype(np.int64))
