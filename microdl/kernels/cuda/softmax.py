"""CUDA twins of numpy_ref/softmax.py on 2-D (rows, classes) arrays: one thread per row
(grid-stride over rows), sums in float64. Rows are short in the networks microdl trains (10 to
1000 classes), so a row's three passes stay in the thread's cache lines."""

import math

from numba import cuda

from ._launch import grid


@cuda.jit(device=True)
def _row_max(x, r):
    best = -math.inf
    for j in range(x.shape[1]):
        v = x[r, j]
        if v > best or v != v:
            best = v
    return best


@cuda.jit(device=True)
def _log_softmax_row(x, out, r):
    shift = _row_max(x, r)
    total = 0.0
    for j in range(x.shape[1]):
        total += math.exp(x[r, j] - shift)
    log_total = math.log(total)
    for j in range(x.shape[1]):
        out[r, j] = x[r, j] - shift - log_total


@cuda.jit
def _softmax_forward_kernel(x, out):
    r = cuda.grid(1)
    while r < x.shape[0]:
        shift = _row_max(x, r)
        total = 0.0
        for j in range(x.shape[1]):
            e = math.exp(x[r, j] - shift)
            out[r, j] = e
            total += e
        for j in range(x.shape[1]):
            out[r, j] = out[r, j] / total
        r += cuda.gridsize(1)


@cuda.jit
def _softmax_backward_kernel(y, g, gi):
    r = cuda.grid(1)
    while r < y.shape[0]:
        dot = 0.0
        for j in range(y.shape[1]):
            dot += g[r, j] * y[r, j]
        for j in range(y.shape[1]):
            gi[r, j] = y[r, j] * (g[r, j] - dot)
        r += cuda.gridsize(1)


@cuda.jit
def _log_softmax_forward_kernel(x, out):
    r = cuda.grid(1)
    while r < x.shape[0]:
        _log_softmax_row(x, out, r)
        r += cuda.gridsize(1)


@cuda.jit
def _log_softmax_backward_kernel(y, g, gi):
    r = cuda.grid(1)
    while r < y.shape[0]:
        total = 0.0
        for j in range(y.shape[1]):
            total += g[r, j]
        for j in range(y.shape[1]):
            gi[r, j] = g[r, j] - math.exp(y[r, j]) * total
        r += cuda.gridsize(1)


@cuda.jit
def _cross_entropy_forward_kernel(logits, labels, log_probs, losses):
    r = cuda.grid(1)
    while r < logits.shape[0]:
        _log_softmax_row(logits, log_probs, r)
        label = labels[r]
        # NOTE: the op checks labels on the host for CPU tensors only (a check here would cost
        # a device-to-host round trip per step); an out-of-range label gives a NaN loss.
        if 0 <= label < logits.shape[1]:
            losses[r] = -log_probs[r, label]
        else:
            losses[r] = math.nan
        r += cuda.gridsize(1)


@cuda.jit
def _cross_entropy_backward_kernel(log_probs, labels, grad_losses, grad_logits):
    r = cuda.grid(1)
    while r < log_probs.shape[0]:
        scale = grad_losses[r]
        label = labels[r]
        for j in range(log_probs.shape[1]):
            p = math.exp(log_probs[r, j])
            grad_logits[r, j] = (p - 1 if j == label else p) * scale
        r += cuda.gridsize(1)


def softmax_forward(x, out):
    """out[i] = exp(x[i] - max x[i]) / sum_j exp(x[i, j] - max x[i])."""
    _softmax_forward_kernel[grid(x.shape[0])](x, out)


def softmax_backward(y, grad_out, grad_in):
    """grad_in = y * (grad_out - sum_j grad_out[:, j] * y[:, j])."""
    _softmax_backward_kernel[grid(y.shape[0])](y, grad_out, grad_in)


def log_softmax_forward(x, out):
    """out[i] = x[i] - max x[i] - log sum_j exp(x[i, j] - max x[i])."""
    _log_softmax_forward_kernel[grid(x.shape[0])](x, out)


def log_softmax_backward(y, grad_out, grad_in):
    """grad_in = grad_out - exp(y) * sum_j grad_out[:, j]."""
    _log_softmax_backward_kernel[grid(y.shape[0])](y, grad_out, grad_in)


def cross_entropy_forward(logits, labels, log_probs, losses):
    """log_probs = log_softmax(logits);  losses[i] = -log_probs[i, labels[i]] (NaN when the
    label is out of range)."""
    _cross_entropy_forward_kernel[grid(logits.shape[0])](logits, labels, log_probs, losses)


def cross_entropy_backward(log_probs, labels, grad_losses, grad_logits):
    """grad_logits[i] = (softmax(logits)[i] - onehot(labels[i])) * grad_losses[i]."""
    _cross_entropy_backward_kernel[grid(log_probs.shape[0])](log_probs, labels, grad_losses,
                                                            grad_logits)
