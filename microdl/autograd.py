"""The tape: Functions record nodes while grad mode is on; backward() replays them in reverse.

A differentiable op is a subclass of ``Function`` with two static methods::

    forward(ctx, *arrays, **hyper) -> array
    backward(ctx, grad_out) -> one gradient (array or None) per array input

``Function.apply(*inputs, **hyper)`` unwraps Tensors to arrays, runs ``forward`` and, when any
input requires a gradient and grad mode is on, records a ``Node``: the Function, the input
tensors, the context holding what forward saved, and a sequence number that grows with each
recording. ``run_backward`` collects the nodes reachable from the output, runs them from the
highest sequence number to the lowest (the tape, reversed) with an explicit stack (no
recursion, so a chain of 10,000 ops works), sums each gradient back to its input's shape
(numpy broadcasting, undone) and accumulates leaf gradients with ``+=`` (a leaf's first gradient
is adopted without a copy when nothing but the engine holds the array).

The tape knows no device: gradients are summed, cast and accumulated through the kernels of the
device their arrays live on (``backend.for_arrays``), in one place each (``sum_to_shape``,
``_as_input_grad``, ``_accumulate_leaf``). While a ``microdl.profiler.profile()`` is active,
``apply`` and the engine time each op's forward and backward; otherwise the hooks cost one
global test. When a leaf's first gradient may be adopted without a copy is ``_buffers``'s rule.
"""

import itertools
import threading
from contextlib import contextmanager

import numpy as np

from . import _buffers, backend

_FLOAT = np.dtype(np.float32)  # what apply assumes of an output without a dtype

_state = threading.local()
_sequence = itertools.count()
_profiler = None  # the active microdl.profiler.Profile, set and cleared by profiler.profile()
# NOTE: microdl.Tensor, set by tensor.py when it loads: the tape wraps outputs in it without
# importing it (tensor.py imports the ops, which import this module)
Tensor = None


def is_grad_enabled():
    return getattr(_state, "grad_enabled", True)


def set_grad_enabled(mode):
    _state.grad_enabled = bool(mode)


@contextmanager
def no_grad():
    """Inside this block ops record nothing: outputs do not require grad."""
    previous = is_grad_enabled()
    set_grad_enabled(False)
    try:
        yield
    finally:
        set_grad_enabled(previous)


@contextmanager
def enable_grad():
    previous = is_grad_enabled()
    set_grad_enabled(True)
    try:
        yield
    finally:
        set_grad_enabled(previous)


class Context:
    """What forward keeps for backward: arrays via save_for_backward, scalars as attributes."""

    def __init__(self):
        self.saved_arrays = ()
        self.needs_input_grad = ()
        self.released = False

    def save_for_backward(self, *arrays):
        self.saved_arrays = arrays

    @property
    def saved(self):
        self.check_not_released()
        return self.saved_arrays

    def check_not_released(self):
        if self.released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward(). Specify retain_graph=True if you "
                "need to backward through the graph a second time."
            )

    def release(self):
        self.saved_arrays = ()
        self.released = True


class Node:
    __slots__ = ("function", "ctx", "inputs", "sequence")

    def __init__(self, function, ctx, inputs):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.sequence = next(_sequence)


class Function:
    @staticmethod
    def forward(ctx, *arrays, **hyper):
        raise NotImplementedError("a Function subclass defines forward")

    @staticmethod
    def backward(ctx, grad_out):
        raise NotImplementedError("a Function subclass defines backward")

    @classmethod
    def apply(cls, *inputs, **hyper):
        ctx = Context()
        arrays = [t.array if isinstance(t, Tensor) else t for t in inputs]
        needs = tuple(isinstance(t, Tensor) and t.requires_grad for t in inputs)
        record = any(needs) and is_grad_enabled()
        ctx.needs_input_grad = needs
        if _profiler is None:
            out = cls.forward(ctx, *arrays, **hyper)
        else:
            start = _profiler.enter()
            try:
                out = cls.forward(ctx, *arrays, **hyper)
            finally:
                _profiler.exit(f"{cls.__name__}.forward", _backend_name(out), start)
        if record and getattr(out, "dtype", _FLOAT).kind != "f":
            record = False  # as PyTorch: only floating-point results can require gradients
        result = Tensor._wrap(out, requires_grad=record)
        if record:
            result._node = Node(cls, ctx, inputs)
        return result


def _backend_name(array):
    return "cuda" if backend.is_device_array(array) else backend.get_kernels()


def _timed_backward(node, grad_out):
    start = _profiler.enter()
    try:
        return node.function.backward(node.ctx, grad_out)
    finally:
        _profiler.exit(f"{node.function.__name__}.backward", _backend_name(grad_out), start)


def sum_to_shape(grad, shape):
    """Undo numpy broadcasting: sum grad over the axes that broadcasting added or stretched."""
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and grad.shape[lead + i] != 1)
    dev = backend.for_arrays(grad)
    out = dev.empty(shape, grad.dtype)
    dev.kernels("reduce").sum_axes(grad, out, axes)
    return out


def _as_input_grad(grad, data):
    """grad in the shape, dtype and device of its input's array ``data``, as PyTorch gives a
    gradient (a float32 tensor that met a float64 one gets a float32 gradient; a host 0-d tensor
    used with CUDA tensors, as a Python number would be, gets a host gradient)."""
    if type(grad) is not np.ndarray and not backend.is_device_array(grad):
        grad = np.asarray(grad)  # a numpy scalar from a 0-d computation
    if grad.shape != data.shape:
        grad = sum_to_shape(grad, data.shape)
    dev = backend.of(data)
    if backend.is_cuda_enabled() and backend.of(grad) is not dev:
        grad = dev.to_here(backend.of(grad).to_host(grad))
    if grad.dtype != data.dtype:
        grad = _cast(grad, data.dtype, dev)
    return grad


def _cast(array, dtype, dev):
    out = dev.empty(array.shape, dtype)
    dev.kernels("elementwise").copy(array, out)
    return out


def _add(a, b):
    """a + b for two gradients of one input (same shape, dtype and device)."""
    dev = backend.for_arrays(a, b)
    out = dev.empty(a.shape, a.dtype)
    dev.kernels("elementwise").binary(a, b, out, "add")
    return out


def _reachable_nodes(root_node):
    seen = {id(root_node): root_node}
    stack = [root_node]
    while stack:
        node = stack.pop()
        for inp in node.inputs:
            child = getattr(inp, "_node", None)
            if child is not None and id(child) not in seen:
                seen[id(child)] = child
                stack.append(child)
    return sorted(seen.values(), key=lambda n: n.sequence, reverse=True)


def _accumulate_leaf(tensor, grad, owned=False):
    """tensor.grad += grad; the first gradient is adopted when owned, else copied.

    NOTE: the copy makes ``tensor.grad`` an array of its own, so a later ``+=`` never writes into
    an array an op still holds; adopting an owned one saves a pass over it (for a leaf the size of
    a BatchNorm input, several ms)."""
    dev = backend.of(tensor.array)
    if grad.dtype != tensor.array.dtype:
        grad, owned = _cast(grad, tensor.array.dtype, dev), True
    if tensor.grad is None:
        tensor.grad = Tensor._wrap(grad if owned else _cast(grad, grad.dtype, dev))
    else:
        target = tensor.grad.array
        backend.for_arrays(target, grad).kernels("elementwise").binary(target, grad, target,
                                                                        "add")


def run_backward(root, grad, retain_graph=False):
    """Backpropagate ``grad`` (an array shaped like root) through the tape that made root."""
    if _profiler is None:
        return _run_backward(root, grad, retain_graph)
    start = _profiler.enter()
    try:
        return _run_backward(root, grad, retain_graph)
    finally:
        _profiler.exit("autograd.engine", _backend_name(grad), start)


def _run_backward(root, grad, retain_graph):
    if root._node is None:
        if root.requires_grad:
            _accumulate_leaf(root, grad)
        return
    pending = {id(root._node): grad}
    with no_grad():
        for node in _reachable_nodes(root._node):
            grad_out = pending.pop(id(node), None)
            if grad_out is None:
                continue
            node.ctx.check_not_released()
            if _profiler is None:
                grads = node.function.backward(node.ctx, grad_out)
            else:
                grads = _timed_backward(node, grad_out)
            if not isinstance(grads, tuple):
                grads = (grads,)
            if len(grads) != len(node.inputs):
                raise RuntimeError(
                    f"{node.function.__name__}.backward returned {len(grads)} gradients for "
                    f"{len(node.inputs)} inputs"
                )
            if not retain_graph:
                node.ctx.release()
            grads = list(grads)
            for i, inp in enumerate(node.inputs):
                g, grads[i] = grads[i], None  # the list lets go: the refcount below sees the rest
                if g is None or not getattr(inp, "requires_grad", False):
                    continue
                data = inp.array
                if g.shape != data.shape or g.dtype != data.dtype or backend.is_cuda_enabled():
                    g = _as_input_grad(g, data)
                if inp._node is None:
                    owned = _buffers.adoptable(g)  # (its own statement: call arguments hold g)
                    _accumulate_leaf(inp, g, owned)
                elif id(inp._node) in pending:
                    pending[id(inp._node)] = _add(pending[id(inp._node)], g)
                else:
                    pending[id(inp._node)] = g
