"""Losses: cross-entropy with integer labels (fused log-softmax + NLL) and mean squared error."""

import numpy as np

from .. import backend
from ..autograd import Function
from .elementwise import promote

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
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        bad = labels[(labels < 0) | (labels >= logits.shape[1])][0]
        raise IndexError(f"Target {bad} is out of bounds (logits have {logits.shape[1]} "
                         "classes)")


def _reduce(values, reduction):
    if reduction == "mean":
        if values.size == 0:  # the mean of no values is NaN (as in PyTorch), without a warning
            return np.asarray(np.nan, values.dtype)
        return np.asarray(values.mean(dtype=np.float64), values.dtype)
    if reduction == "sum":
        return np.asarray(values.sum(dtype=np.float64), values.dtype)
    return values


def _spread(g, n, reduction, dtype):
    """Gradient of the reduction: one value per sample."""
    if reduction == "none":
        return np.ascontiguousarray(g, dtype)
    scale = g / max(n, 1) if reduction == "mean" else g  # n = 0: an empty gradient anyway
    return np.full(n, scale, dtype)


class CrossEntropy(Function):
    """loss_i = -log softmax(logits_i)[label_i], reduced by mean/sum/none;
    dlogits_i = (softmax(logits_i) - onehot(label_i)) * dloss_i."""

    @staticmethod
    def forward(ctx, logits, labels, reduction="mean"):
        _check_reduction(reduction)
        _check_labels(logits, labels)
        log_probs = np.empty(logits.shape, logits.dtype)
        losses = np.empty(logits.shape[0], logits.dtype)
        backend.kernels("softmax").cross_entropy_forward(logits, labels, log_probs, losses)
        ctx.save_for_backward(log_probs, labels)
        ctx.reduction = reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, g):
        log_probs, labels = ctx.saved
        grad_losses = _spread(g, len(labels), ctx.reduction, log_probs.dtype)
        grad_logits = np.empty_like(log_probs)
        backend.kernels("softmax").cross_entropy_backward(log_probs, labels, grad_losses,
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
        diff = pred - target
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce(diff * diff, reduction)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved
        scale = g / max(diff.size, 1) if ctx.reduction == "mean" else g  # 0: empty grad
        grad = 2 * diff * np.asarray(scale, diff.dtype)
        return grad, -grad
