"""CUDA twins of numpy_ref/activation.py: one grid-stride loop per kernel over flat arrays."""

import math

from numba import cuda

from ._launch import flat, grid


@cuda.jit
def _relu_forward_kernel(x, out):
    i = cuda.grid(1)
    while i < x.size:
        v = x[i]
        out[i] = 0 if v <= 0 else v  # NaN is not <= 0, so it passes through
        i += cuda.gridsize(1)


@cuda.jit
def _relu_backward_kernel(y, g, gi):
    i = cuda.grid(1)
    while i < y.size:
        gi[i] = g[i] if y[i] > 0 else 0
        i += cuda.gridsize(1)


@cuda.jit
def _leaky_relu_forward_kernel(x, out, slope):
    i = cuda.grid(1)
    while i < x.size:
        v = x[i]
        out[i] = v if v > 0 else v * slope
        i += cuda.gridsize(1)


@cuda.jit
def _leaky_relu_backward_kernel(x, g, gi, slope):
    i = cuda.grid(1)
    while i < x.size:
        gi[i] = g[i] if x[i] > 0 else g[i] * slope
        i += cuda.gridsize(1)


@cuda.jit
def _sigmoid_forward_kernel(x, out):
    i = cuda.grid(1)
    while i < x.size:
        v = x[i]
        # exp of a non-positive number only, so it never overflows
        if v >= 0:
            out[i] = 1 / (1 + math.exp(-v))
        else:
            z = math.exp(v)
            out[i] = z / (1 + z)
        i += cuda.gridsize(1)


@cuda.jit
def _sigmoid_backward_kernel(y, g, gi):
    i = cuda.grid(1)
    while i < y.size:
        gi[i] = g[i] * y[i] * (1 - y[i])
        i += cuda.gridsize(1)


@cuda.jit
def _tanh_forward_kernel(x, out):
    i = cuda.grid(1)
    while i < x.size:
        out[i] = math.tanh(x[i])
        i += cuda.gridsize(1)


@cuda.jit
def _tanh_backward_kernel(y, g, gi):
    i = cuda.grid(1)
    while i < y.size:
        gi[i] = g[i] * (1 - y[i] * y[i])
        i += cuda.gridsize(1)


def relu_forward(x, out):
    """out = max(x, 0) (NaN stays NaN)."""
    _relu_forward_kernel[grid(x.size)](flat(x), flat(out))


def relu_backward(y, grad_out, grad_in):
    """grad_in = grad_out * [y > 0]."""
    _relu_backward_kernel[grid(y.size)](flat(y), flat(grad_out), flat(grad_in))


def leaky_relu_forward(x, out, negative_slope):
    """out = x if x > 0 else negative_slope * x."""
    _leaky_relu_forward_kernel[grid(x.size)](flat(x), flat(out), float(negative_slope))


def leaky_relu_backward(x, grad_out, grad_in, negative_slope):
    """grad_in = grad_out * (1 if x > 0 else negative_slope)."""
    _leaky_relu_backward_kernel[grid(x.size)](flat(x), flat(grad_out), flat(grad_in),
                                              float(negative_slope))


def sigmoid_forward(x, out):
    """out = 1 / (1 + exp(-x)), as exp(x) / (1 + exp(x)) for x < 0."""
    _sigmoid_forward_kernel[grid(x.size)](flat(x), flat(out))


def sigmoid_backward(y, grad_out, grad_in):
    """grad_in = grad_out * y * (1 - y)."""
    _sigmoid_backward_kernel[grid(y.size)](flat(y), flat(grad_out), flat(grad_in))


def tanh_forward(x, out):
    """out = tanh(x)."""
    _tanh_forward_kernel[grid(x.size)](flat(x), flat(out))


def tanh_backward(y, grad_out, grad_in):
    """grad_in = grad_out * (1 - y**2)."""
    _tanh_backward_kernel[grid(y.size)](flat(y), flat(grad_out), flat(grad_in))
