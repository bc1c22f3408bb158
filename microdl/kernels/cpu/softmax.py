"""Numba twins of numpy_ref/softmax.py: one row per prange iteration, float64 row sums; large
inputs in blocks of rows through numpy's SIMD exp (below)."""

import math

import numpy as np
from numba import prange

from ._jit import BLOCKED_MIN_ELEMENTS, in_blocks, serial_and_parallel


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


# ---- large inputs: blocks of rows through numpy's SIMD exp, spread over microdl's threads -------
# (math.exp above is a scalar libm call: at 4096 x 1000 the row kernels ran at ~3 GB/s.) Row sums
# are numpy's pairwise sums in x's dtype (a float64 sum of float32 values goes through a slow
# casting loop); each block's rows are independent, so the result does not depend on the thread
# count.

def _log_softmax_block(x, out):
    # NOTE: (x - max) first, then - log(sum): x - (max + log(sum)) in x's dtype loses the small
    # log-probabilities of the largest logits to cancellation
    np.subtract(x, x.max(axis=1)[:, None], out=out)
    total = np.exp(out).sum(axis=1)
    np.subtract(out, np.log(total).astype(x.dtype)[:, None], out=out)


def _softmax_block(x, out):
    np.subtract(x, x.max(axis=1)[:, None], out=out)
    np.exp(out, out=out)
    np.multiply(out, (1 / out.sum(axis=1))[:, None], out=out)


def _log_softmax_backward_block(y, g, gi):
    np.exp(y, out=gi)
    np.multiply(gi, g.sum(axis=1)[:, None], out=gi)
    np.subtract(g, gi, out=gi)


def _cross_entropy_forward_block(logits, labels, log_probs, losses):
    _log_softmax_block(logits, log_probs)
    np.negative(log_probs[np.arange(len(labels)), labels], out=losses)


def _cross_entropy_backward_block(log_probs, labels, grad_losses, grad_logits):
    np.exp(log_probs, out=grad_logits)
    np.multiply(grad_logits, grad_losses[:, None], out=grad_logits)
    grad_logits[np.arange(len(labels)), labels] -= grad_losses


def _rows_or_blocks(rows_kernel, block, inputs, outputs):
    """The row kernel for small inputs; past BLOCKED_MIN_ELEMENTS, ``block`` on the same row
    range of every array (all are indexed by row first), block after block on microdl's
    threads. Inputs are made contiguous; outputs are written where they are."""
    arrays = [np.ascontiguousarray(a) for a in inputs] + list(outputs)
    first = arrays[0]
    if first.size >= BLOCKED_MIN_ELEMENTS:
        in_blocks(lambda lo, hi: block(*(a[lo:hi] for a in arrays)), first.size, first.shape[1])
    else:
        rows_kernel.run(first.size, *arrays)


def softmax_forward(x, out):
    _rows_or_blocks(_softmax_rows, _softmax_block, [x], [out])


def softmax_backward(y, grad_out, grad_in):
    _softmax_backward_rows.run(y.size, np.ascontiguousarray(y), np.ascontiguousarray(grad_out),
                               grad_in)


def log_softmax_forward(x, out):
    _rows_or_blocks(_log_softmax_rows, _log_softmax_block, [x], [out])


def log_softmax_backward(y, grad_out, grad_in):
    _rows_or_blocks(_log_softmax_backward_rows, _log_softmax_backward_block, [y, grad_out],
                    [grad_in])


def cross_entropy_forward(logits, labels, log_probs, losses):
    _rows_or_blocks(_cross_entropy_forward_rows, _cross_entropy_forward_block, [logits, labels],
                    [log_probs, losses])


def cross_entropy_backward(log_probs, labels, grad_losses, grad_logits):
    _rows_or_blocks(_cross_entropy_backward_rows, _cross_entropy_backward_block,
                    [log_probs, labels, grad_losses], [grad_logits])
