"""Adadelta, exactly as torch.optim.Adadelta defines it (its single-tensor code path)."""

from .. import backend
from .optimizer import Optimizer, _to_scalar, refuse_other_implementations, require_nonnegative


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
        require_nonnegative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        require_nonnegative(eps=eps, weight_decay=weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        refuse_other_implementations("Adadelta", defaults)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        for group, p in self._params_with_grad():
            square_avg, acc_delta = self._step_state(p, "square_avg", "acc_delta")
            self._count_step(p)
            backend.of(p.array).kernels("optim").adadelta_update_(
                p.array, p.grad.array, square_avg, acc_delta, _to_scalar(group["lr"]),
                group["rho"], group["eps"], group["weight_decay"], group["maximize"])
        return loss
