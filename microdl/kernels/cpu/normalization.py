"""Numba twins of numpy_ref/normalization.py: the public kernels, then the choice of layout.

x is a contiguous (N, C, S) array. Every layout computes the per-channel statistics (float64
sums of x shifted by one of its values, mean and biased variance, invstd, the running update with
the unbiased variance) and constants with the same helpers, in _normalization_layouts.py.

Layouts:

- "channels" (planes of S >= PLANE_MIN values): prange over channels; each channel is read once
  for its statistics and normalized (or differentiated) at once while it is still in L2.
- "rows" (small planes, e.g. BatchNorm1d where S = 1, or 8x8 maps): the (N, C*S) matrix is cut
  into fixed chunks of CHUNK_ELEMENTS / (C*S) rows; each chunk writes its own per-channel partial
  sums into a (chunks, C) scratch array, a serial loop merges them in chunk order, then a second
  prange over the chunks normalizes. Chunks depend on the shape only, so results are bitwise
  the same whatever numba.set_num_threads says.
- "serial" (fewer than TINY_ELEMENTS values): the rows kernel compiled without a parallel
  region, as one chunk, so BatchNorm1d on (60, 100) pays for one small call per direction.
"""

import numpy as np

# NOTE: imported by name: microdl.warmup compiles the serial and parallel builds it finds here
from ._normalization_layouts import (backward_channels, backward_rows, eval_channels, eval_rows,
                                     train_channels, train_rows)

# Layout thresholds (read by _layout at each call, so tests can change them).
# NOTE: with GOMP_SPINCOUNT=1000 (microdl's default) the worker thread is asleep again when the
# next kernel call comes, and waking it costs tens of microseconds on these VMs: measured in
# training steps (forward + backward), the serial build wins below ~0.5M values.
TINY_ELEMENTS = 1 << 19
PLANE_MIN = 256
CHUNK_ELEMENTS = 1 << 15

# NOTE: with no ReLU, forward clamps at -inf and backward masks dy where dy itself is <= -inf:
# neither changes a value (NaN included).
_NO_RELU = -np.inf


def batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps):
    """See numpy_ref: batch statistics, fused normalize + affine, running statistics."""
    _run(train_rows, train_channels, x, weight, bias, out, mean, invstd, running_mean,
         running_var, float(momentum), float(eps), _NO_RELU)


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps):
    """See numpy_ref: normalize with the running statistics."""
    _run(eval_rows, eval_channels, x, weight, bias, running_mean, running_var, out, mean, invstd,
         float(eps), _NO_RELU)


def batch_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training):
    """See numpy_ref: one pass for sum(dy) and sum(dy * (x - mean)), one pass for dx."""
    _run(backward_rows, backward_channels, x, grad_out, grad_out, _NO_RELU, weight, mean, invstd,
         grad_in, grad_weight, grad_bias, bool(training))


# ---- BatchNorm followed by ReLU, fused: the BatchNorm output is never written -----------------
# The elementwise pass clamps at 0 (floor) as it writes; backward masks dy where out == 0 inside
# its two passes. A CNN's BN -> ReLU pair then reads and writes its activation once each way
# instead of twice (nn.Sequential uses these for that pair).

def batch_norm_relu_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                                  momentum, eps):
    """See numpy_ref: out = max(batch_norm(x), 0)."""
    _run(train_rows, train_channels, x, weight, bias, out, mean, invstd, running_mean,
         running_var, float(momentum), float(eps), 0.0)


def batch_norm_relu_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd,
                                 eps):
    """See numpy_ref: out = max(batch_norm_eval(x), 0)."""
    _run(eval_rows, eval_channels, x, weight, bias, running_mean, running_var, out, mean, invstd,
         float(eps), 0.0)


def batch_norm_relu_backward(x, out, grad_out, weight, mean, invstd, grad_in, grad_weight,
                             grad_bias, training):
    """See numpy_ref: batch_norm_backward of dy * (out > 0)."""
    _run(backward_rows, backward_channels, x, grad_out, out, 0.0, weight, mean, invstd, grad_in,
         grad_weight, grad_bias, bool(training))


# ---- the choice of layout ------------------------------------------------------------------------

def _layout(x):
    """"serial", "channels" or "rows" for an (N, C, S) array (module settings read per call)."""
    N, C, S = x.shape
    if N * C * S < TINY_ELEMENTS:
        return "serial"
    if S >= PLANE_MIN and C >= 2:
        return "channels"
    return "rows"


def _run(rows, channels, x, *args):
    """Call the layout _layout(x) picks with (x, *args); rows kernels also take the rows per
    chunk: all N as one chunk when serial, else a function of the shape only."""
    layout = _layout(x)
    if layout == "serial":
        rows.serial(x, *args, x.shape[0])
    elif layout == "channels":
        channels.parallel(x, *args)
    else:
        rows.parallel(x, *args, max(1, -(-CHUNK_ELEMENTS // (x.shape[1] * x.shape[2]))))
