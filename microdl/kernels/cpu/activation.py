"""Numba twins of numpy_ref/activation.py: one fused loop per kernel over flat arrays.

Transcendentals are the exception: numba's math.exp and math.tanh are scalar libm calls here (no
SVML with this LLVM), 10-40x slower than numpy's SIMD ufuncs. In float32, sigmoid and tanh are
each one numba loop with an exp of its own (``_expf.exp32``), which LLVM vectorizes: numpy's
float32 exp ran at ~1.3 ns a value here, the whole sigmoid loop at ~0.9. Other dtypes run numpy's
exp/tanh into the caller's buffer and fuse the remaining arithmetic into one numba pass; large
arrays go in L2-sized blocks over microdl's threads (``in_blocks``).
"""

import math

import numpy as np
from numba import njit, prange

from ..numpy_ref.activation import (GELU_TANH_BETA, GELU_TANH_KAPPA, HARDSIGMOID_SLOPE,
                                    INV_SQRT_2PI, POINTWISE_OPS, SELU_ALPHA, SELU_SCALE,
                                    SQRT_HALF)
from ._expf import exp32
from ._jit import (BLOCKED_MIN_ELEMENTS, flat, flat_out, in_blocks, serial_and_parallel,
                   thread_slices)


# Builds that serve only some dtypes (microdl.warmup checks the others for none of these)
DTYPE_ONLY = {"_sigmoid_float32": ("float32",), "_tanh_float32": ("float32",),
              "_sigmoid_from_exp": ("float64", "float16")}


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


@thread_slices()
def _sigmoid_float32(x, out, block, blocks):
    # slices, not x[i] over a range from lo: those compile to gathers
    lo, hi = x.size * block // blocks, x.size * (block + 1) // blocks
    xs, os_ = x[lo:hi], out[lo:hi]
    one = np.float32(1)
    for i in range(xs.size):
        v = xs[i]
        z = exp32(-abs(v))
        y = (one if v >= 0 else z) / (one + z)
        os_[i] = v if v != v else y


# tanh: an odd polynomial below |x| = 0.625 (Cephes' tanhf), where (1 - e) / (1 + e) with
# e = exp(-2|x|) would lose bits to cancellation; that quotient from there on.
_TANH_POLY = tuple(np.float32(c) for c in (-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2,
                                           1.33314422036e-1, -3.33332819422e-1))
_TANH_SMALL = np.float32(0.625)


@thread_slices()
def _tanh_float32(x, out, block, blocks):
    lo, hi = x.size * block // blocks, x.size * (block + 1) // blocks
    xs, os_ = x[lo:hi], out[lo:hi]
    one, c0, c1, c2, c3, c4 = np.float32(1), *_TANH_POLY
    for i in range(xs.size):
        v = xs[i]
        a = abs(v)
        z = v * v
        small = ((((c0 * z + c1) * z + c2) * z + c3) * z + c4) * z * v + v
        e = exp32(np.float32(-2) * a)
        large = (one - e) / (one + e)
        y = small if a < _TANH_SMALL else (large if v >= 0 else -large)
        os_[i] = y if a > 0 else v  # tanh(+-0) = +-0 and NaN stays NaN


def _sigmoid_block(xf, of):
    np.abs(xf, out=of)
    np.negative(of, out=of)
    np.exp(of, out=of)
    _sigmoid_from_exp.serial(xf, of)


def sigmoid_forward(x, out):
    xf, of = flat(x), flat_out(out)
    if x.dtype == np.float32:
        _sigmoid_float32.run(x.size, xf, of)
    elif x.size < BLOCKED_MIN_ELEMENTS:
        _sigmoid_block(xf, of)
    else:
        in_blocks(lambda lo, hi: _sigmoid_block(xf[lo:hi], of[lo:hi]), x.size)


def sigmoid_backward(y, grad_out, grad_in):
    _sigmoid_backward.run(y.size, flat(y), flat(grad_out), flat_out(grad_in))


def tanh_forward(x, out):
    if x.dtype == np.float32:
        _tanh_float32.run(x.size, flat(x), flat_out(out))
    elif x.size < BLOCKED_MIN_ELEMENTS:
        np.tanh(x, out=out)
    else:
        xf, of = flat(x), flat_out(out)
        in_blocks(lambda lo, hi: np.tanh(xf[lo:hi], out=of[lo:hi]), x.size)


def tanh_backward(y, grad_out, grad_in):
    _tanh_backward.run(y.size, flat(y), flat(grad_out), flat_out(grad_in))


# ---- pointwise activations (GELU, SiLU, ELU, ...): one forward and one backward loop ---------
# The op arrives as its name and runs as its number in numpy_ref's POINTWISE_OPS (the ints below
# are compile-time constants of the loops). Scalar math in float64, rounded once on the store,
# as the reference does; every comparison as the reference (and PyTorch) writes it.
(GELU, GELU_TANH, SILU, ELU, SELU, CELU, SOFTPLUS, LOGSIGMOID, HARDSWISH, HARDSIGMOID, HARDTANH,
 MISH, SOFTSIGN, TANHSHRINK, SOFTSHRINK, HARDSHRINK) = range(16)
_CODES = {name: code for code, name in enumerate(POINTWISE_OPS)}
assert _CODES["hardshrink"] == HARDSHRINK and _CODES["hardtanh"] == HARDTANH


@njit(cache=True, error_model="numpy", nogil=True)
def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


@njit(cache=True, error_model="numpy", nogil=True)
def _clamp(v, lo, hi):
    return lo if v < lo else (hi if v > hi else v)


@njit(cache=True, error_model="numpy", nogil=True)
def _forward_value(op, v, a, b):
    """f_op(v; a, b) for a float64 v: numpy_ref.POINTWISE's forward formulas."""
    if op == GELU:
        return 0.5 * v * (1.0 + math.erf(v * SQRT_HALF))
    if op == GELU_TANH:
        return 0.5 * v * (1.0 + math.tanh(GELU_TANH_BETA * (v + GELU_TANH_KAPPA * v * v * v)))
    if op == SILU:
        return v / (1.0 + math.exp(-v))
    if op == ELU:
        return a * math.expm1(v) if v <= 0 else v
    if op == SELU:
        return SELU_SCALE * SELU_ALPHA * math.expm1(v) if v <= 0 else SELU_SCALE * v
    if op == CELU:
        return a * math.expm1(v / a) if v <= 0 else v
    if op == SOFTPLUS:
        return v if v * a > b else math.log1p(math.exp(v * a)) / a
    if op == LOGSIGMOID:
        return min(v, 0.0) - math.log1p(math.exp(-abs(v)))
    if op == HARDSWISH:
        return v * _clamp(v + 3.0, 0.0, 6.0) / 6.0
    if op == HARDSIGMOID:
        return _clamp(v + 3.0, 0.0, 6.0) / 6.0
    if op == HARDTANH:
        return _clamp(v, a, b)
    if op == MISH:
        return v * math.tanh(math.log1p(math.exp(v)))
    if op == SOFTSIGN:
        return v / (1.0 + abs(v))
    if op == TANHSHRINK:
        return v - math.tanh(v)
    if op == SOFTSHRINK:
        return 0.0 if -a <= v <= a else (v - a if v > a else v + a)
    return 0.0 if -a <= v <= a else v  # HARDSHRINK


@njit(cache=True, error_model="numpy", nogil=True)
def _derivative(op, v, a, b):
    """f_op'(v; a, b) for a float64 v: numpy_ref.POINTWISE's backward formulas."""
    if op == GELU:
        return 0.5 * (1.0 + math.erf(v * SQRT_HALF)) + v * INV_SQRT_2PI * math.exp(-0.5 * v * v)
    if op == GELU_TANH:
        t = math.tanh(GELU_TANH_BETA * (v + GELU_TANH_KAPPA * v * v * v))
        return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_TANH_BETA * (
            1.0 + 3.0 * GELU_TANH_KAPPA * v * v)
    if op == SILU:
        s = _sigmoid(v)
        return s * (1.0 + v * (1.0 - s))
    if op == ELU:
        return a * math.exp(v) if v <= 0 else 1.0
    if op == SELU:
        return SELU_SCALE * SELU_ALPHA * math.exp(v) if v <= 0 else SELU_SCALE
    if op == CELU:
        return a * b * math.exp(v * b) if v <= 0 else 1.0
    if op == SOFTPLUS:
        if v * a > b:
            return 1.0
        z = math.exp(v * a)
        return z / (z + 1.0)
    if op == LOGSIGMOID:
        z = math.exp(-abs(v))
        return 1.0 - z / (1.0 + z) if v < 0 else z / (1.0 + z)
    if op == HARDSWISH:
        return 0.0 if v <= -3.0 else (v / 3.0 + 0.5 if v < 3.0 else 1.0)
    if op == HARDSIGMOID:
        return HARDSIGMOID_SLOPE if -3.0 < v < 3.0 else 0.0
    if op == HARDTANH:
        return 0.0 if v <= a or v >= b else 1.0
    if op == MISH:
        t = math.tanh(math.log1p(math.exp(v)))
        return t + v * _sigmoid(v) * (1.0 - t * t)
    if op == SOFTSIGN:
        d = 1.0 + abs(v)
        sign = 1.0 if v > 0 else (-1.0 if v < 0 else 0.0 * v)  # sign(NaN) is NaN
        return 1.0 / d - v / (d * d) * sign
    if op == TANHSHRINK:
        t = math.tanh(v)
        return t * t
    return 0.0 if -a <= v <= a else 1.0  # SOFTSHRINK, HARDSHRINK


@serial_and_parallel()
def _pointwise_forward(x, out, op, a, b):
    for i in prange(x.size):
        out[i] = _forward_value(op, np.float64(x[i]), a, b)


@serial_and_parallel()
def _pointwise_backward(x, g, gi, op, a, b):
    for i in prange(x.size):
        gi[i] = np.float64(g[i]) * _derivative(op, np.float64(x[i]), a, b)


def pointwise_forward(x, out, op, a, b):
    _pointwise_forward.run(x.size, flat(x), flat_out(out), _CODES[op], float(a), float(b))


def pointwise_backward(x, grad_out, grad_in, op, a, b):
    _pointwise_backward.run(x.size, flat(x), flat(grad_out), flat_out(grad_in), _CODES[op],
                            float(a), float(b))
