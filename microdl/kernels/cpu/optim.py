"""Numba twin of numpy_ref/optim.py: the whole SGD update in one pass over flat arrays."""

from numba import prange

from ._jit import flat, flat_out, serial_and_parallel


# NOTE: an update runs once per parameter per step, after the worker thread has gone idle
# (microdl caps OpenMP spinning); waking it costs more than a 2x split saves below 2^18 elements.
@serial_and_parallel(threshold=1 << 18)
def _sgd(p, g, buf, lr, momentum, keep, weight_decay, use_momentum, nesterov, first_step):
    # keep = 1 - dampening. The flags are loop-invariant, so LLVM unswitches the branches.
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
    # Scalars in param's dtype (float32 math as in PyTorch) and bools: one compile per dtype.
    s = param.dtype.type
    p = flat_out(param)
    buf = flat_out(momentum_buffer) if use_momentum else p
    _sgd.run(p.size, p, flat(grad), buf, s(lr), s(momentum), s(1 - dampening), s(weight_decay),
             use_momentum, bool(nesterov), bool(first_step))
