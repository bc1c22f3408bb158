"""Devices: "cpu" (numpy arrays) and "cuda" (numba device arrays on GPU 0).

A tensor's device is the kind of array it holds. Nothing here imports numba.cuda until a CUDA
device is asked for; then ``enable_cuda`` loads the CUDA kernels and the ops' CUDA twins and
installs this module as the autograd engine's device hook, so from then on ``Function.apply``
asks ``twin`` which Function runs a call (the CPU path pays one ``is None`` test until then).
"""

import sys

import numpy as np

from . import autograd

CPU, CUDA = "cpu", "cuda:0"
SAME_DEVICE = ("Expected all tensors to be on the same device, but found at least two devices, "
               "cuda:0 and cpu!")
SIMULATOR_HINT = ("To run the CUDA backend without a GPU (slowly: numba's simulator runs every "
                  "CUDA thread in Python), set NUMBA_ENABLE_CUDASIM=1 before numba is imported.")

_memory = None   # microdl.kernels.cuda.memory, once CUDA is enabled
_twins = None    # microdl.ops.cuda.TWINS: CPU Function class -> its CUDA twin
_device_array = None  # the class of numba's device arrays (the simulator has its own)


def parse(device):
    """"cpu" or "cuda:0" for a device name ("cpu", "cuda", "cuda:0"); CUDA is enabled on first
    use and raises RuntimeError where there is no GPU."""
    name = str(device)
    if name == CPU:
        return CPU
    if name in ("cuda", CUDA):
        enable_cuda()
        return CUDA
    if name.startswith("cuda:"):
        raise RuntimeError(f"CUDA error: invalid device ordinal (microdl uses one GPU, cuda:0; "
                           f"got {name!r})")
    raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {name}")


def enable_cuda():
    """Load the CUDA kernels and op twins and install the device hook (once)."""
    global _memory, _twins, _device_array
    if _memory is not None:
        return
    try:
        from numba import cuda
    except ImportError as missing:
        raise RuntimeError(f"CUDA was asked for but numba.cuda cannot be imported ({missing}); "
                           "install the extra: pip install 'microdl[cuda]'. "
                           + SIMULATOR_HINT) from None
    if not cuda.is_available():
        raise RuntimeError("CUDA was asked for but no NVIDIA GPU and driver were found "
                           "(numba.cuda.is_available() is False). " + SIMULATOR_HINT)
    from numba import config

    # Small grids are normal here (a BatchNorm1d of 100 channels); numba would warn on each.
    config.CUDA_LOW_OCCUPANCY_WARNINGS = 0
    from .kernels.cuda import memory
    from .ops.cuda import TWINS

    TWINS[ToDevice] = ToDevice  # the one Function whose input and output devices differ
    _memory, _twins, _device_array = memory, TWINS, memory.DEVICE_ARRAY
    autograd._devices = sys.modules[__name__]


def _kernels(family):
    from . import backend

    return backend.cuda_kernels(family)


def is_device_array(array):
    return _memory is not None and isinstance(array, _memory.DEVICE_ARRAY)


def of(array):
    """The device an array lives on."""
    return CUDA if is_device_array(array) else CPU


def move(array, device):
    """``array`` on ``device`` (itself when it is already there; a copy otherwise)."""
    if of(array) == device:
        return array
    if device == CPU:
        return _memory.to_host(array)
    return _memory.to_device(np.asarray(array))


def host(array):
    """The array itself on the host; a host copy of a device array (waits for the device)."""
    return _memory.to_host(array) if is_device_array(array) else array


def host_copy(array):
    """A numpy copy of a host or device array."""
    return _memory.to_host(array) if is_device_array(array) else np.array(array, copy=True)


def copy_into(target, value):
    """target[...] = value (a host array or number, broadcast) for a host or device target, cast
    to its dtype.

    NOTE: never ``target[...] =`` on a device array: numba's DeviceNDArray indexes through its
    dummyarray, which fails on an Ellipsis (the simulator's arrays accept it)."""
    if not is_device_array(target):
        target[...] = value  # numpy casts and broadcasts
        return
    value = np.asarray(value).astype(target.dtype, copy=False)
    if value.ndim == 0:
        fill_(target, value.item())
    else:
        target.copy_to_device(_memory.c_contiguous(np.broadcast_to(value, target.shape)))


def fill_(array, value):
    """array[...] = value (a number) in place, for a host or a device array (on the device: the
    fill kernel; see copy_into for why not ``array[...] = value``)."""
    if is_device_array(array):
        _kernels("elementwise").fill(array, value)
    else:
        array[...] = value


def astype(array, dtype):
    """array cast to dtype (a copy), on the array's own device."""
    if not is_device_array(array):
        return array.astype(dtype)
    out = _memory.empty(array.shape, dtype)
    _kernels("elementwise").copy(array, out)
    return out


def empty_like(array):
    return _memory.empty_like(array) if is_device_array(array) else np.empty_like(array)


def negative(array):
    if not is_device_array(array):
        return -array
    out = _memory.empty_like(array)
    _kernels("elementwise").unary(array, out, "neg")
    return out


def kernels_like(array, family):
    """The kernel module of ``family`` for the device ``array`` lives on."""
    from . import backend

    return _kernels(family) if is_device_array(array) else backend.kernels(family)


# ---- the autograd engine's device hook (installed by enable_cuda) ------------------------------
def twin(cls, arrays):
    """The Function that runs ``cls`` on these arrays: cls itself on the CPU, its CUDA twin when
    an input is on the GPU. Host 0-d arrays (Python scalars) go with either, as in PyTorch."""
    on_gpu = on_host = False
    for a in arrays:
        kind = type(a)
        if kind is np.ndarray:
            on_host = on_host or a.ndim != 0
        elif kind is _device_array or isinstance(a, _device_array):
            on_gpu = True
    if not on_gpu:
        return cls
    if on_host:
        raise RuntimeError(SAME_DEVICE)
    found = _twins.get(cls)
    if found is None:
        raise NotImplementedError(f"{cls.__name__} has no CUDA implementation in microdl; "
                                  "run it on the CPU (tensor.cpu())")
    return found


def is_array(grad):
    return isinstance(grad, _device_array)


def add(a, b):
    """a + b for two gradients of one node (host or device)."""
    if not isinstance(a, _device_array):
        return a + b
    out = _memory.empty(a.shape, np.result_type(a.dtype, b.dtype))
    _kernels("elementwise").binary(a, b, out, "add")
    return out


def route_grad(inp, grad, pending):
    """The engine's step for a device gradient of input ``inp``: into the leaf's .grad, or
    summed into what is pending for the node that made inp (already in inp's shape: twins sum
    broadcast gradients back themselves).

    A host input (a CPU 0-d tensor, which goes with CUDA tensors as a Python number does) gets
    its gradient on the host, as PyTorch gives a CPU scalar tensor a CPU .grad; a CPU node
    upstream of it then runs its CPU backward. (Not a type test for np.ndarray: a CPU op on 0-d
    arrays may leave a numpy scalar as the data.)"""
    if not isinstance(inp.data, _device_array):
        grad = _memory.to_host(grad)
        if inp._node is None:
            autograd._accumulate_leaf(inp, grad, owned=True)  # a fresh host copy: adopt it
            return
        if grad.dtype != inp.data.dtype:  # a gradient takes its input's dtype
            grad = grad.astype(inp.data.dtype)
    elif inp._node is None:
        accumulate_leaf(inp, grad)
        return
    elif grad.dtype != inp.data.dtype:  # a gradient takes its input's dtype, as on the host
        cast = _memory.empty(grad.shape, inp.data.dtype)
        _kernels("elementwise").copy(grad, cast)
        grad = cast
    key = id(inp._node)
    pending[key] = add(pending[key], grad) if key in pending else grad


def accumulate_leaf(tensor, grad):
    """tensor.grad += grad on the device (a fresh copy the first time, in tensor's dtype)."""
    if tensor.grad is None:
        fresh = _memory.empty(tensor.data.shape, tensor.data.dtype)
        _kernels("elementwise").copy(grad, fresh)
        tensor.grad = autograd._tensor()._wrap(fresh)
    else:
        target = tensor.grad.data
        _kernels("elementwise").binary(target, grad, target, "add")


def ones_like(array):
    return _memory.full(array.shape, 1, array.dtype) if is_device_array(array) else \
        np.ones_like(array)


def as_gradient(grad, like):
    """An explicit backward() gradient as a device array of like's dtype."""
    grad = move(grad if is_device_array(grad) else np.asarray(grad), CUDA)
    return grad if grad.dtype == like.dtype else astype(grad, like.dtype)


def argmax(array, axis, keepdims):
    """np.argmax for a device array, on the device (int64 indices)."""
    if axis is None:
        flat = array.reshape(array.size)
        out = _memory.empty((), np.int64)
        _kernels("reduce").argmax_axis(flat, out, 0)
        return out.reshape((1,) * array.ndim) if keepdims else out
    axis %= array.ndim
    shape = tuple(array.shape)
    out = _memory.empty(shape[:axis] + shape[axis + 1:], np.int64)
    _kernels("reduce").argmax_axis(array, out, axis)
    return out.reshape(shape[:axis] + (1,) + shape[axis + 1:]) if keepdims else out


class ToDevice(autograd.Function):
    """y = x copied to another device;  dx = g copied back to x's device."""

    @staticmethod
    def forward(ctx, x, device):
        ctx.source = of(x)
        return move(x, device)

    @staticmethod
    def backward(ctx, g):
        return move(g, ctx.source)
