"""Adagrad, exactly as torch.optim.Adagrad defines it (its single-tensor code path)."""

from .. import backend
from .optimizer import Optimizer, _to_scalar, refuse_other_implementations, require_nonnegative


class Adagrad(Optimizer):
    """Per parameter p with gradient g (-g when maximize), at step t = 1, 2, ...:

        g = g + weight_decay * p
        s = s + g * g                   state['sum'], initial_accumulator_value at first
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)

    As in PyTorch the state of every parameter is made at construction (``state[p]['step']``
    and ``state[p]['sum']``), and lazily, from the constructor's initial_accumulator_value, for
    parameters added later with add_param_group. The update is the kernel
    ``optim.adagrad_update_``.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        require_nonnegative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                            initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        refuse_other_implementations("Adagrad", defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, ["sum"], initial_accumulator_value)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        for group, p in self._params_with_grad():
            state_sum, = self._step_state(
                p, "sum", initial=self.defaults["initial_accumulator_value"])
            backend.of(p.array).kernels("optim").adagrad_update_(
                p.array, p.grad.array, state_sum, _to_scalar(group["lr"]), group["lr_decay"],
                group["eps"], group["weight_decay"], self._count_step(p), group["maximize"])
        return loss
