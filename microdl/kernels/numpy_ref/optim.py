"""Optimizer updates, in place on the parameter and its optimizer state."""


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
