"""Activations, elementwise. Backward kernels take what forward saved (x or y) and grad_out."""

import numpy as np


def relu_forward(x, out):
    """out = max(x, 0) (NaN stays NaN)."""
    np.copyto(out, np.where(x <= 0, 0, x))


def relu_backward(y, grad_out, grad_in):
    """grad_in = grad_out * [y > 0]."""
    np.copyto(grad_in, np.where(y > 0, grad_out, 0))


def leaky_relu_forward(x, out, negative_slope):
    """out = x if x > 0 else negative_slope * x."""
    np.copyto(out, np.where(x > 0, x, x * x.dtype.type(negative_slope)))


def leaky_relu_backward(x, grad_out, grad_in, negative_slope):
    """grad_in = grad_out * (1 if x > 0 else negative_slope)."""
    np.copyto(grad_in, np.where(x > 0, grad_out, grad_out * x.dtype.type(negative_slope)))


def sigmoid_forward(x, out):
    """out = 1 / (1 + exp(-x)), as exp(x) / (1 + exp(x)) for x < 0 so exp never overflows."""
    z = np.exp(-np.abs(x))
    np.copyto(out, np.where(x >= 0, 1 / (1 + z), z / (1 + z)))


def sigmoid_backward(y, grad_out, grad_in):
    """grad_in = grad_out * y * (1 - y)."""
    np.copyto(grad_in, grad_out * y * (1 - y))


def tanh_forward(x, out):
    """out = tanh(x)."""
    np.tanh(x, out=out)


def tanh_backward(y, grad_out, grad_in):
    """grad_in = grad_out * (1 - y**2)."""
    np.copyto(grad_in, grad_out * (1 - y * y))
