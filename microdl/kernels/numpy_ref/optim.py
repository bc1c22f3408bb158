"""Optimizer updates, in place."""

import numpy as np


def sgd_update_(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                first_step):
    """One step of torch.optim.SGD on param (and momentum_buffer), in place:

        d = grad + weight_decay * param
        if momentum != 0:
            buf = d                                    on the first step
            buf = momentum * buf + (1 - dampening) * d  afterwards
            d = d + momentum * buf  (nesterov)  or  d = buf
        param -= lr * d

    momentum_buffer is only read or written when momentum != 0.
    """
    d = grad + weight_decay * param if weight_decay != 0 else grad.copy()
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = d
        else:
            momentum_buffer *= momentum
            momentum_buffer += (1 - dampening) * d
        d = d + momentum * momentum_buffer if nesterov else momentum_buffer
    param -= (lr * d).astype(param.dtype, copy=False)
