"""Numba twins of numpy_ref/activation.py: one fused loop per kernel over flat arrays."""

import math

from numba import prange

from ._jit import flat, flat_out, serial_and_parallel


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
def _sigmoid_forward(x, out):
    for i in prange(x.size):
        v = x[i]
        z = math.exp(-abs(v))
        out[i] = 1 / (1 + z) if v >= 0 else z / (1 + z)


@serial_and_parallel()
def _sigmoid_backward(y, g, gi):
    for i in prange(y.size):
        gi[i] = g[i] * y[i] * (1 - y[i])


@serial_and_parallel()
def _tanh_forward(x, out):
    for i in prange(x.size):
        out[i] = math.tanh(x[i])


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


def sigmoid_forward(x, out):
    _sigmoid_forward.run(x.size, flat(x), flat_out(out))


def sigmoid_backward(y, grad_out, grad_in):
    _sigmoid_backward.run(y.size, flat(y), flat(grad_out), flat_out(grad_in))


def tanh_forward(x, out):
    _tanh_forward.run(x.size, flat(x), flat_out(out))


def tanh_backward(y, grad_out, grad_in):
    _tanh_backward.run(y.size, flat(y), flat(grad_out), flat_out(grad_in))
