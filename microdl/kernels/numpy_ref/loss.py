"""Loss kernels, the specification: per-sample (or per-element) loss terms and their gradients.

The ops reduce the terms (mean, sum) themselves. Elementwise kernels take arrays of one shape,
C-contiguous (the op broadcasts first); an absent ``weight`` or ``pos_weight`` is a size-0
array, standing for all ones.
"""

import numpy as np

# PyTorch's floor of x (1 - x) in the BCE gradient: 1e-12 as a float32, whatever the dtype
EPSILON = 9.999999960041972e-13


def _class_weights(labels, weight, ignore_index):
    """weight[label] per row (1 without weight), 0 where label == ignore_index."""
    kept = labels != ignore_index
    safe = np.where(kept, labels, 0)
    per_row = weight[safe] if weight.size else np.ones(labels.shape, np.float64)
    return np.where(kept, per_row, 0), safe


def nll_forward(log_probs, labels, weight, losses, label_weights, ignore_index):
    """losses[i] = -w[labels[i]] * log_probs[i, labels[i]] and label_weights[i] = w[labels[i]]
    (w = weight, or ones), both 0 where labels[i] == ignore_index. log_probs is (rows, C)."""
    row_weights, safe = _class_weights(labels, weight, ignore_index)
    picked = log_probs[np.arange(len(labels)), safe]
    np.copyto(losses, -row_weights * picked, casting="unsafe")
    np.copyto(label_weights, row_weights, casting="unsafe")


def nll_backward(labels, weight, grad_losses, grad_log_probs, ignore_index):
    """grad_log_probs[i, c] = -w[labels[i]] * grad_losses[i] where c == labels[i], else 0."""
    row_weights, safe = _class_weights(labels, weight, ignore_index)
    grad_log_probs[...] = 0
    grad_log_probs[np.arange(len(labels)), safe] = -row_weights * grad_losses


def binary_cross_entropy_forward(probs, targets, losses):
    """losses = -(y * max(log x, -100) + (1 - y) * max(log(1 - x), -100)), x = probs,
    y = targets (the clamp keeps x = 0 or 1 finite, as PyTorch)."""
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(probs), -100)
        log_1mx = np.maximum(np.log1p(-probs), -100)
    np.copyto(losses, (targets - 1) * log_1mx - targets * log_x, casting="unsafe")


def binary_cross_entropy_backward(probs, targets, grad_losses, grad_probs, grad_targets):
    """grad_probs = g * (x - y) / max(x * (1 - x), 1e-12);
    grad_targets = g * (log(1 - x) - log x) (unclamped, as PyTorch)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        np.copyto(grad_probs, grad_losses * (probs - targets)
                  / np.maximum((1 - probs) * probs, EPSILON), casting="unsafe")
        np.copyto(grad_targets, grad_losses * (np.log1p(-probs) - np.log(probs)),
                  casting="unsafe")


def _log_sigmoid(x):
    """log(1 / (1 + exp(-x))) = min(x, 0) - log1p(exp(-|x|)), which never overflows."""
    return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))


def _log_weight(targets, pos_weight):
    """1 + (pos_weight - 1) * y: the weight of the positive term."""
    return 1 + (pos_weight - 1) * targets if pos_weight.size else np.ones_like(targets)


def bce_with_logits_forward(logits, targets, pos_weight, losses):
    """losses = (1 - y) * x - (1 + (p - 1) * y) * log_sigmoid(x), x = logits, y = targets,
    p = pos_weight (1 if absent): -[p y log s(x) + (1 - y) log(1 - s(x))], stable."""
    log_weight = _log_weight(targets, pos_weight)
    np.copyto(losses, (1 - targets) * logits - log_weight * _log_sigmoid(logits),
              casting="unsafe")


def bce_with_logits_backward(logits, targets, pos_weight, grad_losses, grad_logits,
                             grad_targets):
    """grad_logits = g * ((1 - y) - (1 + (p - 1) y) * sigmoid(-x));
    grad_targets = g * (-x - (p - 1) * log_sigmoid(x))."""
    log_weight = _log_weight(targets, pos_weight)
    sigmoid_neg = np.exp(_log_sigmoid(-logits))
    np.copyto(grad_logits, grad_losses * ((1 - targets) - log_weight * sigmoid_neg),
              casting="unsafe")
    slope = -logits
    if pos_weight.size:
        slope = slope - (pos_weight - 1) * _log_sigmoid(logits)
    np.copyto(grad_targets, grad_losses * slope, casting="unsafe")


def huber_forward(inputs, targets, losses, delta, scale):
    """losses = scale * (0.5 d**2 / delta if |d| < delta else |d| - 0.5 delta), d = x - y.
    smooth_l1 (beta = delta) has scale 1, huber has scale = delta."""
    d = np.abs(inputs - targets)
    with np.errstate(divide="ignore", invalid="ignore"):
        quadratic = 0.5 * d * d / delta
    np.copyto(losses, scale * np.where(d < delta, quadratic, d - 0.5 * delta), casting="unsafe")


def huber_backward(inputs, targets, grad_losses, grad_inputs, delta, scale):
    """grad_inputs = g * scale * (d / delta if |d| <= delta else sign(d)), d = x - y."""
    d = inputs - targets
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(np.abs(d) <= delta, d / delta, np.sign(d))
    np.copyto(grad_inputs, grad_losses * scale * slope, casting="unsafe")


def kl_div_forward(inputs, targets, losses, log_target):
    """losses = y * (log y - x) (0 where y = 0), or exp(y) * (y - x) when log_target, with
    x = inputs (log-probabilities), y = targets."""
    if log_target:
        np.copyto(losses, np.exp(targets) * (targets - inputs), casting="unsafe")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            y_log_y = np.where(targets == 0, 0.0, targets * np.log(targets))
        np.copyto(losses, y_log_y - targets * inputs, casting="unsafe")


def kl_div_backward(inputs, targets, grad_losses, grad_inputs, grad_targets, log_target):
    """grad_inputs = -g * y (-g * exp(y) with log_target);
    grad_targets = g * (log y + y / y - x) (NaN at y = 0, as PyTorch's xlogy), or
    g * exp(y) * (y - x + 1) with log_target."""
    if log_target:
        e = np.exp(targets)
        np.copyto(grad_inputs, -grad_losses * e, casting="unsafe")
        np.copyto(grad_targets, grad_losses * e * (targets - inputs + 1), casting="unsafe")
    else:
        np.copyto(grad_inputs, -grad_losses * targets, casting="unsafe")
        with np.errstate(divide="ignore", invalid="ignore"):
            log_y = np.where(targets == 0, 0.0, np.log(targets))
            np.copyto(grad_targets, grad_losses * (log_y + targets / targets - inputs),
                      casting="unsafe")
