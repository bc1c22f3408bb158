"""CUDA twins of the ops: the same Functions on device arrays, chosen by ``Function.apply``
when an input lives on the GPU (see microdl/device.py). Imported only once CUDA is enabled.

A twin subclasses its CPU op (same name, same hyper-parameters, same validation and errors),
allocates its outputs on the device and calls ``kernels/cuda``; it returns gradients already
summed to each input's shape, so the engine never reduces a device gradient itself.
"""

from .arith import TWINS as _ARITH
from .nn import TWINS as _NN

TWINS = {**_ARITH, **_NN}
