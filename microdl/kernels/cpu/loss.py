"""Numba twins of numpy_ref/loss.py: one fused loop per kernel over flat arrays (the NLL kernels
one row per prange iteration). Each iteration writes only its own element or row."""

import math

import numpy as np
from numba import prange

from ._jit import flat, flat_out, serial_and_parallel

# PyTorch's floor of x (1 - x) in the BCE gradient: 1e-12 as a float32, whatever the dtype
EPSILON = 9.999999960041972e-13


@serial_and_parallel()
def _nll_forward(log_probs, labels, weight, losses, label_weights, ignore_index):
    for r in prange(labels.size):
        label = labels[r]
        if label == ignore_index:
            losses[r] = 0
            label_weights[r] = 0
        else:
            w = weight[label] if weight.size else 1.0
            losses[r] = -w * log_probs[r, label]
            label_weights[r] = w


@serial_and_parallel()
def _nll_backward(labels, weight, grad_losses, grad_log_probs, ignore_index):
    for r in prange(labels.size):
        for c in range(grad_log_probs.shape[1]):
            grad_log_probs[r, c] = 0
        label = labels[r]
        if label != ignore_index:
            w = weight[label] if weight.size else 1.0
            grad_log_probs[r, label] = -w * grad_losses[r]


def nll_forward(log_probs, labels, weight, losses, label_weights, ignore_index):
    _nll_forward.run(log_probs.size, np.ascontiguousarray(log_probs), flat(labels), weight,
                     flat_out(losses), flat_out(label_weights), ignore_index)


def nll_backward(labels, weight, grad_losses, grad_log_probs, ignore_index):
    _nll_backward.run(grad_log_probs.size, flat(labels), weight, flat(grad_losses),
                      grad_log_probs, ignore_index)


@serial_and_parallel()
def _bce_forward(x, y, out):
    for i in prange(x.size):
        log_x = max(math.log(x[i]), -100.0) if x[i] > 0 else -100.0
        log_1mx = max(math.log1p(-x[i]), -100.0) if x[i] < 1 else -100.0
        out[i] = (y[i] - 1) * log_1mx - y[i] * log_x


@serial_and_parallel()
def _bce_backward(x, y, g, gx, gy):
    for i in prange(x.size):
        gx[i] = g[i] * (x[i] - y[i]) / max((1 - x[i]) * x[i], EPSILON)
        log_x = math.log(x[i]) if x[i] > 0 else -math.inf
        log_1mx = math.log1p(-x[i]) if x[i] < 1 else -math.inf
        gy[i] = g[i] * (log_1mx - log_x)


def binary_cross_entropy_forward(probs, targets, losses):
    _bce_forward.run(probs.size, flat(probs), flat(targets), flat_out(losses))


def binary_cross_entropy_backward(probs, targets, grad_losses, grad_probs, grad_targets):
    _bce_backward.run(probs.size, flat(probs), flat(targets), flat(grad_losses),
                      flat_out(grad_probs), flat_out(grad_targets))


@serial_and_parallel()
def _bce_logits_forward(x, y, pos_weight, out):
    for i in prange(x.size):
        v = x[i]
        log_sigmoid = min(v, 0.0) - math.log1p(math.exp(-abs(v)))
        log_weight = 1 + (pos_weight[i] - 1) * y[i] if pos_weight.size else 1.0
        out[i] = (1 - y[i]) * v - log_weight * log_sigmoid


@serial_and_parallel()
def _bce_logits_backward(x, y, pos_weight, g, gx, gy):
    for i in prange(x.size):
        v = x[i]
        z = math.exp(-abs(v))
        sigmoid_neg = (z if v >= 0 else 1.0) / (1 + z)
        if pos_weight.size:
            p = pos_weight[i]
            log_sigmoid = min(v, 0.0) - math.log1p(z)
            gx[i] = g[i] * ((1 - y[i]) - (1 + (p - 1) * y[i]) * sigmoid_neg)
            gy[i] = g[i] * (-v - (p - 1) * log_sigmoid)
        else:
            gx[i] = g[i] * ((1 - y[i]) - sigmoid_neg)
            gy[i] = g[i] * -v


def bce_with_logits_forward(logits, targets, pos_weight, losses):
    _bce_logits_forward.run(logits.size, flat(logits), flat(targets), flat(pos_weight),
                            flat_out(losses))


def bce_with_logits_backward(logits, targets, pos_weight, grad_losses, grad_logits,
                             grad_targets):
    _bce_logits_backward.run(logits.size, flat(logits), flat(targets), flat(pos_weight),
                             flat(grad_losses), flat_out(grad_logits), flat_out(grad_targets))


@serial_and_parallel()
def _huber_forward(x, y, out, delta, scale):
    for i in prange(x.size):
        d = abs(x[i] - y[i])
        out[i] = scale * (0.5 * d * d / delta if d < delta else d - 0.5 * delta)


@serial_and_parallel()
def _huber_backward(x, y, g, gx, delta, scale):
    for i in prange(x.size):
        d = x[i] - y[i]
        if abs(d) <= delta:
            slope = d / delta
        else:
            slope = 1.0 if d > 0 else (-1.0 if d < 0 else d)  # d is NaN: NaN
        gx[i] = g[i] * scale * slope


def huber_forward(inputs, targets, losses, delta, scale):
    _huber_forward.run(inputs.size, flat(inputs), flat(targets), flat_out(losses), delta, scale)


def huber_backward(inputs, targets, grad_losses, grad_inputs, delta, scale):
    _huber_backward.run(inputs.size, flat(inputs), flat(targets), flat(grad_losses),
                        flat_out(grad_inputs), delta, scale)


@serial_and_parallel()
def _kl_div_forward(x, y, out, log_target):
    for i in prange(x.size):
        if log_target:
            out[i] = math.exp(y[i]) * (y[i] - x[i])
        else:
            y_log_y = 0.0 if y[i] == 0 else y[i] * math.log(y[i])
            out[i] = y_log_y - y[i] * x[i]


@serial_and_parallel()
def _kl_div_backward(x, y, g, gx, gy, log_target):
    for i in prange(x.size):
        if log_target:
            e = math.exp(y[i])
            gx[i] = -g[i] * e
            gy[i] = g[i] * e * (y[i] - x[i] + 1)
        else:
            gx[i] = -g[i] * y[i]
            log_y = 0.0 if y[i] == 0 else math.log(y[i])
            gy[i] = g[i] * (log_y + y[i] / y[i] - x[i])


def kl_div_forward(inputs, targets, losses, log_target):
    _kl_div_forward.run(inputs.size, flat(inputs), flat(targets), flat_out(losses),
                        bool(log_target))


def kl_div_backward(inputs, targets, grad_losses, grad_inputs, grad_targets, log_target):
    _kl_div_backward.run(inputs.size, flat(inputs), flat(targets), flat(grad_losses),
                         flat_out(grad_inputs), flat_out(grad_targets), bool(log_target))
