"""RMSprop, exactly as torch.optim.RMSprop defines it (its single-tensor code path)."""

import numpy as np

from .. import backend
from .optimizer import Optimizer, _to_scalar, lr_value, refuse_other_implementations


class RMSprop(Optimizer):
    """Per parameter p with gradient g (-g when maximize):

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g                 state['square_avg']
        if centered:  a = alpha * a + (1 - alpha) * g       state['grad_avg']
                      avg = sqrt(v - a * a) + eps
        else:         avg = sqrt(v) + eps
        if momentum > 0:  b = momentum * b + g / avg;  p = p - lr * b   (state['momentum_buffer'])
        else:             p = p - lr * g / avg

    The update is the kernel ``optim.rmsprop_update_``; ``state[p]['step']`` counts the steps.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        if not 0.0 <= lr_value(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        refuse_other_implementations("RMSprop", defaults)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            refuse_other_implementations("RMSprop", group)
            lr, momentum, centered = _to_scalar(group["lr"]), group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                dev = backend.of(p.array)
                state = self.state[p]
                if not state:
                    state["step"] = np.zeros((), np.float32)  # on the host, as in PyTorch
                    state["square_avg"] = dev.zeros(p.shape, p.dtype)
                    if momentum > 0:
                        state["momentum_buffer"] = dev.zeros(p.shape, p.dtype)
                    if centered:
                        state["grad_avg"] = dev.zeros(p.shape, p.dtype)
                square_avg, = self._state_arrays(p, "square_avg")
                grad_avg, = self._state_arrays(p, "grad_avg") if centered else (None,)
                buf, = self._state_arrays(p, "momentum_buffer") if momentum > 0 else (None,)
                state["step"] += 1
                dev.kernels("optim").rmsprop_update_(
                    p.array, p.grad.array, square_avg, grad_avg, buf, lr, group["alpha"],
                    group["eps"], group["weight_decay"], momentum, centered, group["maximize"])
        return loss
