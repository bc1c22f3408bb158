"""Stochastic gradient descent, exactly as torch.optim.SGD defines it."""

import numpy as np

from .. import backend
from .optimizer import Optimizer


class SGD(Optimizer):
    """p -= lr * d, with d = grad + weight_decay * p, passed through (Nesterov) momentum:
    buf = d on the first step, then buf = momentum * buf + (1 - dampening) * d;
    d = d + momentum * buf with nesterov, else d = buf. maximize flips the gradient's sign."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, maximize=False):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def step(self):
        update = backend.kernels("optim").sgd_update_
        for group in self.param_groups:
            momentum = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad.data if group["maximize"] else p.grad.data
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                first = momentum != 0 and buf is None
                if first:
                    buf = state["momentum_buffer"] = np.empty_like(p.data)
                update(p.data, grad, buf, group["lr"], momentum,
                       group["dampening"], group["weight_decay"], group["nesterov"], first)
