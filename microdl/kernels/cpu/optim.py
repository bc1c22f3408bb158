"""Numba twin of numpy_ref/optim.py: the whole SGD update in one pass over flat arrays."""

from numba import prange

from ._jit import flat, flat_out, serial_and_parallel


# NOTE: an update runs once per parameter per step, after the worker thread has gone idle
# (microdl caps OpenMP spinning); waking it costs more than a 2x split saves below 2^18 elements.
@serial_and_parallel(threshold=1 << 18)
def _sgd(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, first_step):
    for i in prange(p.size):
        d = g[i] + weight_decay * p[i]
        if momentum != 0:
            b = d if first_step else momentum * buf[i] + (1 - dampening) * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] - lr * d


def sgd_update_(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                first_step):
    buf = flat_out(momentum_buffer) if momentum != 0 else flat_out(param)
    _sgd.run(param.size, flat_out(param), flat(grad), buf, float(lr), float(momentum),
             float(dampening), float(weight_decay), bool(nesterov), bool(first_step))
