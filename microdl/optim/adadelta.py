"""Adadelta, exactly as torch.optim.Adadelta defines it (its single-tensor code path)."""

import numpy as np

from .. import backend
from .optimizer import Optimizer, _to_scalar, lr_value, refuse_other_implementations


class Adadelta(Optimizer):
    """Per parameter p with gradient g (-g when maximize):

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g                     state['square_avg']
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta             state['acc_delta']
        p = p - lr * delta

    The update is the kernel ``optim.adadelta_update_``; ``state[p]['step']`` counts the steps.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        if not 0.0 <= lr_value(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        refuse_other_implementations("Adadelta", defaults)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            refuse_other_implementations("Adadelta", group)
            lr = _to_scalar(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                dev = backend.of(p.array)
                state = self.state[p]
                if not state:
                    state["step"] = np.zeros((), np.float32)  # on the host, as in PyTorch
                    state["square_avg"] = dev.zeros(p.shape, p.dtype)
                    state["acc_delta"] = dev.zeros(p.shape, p.dtype)
                square_avg, acc_delta = self._state_arrays(p, "square_avg", "acc_delta")
                state["step"] += 1
                dev.kernels("optim").adadelta_update_(
                    p.array, p.grad.array, square_avg, acc_delta, lr, group["rho"],
                    group["eps"], group["weight_decay"], group["maximize"])
        return loss
