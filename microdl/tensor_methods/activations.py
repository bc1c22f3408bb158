"""Tensor methods: the activations relu, sigmoid, tanh, softmax and log_softmax (the others are
functions: microdl.nn.functional)."""

from ..ops import activation


class ActivationMethods:
    """Tensor's activation methods (a mixin of microdl.Tensor)."""

    # ---- activations --------------------------------------------------------------------------
    def relu(self):
        """y = max(x, 0), elementwise (integers too, in their dtype);  dx = g * [y > 0]."""
        return activation.ReLU.apply(self)

    def sigmoid(self):
        """y = 1 / (1 + exp(-x)), stable for large |x|;  dx = g * y * (1 - y). Integers give
        float32."""
        return activation.Sigmoid.apply(self)

    def tanh(self):
        """y = tanh(x), elementwise;  dx = g * (1 - y**2). Integers give float32."""
        return activation.Tanh.apply(self)

    def softmax(self, dim=-1, dtype=None):
        """exp(x) / sum exp(x) along ``dim``; ``dtype``: the input is cast to it first."""
        return activation.Softmax.apply(self._as_dtype(dtype), dim=dim)

    def log_softmax(self, dim=-1, dtype=None):
        """x - log sum exp(x) along ``dim``; ``dtype``: the input is cast to it first."""
        return activation.LogSoftmax.apply(self._as_dtype(dtype), dim=dim)
