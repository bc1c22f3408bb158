"""Row-wise softmax family on 2-D (rows, classes) arrays; the op moves the class axis last."""

import numpy as np


def softmax_forward(x, out):
    """out[i] = exp(x[i] - max x[i]) / sum_j exp(x[i, j] - max x[i])."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.copyto(out, e / e.sum(axis=1, keepdims=True))


def softmax_backward(y, grad_out, grad_in):
    """grad_in = y * (grad_out - sum_j grad_out[:, j] * y[:, j])."""
    np.copyto(grad_in, y * (grad_out - (grad_out * y).sum(axis=1, keepdims=True)))


def log_softmax_forward(x, out):
    """out[i] = x[i] - max x[i] - log sum_j exp(x[i, j] - max x[i])."""
    shifted = x - x.max(axis=1, keepdims=True)
    np.copyto(out, shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


def log_softmax_backward(y, grad_out, grad_in):
    """grad_in = grad_out - exp(y) * sum_j grad_out[:, j]."""
    np.copyto(grad_in, grad_out - np.exp(y) * grad_out.sum(axis=1, keepdims=True))


def cross_entropy_forward(logits, labels, log_probs, losses):
    """log_probs = log_softmax(logits);  losses[i] = -log_probs[i, labels[i]]."""
    log_softmax_forward(logits, log_probs)
    np.copyto(losses, -log_probs[np.arange(len(labels)), labels])


def cross_entropy_backward(log_probs, labels, grad_losses, grad_logits):
    """grad_logits[i] = (softmax(logits)[i] - onehot(labels[i])) * grad_losses[i]."""
    probs = np.exp(log_probs)
    probs[np.arange(len(labels)), labels] -= 1
    np.copyto(grad_logits, probs * grad_losses[:, None])
