"""CUDA twin of numpy_ref/optim.py: the whole SGD update in one grid-stride pass, in place."""

from numba import cuda

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
