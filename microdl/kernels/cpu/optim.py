"""Numba twin of numpy_ref/optim.py: each optimizer's whole update in one pass over flat
arrays."""

import math

from numba import njit, prange, types
from numba.extending import intrinsic

from ..numpy_ref.optim import _adam_coefficients
from ._jit import flat, flat_out, serial_and_parallel


# NOTE: an update runs once per parameter per step, after the worker thread has gone idle
# (microdl caps OpenMP spinning); waking it costs more than a 2x split saves below 2^18 elements.
@serial_and_parallel(threshold=1 << 18)
def _sgd(p, g, buf, lr, momentum, keep, weight_decay, use_momentum, nesterov, first_step):
    # keep = 1 - dampening. The scalars arrive as Python floats and are rounded to p's dtype
    # here, as numpy's p.dtype.type(x) rounds them: float32 math for float32 parameters, as in
    # PyTorch. The flags are loop-invariant, so LLVM unswitches the branches.
    s = p.dtype.type
    lr, momentum, keep, weight_decay = s(lr), s(momentum), s(keep), s(weight_decay)
    for i in prange(p.size):
        d = g[i]
        if weight_decay != 0:
            d = d + weight_decay * p[i]
        if use_momentum:
            b = d if first_step else momentum * buf[i] + keep * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] - lr * d


def sgd_update_(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                first_step):
    # NOTE: numba does no bounds checks, so a wrong-sized array would write outside the buffer.
    use_momentum = momentum != 0
    if grad.shape != param.shape or (use_momentum and momentum_buffer.shape != param.shape):
        raise ValueError(f"sgd_update_: param {param.shape}, grad {grad.shape} and momentum "
                         f"buffer {getattr(momentum_buffer, 'shape', None)} must have one shape")
    # Python floats and bools: one compile per dtype. NOTE: not numpy scalars in param's dtype
    # (the kernel rounds them): making four of those took ~1 us, on every parameter every step.
    p = flat_out(param)
    buf = flat_out(momentum_buffer) if use_momentum else p
    _sgd.run(p.size, p, flat(grad), buf, float(lr), float(momentum), float(1 - dampening),
             float(weight_decay), bool(use_momentum), bool(nesterov), bool(first_step))


# ---- adaptive optimizers ----------------------------------------------------------------------
# One pass per parameter doing what torch.optim's single-tensor path does in several ops, in the
# same order and the same roundings (see numpy_ref/optim.py). Scalars arrive in param's dtype:
# a float64 constant inside the loop would promote float32 math to float64.

@intrinsic
def _fma(typingctx, x, y, z):
    """x * y + z rounded once (llvm.fma), as PyTorch's CPU kernels compute add(alpha=),
    addcmul and lerp. All three of one float type."""
    if not (isinstance(x, types.Float) and x == y == z):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return x(x, y, z), codegen


@njit(inline="always", cache=True, error_model="numpy")
def _lerp(start, end, coeff, from_end):
    # torch.lerp: start + w * (end - start) for w < 0.5, else end + (w - 1) * (end - start);
    # coeff is w or w - 1 (see _lerp_coefficient)
    return _fma(coeff, end - start, end if from_end else start)


def _lerp_coefficient(weight, s):
    """(coefficient, from_end) for _lerp with the scalar weight, in the dtype s."""
    w = s(weight)
    return (w - s(1), True) if abs(w) >= 0.5 else (w, False)


def _check_shapes(kernel, param, **arrays):
    # NOTE: numba does no bounds checks: a wrong-sized state array would write out of bounds
    for name, array in arrays.items():
        if array is not None and (array.shape != param.shape or array.dtype != param.dtype):
            raise ValueError(f"{kernel}: {name} {array.shape} {array.dtype} must have param's "
                             f"shape and dtype, {param.shape} {param.dtype}")


@serial_and_parallel(threshold=1 << 18)
def _adam(p, g, m, v, v_max, decay, weight_decay, m_coeff, m_from_end, beta2, one_minus_beta2,
          neg_step_size, bias_correction2_sqrt, eps, amsgrad, maximize, decoupled):
    for i in prange(p.size):
        grad = -g[i] if maximize else g[i]
        param = p[i]
        if weight_decay != 0:
            if decoupled:
                param = param * decay
            else:
                grad = _fma(param, weight_decay, grad)
        m_i = _lerp(m[i], grad, m_coeff, m_from_end)
        v_i = _fma(one_minus_beta2 * grad, grad, v[i] * beta2)
        m[i] = m_i
        v[i] = v_i
        if amsgrad:
            old = v_max[i]
            v_i = old if (old > v_i or old != old) else v_i  # NaN wins, as in torch.maximum
            v_max[i] = v_i
        denom = math.sqrt(v_i) / bias_correction2_sqrt + eps
        p[i] = param + neg_step_size * m_i / denom


def adam_update_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                 weight_decay, step, amsgrad, maximize, decoupled_weight_decay):
    _check_shapes("adam_update_", param, grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                  max_exp_avg_sq=max_exp_avg_sq if amsgrad else None)
    s = param.dtype.type
    decay, step_size, bias_correction2_sqrt = _adam_coefficients(
        lr, beta1, beta2, weight_decay, step, decoupled_weight_decay)
    m_coeff, m_from_end = _lerp_coefficient(1 - beta1, s)
    p = flat_out(param)
    v_max = flat_out(max_exp_avg_sq) if amsgrad else p
    _adam.run(p.size, p, flat(grad), flat_out(exp_avg), flat_out(exp_avg_sq), v_max, s(decay),
              s(weight_decay), m_coeff, m_from_end, s(beta2), s(1 - beta2), s(-step_size),
              s(bias_correction2_sqrt), s(eps), bool(amsgrad), bool(maximize),
              bool(decoupled_weight_decay))


@serial_and_parallel(threshold=1 << 18)
def _rmsprop(p, g, sq, g_avg, buf, neg_lr, alpha, one_minus_alpha, g_coeff, g_from_end, eps,
             weight_decay, momentum, use_momentum, centered, maximize):
    for i in prange(p.size):
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = _fma(p[i], weight_decay, grad)
        sq_i = _fma(one_minus_alpha * grad, grad, sq[i] * alpha)
        sq[i] = sq_i
        if centered:
            ga = _lerp(g_avg[i], grad, g_coeff, g_from_end)
            g_avg[i] = ga
            avg = math.sqrt(_fma(-ga, ga, sq_i))
        else:
            avg = math.sqrt(sq_i)
        avg = avg + eps
        if use_momentum:
            b = buf[i] * momentum + grad / avg
            buf[i] = b
            p[i] = _fma(b, neg_lr, p[i])
        else:
            p[i] = p[i] + neg_lr * grad / avg


def rmsprop_update_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
                    weight_decay, momentum, centered, maximize):
    use_momentum = momentum > 0
    _check_shapes("rmsprop_update_", param, grad=grad, square_avg=square_avg,
                  grad_avg=grad_avg if centered else None,
                  momentum_buffer=momentum_buffer if use_momentum else None)
    s = param.dtype.type
    g_coeff, g_from_end = _lerp_coefficient(1 - alpha, s)
    p = flat_out(param)
    _rmsprop.run(p.size, p, flat(grad), flat_out(square_avg),
                 flat_out(grad_avg) if centered else p,
                 flat_out(momentum_buffer) if use_momentum else p, s(-lr), s(alpha),
                 s(1 - alpha), g_coeff, g_from_end, s(eps), s(weight_decay), s(momentum),
                 use_momentum, bool(centered), bool(maximize))


@serial_and_parallel(threshold=1 << 18)
def _adadelta(p, g, sq, acc, neg_lr, rho, one_minus_rho, eps, weight_decay, maximize):
    for i in prange(p.size):
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = _fma(p[i], weight_decay, grad)
        sq_i = _fma(one_minus_rho * grad, grad, sq[i] * rho)
        sq[i] = sq_i
        delta = math.sqrt(acc[i] + eps) / math.sqrt(sq_i + eps) * grad
        acc[i] = _fma(one_minus_rho * delta, delta, acc[i] * rho)
        p[i] = _fma(delta, neg_lr, p[i])


def adadelta_update_(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    _check_shapes("adadelta_update_", param, grad=grad, square_avg=square_avg,
                  acc_delta=acc_delta)
    s = param.dtype.type
    p = flat_out(param)
    _adadelta.run(p.size, p, flat(grad), flat_out(square_avg), flat_out(acc_delta), s(-lr),
                  s(rho), s(1 - rho), s(eps), s(weight_decay), bool(maximize))


@serial_and_parallel(threshold=1 << 18)
def _adagrad(p, g, total, neg_lr, eps, weight_decay, maximize):
    for i in prange(p.size):
        grad = -g[i] if maximize else g[i]
        if weight_decay != 0:
            grad = _fma(p[i], weight_decay, grad)
        t = _fma(grad, grad, total[i])
        total[i] = t
        p[i] = p[i] + neg_lr * grad / (math.sqrt(t) + eps)


def adagrad_update_(param, grad, state_sum, lr, lr_decay, eps, weight_decay, step, maximize):
    _check_shapes("adagrad_update_", param, grad=grad, state_sum=state_sum)
    s = param.dtype.type
    decayed_lr = lr / (1 + (step - 1) * lr_decay)
    p = flat_out(param)
    _adagrad.run(p.size, p, flat(grad), flat_out(state_sum), s(-decayed_lr), s(eps),
                 s(weight_decay), bool(maximize))
