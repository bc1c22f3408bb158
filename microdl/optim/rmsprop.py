"""RMSprop, exactly as torch.optim.RMSprop defines it (its single-tensor code path)."""

from .. import backend
from .optimizer import Optimizer, _to_scalar, refuse_other_implementations, require_nonnegative


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
        require_nonnegative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay,
                            alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        refuse_other_implementations("RMSprop", defaults)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        for group, p in self._params_with_grad():
            momentum, centered = group["momentum"], group["centered"]
            square_avg, buf, grad_avg = self._step_state(
                p, "square_avg", "momentum_buffer" if momentum > 0 else None,
                "grad_avg" if centered else None)
            self._count_step(p)
            backend.of(p.array).kernels("optim").rmsprop_update_(
                p.array, p.grad.array, square_avg, grad_avg, buf, _to_scalar(group["lr"]),
                group["alpha"], group["eps"], group["weight_decay"], momentum, centered,
                group["maximize"])
        return loss
