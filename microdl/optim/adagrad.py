"""Adagrad, exactly as torch.optim.Adagrad defines it (its single-tensor code path)."""

import numpy as np

from .. import backend
from .optimizer import Optimizer, _to_scalar, lr_value, refuse_other_implementations


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
        if not 0.0 <= lr_value(lr):
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        refuse_other_implementations("Adagrad", defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = np.zeros((), np.float32)  # on the host, as in PyTorch
        state["sum"] = backend.of(p.array).full(
            p.shape, self.defaults["initial_accumulator_value"], p.dtype)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            refuse_other_implementations("Adagrad", group)
            lr = _to_scalar(group["lr"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    self._init_state(p)
                state_sum, = self._state_arrays(p, "sum")
                state["step"] += 1
                backend.of(p.array).kernels("optim").adagrad_update_(
                    p.array, p.grad.array, state_sum, lr, group["lr_decay"], group["eps"],
                    group["weight_decay"], float(state["step"]), group["maximize"])
        return loss
