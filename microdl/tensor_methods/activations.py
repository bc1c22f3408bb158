"""Tensor methods: the activations relu, sigmoid, tanh, softmax and log_softmax (the others are
functions: microdl.nn.functional)."""

from ..ops import activation


class ActivationMethods:
    """Tensor's activation methods (a mixin of microdl.Tensor)."""

    # ---- activations --------------------------------------------------------------------------
    def relu(self):
        return activation.ReLU.apply(self)

    def sigmoid(self):
        return activation.Sigmoid.apply(self)

    def tanh(self):
        return activation.Tanh.apply(self)

    def softmax(self, dim=-1, dtype=None):
        """exp(x) / sum exp(x) along ``dim``; ``dtype``: the input is cast to it first."""
        return activation.Softmax.apply(self._as_dtype(dtype), dim=dim)

    def log_softmax(self, dim=-1, dtype=None):
        """x - log sum exp(x) along ``dim``; ``dtype``: the input is cast to it first."""
        return activation.LogSoftmax.apply(self._as_dtype(dtype), dim=dim)
