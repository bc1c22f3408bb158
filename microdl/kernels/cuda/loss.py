"""CUDA twins of numpy_ref/loss.py: grid-stride loops, one thread per element (per row for the
NLL kernels). An absent weight or pos_weight is a size-0 array."""

import math

from numba import cuda

from ._launch import flat, grid

# PyTorch's floor of x (1 - x) in the BCE gradient: 1e-12 as a float32, whatever the dtype
EPSILON = 9.999999960041972e-13


@cuda.jit
def _nll_forward_kernel(log_probs, labels, weight, losses, label_weights, ignore_index):
    r = cuda.grid(1)
    while r < labels.size:
        label = labels[r]
        if label == ignore_index:
            losses[r] = 0
            label_weights[r] = 0
        elif 0 <= label < log_probs.shape[1]:
            w = weight[label] if weight.size else 1.0
            losses[r] = -w * log_probs[r, label]
            label_weights[r] = w
        else:
            # NOTE: labels are checked on the host only (a check here would wait for the
            # device every step): an out-of-range label gives a NaN loss
            losses[r] = math.nan
            label_weights[r] = math.nan
        r += cuda.gridsize(1)


@cuda.jit
def _nll_backward_kernel(labels, weight, grad_losses, grad_log_probs, ignore_index):
    r = cuda.grid(1)
    while r < labels.size:
        label = labels[r]
        for c in range(grad_log_probs.shape[1]):
            if c == label and label != ignore_index:
                w = weight[label] if weight.size else 1.0
                grad_log_probs[r, c] = -w * grad_losses[r]
            else:
                grad_log_probs[r, c] = 0
        r += cuda.gridsize(1)


def nll_forward(log_probs, labels, weight, losses, label_weights, ignore_index):
    """losses[i] = -w[labels[i]] * log_probs[i, labels[i]], label_weights[i] = w[labels[i]]
    (0 where labels[i] == ignore_index; NaN for a label out of range)."""
    _nll_forward_kernel[grid(labels.size)](log_probs, flat(labels), weight, flat(losses),
                                            flat(label_weights), ignore_index)


def nll_backward(labels, weight, grad_losses, grad_log_probs, ignore_index):
    """grad_log_probs[i, c] = -w[labels[i]] * grad_losses[i] where c == labels[i], else 0."""
    _nll_backward_kernel[grid(labels.size)](flat(labels), weight, flat(grad_losses),
                                             grad_log_probs, ignore_index)


@cuda.jit(device=True)
def _log_sigmoid(v):
    return min(v, 0.0) - math.log1p(math.exp(-abs(v)))


@cuda.jit
def _bce_forward_kernel(x, y, out):
    i = cuda.grid(1)
    while i < x.size:
        log_x = max(math.log(x[i]), -100.0) if x[i] > 0 else -100.0
        log_1mx = max(math.log1p(-x[i]), -100.0) if x[i] < 1 else -100.0
        out[i] = (y[i] - 1) * log_1mx - y[i] * log_x
        i += cuda.gridsize(1)


@cuda.jit
def _bce_backward_kernel(x, y, g, gx, gy):
    i = cuda.grid(1)
    while i < x.size:
        gx[i] = g[i] * (x[i] - y[i]) / max((1 - x[i]) * x[i], EPSILON)
        log_x = math.log(x[i]) if x[i] > 0 else -math.inf
        log_1mx = math.log1p(-x[i]) if x[i] < 1 else -math.inf
        gy[i] = g[i] * (log_1mx - log_x)
        i += cuda.gridsize(1)


def binary_cross_entropy_forward(probs, targets, losses):
    """losses = -(y * max(log x, -100) + (1 - y) * max(log(1 - x), -100))."""
    _bce_forward_kernel[grid(probs.size)](flat(probs), flat(targets), flat(losses))


def binary_cross_entropy_backward(probs, targets, grad_losses, grad_probs, grad_targets):
    """grad_probs = g (x - y) / max(x (1 - x), 1e-12); grad_targets = g (log(1 - x) - log x)."""
    _bce_backward_kernel[grid(probs.size)](flat(probs), flat(targets), flat(grad_losses),
                                           flat(grad_probs), flat(grad_targets))


@cuda.jit
def _bce_logits_forward_kernel(x, y, pos_weight, out):
    i = cuda.grid(1)
    while i < x.size:
        log_weight = 1 + (pos_weight[i] - 1) * y[i] if pos_weight.size else 1.0
        out[i] = (1 - y[i]) * x[i] - log_weight * _log_sigmoid(x[i])
        i += cuda.gridsize(1)


@cuda.jit
def _bce_logits_backward_kernel(x, y, pos_weight, g, gx, gy):
    i = cuda.grid(1)
    while i < x.size:
        v = x[i]
        z = math.exp(-abs(v))
        sigmoid_neg = (z if v >= 0 else 1.0) / (1 + z)
        p = pos_weight[i] if pos_weight.size else 1.0
        gx[i] = g[i] * ((1 - y[i]) - (1 + (p - 1) * y[i]) * sigmoid_neg)
        gy[i] = g[i] * (-v - (p - 1) * _log_sigmoid(v)) if pos_weight.size else g[i] * -v
        i += cuda.gridsize(1)


def bce_with_logits_forward(logits, targets, pos_weight, losses):
    """losses = (1 - y) x - (1 + (p - 1) y) log_sigmoid(x)."""
    _bce_logits_forward_kernel[grid(logits.size)](flat(logits), flat(targets),
                                                  flat(pos_weight), flat(losses))


def bce_with_logits_backward(logits, targets, pos_weight, grad_losses, grad_logits,
                             grad_targets):
    """grad_logits = g ((1 - y) - (1 + (p - 1) y) sigmoid(-x));
    grad_targets = g (-x - (p - 1) log_sigmoid(x))."""
    _bce_logits_backward_kernel[grid(logits.size)](flat(logits), flat(targets),
                                                   flat(pos_weight), flat(grad_losses),
                                                   flat(grad_logits), flat(grad_targets))


@cuda.jit
def _huber_forward_kernel(x, y, out, delta, scale):
    i = cuda.grid(1)
    while i < x.size:
        d = abs(x[i] - y[i])
        out[i] = scale * (0.5 * d * d / delta if d < delta else d - 0.5 * delta)
        i += cuda.gridsize(1)


@cuda.jit
def _huber_backward_kernel(x, y, g, gx, delta, scale):
    i = cuda.grid(1)
    while i < x.size:
        d = x[i] - y[i]
        if abs(d) <= delta:
            slope = d / delta
        else:
            slope = 1.0 if d > 0 else (-1.0 if d < 0 else d)  # d is NaN: NaN
        gx[i] = g[i] * scale * slope
        i += cuda.gridsize(1)


def huber_forward(inputs, targets, losses, delta, scale):
    """losses = scale * (0.5 d**2 / delta if |d| < delta else |d| - 0.5 delta), d = x - y."""
    _huber_forward_kernel[grid(inputs.size)](flat(inputs), flat(targets), flat(losses),
                                             delta, scale)


def huber_backward(inputs, targets, grad_losses, grad_inputs, delta, scale):
    """grad_inputs = g * scale * (d / delta if |d| <= delta else sign(d))."""
    _huber_backward_kernel[grid(inputs.size)](flat(inputs), flat(targets), flat(grad_losses),
                                              flat(grad_inputs), delta, scale)


@cuda.jit
def _kl_div_forward_kernel(x, y, out, log_target):
    i = cuda.grid(1)
    while i < x.size:
        if log_target:
            out[i] = math.exp(y[i]) * (y[i] - x[i])
        else:
            y_log_y = 0.0 if y[i] == 0 else y[i] * math.log(y[i])
            out[i] = y_log_y - y[i] * x[i]
        i += cuda.gridsize(1)


@cuda.jit
def _kl_div_backward_kernel(x, y, g, gx, gy, log_target):
    i = cuda.grid(1)
    while i < x.size:
        if log_target:
            e = math.exp(y[i])
            gx[i] = -g[i] * e
            gy[i] = g[i] * e * (y[i] - x[i] + 1)
        else:
            gx[i] = -g[i] * y[i]
            # log y + y / y: NaN at y = 0, as PyTorch's xlogy gradient
            gy[i] = g[i] * ((math.nan if y[i] == 0 else math.log(y[i]) + 1) - x[i])
        i += cuda.gridsize(1)


def kl_div_forward(inputs, targets, losses, log_target):
    """losses = y (log y - x) (0 at y = 0), or exp(y) (y - x) when log_target."""
    _kl_div_forward_kernel[grid(inputs.size)](flat(inputs), flat(targets), flat(losses),
                                              bool(log_target))


def kl_div_backward(inputs, targets, grad_losses, grad_inputs, grad_targets, log_target):
    """grad_inputs = -g y (-g exp(y)); grad_targets = g (log y + 1 - x) (g exp(y) (y - x + 1))."""
    _kl_div_backward_kernel[grid(inputs.size)](flat(inputs), flat(targets), flat(grad_losses),
                                               flat(grad_inputs), flat(grad_targets),
                                               bool(log_target))
