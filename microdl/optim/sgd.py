"""Stochastic gradient descent, exactly as torch.optim.SGD defines it."""

from .. import backend
from .optimizer import Optimizer, _to_scalar, lr_value, refuse_other_implementations


class SGD(Optimizer):
    """Per parameter p with gradient g (-g when maximize):

        d = g + weight_decay * p
        if momentum != 0:
            buf = d on the first step, then buf = momentum * buf + (1 - dampening) * d
            d = d + momentum * buf  with nesterov,  else  d = buf
        p = p - lr * d

    The update is the kernel ``optim.sgd_update_``; the buffer lives in
    ``state[p]['momentum_buffer']`` (only when momentum != 0, as in PyTorch).
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False, foreach=None, differentiable=False,
                 fused=None):
        if lr_value(lr) < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        refuse_other_implementations("SGD", defaults)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        # parameters whose buffer this step made: as in PyTorch, a parameter repeated in its
        # group starts afresh (buf = d) at each appearance of its first step
        made_now = set()
        update_device = update = None  # the kernel, looked up once per device (not per parameter)
        # NOTE: the loops are written out (not _params_with_grad) and each group's settings read
        # once: on a small model this scaffolding was a tenth of the training step
        for group in self.param_groups:
            refuse_other_implementations(type(self).__name__, group)
            lr, momentum, dampening = _to_scalar(group["lr"]), group["momentum"], \
                group["dampening"]
            weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], \
                group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                dev = backend.of(p.array)
                grad = p.grad.array
                if maximize:
                    grad = dev.empty_like(grad)
                    dev.kernels("elementwise").unary(p.grad.array, grad, "neg")
                buf, first = None, False
                if momentum != 0:
                    # no step count, and the buffer is made by the first step's kernel (buf = d)
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = dev.empty_like(p.array)
                        made_now.add(id(p))
                    elif type(buf) is not type(p.array):  # the model moved since: buf follows
                        buf, = self._state_arrays(p, "momentum_buffer")
                    first = id(p) in made_now
                if dev is not update_device:
                    update_device, update = dev, dev.kernels("optim").sgd_update_
                update(p.array, grad, buf, lr, momentum, dampening, weight_decay, nesterov, first)
        return loss
