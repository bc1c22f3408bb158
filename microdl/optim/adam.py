"""Adam and AdamW, exactly as torch.optim defines them (its single-tensor code path)."""

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, _to_scalar, refuse_other_implementations, require_nonnegative


class Adam(Optimizer):
    """Per parameter p with gradient g (-g when maximize), at step t = 1, 2, ...:

        p = p * (1 - lr * weight_decay)             if decoupled_weight_decay (AdamW)
        g = g + weight_decay * p                    otherwise (an L2 penalty)
        m = beta1 * m + (1 - beta1) * g             state['exp_avg']
        v = beta2 * v + (1 - beta2) * g * g         state['exp_avg_sq']
        v_max = max(v_max, v), used instead of v    if amsgrad (state['max_exp_avg_sq'])
        p = p - lr / (1 - beta1 ** t) * m / (sqrt(v) / sqrt(1 - beta2 ** t) + eps)

    The update is the kernel ``optim.adam_update_``; ``state[p]['step']`` counts the steps
    (a float32 scalar, as in PyTorch).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        require_nonnegative(lr=lr, eps=eps)
        for i, beta in enumerate(betas[:2]):
            if not 0.0 <= _to_scalar(beta) < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        require_nonnegative(weight_decay=weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, beta in enumerate(betas):
            if isinstance(beta, Tensor):
                if not capturable and foreach:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                     "capturable=False and foreach=True")
                if beta.numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        defaults = dict(lr=lr, betas=tuple(map(_to_scalar, betas)), eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        refuse_other_implementations(type(self).__name__, defaults)
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss if given."""
        loss = self._evaluate(closure)
        for group, p in self._params_with_grad():
            (beta1, beta2), amsgrad = group["betas"], group["amsgrad"]
            exp_avg, exp_avg_sq, max_exp_avg_sq = self._step_state(
                p, "exp_avg", "exp_avg_sq", "max_exp_avg_sq" if amsgrad else None)
            backend.of(p.array).kernels("optim").adam_update_(
                p.array, p.grad.array, exp_avg, exp_avg_sq, max_exp_avg_sq,
                _to_scalar(group["lr"]), beta1, beta2, group["eps"], group["weight_decay"],
                self._count_step(p), amsgrad, group["maximize"], group["decoupled_weight_decay"])
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2): p = p * (1 - lr * weight_decay) before
    the Adam update, instead of adding weight_decay * p to the gradient."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        """As Optimizer's; the groups stay decoupled whatever the file says (as in PyTorch)."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
