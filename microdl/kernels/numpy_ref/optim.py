"""Optimizer updates, in place on the parameter and its optimizer state."""

import numpy as np


def sgd_update_(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                first_step):
    """One step of torch.optim.SGD on one parameter, in place:

        d = grad + weight_decay * param
        if momentum != 0:
            buf = d                                       on the first step
            buf = momentum * buf + (1 - dampening) * d    on later steps
            d = d + momentum * buf   if nesterov,   else   d = buf
        param = param - lr * d

    The arithmetic runs in param's dtype (the scalars are cast to it, as PyTorch does for float32
    tensors). momentum_buffer has param's shape and dtype; when momentum == 0 it is neither read
    nor written, and the caller may pass None.
    """
    s = param.dtype.type
    d = grad + s(weight_decay) * param if weight_decay != 0 else grad
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = d
        else:
            momentum_buffer *= s(momentum)
            momentum_buffer += s(1 - dampening) * d
        d = d + s(momentum) * momentum_buffer if nesterov else momentum_buffer
    param -= s(lr) * d


# ---- adaptive optimizers ----------------------------------------------------------------------
# Each follows torch.optim's single-tensor code path op by op, in param's dtype: every Python
# scalar is cast to that dtype where PyTorch's kernel casts it, scalars PyTorch computes in
# Python (bias corrections, Adagrad's decayed lr) are computed in float64 first, and the three
# ops PyTorch's CPU kernels compute as a fused multiply-add (add with alpha, addcmul, lerp) are
# rounded once here too. With PyTorch's own sqrt swapped in, float32 results then equal
# PyTorch's bit for bit (tests/optim/test_adaptive.py); with numpy's they differ by an ulp here
# and there, because PyTorch's CPU float32 sqrt (MKL) is not correctly rounded.


def _fma(x, y, z):
    """x * y + z rounded once. float32 goes through float64, where the product of two float32
    values is exact; float64 is rounded twice (numpy has no fused multiply-add)."""
    dtype = np.result_type(x, y, z)
    if dtype.itemsize >= 8:
        return x * y + z
    wide = np.asarray(x, np.float64) * np.asarray(y, np.float64) + np.asarray(z, np.float64)
    return wide.astype(dtype)


def _lerp(start, end, weight):
    """torch.lerp with a scalar weight: start + weight * (end - start), from the nearer end
    (weight >= 0.5 gives end + (weight - 1) * (end - start)), one rounding as in PyTorch."""
    if abs(weight) < 0.5:
        return _fma(weight, end - start, start)
    return _fma(weight - weight.dtype.type(1), end - start, end)


def _adam_coefficients(lr, beta1, beta2, weight_decay, step, decoupled_weight_decay):
    """Adam's per-step scalars in float64, as PyTorch computes them in Python:
    (1 - lr * weight_decay, lr / (1 - beta1 ** step), sqrt(1 - beta2 ** step))."""
    decay = 1 - lr * weight_decay if decoupled_weight_decay else 1.0
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    return decay, step_size, bias_correction2_sqrt


def adam_update_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                 weight_decay, step, amsgrad, maximize, decoupled_weight_decay):
    """One step of torch.optim.Adam / AdamW on one parameter, in place (step counts from 1):

        g = -grad if maximize else grad
        param = param * (1 - lr * weight_decay)     (decoupled_weight_decay: AdamW)
        g = g + weight_decay * param                (otherwise: Adam's L2 penalty)
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
        v = max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)   if amsgrad, else v = exp_avg_sq
        param = param - lr / (1 - beta1 ** step) * exp_avg / (sqrt(v) / sqrt(1 - beta2 ** step)
                                                              + eps)

    max_exp_avg_sq may be None without amsgrad.
    """
    s = param.dtype.type
    decay, step_size, bias_correction2_sqrt = _adam_coefficients(
        lr, beta1, beta2, weight_decay, step, decoupled_weight_decay)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= s(decay)
        else:
            g = _fma(param, s(weight_decay), g)
    exp_avg[...] = _lerp(exp_avg, g, s(1 - beta1))
    exp_avg_sq[...] = _fma(s(1 - beta2) * g, g, exp_avg_sq * s(beta2))
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)  # NaN wins, as in torch
        second_moment = max_exp_avg_sq
    else:
        second_moment = exp_avg_sq
    denom = np.sqrt(second_moment) / s(bias_correction2_sqrt) + s(eps)
    param += s(-step_size) * exp_avg / denom


def rmsprop_update_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                    weight_decay, momentum, centered, maximize):
    """One step of torch.optim.RMSprop on one parameter, in place:

        g = (-grad if maximize else grad) + weight_decay * param
        square_avg = alpha * square_avg + (1 - alpha) * g * g
        if centered:  grad_avg = lerp(grad_avg, g, 1 - alpha)
                      avg = sqrt(square_avg - grad_avg * grad_avg) + eps
        else:         avg = sqrt(square_avg) + eps
        if momentum > 0:  momentum_buffer = momentum * momentum_buffer + g / avg
                          param = param - lr * momentum_buffer
        else:             param = param - lr * g / avg

    grad_avg (without centered) and momentum_buffer (without momentum) may be None.
    """
    s = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = _fma(param, s(weight_decay), g)
    square_avg[...] = _fma(s(1 - alpha) * g, g, square_avg * s(alpha))
    if centered:
        grad_avg[...] = _lerp(grad_avg, g, s(1 - alpha))
        avg = np.sqrt(_fma(-grad_avg, grad_avg, square_avg))
    else:
        avg = np.sqrt(square_avg)
    avg = avg + s(eps)
    if momentum > 0:
        momentum_buffer[...] = momentum_buffer * s(momentum) + g / avg
        param[...] = _fma(momentum_buffer, s(-lr), param)
    else:
        param += s(-lr) * g / avg


def adadelta_update_(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """One step of torch.optim.Adadelta on one parameter, in place:

        g = (-grad if maximize else grad) + weight_decay * param
        square_avg = rho * square_avg + (1 - rho) * g * g
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = rho * acc_delta + (1 - rho) * delta * delta
        param = param - lr * delta
    """
    s = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = _fma(param, s(weight_decay), g)
    square_avg[...] = _fma(s(1 - rho) * g, g, square_avg * s(rho))
    delta = np.sqrt(acc_delta + s(eps)) / np.sqrt(square_avg + s(eps)) * g
    acc_delta[...] = _fma(s(1 - rho) * delta, delta, acc_delta * s(rho))
    param[...] = _fma(delta, s(-lr), param)


def adagrad_update_(param, grad, state_sum, lr, lr_decay, eps, weight_decay, step, maximize):
    """One step of torch.optim.Adagrad on one parameter, in place (step counts from 1;
    state_sum is its state 'sum'):

        g = (-grad if maximize else grad) + weight_decay * param
        state_sum = state_sum + g * g
        param = param - lr / (1 + (step - 1) * lr_decay) * g / (sqrt(state_sum) + eps)
    """
    s = param.dtype.type
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = _fma(param, s(weight_decay), g)
    state_sum[...] = _fma(g, g, state_sum)
    decayed_lr = lr / (1 + (step - 1) * lr_decay)
    param += s(-decayed_lr) * g / (np.sqrt(state_sum) + s(eps))
