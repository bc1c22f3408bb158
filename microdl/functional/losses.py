"""Loss functions: cross_entropy, nll_loss, mse_loss, binary cross entropy, l1 / smooth l1 /
huber, kl_div, and the margin and likelihood losses composed from Tensor ops."""

import math
import warnings

import numpy as np

from ..ops import loss as _loss
from ..tensor import Tensor
from ._common import _array_of, _as_tensor, _tensor_or_array_on_device
from .activations import log_softmax, logsigmoid
from .distance import pairwise_distance


# ---- losses (nll_loss, binary cross entropy, ...) ------------------------------------------
# The ops (ops/loss.py) validate in PyTorch's words; here: argument handling, and the losses
# PyTorch itself composes from others (cross-entropy = log_softmax + nll_loss, label smoothing,
# class-probability targets, weighted regression losses, kl_div's batchmean).

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


# ---- math composites: margin and likelihood losses -----------------------------------------
def _reduce_loss(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _where(condition, x, y):
    from ..tensor_methods.math import where
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
