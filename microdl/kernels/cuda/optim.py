"""CUDA twin of numpy_ref/optim.py: each optimizer's whole update in one grid-stride pass, in
place."""

import math

from numba import cuda

from ..numpy_ref.optim import _adam_coefficients
from ._launch import flat, grid


@cuda.jit
def _sgd_kernel(p, g, buf, lr, momentum, keep, weight_decay, use_momentum, nesterov,
                first_step):
    # keep = 1 - dampening; the scalars come in p's dtype, so float32 math stays float32
    i = cuda.grid(1)
    while i < p.size:
        d = g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        if use_momentum:
            b = d if first_step else momentum * buf[i] + keep * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] - lr * d
        i += cuda.gridsize(1)


def sgd_update_(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                first_step):
    """One step of torch.optim.SGD on one parameter, in place (see numpy_ref/optim.py):
    d = grad + weight_decay * param; buf = d (first step) or momentum * buf + (1 - dampening) * d;
    d = d + momentum * buf (nesterov) or buf; param -= lr * d."""
    use_momentum = momentum != 0
    if tuple(grad.shape) != tuple(param.shape) or (
            use_momentum and tuple(momentum_buffer.shape) != tuple(param.shape)):
        raise ValueError(f"sgd_update_: param {param.shape}, grad {grad.shape} and momentum "
                         f"buffer {getattr(momentum_buffer, 'shape', None)} must have one shape")
    s = param.dtype.type
    p = flat(param)
    buf = flat(momentum_buffer) if use_momentum else p
    _sgd_kernel[grid(p.size)](p, flat(grad), buf, s(lr), s(momentum), s(1 - dampening),
                              s(weight_decay), use_momentum, bool(nesterov), bool(first_step))


# ---- adaptive optimizers ----------------------------------------------------------------------
# The same passes as kernels/cpu/optim.py, one thread per element (see numpy_ref/optim.py for
# the math). Scalars come in param's dtype; a * b + c is left to the compiler, which fuses it
# on the GPU as PyTorch's CPU kernels do (the simulator rounds twice).

@cuda.jit(device=True)
def _lerp(start, end, coeff, from_end):
    # torch.lerp: start + w * (end - start) for w < 0.5, else end + (w - 1) * (end - start)
    return coeff * (end - start) + (end if from_end else start)


@cuda.jit
def _adam_kernel(p, g, m, v, v_max, decay, weight_decay, m_coeff, m_from_end, beta2,
                 one_minus_beta2, neg_step_size, bias_correction2_sqrt, eps, amsgrad, maximize,
                 decoupled):
    i = cuda.grid(1)
    while i < p.size:
        grad = -g[i] if maximize else g[i]
        param = p[i]
        if weight_decay != 0:
            if decoupled:
                param = param * decay
            else:
                grad = param * weight_decay + grad
        m_i = _lerp(m[i], grad, m_coeff, m_from_end)
        v_i = one_minus_beta2 * grad * grad + v[i] * beta2
        m[i] = m_i
        v[i] = v_i
        if amsgrad:
            old = v_max[i]
            v_i = old if (old > v_i or old != old) else v_i  # NaN wins, as in torch.maximum
            v_max[i] = v_i
        denom = math.sqrt(v_i) / bias_correction2_sqrt + eps
        p[i] = param + neg_step_size * m_i / denom
        i += cuda.gridsize(1)


def adam_update_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                 weight_decay, step, amsgrad, maximize, decoupled_weight_decay):
    """One step of torch.optim.Adam / AdamW on one parameter, in place (see numpy_ref)."""
    _check_shapes("adam_update_", param, grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                  max_exp_avg_sq=max_exp_avg_sq if amsgrad else None)
    s = param.dtype.type
    decay, step_size, bias_correction2_sqrt = _adam_coefficients(
        lr, beta1, beta2, weight_decay, step, decoupled_weight_decay)
    m_coeff, m_from_end = _lerp_coefficient(1 - beta1, s)
    p = flat(param)
    v_max = flat(max_exp_avg_sq) if amsgrad else p
    _adam_kernel[grid(p.size)](p, flat(grad), flat(exp_avg), flat(exp_avg_sq), v_max, s(decay),
                               s(weight_decay), m_coeff, m_from_end, s(beta2), s(1 - beta2),
                               s(-step_size), s(bias_correction2_sqrt), s(eps), bool(amsgrad),
                               bool(maximize), bool(decoupled_weight_decay))


@cuda.jit
def _rmsprop_kernel(p, g, sq, g_avg, buf, neg_lr, alpha, one_minus_alpha, g_coeff, g_from_end,
                    eps, weight_decay, momentum, use_momentum, centered, maximize):
    i = cuda.grid(1)
    while i < p.size:
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = p[i] * weight_decay + grad
        sq_i = one_minus_alpha * grad * grad + sq[i] * alpha
        sq[i] = sq_i
        if centered:
            ga = _lerp(g_avg[i], grad, g_coeff, g_from_end)
            g_avg[i] = ga
            avg = math.sqrt(sq_i - ga * ga)
        else:
            avg = math.sqrt(sq_i)
        avg = avg + eps
        if use_momentum:
            b = buf[i] * momentum + grad / avg
            buf[i] = b
            p[i] = b * neg_lr + p[i]
        else:
            p[i] = p[i] + neg_lr * grad / avg
        i += cuda.gridsize(1)


def rmsprop_update_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                    weight_decay, momentum, centered, maximize):
    """One step of torch.optim.RMSprop on one parameter, in place (see numpy_ref)."""
    use_momentum = momentum > 0
    _check_shapes("rmsprop_update_", param, grad=grad, square_avg=square_avg,
                  grad_avg=grad_avg if centered else None,
                  momentum_buffer=momentum_buffer if use_momentum else None)
    s = param.dtype.type
    g_coeff, g_from_end = _lerp_coefficient(1 - alpha, s)
    p = flat(param)
    _rmsprop_kernel[grid(p.size)](p, flat(grad), flat(square_avg),
                                  flat(grad_avg) if centered else p,
                                  flat(momentum_buffer) if use_momentum else p, s(-lr),
                                  s(alpha), s(1 - alpha), g_coeff, g_from_end, s(eps),
                                  s(weight_decay), s(momentum), use_momentum, bool(centered),
                                  bool(maximize))


@cuda.jit
def _adadelta_kernel(p, g, sq, acc, neg_lr, rho, one_minus_rho, eps, weight_decay, maximize):
    i = cuda.grid(1)
    while i < p.size:
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = p[i] * weight_decay + grad
        sq_i = one_minus_rho * grad * grad + sq[i] * rho
        sq[i] = sq_i
        delta = math.sqrt(acc[i] + eps) / math.sqrt(sq_i + eps) * grad
        acc[i] = one_minus_rho * delta * delta + acc[i] * rho
        p[i] = delta * neg_lr + p[i]
        i += cuda.gridsize(1)


def adadelta_update_(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """One step of torch.optim.Adadelta on one parameter, in place (see numpy_ref)."""
    _check_shapes("adadelta_update_", param, grad=grad, square_avg=square_avg,
                  acc_delta=acc_delta)
    s = param.dtype.type
    p = flat(param)
    _adadelta_kernel[grid(p.size)](p, flat(grad), flat(square_avg), flat(acc_delta), s(-lr),
                                   s(rho), s(1 - rho), s(eps), s(weight_decay), bool(maximize))


@cuda.jit
def _adagrad_kernel(p, g, total, neg_lr, eps, weight_decay, maximize):
    i = cuda.grid(1)
    while i < p.size:
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = p[i] * weight_decay + grad
        t = grad * grad + total[i]
        total[i] = t
        p[i] = p[i] + neg_lr * grad / (math.sqrt(t) + eps)
        i += cuda.gridsize(1)


def adagrad_update_(param, grad, state_sum, lr, lr_decay, eps, weight_decay, step, maximize):
    """One step of torch.optim.Adagrad on one parameter, in place (see numpy_ref)."""
    _check_shapes("adagrad_update_", param, grad=grad, state_sum=state_sum)
    s = param.dtype.type
    decayed_lr = lr / (1 + (step - 1) * lr_decay)
    p = flat(param)
    _adagrad_kernel[grid(p.size)](p, flat(grad), flat(state_sum), s(-decayed_lr), s(eps),
                                  s(weight_decay), bool(maximize))


def _lerp_coefficient(weight, s):
    """(coefficient, from_end) for _lerp with the scalar weight, in the dtype s."""
    w = s(weight)
    return (w - s(1), True) if abs(w) >= 0.5 else (w, False)


def _check_shapes(kernel, param, **arrays):
    for name, array in arrays.items():
        if array is not None and (tuple(array.shape) != tuple(param.shape)
                                  or array.dtype != param.dtype):
            raise ValueError(f"{kernel}: {name} {array.shape} {array.dtype} must have param's "
                             f"shape and dtype, {param.shape} {param.dtype}")
