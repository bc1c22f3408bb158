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

A node is also PyTorch's ``grad_fn`` (``name()``, ``next_functions``). Gradient hooks
(``Tensor.register_hook``, ``retain_grad``) live on the node of a non-leaf (run on its summed
gradient before its backward) and on a leaf tensor (run once on its summed gradient, before it is
added to ``.grad``); without hooks they cost one attribute test per node and per leaf. Grad
modes (``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``) are context
managers and decorators.
"""

import functools
import itertools
import operator
import threading
import weakref

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
    """Whether ops record on the tape now (False inside no_grad, inference_mode or
    set_grad_enabled(False)); per thread."""
    return getattr(_state, "grad_enabled", True)


def _set_grad_mode(mode):
    _state.grad_enabled = bool(mode)


def is_inference_mode_enabled():
    """True inside ``inference_mode()`` (microdl keeps no inference tensors: it is no_grad)."""
    return getattr(_state, "inference_mode", False)


class _GradModeContext:
    """A grad-mode context manager that is also a decorator, as PyTorch's are: ``with
    no_grad():``, ``@no_grad()`` and bare ``@no_grad`` (each call of the decorated function
    enters a fresh context, so recursion and threads restore the right mode)."""

    _arguments = ()

    def __new__(cls, *args):
        if len(args) == 1 and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])  # bare @no_grad
        return super().__new__(cls)

    def __call__(self, function):
        arguments, kind = self._arguments, type(self)

        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with kind(*arguments):
                return function(*args, **kwargs)
        return decorated

    def __enter__(self):
        self._previous = is_grad_enabled()
        _set_grad_mode(self._mode)
        return None

    def __exit__(self, *exc_info):
        _set_grad_mode(self._previous)
        return False


class no_grad(_GradModeContext):
    """Inside this block (or decorated function) ops record nothing: outputs do not require
    grad."""

    _mode = False


class enable_grad(_GradModeContext):
    """Grad mode on inside this block, even within ``no_grad()``."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(mode)`` switches grad mode at once; used as a context manager or
    decorator, the previous mode comes back at the end."""

    def __init__(self, mode):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled(): argument 'mode' must be bool, not "
                            f"{type(mode).__name__}")
        self._mode, self._arguments = bool(mode), (bool(mode),)
        self._previous = is_grad_enabled()
        _set_grad_mode(mode)

    def __call__(self, function):
        _set_grad_mode(self._previous)  # decorating changes nothing until the function runs
        return super().__call__(function)

    def __enter__(self):
        return None  # already switched when made

    def __repr__(self):
        return f"{type(self).__module__}.set_grad_enabled(mode={self._mode})"


class inference_mode(_GradModeContext):
    """PyTorch's ``inference_mode(mode=True)``: grad mode is ``not mode`` inside (microdl has no
    separate inference tensors, so it is ``no_grad`` with ``is_inference_mode_enabled()``)."""

    def __init__(self, mode=True):
        self._mode, self._arguments = not mode, (bool(mode),)
        self._inference = bool(mode)

    def __enter__(self):
        self._previous_inference = is_inference_mode_enabled()
        _state.inference_mode = self._inference
        return super().__enter__()

    def __exit__(self, *exc_info):
        _state.inference_mode = self._previous_inference
        return super().__exit__(*exc_info)


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
    """One recorded op; it is also the output tensor's ``grad_fn`` (PyTorch's backward node):
    ``name()`` gives PyTorch's name ("MulBackward0"), ``next_functions`` the nodes of the inputs.
    ``hooks``: the output tensor's gradient hooks (``register_hook``, ``retain_grad``), or None.
    ``parents``: each input's node when this op ran (None for a leaf or a constant). The engine
    follows these, not the inputs' current nodes: an in-place op later moves its tensor onto a
    new node, and this op read the value from before (``z = y * 2; y.exp_()`` backpropagates
    through ``y``'s old node)."""

    __slots__ = ("function", "ctx", "inputs", "arrays", "parents", "sequence", "hooks")

    def __init__(self, function, ctx, inputs, arrays=None):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        # the inputs' arrays when the op ran: a gradient takes their shape, dtype and device
        # (an in-place op may since have given the tensor another array, even another shape)
        self.arrays = arrays if arrays is not None else \
            [getattr(t, "array", t) for t in inputs]
        self.parents = tuple([getattr(t, "_node", None) for t in inputs])  # (a list is faster)
        self.sequence = next(_sequence)
        self.hooks = None

    def name(self):
        return _torch_node_name(self)

    @property
    def next_functions(self):
        """((node, 0), ...) per input: its grad_fn, an AccumulateGrad for a leaf that requires
        grad, or None (a constant)."""
        found = []
        for inp, parent in zip(self.inputs, self.parents):
            if parent is not None:
                found.append((parent, 0))
            elif getattr(inp, "requires_grad", False):
                found.append((AccumulateGrad(inp), 0))
            else:
                found.append((None, 0))
        return tuple(found)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad:
    """The node PyTorch puts under a leaf that requires grad (``next_functions``); ``variable``
    is the leaf."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


# PyTorch's backward-node names where microdl's Function names differ from them; any other
# Function F is named "FBackward0".
_TORCH_NODE_NAMES = {
    "ReLU": "ReluBackward0", "LeakyReLU": "LeakyReluBackward0", "Reshape": "ViewBackward0",
    "Transpose": "PermuteBackward0", "Cast": "ToCopyBackward0", "ToDevice": "ToCopyBackward0",
    "PowTensor": "PowBackward1", "Clamp": "ClampBackward1", "Where": "WhereBackward0",
    "GetItem": "IndexBackward0", "ReadBlock": "SliceBackward0", "Linear": "AddmmBackward0",
    "Conv2d": "ConvolutionBackward0", "BatchNorm": "NativeBatchNormBackward0",
    "MaxPool2d": "MaxPool2DWithIndicesBackward0", "AvgPool2d": "AvgPool2DBackward0",
    "CrossEntropy": "NllLossBackward0", "MSELoss": "MseLossBackward0",
    "Dropout": "NativeDropoutBackward0", "TakeAlong": "GatherBackward0",
    "StepFunction": "RoundBackward0", "ConstantPad": "ConstantPadNdBackward0",
}


def _torch_node_name(node):
    name = node.function.__name__
    if name in ("Sum", "Mean"):  # sum() is SumBackward0, sum(dim) SumBackward1
        every_axis = len(node.ctx.axes) == len(node.ctx.input_shape)
        return f"{name}Backward{0 if every_axis else 1}"
    if name == "Extreme":  # max(), min(), amax, amin: named by their largest/smallest value
        return "MaxBackward1"
    if name == "Var":
        return "StdBackward0" if getattr(node.ctx, "root", False) else "VarBackward0"
    if name == "MatMul":
        ranks = tuple(np.ndim(getattr(t, "array", t)) for t in node.inputs)
        return {(2, 2): "MmBackward0", (1, 1): "DotBackward0",
                (2, 1): "MvBackward0"}.get(ranks, "UnsafeViewBackward0")
    return _TORCH_NODE_NAMES.get(name, f"{name}Backward0")


# ---- gradient hooks (Tensor.register_hook, Tensor.retain_grad) ----------------------------------
class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook out."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class RetainGrad:
    """The hook ``retain_grad`` adds: it accumulates the gradient into the (non-leaf) tensor's
    ``.grad``, after every other hook has run (PyTorch's order). It holds the tensor weakly, so
    a graph kept alive does not keep the tensor's values alive."""

    def __init__(self, tensor):
        self.tensor = weakref.ref(tensor)

    def __call__(self, grad):
        tensor = self.tensor()
        if tensor is not None:
            _accumulate_leaf(tensor, grad.array)


def _run_hooks(hooks, grad):
    """grad (an array) after the hooks: each gets it as a Tensor and may return a replacement."""
    for hook in [h for h in hooks if not isinstance(h, RetainGrad)]:
        result = hook(Tensor._wrap(grad))
        if result is not None:
            replaced = result.array if isinstance(result, Tensor) else result
            if tuple(np.shape(replaced)) != tuple(grad.shape):
                raise RuntimeError(f"hook '{getattr(hook, '__name__', hook)}' has changed the "
                                   f"size of value")
            grad = replaced
    for hook in hooks:
        if isinstance(hook, RetainGrad):
            hook(Tensor._wrap(grad))
    return grad


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
        needs = tuple([isinstance(t, Tensor) and t.requires_grad for t in inputs])
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
            result._node = Node(cls, ctx, inputs, arrays)
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


def _reachable_nodes(*root_nodes):
    seen = {id(n): n for n in root_nodes}
    stack = list(seen.values())
    while stack:
        node = stack.pop()
        for child in node.parents:
            if child is not None and id(child) not in seen:
                seen[id(child)] = child
                stack.append(child)
    return sorted(seen.values(), key=_by_sequence, reverse=True)


_by_sequence = operator.attrgetter("sequence")


def _accumulate_leaf(tensor, grad, owned=False):
    """tensor.grad += grad; the first gradient is adopted when owned, else copied.

    NOTE: the copy makes ``tensor.grad`` an array of its own, so a later ``+=`` never writes into
    an array an op still holds; adopting an owned one saves a pass over it (for a leaf the size of
    a BatchNorm input, several ms)."""
    if grad.dtype != tensor.array.dtype:
        grad, owned = _cast(grad, tensor.array.dtype, backend.of(tensor.array)), True
    if tensor.grad is None:
        tensor.grad = Tensor._wrap(grad if owned else
                                   _cast(grad, grad.dtype, backend.of(tensor.array)))
    else:
        target = tensor.grad.array
        backend.for_arrays(target, grad).kernels("elementwise").binary(target, grad, target,
                                                                        "add")


def run_backward(root, grad, retain_graph=False):
    """Backpropagate ``grad`` (an array shaped like root) through the tape that made root."""
    return run_backward_many(((root, grad),), retain_graph)


def run_backward_many(roots, retain_graph=False, capture=None):
    """Backpropagate each (tensor, gradient array) of ``roots`` through the tape, in one pass.

    ``capture`` None: leaves' ``.grad`` accumulate (``backward``). Otherwise a dict made by
    ``_capture_slots`` (``autograd.grad``): the gradients of its tensors are summed there and no
    ``.grad`` changes (hooks still run, as in PyTorch)."""
    if _profiler is None:
        return _run_backward(roots, retain_graph, capture)
    start = _profiler.enter()
    try:
        return _run_backward(roots, retain_graph, capture)
    finally:
        _profiler.exit("autograd.engine", _backend_name(roots[0][1]), start)


def _run_backward(roots, retain_graph, capture):
    pending = {}
    hooked_leaves = {}  # id -> [leaf, summed gradient]: their hooks see the whole gradient
    for root, grad in roots:
        if root._node is not None:
            key = id(root._node)
            pending[key] = _add(pending[key], grad) if key in pending else grad
        elif root.requires_grad:
            _sum_for_hooks(hooked_leaves, root, grad)  # a leaf root: its gradient, as is
    # NOTE: grad mode is switched off by hand, not with no_grad(): the context manager's
    # object and two calls cost ~2 us a backward
    previous_mode, _state.grad_enabled = is_grad_enabled(), False
    try:
        _replay(roots, retain_graph, capture, pending, hooked_leaves)
    finally:
        _state.grad_enabled = previous_mode


def _replay(roots, retain_graph, capture, pending, hooked_leaves):
    """_run_backward's loop over the nodes, in grad mode off."""
    cuda = backend.is_cuda_enabled()
    for node in _reachable_nodes(*[root._node for root, _ in roots
                                   if root._node is not None]):
        grad_out = pending.pop(id(node), None)
        if grad_out is None:
            continue
        if node.hooks is not None:
            grad_out = _run_hooks(node.hooks, grad_out)
        if capture is not None and id(node) in capture:
            capture[id(node)][1] = grad_out  # a non-leaf of autograd.grad's inputs
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
        needs, arrays = node.ctx.needs_input_grad, node.arrays
        for i, (inp, parent) in enumerate(zip(node.inputs, node.parents)):
            g, grads[i] = grads[i], None  # the list lets go: the refcount below sees the rest
            if g is None or not needs[i]:  # as when it ran
                continue
            data = arrays[i]
            if g.shape != data.shape or g.dtype != data.dtype or cuda:
                g = _as_input_grad(g, data)
            if parent is None:
                if inp._grad_hooks is not None or capture is not None:
                    _sum_for_hooks(hooked_leaves, inp, g)
                    continue
                owned = _buffers.adoptable(g)  # (its own statement: call arguments hold g)
                _accumulate_leaf(inp, g, owned)
            elif id(parent) in pending:
                pending[id(parent)] = _add(pending[id(parent)], g)
            else:
                pending[id(parent)] = g
    for leaf, g in hooked_leaves.values():
        if leaf._grad_hooks is not None:
            g = _run_hooks(leaf._grad_hooks, g)
        if capture is None:
            _accumulate_leaf(leaf, g)
        elif id(leaf) in capture:
            capture[id(leaf)][1] = g


def _sum_for_hooks(hooked_leaves, leaf, g):
    if id(leaf) in hooked_leaves:
        entry = hooked_leaves[id(leaf)]
        entry[1] = _add(entry[1], g)
    else:
        hooked_leaves[id(leaf)] = [leaf, g]


# ---- the public functional API: microdl.autograd.grad / backward --------------------------------
def _as_sequence(tensors):
    return (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)


def _root_gradients(outputs, grad_outputs):
    """(output, gradient array) pairs: a given gradient checked against its output's shape and
    cast to its dtype and device; None means ones, for a one-element output only (PyTorch)."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    else:
        grad_outputs = _as_sequence(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"grad requires one grad_output per output: got {len(grad_outputs)} "
                           f"grad_outputs and {len(outputs)} outputs")
    roots = []
    for i, (out, grad) in enumerate(zip(outputs, grad_outputs)):
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        dev = backend.of(out.array)
        if grad is None:
            if out.array.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            roots.append((out, dev.full(out.array.shape, 1, out.array.dtype)))
            continue
        grad = grad.array if isinstance(grad, Tensor) else np.asarray(grad)
        if tuple(grad.shape) != tuple(out.array.shape):
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{tuple(grad.shape)} and output[{i}] has a shape of "
                               f"{tuple(out.array.shape)}.")
        roots.append((out, _as_input_grad(grad, out.array)))
    return roots


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """PyTorch's ``torch.autograd.grad``: d(sum of outputs * grad_outputs)/d(input) for each
    input, returned as a tuple (None for an input the outputs do not depend on, with
    ``allow_unused``); no tensor's ``.grad`` changes (gradient hooks still run)."""
    if create_graph:
        raise NotImplementedError("microdl.autograd.grad: create_graph=True (higher-order "
                                  "gradients) is not supported: microdl's backward runs on "
                                  "arrays, off the tape")
    if is_grads_batched:
        raise NotImplementedError("microdl.autograd.grad: is_grads_batched=True is not "
                                  "supported")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    allow_unused = bool(allow_unused) or materialize_grads
    outputs, inputs = _as_sequence(outputs), _as_sequence(inputs)
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    roots = _root_gradients(outputs, grad_outputs)
    # a slot per input, keyed by its node (a non-leaf) or by itself (a leaf)
    capture = {}
    for t in inputs:
        capture.setdefault(id(t._node) if t._node is not None else id(t), [t, None])
    run_backward_many(roots, bool(retain_graph), capture)
    grads = []
    for i, t in enumerate(inputs):
        g = capture[id(t._node) if t._node is not None else id(t)][1]
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is "
                                   "the desired behavior.")
            if materialize_grads:
                g = backend.of(t.array).full(t.array.shape, 0, t.array.dtype)
        grads.append(None if g is None else Tensor._wrap(g))
    return tuple(grads)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """PyTorch's ``torch.autograd.backward``: ``tensors[i].backward(grad_tensors[i])`` for all of
    them in one pass over the tape (so a shared graph is walked once)."""
    if create_graph:
        raise NotImplementedError("microdl.autograd.backward: create_graph=True (higher-order "
                                  "gradients) is not supported")
    if inputs is not None:
        raise NotImplementedError("microdl.autograd.backward: inputs= is not supported")
    tensors = _as_sequence(tensors)
    run_backward_many(_root_gradients(tensors, grad_tensors), bool(retain_graph))
