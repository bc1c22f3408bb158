"""Numba twins of numpy_ref/normalization.py: the public kernels, then the choice of layout.

x is a contiguous (N, C, S) array. Every layout computes the per-channel statistics (float64
sums of x shifted by one of its values, mean and biased variance, invstd, the running update with
the unbiased variance) and constants with the same helpers, in _normalization_layouts.py.

Layouts:

- "channels" (planes of S >= PLANE_MIN values): the channels are spread over microdl's threads;
  each channel is read once for its statistics and normalized (or differentiated) at once while
  it is still in L2.
- "rows" (small planes, e.g. BatchNorm1d where S = 1, or 8x8 maps): the (N, C*S) matrix is cut
  into fixed chunks of CHUNK_ELEMENTS / (C*S) rows, spread over the threads; each chunk writes
  its own per-channel partial sums into a (2, chunks, C) scratch array, one call merges them in
  chunk order, then the chunks are normalized, spread again. Chunks depend on the shape only, so
  results are bitwise the same whatever the thread count.
- "small" (S == 1 and fewer than SMALL_ELEMENTS values, BatchNorm1d on a small batch): a plain
  kernel per direction, one call (eval takes "serial").
- "serial" (fewer than TINY_ELEMENTS values): the rows kernel with every phase in one call, all
  N rows one chunk.

The kernels are serial numba functions; the threads are microdl's (``_blas.run_blocks``), not a
numba parallel region (see _normalization_layouts.py for why).
"""

import numpy as np

from . import _blas
# NOTE: imported by name: microdl.warmup compiles the kernels it finds here
from ._normalization_layouts import (ALL, ELEMENTWISE, MERGE, SUMS, backward_channels,
                                     backward_rows, backward_small, eval_channels, eval_rows,
                                     train_channels, train_rows, train_small)

# Layout thresholds (read by _layout at each call, so tests can change them).
# NOTE: waking a second thread costs tens of microseconds on these VMs: measured in training
# steps (forward + backward), one thread wins below ~0.5M values.
TINY_ELEMENTS = 1 << 19
SMALL_ELEMENTS = 1 << 15
# NOTE: channels read each channel from memory once, rows twice (statistics, then the elementwise
# pass), but a channel of short planes is a stream of short runs far apart. Measured forward /
# backward, alone, 4 alternating rounds in one process (us): (128, 16, 784) channels 435 / 712,
# rows 515 / 765; (64, 64, 196) 280 / 445 against 360-560 / 510-680; (128, 128, 100) about even;
# (256, 256, 64) 2600 / 5900 against 2000 / 3400. A CNN on 28x28 images (28x28 and 14x14 maps)
# then also compiles only the channels kernels.
PLANE_MIN = 128
CHUNK_ELEMENTS = 1 << 15

# The small kernels, with the positions (in _run's x, *args) of the (N, C, 1) arrays they take
# as (N, C): x and y forward; x, dy, the ReLU's output and dx backward.
_TRAIN_SMALL = (train_small, (0, 3))
_BACKWARD_SMALL = (backward_small, (0, 1, 2, 7))

# NOTE: with no ReLU the floor is NaN: no value compares <= or < NaN, so forward clamps nothing
# and backward masks nothing. (-inf, used before, masked an infinite dy of -inf to 0.)
_NO_RELU = np.nan


def _floor(x, value):
    """The clamp value in x's dtype. NOTE: a Python float is a float64 to numba, and
    ``floor if v < floor else v`` then widened every float32 value of the normalize pass to
    float64 and back: BatchNorm2d forward at (64, 64, 32, 32) on one thread took 1.97 against
    1.80 ms (the same bits: both values are float32 numbers)."""
    return x.dtype.type(value)


def batch_norm_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                             momentum, eps):
    """See numpy_ref: batch statistics, fused normalize + affine, running statistics."""
    _run(train_rows, train_channels, x, weight, bias, out, mean, invstd, running_mean,
         running_var, float(momentum), float(eps), _floor(x, _NO_RELU), small=_TRAIN_SMALL)


def batch_norm_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd, eps):
    """See numpy_ref: normalize with the running statistics."""
    _run(eval_rows, eval_channels, x, weight, bias, running_mean, running_var, out, mean, invstd,
         float(eps), _floor(x, _NO_RELU), phases=(MERGE, ELEMENTWISE))


def batch_norm_backward(x, grad_out, weight, mean, invstd, grad_in, grad_weight, grad_bias,
                        training):
    """See numpy_ref: one pass for sum(dy) and sum(dy * (x - mean)), one pass for dx."""
    _run(backward_rows, backward_channels, x, grad_out, grad_out, _floor(x, _NO_RELU), weight,
         mean, invstd, grad_in, grad_weight, grad_bias, bool(training), small=_BACKWARD_SMALL)


# ---- BatchNorm followed by ReLU, fused: the BatchNorm output is never written -----------------
# The elementwise pass clamps at 0 (floor) as it writes; backward masks dy where out == 0 inside
# its two passes. A CNN's BN -> ReLU pair then reads and writes its activation once each way
# instead of twice (nn.Sequential uses these for that pair).

def batch_norm_relu_forward_train(x, weight, bias, out, mean, invstd, running_mean, running_var,
                                  momentum, eps):
    """See numpy_ref: out = max(batch_norm(x), 0)."""
    _run(train_rows, train_channels, x, weight, bias, out, mean, invstd, running_mean,
         running_var, float(momentum), float(eps), _floor(x, 0.0), small=_TRAIN_SMALL)


def batch_norm_relu_forward_eval(x, weight, bias, running_mean, running_var, out, mean, invstd,
                                 eps):
    """See numpy_ref: out = max(batch_norm_eval(x), 0)."""
    _run(eval_rows, eval_channels, x, weight, bias, running_mean, running_var, out, mean, invstd,
         float(eps), _floor(x, 0.0), phases=(MERGE, ELEMENTWISE))


def batch_norm_relu_backward(x, out, grad_out, weight, mean, invstd, grad_in, grad_weight,
                             grad_bias, training):
    """See numpy_ref: batch_norm_backward of dy * (out > 0)."""
    _run(backward_rows, backward_channels, x, grad_out, out, _floor(x, 0.0), weight, mean, invstd,
         grad_in, grad_weight, grad_bias, bool(training), small=_BACKWARD_SMALL)


# ---- the choice of layout ------------------------------------------------------------------------

def _layout(x):
    """"small", "serial", "channels" or "rows" for an (N, C, S) array (module settings read per
    call)."""
    N, C, S = x.shape
    if S == 1 and N * C < SMALL_ELEMENTS:
        return "small"
    if N * C * S < TINY_ELEMENTS:
        return "serial"
    if S >= PLANE_MIN and C >= 2:
        return "channels"
    return "rows"


def _run(rows, channels, x, *args, phases=(SUMS, MERGE, ELEMENTWISE), small=None):
    """Call the layout _layout(x) picks with (x, *args, consts, ...): the small kernel (if the
    direction has one) on (N, C) views of the (N, C, 1) arrays; channels kernels on one block of
    the channels per thread; rows kernels phase by phase, the spread ones (SUMS, ELEMENTWISE) on
    one block of the chunks per thread, MERGE once in this thread."""
    N, C, S = x.shape
    consts = np.empty((4, C), x.dtype)  # forward uses 3 rows, backward 4
    layout = _layout(x)
    if layout == "small":
        if small is not None:
            kernel, shaped = small
            views = [x, *args]
            for i in shaped:
                # NOTE: (N, C) views only: an output reshaped to a copy would lose the writes
                if not views[i].flags.c_contiguous:
                    break
                views[i] = views[i].reshape(N, C)
            else:
                kernel(*views, consts, np.empty((2, C)))
                return
        layout = "serial"
    if layout == "channels":
        _spread(lambda block, blocks: channels(x, *args, consts, block, blocks))
        return
    rows = rows.features if S == 1 else rows.planes
    chunk_rows = N if layout == "serial" else max(1, -(-CHUNK_ELEMENTS // (C * S)))
    partial = np.empty((2, -(-N // chunk_rows), C))
    if layout == "serial":
        rows(x, *args, consts, partial, chunk_rows, ALL, 0, 1)
        return
    for phase in phases:
        if phase == MERGE:
            rows(x, *args, consts, partial, chunk_rows, MERGE, 0, 1)
        else:
            _spread(lambda block, blocks: rows(x, *args, consts, partial, chunk_rows, phase,
                                               block, blocks))


def _spread(work):
    """work(block, blocks) on each of microdl's threads: block = 0 .. blocks - 1."""
    blocks = _blas.shares()
    _blas.run_blocks(lambda block: work(block, blocks), blocks)
