"""Numba twins of numpy_ref/softmax.py: one row per prange iteration, float64 row sums."""

import math

import numpy as np
from numba import prange

from ._jit import serial_and_parallel


@serial_and_parallel()
def _log_softmax_rows(x, out):
    rows, cols = x.shape
    for r in prange(rows):
        m = x[r, 0]
        for c in range(1, cols):
            if x[r, c] > m:
                m = x[r, c]
        total = 0.0
        for c in range(cols):
            total += math.exp(x[r, c] - m)
        shift = m + math.log(total)
        for c in range(cols):
            out[r, c] = x[r, c] - shift


@serial_and_parallel()
def _softmax_rows(x, out):
    rows, cols = x.shape
    for r in prange(rows):
        m = x[r, 0]
        for c in range(1, cols):
            if x[r, c] > m:
                m = x[r, c]
        total = 0.0
        for c in range(cols):
            e = math.exp(x[r, c] - m)
            out[r, c] = e
            total += e
        inv = 1.0 / total
        for c in range(cols):
            out[r, c] = out[r, c] * inv


@serial_and_parallel()
def _softmax_backward_rows(y, g, gi):
    rows, cols = y.shape
    for r in prange(rows):
        dot = 0.0
        for c in range(cols):
            dot += g[r, c] * y[r, c]
        for c in range(cols):
            gi[r, c] = y[r, c] * (g[r, c] - dot)


@serial_and_parallel()
def _log_softmax_backward_rows(y, g, gi):
    rows, cols = y.shape
    for r in prange(rows):
        total = 0.0
        for c in range(cols):
            total += g[r, c]
        for c in range(cols):
            gi[r, c] = g[r, c] - math.exp(y[r, c]) * total


@serial_and_parallel()
def _cross_entropy_forward_rows(logits, labels, log_probs, losses):
    rows, cols = logits.shape
    for r in prange(rows):
        m = logits[r, 0]
        for c in range(1, cols):
            if logits[r, c] > m:
                m = logits[r, c]
        total = 0.0
        for c in range(cols):
            total += math.exp(logits[r, c] - m)
        shift = m + math.log(total)
        for c in range(cols):
            log_probs[r, c] = logits[r, c] - shift
        losses[r] = -log_probs[r, labels[r]]


@serial_and_parallel()
def _cross_entropy_backward_rows(log_probs, labels, grad_losses, grad_logits):
    rows, cols = log_probs.shape
    for r in prange(rows):
        scale = grad_losses[r]
        for c in range(cols):
            grad_logits[r, c] = math.exp(log_probs[r, c]) * scale
        grad_logits[r, labels[r]] -= scale


def softmax_forward(x, out):
    _softmax_rows.run(x.size, np.ascontiguousarray(x), out)


def softmax_backward(y, grad_out, grad_in):
    _softmax_backward_rows.run(y.size, np.ascontiguousarray(y), np.ascontiguousarray(grad_out),
                               grad_in)


def log_softmax_forward(x, out):
    _log_softmax_rows.run(x.size, np.ascontiguousarray(x), out)


def log_softmax_backward(y, grad_out, grad_in):
    _log_softmax_backward_rows.run(y.size, np.ascontiguousarray(y),
                                   np.ascontiguousarray(grad_out), grad_in)


def cross_entropy_forward(logits, labels, log_probs, losses):
    _cross_entropy_forward_rows.run(logits.size, np.ascontiguousarray(logits),
                                    np.ascontiguousarray(labels), log_probs, losses)


def cross_entropy_backward(log_probs, labels, grad_losses, grad_logits):
    _cross_entropy_backward_rows.run(log_probs.size, np.ascontiguousarray(log_probs),
                                     np.ascontiguousarray(labels),
                                     np.ascontiguousarray(grad_losses), grad_logits)
