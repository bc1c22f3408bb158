"""Numba twins of numpy_ref/activation.py: one fused loop per kernel over flat arrays.

Transcendentals are the exception: numba's math.exp and math.tanh are scalar libm calls here (no
SVML with this LLVM), 10-40x slower than numpy's SIMD ufuncs, so sigmoid and tanh run numpy's
exp/tanh into the caller's buffer and fuse the remaining arithmetic into one numba pass; large
arrays go in L2-sized blocks over microdl's threads (``in_blocks``).
"""

import numpy as np
from numba import prange

from ._jit import BLOCKED_MIN_ELEMENTS, flat, flat_out, in_blocks, serial_and_parallel


@serial_and_parallel()
def _relu_forward(x, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = 0 if v <= 0 else v


@serial_and_parallel()
def _relu_backward(y, g, gi):
    for i in prange(y.size):
        gi[i] = g[i] if y[i] > 0 else 0


@serial_and_parallel()
def _leaky_relu_forward(x, out, slope):
    for i in prange(x.size):
        v = x[i]
        out[i] = v if v > 0 else v * slope


@serial_and_parallel()
def _leaky_relu_backward(x, g, gi, slope):
    for i in prange(x.size):
        gi[i] = g[i] if x[i] > 0 else g[i] * slope


@serial_and_parallel()
def _sigmoid_from_exp(x, z_then_out):
    # z = exp(-|x|) on entry; sigmoid = 1 / (1 + z) for x >= 0, z / (1 + z) otherwise.
    for i in prange(x.size):
        z = z_then_out[i]
        z_then_out[i] = (1 if x[i] >= 0 else z) / (1 + z)


@serial_and_parallel()
def _sigmoid_backward(y, g, gi):
    for i in prange(y.size):
        gi[i] = g[i] * y[i] * (1 - y[i])


@serial_and_parallel()
def _tanh_backward(y, g, gi):
    for i in prange(y.size):
        gi[i] = g[i] * (1 - y[i] * y[i])


def relu_forward(x, out):
    _relu_forward.run(x.size, flat(x), flat_out(out))


def relu_backward(y, grad_out, grad_in):
    _relu_backward.run(y.size, flat(y), flat(grad_out), flat_out(grad_in))


def leaky_relu_forward(x, out, negative_slope):
    _leaky_relu_forward.run(x.size, flat(x), flat_out(out), x.dtype.type(negative_slope))


def leaky_relu_backward(x, grad_out, grad_in, negative_slope):
    _leaky_relu_backward.run(x.size, flat(x), flat(grad_out), flat_out(grad_in),
                             x.dtype.type(negative_slope))


def _sigmoid_block(xf, of):
    np.abs(xf, out=of)
    np.negative(of, out=of)
    np.exp(of, out=of)
    _sigmoid_from_exp.serial(xf, of)


def sigmoid_forward(x, out):
    xf, of = flat(x), flat_out(out)
    if x.size < BLOCKED_MIN_ELEMENTS:
        _sigmoid_block(xf, of)
    else:
        in_blocks(lambda lo, hi: _sigmoid_block(xf[lo:hi], of[lo:hi]), x.size)


def sigmoid_backward(y, grad_out, grad_in):
    _sigmoid_backward.run(y.size, flat(y), flat(grad_out), flat_out(grad_in))


def tanh_forward(x, out):
    if x.size < BLOCKED_MIN_ELEMENTS:
        np.tanh(x, out=out)
        return
    xf, of = flat(x), flat_out(out)
    in_blocks(lambda lo, hi: np.tanh(xf[lo:hi], out=of[lo:hi]), x.size)


def tanh_backward(y, grad_out, grad_in):
    _tanh_backward.run(y.size, flat(y), flat(grad_out), flat_out(grad_in))
