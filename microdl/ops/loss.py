"""Losses: cross-entropy with integer labels (fused log-softmax + NLL) and mean squared error."""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, broadcast_to, reduce_sum, unary
from .elementwise import promote, result_dtype

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction "
                         f"(expected one of {REDUCTIONS})")


def _check_labels(logits, labels):
    if logits.ndim != 2:
        raise RuntimeError(f"cross_entropy: expected logits of shape (N, C), got "
                           f"{logits.ndim}D input of shape {logits.shape}")
    if not np.issubdtype(logits.dtype, np.floating):
        raise TypeError(f"cross_entropy: expected floating point logits (got dtype "
                        f"{logits.dtype})")
    if not np.issubdtype(labels.dtype, np.integer):
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
        if not np.issubdtype(pred.dtype, np.floating):
            raise TypeError(f"mse_loss: expected a floating point input (got dtype "
                            f"{pred.dtype})")
        if pred.shape != target.shape:
            raise ValueError(f"mse_loss: input shape {pred.shape} and target shape "
                             f"{target.shape} differ (broadcasting is not done for losses)")
        pred, target = promote(pred, target)
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
