"""Numba twins of numpy_ref/softmax.py.

Float32 inputs of FLOAT32_MIN_ELEMENTS values or more: one loop per row pass with
``_expf.exp32``, which LLVM vectorizes, large ones in blocks of rows on microdl's threads; row
maxima from numpy (its SIMD max), row sums of the exponentials in float64 (``_sum64``). Otherwise:
one row per prange iteration with float64 row sums (the scalar exp is cheap on a few thousand
values), large inputs of other dtypes in blocks of rows through numpy's SIMD exp (at the end).
"""

import math

import numpy as np
from numba import njit, prange

from . import _blas
from ._expf import exp32
from ._jit import BLOCKED_MIN_ELEMENTS, in_blocks, serial_and_parallel, thread_slices


# Builds that serve only float32 (microdl.warmup checks the other dtypes for none of these)
DTYPE_ONLY = {name: ("float32",) for name in ("_log_softmax32", "_softmax32",
                                              "_cross_entropy_backward32",
                                              "_log_softmax_backward32")}


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


# ---- float32: vectorized loops over each row, blocks of rows on microdl's threads ---------------
# (``m`` the row maxima, ``scratch`` a (threads, cols) array, row ``block`` of it this thread's.)
# NOTE: threads from BLOCKED_MIN_ELEMENTS on: CE fwd+bwd at 1024x100 took 428 us on one thread
# and 449 on two (handing blocks over costs ~60 us a call on these VMs), at 4096x100 2230 / 1190.

# NOTE: its own function, so that "reassoc" (which lets LLVM vectorize the float64 sum) applies
# to this sum only and never to exp32's range reduction inlined in the callers
@njit(cache=True, error_model="numpy", fastmath={"reassoc"}, nogil=True)
def _sum64(values):
    total = 0.0
    for v in values:
        total += v
    return total


@thread_slices(threshold=BLOCKED_MIN_ELEMENTS)
def _log_softmax32(x, m, out, scratch, block, blocks):
    rows = x.shape[0]
    e = scratch[block]
    for r in range(rows * block // blocks, rows * (block + 1) // blocks):
        xr, o, mr = x[r], out[r], m[r]
        for c in range(o.size):
            shifted = xr[c] - mr
            o[c] = shifted
            e[c] = exp32(shifted)
        lse = np.float32(math.log(_sum64(e)))
        for c in range(o.size):
            o[c] -= lse


@thread_slices(threshold=BLOCKED_MIN_ELEMENTS)
def _softmax32(x, m, out, block, blocks):
    rows = x.shape[0]
    for r in range(rows * block // blocks, rows * (block + 1) // blocks):
        xr, o, mr = x[r], out[r], m[r]
        for c in range(o.size):
            d = xr[c] - mr
            o[c] = d if d != d else exp32(d)
        inv = np.float32(1.0 / _sum64(o))
        for c in range(o.size):
            o[c] *= inv


@thread_slices(threshold=BLOCKED_MIN_ELEMENTS)
def _cross_entropy_backward32(log_probs, labels, grad_losses, grad_logits, block, blocks):
    rows = log_probs.shape[0]
    for r in range(rows * block // blocks, rows * (block + 1) // blocks):
        lp, gr, scale = log_probs[r], grad_logits[r], grad_losses[r]
        for c in range(gr.size):
            v = lp[c]
            gr[c] = (v if v != v else exp32(v)) * scale
        gr[labels[r]] -= scale


@thread_slices(threshold=BLOCKED_MIN_ELEMENTS)
def _log_softmax_backward32(y, g, gi, block, blocks):
    rows = y.shape[0]
    for r in range(rows * block // blocks, rows * (block + 1) // blocks):
        yr, gr, o = y[r], g[r], gi[r]
        total = np.float32(_sum64(gr))
        for c in range(o.size):
            v = yr[c]
            o[c] = gr[c] - (v if v != v else exp32(v)) * total


def _float32_rows(kernel, x, *args, scratch=False):
    """``kernel`` on C-contiguous float32 rows x with their maxima (and a scratch row per
    thread). A row with a NaN has a NaN maximum, so every value of that row comes out NaN, as
    in the reference."""
    extra = (np.empty((_blas.shares(), x.shape[1]), np.float32),) if scratch else ()
    kernel.run(x.size, x, x.max(axis=1), *args, *extra)


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


# Below this many values the row kernels' one call (scalar exp) beats the float32 path's numpy
# max and extra calls: CE fwd+bwd at 64x10 took 9.6 against 19.9 us, at 64x100 51 against 41.
FLOAT32_MIN_ELEMENTS = 1 << 12


def _is_float32(first, *arrays):
    """Whether the float32 path takes these arrays (``first`` the one that gives the size)."""
    return first.size >= FLOAT32_MIN_ELEMENTS and first.dtype == np.float32 and \
        all(a.dtype == np.float32 for a in arrays)


def softmax_forward(x, out):
    if _is_float32(x, out):
        _float32_rows(_softmax32, np.ascontiguousarray(x), out)
        return
    _rows_or_blocks(_softmax_rows, _softmax_block, [x], [out])


def softmax_backward(y, grad_out, grad_in):
    _softmax_backward_rows.run(y.size, np.ascontiguousarray(y), np.ascontiguousarray(grad_out),
                               grad_in)


def log_softmax_forward(x, out):
    if _is_float32(x, out):
        _float32_rows(_log_softmax32, np.ascontiguousarray(x), out, scratch=True)
        return
    _rows_or_blocks(_log_softmax_rows, _log_softmax_block, [x], [out])


def log_softmax_backward(y, grad_out, grad_in):
    if _is_float32(y, grad_out, grad_in):
        _log_softmax_backward32.run(y.size, np.ascontiguousarray(y),
                                    np.ascontiguousarray(grad_out), grad_in)
        return
    _rows_or_blocks(_log_softmax_backward_rows, _log_softmax_backward_block, [y, grad_out],
                    [grad_in])


def cross_entropy_forward(logits, labels, log_probs, losses):
    if _is_float32(logits, log_probs, losses):
        log_softmax_forward(logits, log_probs)
        np.negative(log_probs[np.arange(len(labels)), labels], out=losses)
        return
    _rows_or_blocks(_cross_entropy_forward_rows, _cross_entropy_forward_block, [logits, labels],
                    [log_probs, losses])


def cross_entropy_backward(log_probs, labels, grad_losses, grad_logits):
    if _is_float32(log_probs, grad_losses, grad_logits):
        _cross_entropy_backward32.run(log_probs.size, np.ascontiguousarray(log_probs),
                                      np.ascontiguousarray(labels),
                                      np.ascontiguousarray(grad_losses), grad_logits)
        return
    _rows_or_blocks(_cross_entropy_backward_rows, _cross_entropy_backward_block,
                    [log_probs, labels, grad_losses], [grad_logits])
