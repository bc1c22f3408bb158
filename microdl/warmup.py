"""Compile every CPU kernel ahead of time: ``python -m microdl.warmup [--dtype D] [--only RE]``.

Numba compiles a kernel the first time it meets a new combination of argument types (0.4-1.8 s
each on a 2-core machine), and with ``cache=True`` writes the machine code to disk so that later
processes only load it. A fresh install therefore pays several seconds in its first training
step; this command pays them once, up front, for every kernel in ``microdl/kernels/cpu``, in
float32 and float64, serial and parallel builds.

How it reaches every kernel: it walks the family modules of ``microdl.kernels.cpu`` and calls
each public kernel on small example inputs (``EXAMPLES``, the same argument types the ops pass),
which compiles the builds those sizes select; then every serial/parallel pair gets the
signatures its twin got, so the build that only large inputs select is compiled too. A kernel
without an example, or a compiled function that none of this reached, is reported and makes the
command exit with status 1 (a test runs that check, so a new kernel cannot be missed).
The cache goes where numba puts it: ``__pycache__`` next to the kernel files, or
``NUMBA_CACHE_DIR``.

``--ahead`` is the helper process that ``fit`` starts on a first run (``compile_ahead``, below):
float32 only, what a training step needs last first, nothing printed.
"""

import argparse
import atexit
import importlib
import inspect
import math
import os
import pkgutil
import re
import sys
import time

import numpy as np

PACKAGE = "microdl.kernels.cpu"
DTYPES = {"float32": np.float32, "float64": np.float64}


# ---- the first run's notice ------------------------------------------------------------------

# Families whose kernels every training step compiles (an activation, BatchNorm).
STEP_FAMILIES = ("activation", "normalization")
FIRST_RUN_MESSAGE = ("compiling Numba kernels, first run only (seconds; later runs load them "
                     "from the cache; `python -m microdl.warmup` compiles them all ahead)")


def compiled_before():
    """Whether Numba's on-disk cache (``__pycache__`` or ``NUMBA_CACHE_DIR``) already holds a
    kernel of STEP_FAMILIES: False means this process is the first to train with this cache,
    and its first steps will pause to compile."""
    try:
        for family in STEP_FAMILIES:
            for dispatcher in dispatchers(importlib.import_module(f"{PACKAGE}.{family}")).values():
                if os.path.exists(dispatcher._cache._cache_file._index_path):
                    return True
    except AttributeError:
        return True  # NOTE: numba's private cache layout changed: say nothing rather than guess
    return False


_announced = []


def announce_first_run(stream=None, model=None):
    """When nothing is compiled yet: print FIRST_RUN_MESSAGE (to stderr by default, once per
    process), so a user does not take the first steps' pause for a hang, and, given the
    ``model`` about to train, start compiling its kernels ahead in a second process
    (``compile_ahead``). Returns whether it printed."""
    if compiled_before():
        return False
    if model is not None:
        compile_ahead(check=False, model=model)
    if _announced:
        return False
    _announced.append(True)
    print(FIRST_RUN_MESSAGE, file=stream if stream is not None else sys.stderr, flush=True)
    return True


# ---- compiling ahead in a second process, on a first run --------------------------------------
# Numba compiles on one core, one kernel at a time (a process-wide lock), while a first training
# step waits. A second process can compile into the same on-disk cache, and a kernel that meets
# new argument types looks in that cache before compiling: so on a first run a helper process
# compiles, on the other core and at a lower priority, what the step will need last, first; the
# step compiles its forward kernels itself meanwhile, and finds most of the rest compiled when
# it gets there. The machine code is the same either way, so results do not change. A first CNN
# step (bench/train.py's, empty cache) took 6.9-7.1 s alone and 4.4-4.7 s with the helper; the
# MLP+BN's 2.95 s and 2.67 s (its helper compiles only the families the model needs).

# (family, kernel), backward kernels first: in float32, the last warm-up example of each (for
# conv, BatchNorm and pooling the large one, which takes a CNN's layouts), then the others.
AHEAD_PLAN = (("conv", "conv2d_backward"), ("normalization", "batch_norm_relu_backward"),
              ("normalization", "batch_norm_backward"), ("pool", "max_pool2d_backward"),
              ("activation", "sigmoid_backward"), ("activation", "relu_backward"),
              ("softmax", "cross_entropy_backward"), ("optim", "sgd_update_"),
              ("softmax", "cross_entropy_forward"), ("pool", "max_pool2d_forward"),
              ("normalization", "batch_norm_relu_forward_train"),
              ("normalization", "batch_norm_forward_train"), ("activation", "sigmoid_forward"),
              ("conv", "conv2d_forward"))

# MICRODL_COMPILE_AHEAD=0 turns the helper off (the test suite does).
AHEAD_SWITCH = "MICRODL_COMPILE_AHEAD"
# The families a model's modules need (by class name prefix); every step has a loss and an
# optimizer (cross-entropy's kernels are the softmax family's).
MODULE_FAMILIES = (("Conv", "conv"), ("BatchNorm", "normalization"), ("MaxPool", "pool"),
                   ("ReLU", "activation"), ("Sigmoid", "activation"), ("Tanh", "activation"))
_helpers = []


def families_of(model):
    """The AHEAD_PLAN families ``model``'s training step needs."""
    found = {"softmax", "optim"}
    for module in model.modules():
        name = type(module).__name__
        found.update(family for prefix, family in MODULE_FAMILIES if name.startswith(prefix))
    return found


def compile_ahead(check=True, model=None):
    """Start ``python -m microdl.warmup --ahead`` in the background (its output discarded), for
    ``model``'s families when given (all of AHEAD_PLAN otherwise), unless MICRODL_COMPILE_AHEAD
    is 0, this process started one already, or ``check`` and something is compiled already;
    the process is stopped when this one exits. Returns it, or None."""
    if os.environ.get(AHEAD_SWITCH, "1") == "0" or _helpers or (check and compiled_before()):
        return None
    import subprocess

    command = [sys.executable, "-m", "microdl.warmup", "--ahead"]
    if model is not None:
        command += ["--only", "^(" + "|".join(sorted(families_of(model))) + ")$"]
    # the helper imports this same microdl, wherever it was imported from
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [package_root, os.environ.get("PYTHONPATH")])))
    try:
        helper = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:  # no interpreter to start (an embedded Python): the step compiles alone
        return None
    if not _helpers:
        atexit.register(_stop_helpers)
    _helpers.append(helper)
    return helper


def _stop_helpers():
    # NOTE: numba writes each cache file under a temporary name and renames it, so stopping the
    # helper mid-compile leaves no half-written file
    import subprocess

    for helper in _helpers:
        if helper.poll() is None:
            helper.terminate()
            try:
                helper.wait(timeout=5)
            except subprocess.TimeoutExpired:  # never hang this process's exit
                helper.kill()


def run_ahead(plan=AHEAD_PLAN, only=None):
    """The helper's work: AHEAD_PLAN's kernels (of the families matching the regular expression
    ``only``), float32, at a lower priority where the OS has one."""
    if hasattr(os, "nice"):
        os.nice(10)
    # first the poll of the threads that share a kernel's blocks (kernels/cpu/_spin.py): the
    # step's first hand-over needs it, early in its first forward
    importlib.import_module(f"{PACKAGE}._spin").wait_above(np.zeros(1, np.int64), 0, 1)
    plan = [(family, name) for family, name in plan if not only or re.search(only, family)]
    for last in (True, False):
        for family, name in plan:
            module = importlib.import_module(f"{PACKAGE}.{family}")
            calls = examples(family, np.float32, module)[name]
            for args in (calls[-1:] if last else calls[-2::-1]):
                getattr(module, name)(*args)


# ---- walking the kernel modules -------------------------------------------------------------

def families():
    """The names of the kernel families that Numba compiles (``activation``, ``conv``, ...);
    families that run on numpy or BLAS alone (``elementwise``, ``matmul``, ...) have nothing to
    warm up."""
    package = importlib.import_module(PACKAGE)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                   if not m.name.startswith("_"))
    return [name for name in names
            if dispatchers(importlib.import_module(f"{PACKAGE}.{name}"))]


def public_kernels(module):
    """{name: function} of the kernels a family exports (the names the ops call)."""
    return {name: fn for name, fn in vars(module).items()
            if inspect.isfunction(fn) and not name.startswith("_")
            and fn.__module__ == module.__name__}


def _is_dispatcher(obj):
    from numba.core.dispatcher import Dispatcher

    return isinstance(obj, Dispatcher)


def dispatchers(module):
    """{name: numba dispatcher} of a family module: its module-level ``@njit`` functions, the
    public ones it imports from a private module of the package (``_normalization_layouts``),
    and the builds held by pair objects (``serial`` / ``parallel`` of
    ``_jit.SerialAndParallel``, ``features`` / ``planes`` of BatchNorm's rows kernels)."""
    found = {}
    for name, obj in vars(module).items():
        if _is_dispatcher(obj) and (
                obj.py_func.__module__ == module.__name__
                or (obj.py_func.__module__.startswith(f"{PACKAGE}._") and name[0] != "_")):
            found[name] = obj
        for build in ("serial", "parallel", "features", "planes"):
            inner = getattr(obj, build, None)
            if not isinstance(obj, type) and _is_dispatcher(inner):
                found[f"{name}.{build}"] = inner
    return found


def twins(module):
    """(serial, parallel) dispatcher pairs: one Python loop compiled both ways."""
    pairs = []
    for obj in vars(module).values():
        serial, parallel = getattr(obj, "serial", None), getattr(obj, "parallel", None)
        if not isinstance(obj, type) and _is_dispatcher(serial) and _is_dispatcher(parallel):
            pairs.append((serial, parallel))
    return pairs


def helpers(found):
    """Names of dispatchers that only other jitted functions call (``_batch_stats``...).

    NOTE: such a helper is compiled into its callers' machine code; when the callers load from
    the cache the helper itself is never compiled, so it cannot be checked for signatures.
    """
    called = set()
    for dispatcher in found.values():
        called.update(dispatcher.py_func.__code__.co_names)
    return {name for name in found if name in called}


def _has_dtype(signature, dtype):
    from numba.core import types
    from numba.np.numpy_support import from_dtype

    wanted = from_dtype(np.dtype(dtype))
    return any(isinstance(t, types.Array) and t.dtype == wanted for t in signature)


def unwarmed(module, dtypes):
    """Dispatchers of ``module`` with no compiled signature for one of ``dtypes``. A family
    module's ``DTYPE_ONLY`` ({kernel name: dtype names}) names the builds that serve only some
    dtypes (float32's own sigmoid loop; the numpy-exp pass the other dtypes take instead)."""
    found = dispatchers(module)
    skip = helpers(found)
    only = getattr(module, "DTYPE_ONLY", {})
    missing = []
    for name, dispatcher in sorted(found.items()):
        if name in skip:
            continue
        served = only.get(name.split(".")[0])
        for dtype in dtypes:
            if served is not None and np.dtype(dtype).name not in served:
                continue
            if not any(_has_dtype(sig, dtype) for sig in dispatcher.signatures):
                missing.append(f"{module.__name__.rsplit('.', 1)[-1]}.{name} "
                               f"({np.dtype(dtype).name})")
    return missing


# ---- example inputs: the argument types the ops pass, at sizes that cost nothing --------------

def _rand(shape, dtype):
    # NOTE: a fixed generator: values matter only for validity (labels/indices are zeros).
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _activation(dtype, module):
    x, out = _rand((4, 5), dtype), np.empty((4, 5), dtype)
    return {
        "relu_forward": [(x, out)], "relu_backward": [(x, x, out)],
        "leaky_relu_forward": [(x, out, 0.01)], "leaky_relu_backward": [(x, x, out, 0.01)],
        "sigmoid_forward": [(x, out)], "sigmoid_backward": [(x, x, out)],
        "tanh_forward": [(x, out)], "tanh_backward": [(x, x, out)],
        "pointwise_forward": [(x, out, op, a, b) for op, (a, b) in _pointwise_ops()]
        # NOTE: hardtanh also runs on integer inputs (the op passes them as they are, with
        # float(int(limit)) limits); int64, PyTorch's Long, is the one integer dtype warmed here.
        + [(np.arange(-3, 3, dtype=np.int64), np.empty(6, np.int64), "hardtanh", -1.0, 1.0)],
        "pointwise_backward": [(x, x, out, op, a, b) for op, (a, b) in _pointwise_ops()],
    }


def _pointwise_ops():
    """(op name, (a, b)) for every op of the pointwise activation kernels, with the float
    parameters microdl.functional passes by default (0.0 where the op has none)."""
    # the op table as the CPU set imports it (warm-up walks that set's modules by name)
    POINTWISE_OPS = importlib.import_module(f"{PACKAGE}.activation").POINTWISE_OPS

    # NOTE: the op reaches the loops as an int argument (a runtime value, typed int64 whatever
    # the op), so one call per dtype compiles every op; calling each one costs only a dispatch
    # and checks every name against the kernels' table.
    parameters = {"elu": (1.0, 0.0), "celu": (1.0, 1.0 / float(np.float32(1.0))),
                  "softplus": (1.0, 20.0), "hardtanh": (-1.0, 1.0), "softshrink": (0.5, 0.0),
                  "hardshrink": (0.5, 0.0)}
    return [(op, parameters.get(op, (0.0, 0.0))) for op in POINTWISE_OPS]


def _softmax(dtype, module):
    # NOTE: 4x5 takes the row kernels; 64x64 reaches the float32 loops (FLOAT32_MIN_ELEMENTS)
    calls = {name: [] for name in ("softmax_forward", "softmax_backward", "log_softmax_forward",
                                   "log_softmax_backward", "cross_entropy_forward",
                                   "cross_entropy_backward")}
    for rows, cols in ((4, 5), (64, 64)):
        x, out = -np.abs(_rand((rows, cols), dtype)), np.empty((rows, cols), dtype)
        labels, losses = np.zeros(rows, np.int64), np.empty(rows, dtype)
        for name in ("softmax", "log_softmax"):
            calls[f"{name}_forward"].append((x, out))
            calls[f"{name}_backward"].append((x, x, out))
        calls["cross_entropy_forward"].append((x, labels, out, losses))
        calls["cross_entropy_backward"].append((x, labels, np.full(rows, 0.25, dtype), out))
    return calls


def _normalization(dtype, module):
    def calls(n, c, s):
        x, out = _rand((n, c, s), dtype), np.empty((n, c, s), dtype)
        w, b = np.ones(c, dtype), np.zeros(c, dtype)
        mean, invstd = np.zeros(c), np.ones(c)
        rm, rv = np.zeros(c, dtype), np.ones(c, dtype)
        return ((x, w, b, out, mean, invstd, rm, rv, 0.1, 1e-5),
                (x, w, b, rm, rv, out, mean, invstd, 1e-5),
                (x, x, w, mean, invstd, out, np.empty(c, dtype), np.empty(c, dtype), True),
                (x, x.copy(), x, w, mean, invstd, out, np.empty(c, dtype), np.empty(c, dtype),
                 True))

    tiny = calls(4, 3, 1)  # BatchNorm1d on a few values: the small kernels
    # BatchNorm1d past SMALL_ELEMENTS values (serial): the rows kernels' features build
    features = calls(getattr(module, "SMALL_ELEMENTS", 2) // 2 + 1, 2, 1)
    planes = calls(2, 3, 4)  # small planes: their planes build
    # NOTE: the per-channel layout runs only for inputs past the module's size thresholds, so
    # one example is that large (2 x 2 x 2**17 values at the defaults: a few MB, milliseconds).
    c = 2
    s = max(getattr(module, "PLANE_MIN", 1),
            math.ceil(getattr(module, "TINY_ELEMENTS", 0) / (2 * c)))
    large = calls(2, c, s)
    return {
        "batch_norm_forward_train": [tiny[0], features[0], planes[0], large[0]],
        "batch_norm_forward_eval": [tiny[1], planes[1], large[1]],
        "batch_norm_backward": [tiny[2], features[2], planes[2], large[2]],
        "batch_norm_relu_forward_train": [tiny[0], features[0], planes[0], large[0]],
        "batch_norm_relu_forward_eval": [tiny[1], planes[1], large[1]],
        "batch_norm_relu_backward": [tiny[3], features[3], planes[3], large[3]],
    }


def _conv(dtype, module):
    n, cin, h, w, cout, k = 2, 2, 5, 5, 3, 3
    x = _rand((n, cin, h, w), dtype)
    geometry = ((k, k), (1, 1), (1, 1), (1, 1))
    cols = np.empty((cin * k * k, n, h, w), dtype)
    y_cols, out = _rand((cout, n, h, w), dtype), np.empty((n, cout, h, w), dtype)
    weight, hyper = _rand((cout, cin, k, k), dtype), geometry[1:] + (1,)  # (groups 1)
    grads = (np.empty_like(x), np.empty_like(weight), np.empty(cout, dtype))
    # a CNN's second layer, shrunk: a batch of 8 with 36 taps takes Winograd's layout (where
    # microdl manages the BLAS; the blocked one, on the same kernels as above, otherwise)
    wide_x, wide_weight = _rand((8, 4, 4, 4), dtype), _rand((cout, 4, k, k), dtype)
    wide_cols, wide_out = np.empty((4 * k * k, 8, 4, 4), dtype), np.empty((8, cout, 4, 4), dtype)
    wide_grads = (np.empty_like(wide_x), np.empty_like(wide_weight), np.empty(cout, dtype))
    return {
        "conv2d_forward": [(x, weight, None, out, cols) + hyper,
                           (wide_x, wide_weight, None, wide_out, wide_cols) + hyper],
        "conv2d_backward": [(x, cols, weight, out) + grads + hyper,
                            (wide_x, wide_cols, wide_weight, _rand(wide_out.shape, dtype))
                            + wide_grads + hyper],
        "im2col": [(x, cols) + geometry],
        "col2im": [(_rand(cols.shape, dtype), np.empty_like(x)) + geometry],
        "cols_to_output": [(y_cols, np.zeros(cout, dtype), out)],
        "output_grad_to_cols": [(out, np.empty_like(y_cols), np.empty(cout, dtype))],
    }


def _pool(dtype, module):
    x = _rand((2, 3, 4, 4), dtype)
    calls = {"max_pool2d_forward": [], "max_pool2d_backward": [],
             "avg_pool2d_forward": [], "avg_pool2d_backward": []}
    # 2x2 stride 2 (a fast path of its own), 3x3 stride 1 pad 1 (the general loop) and 3x3
    # dilation 2 pad 1; geometry as microdl.functional passes it: (h, w) tuples of Python ints.
    for kernel, stride, padding, dilation, side in [((2, 2), (2, 2), (0, 0), (1, 1), 2),
                                                    ((3, 3), (1, 1), (1, 1), (1, 1), 4),
                                                    ((3, 3), (1, 1), (1, 1), (2, 2), 2)]:
        out = np.empty((2, 3, side, side), dtype)
        # MaxPool2d keeps int32 indices, int64 when they are returned (return_indices)
        for index_dtype in (np.int32, np.int64):
            indices = np.zeros(out.shape, index_dtype)  # flat index 0 is in every plane
            geometry = (kernel, stride, padding, dilation)
            calls["max_pool2d_forward"].append((x, out, indices) + geometry)
            calls["max_pool2d_backward"].append((out, indices, np.empty_like(x)) + geometry)
        if dilation == (1, 1):  # avg_pool2d has no dilation
            # count_include_pad is a bool, divisor_override an int (0: none), as the op passes
            for count_include_pad, divisor_override in ((True, 0), (False, 2)):
                geometry = (kernel, stride, padding, count_include_pad, divisor_override)
                calls["avg_pool2d_forward"].append((x, out) + geometry)
                calls["avg_pool2d_backward"].append((out, np.empty_like(x)) + geometry)
    # NOTE: ceil_mode only changes the output size the op allocates, never a kernel argument.
    # Adaptive pooling: 3x3 windows of a 4x4 plane overlap; indices are always int64.
    out, indices = np.empty((2, 3, 3, 3), dtype), np.zeros((2, 3, 3, 3), np.int64)
    calls["adaptive_avg_pool2d_forward"] = [(x, out)]
    calls["adaptive_avg_pool2d_backward"] = [(out, np.empty_like(x))]
    calls["adaptive_max_pool2d_forward"] = [(x, out, indices)]
    calls["adaptive_max_pool2d_backward"] = [(out, indices, np.empty_like(x))]
    return calls


def _optim(dtype, module):
    def state(count):
        return [np.zeros(6, dtype) for _ in range(count)]

    p, g = _rand(6, dtype), _rand(6, dtype)
    # The optimizers count steps in a host float32 0-d array and pass float(step).
    step = float(np.ones((), np.float32))
    # Each optimizer with its defaults (the ints 0 its signature has; state it keeps no array
    # for is None, as the optimizers pass it) and with every option on. The kernels cast every
    # scalar to param's dtype and every flag to bool: both calls share one compile per dtype.
    return {
        "sgd_update_": [(p, g, state(1)[0], 0.1, 0.9, 0.0, 0.0, False, True),
                        (p, g, None, 0.1, 0.0, 0.0, 0.0, False, True)],
        "adam_update_": [(p, g, *state(2), None, 1e-3, 0.9, 0.999, 1e-8, 0, step, False,
                          False, False),
                         (p, g, *state(3), 1e-3, 0.9, 0.999, 1e-8, 1e-2, step, True, True,
                          True)],
        "rmsprop_update_": [(p, g, *state(1), None, None, 1e-2, 0.99, 1e-8, 0, 0, False,
                             False),
                            (p, g, *state(3), 1e-2, 0.99, 1e-8, 1e-2, 0.9, True, True)],
        "adadelta_update_": [(p, g, *state(2), 1.0, 0.9, 1e-6, 0, False),
                             (p, g, *state(2), 1.0, 0.9, 1e-6, 1e-2, True)],
        "adagrad_update_": [(p, g, *state(1), 1e-2, 0, 1e-10, 0, step, False),
                            (p, g, *state(1), 1e-2, 1e-3, 1e-10, 1e-2, step, True)],
    }


def _loss(dtype, module):
    x, y, g = _rand(6, dtype), np.full(6, 0.25, dtype), np.ones(6, dtype)
    probs = np.full(6, 0.5, dtype)

    def out():
        return np.empty(6, dtype)

    # NLL on (rows, C) log-probabilities with int64 labels (the op passes any integer dtype
    # the caller has; int64, PyTorch's Long, is the one warmed), ignore_index a Python int,
    # and the class weights or, without them, a size-0 array of the dtype (never None).
    log_probs, labels = _rand((4, 5), dtype), np.zeros(4, np.int64)
    weights = (np.ones(5, dtype), np.empty(0, dtype))
    # pos_weight likewise: broadcast to the logits' shape, or a size-0 array.
    pos_weights = (np.full(6, 2.0, dtype), np.empty(0, dtype))
    return {
        "nll_forward": [(log_probs, labels, w, np.empty(4, dtype), np.empty(4, dtype), -100)
                        for w in weights],
        "nll_backward": [(labels, w, np.ones(4, dtype), np.empty((4, 5), dtype), -100)
                         for w in weights],
        "binary_cross_entropy_forward": [(probs, y, out())],
        "binary_cross_entropy_backward": [(probs, y, g, out(), out())],
        "bce_with_logits_forward": [(x, y, w, out()) for w in pos_weights],
        "bce_with_logits_backward": [(x, y, w, g, out(), out()) for w in pos_weights],
        # delta and scale are Python floats (huber: scale = delta; smooth_l1: scale 1.0)
        "huber_forward": [(x, y, out(), 1.0, 1.0)],
        "huber_backward": [(x, y, g, out(), 1.0, 1.0)],
        # log_target is a Python bool (a runtime value: one compile covers both)
        "kl_div_forward": [(x, y, out(), False), (x, y, out(), True)],
        "kl_div_backward": [(x, y, g, out(), out(), False), (x, y, g, out(), out(), True)],
    }


EXAMPLES = {"activation": _activation, "softmax": _softmax, "normalization": _normalization,
            "conv": _conv, "pool": _pool, "optim": _optim, "loss": _loss}


def examples(family, dtype, module=None):
    """{kernel name: [argument tuples]} for one family and dtype ({} if none is written)."""
    module = module or importlib.import_module(f"{PACKAGE}.{family}")
    builder = EXAMPLES.get(family)
    return builder(dtype, module) if builder else {}


# ---- the warm-up ------------------------------------------------------------------------------

def _counts(found):
    """(compiled, loaded from cache) overloads of these dispatchers so far in this process."""
    compiled = sum(sum(d.stats.cache_misses.values()) for d in found.values())
    loaded = sum(sum(d.stats.cache_hits.values()) for d in found.values())
    return compiled, loaded


def warm_family(family, dtypes):
    """Compile (or load) every build of one family; returns its report as a dict."""
    start = time.perf_counter()
    module = importlib.import_module(f"{PACKAGE}.{family}")
    problems = []
    for dtype in dtypes:
        calls = examples(family, dtype, module)
        for name, fn in public_kernels(module).items():
            if name not in calls:
                problems.append(f"{family}.{name}: no warm-up example in microdl/warmup.py")
            for args in calls.get(name, []):
                fn(*args)
    for serial, parallel in twins(module):
        for build, twin in ((serial, parallel), (parallel, serial)):
            for signature in twin.signatures:
                if signature not in build.signatures:
                    build.compile(signature)
    problems += [f"{name}: not compiled by any example" for name in unwarmed(module, dtypes)]
    found = dispatchers(module)
    compiled, loaded = _counts(found)
    cache = next(iter(found.values())).stats.cache_path if found else None
    return {"family": family, "kernels": len(public_kernels(module)), "dispatchers": len(found),
            "compiled": compiled, "loaded": loaded, "seconds": time.perf_counter() - start,
            "cache": cache, "problems": problems}


def warm(dtypes=tuple(DTYPES.values()), only=None, log=print):
    """Warm every family (or those matching the regular expression ``only``); the reports."""
    reports = []
    for family in families():
        if only and not re.search(only, family):
            continue
        report = warm_family(family, dtypes)
        reports.append(report)
        if log:
            log(f"{family:>14}: {report['kernels']:2d} kernels, {report['dispatchers']:2d} "
                f"compiled functions; {report['compiled']:3d} compiled, {report['loaded']:3d} "
                f"loaded from cache, {report['seconds']:6.2f} s")
    return reports


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m microdl.warmup",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--dtype", choices=[*DTYPES, "both"], default="both")
    parser.add_argument("--only", help="regular expression on the family names (conv, pool, ...)")
    parser.add_argument("--quiet", action="store_true", help="print only problems")
    parser.add_argument("--ahead", action="store_true",
                        help="compile what a first training step needs last, first (the helper "
                             "process a first run starts; float32)")
    args = parser.parse_args(argv)
    if args.ahead:
        run_ahead(only=args.only)
        return 0
    import numba

    dtypes = tuple(DTYPES.values()) if args.dtype == "both" else (DTYPES[args.dtype],)
    start = time.perf_counter()
    reports = warm(dtypes, args.only, log=None if args.quiet else print)
    problems = [p for r in reports for p in r["problems"]]
    for problem in problems:
        print(f"warm-up problem: {problem}", file=sys.stderr)
    if not args.quiet:
        compiled = sum(r["compiled"] for r in reports)
        loaded = sum(r["loaded"] for r in reports)
        cache = next((r["cache"] for r in reports if r["cache"]), None)
        print(f"{'total':>14}: {compiled} compiled, {loaded} loaded from cache in "
              f"{time.perf_counter() - start:.1f} s ({', '.join(np.dtype(d).name for d in dtypes)}"
              f"; numba {numba.__version__}, {numba.config.NUMBA_NUM_THREADS} threads)"
              + (f"; cache {cache}" if cache else ""))
    return 1 if problems else 0


# ---- row_norm (LayerNorm, GroupNorm): x as (N, G, D, S), float64 (N, G) statistics ----------
def _row_norm(dtype, module):
    def calls(shape):
        x, out = _rand(shape, dtype), np.empty(shape, dtype)
        params, rows = shape[1] * shape[2], shape[:2]
        w, b = np.ones(params, dtype), np.zeros(params, dtype)
        mean, invstd = np.zeros(rows), np.ones(rows)
        return ((x, w, b, out, mean, invstd, 1e-5),
                (x, x, w, mean, invstd, out, np.empty(params, dtype), np.empty(params, dtype)))

    rows = calls((3, 2, 2, 2))
    # NOTE: the "pieces" layout runs only for a few long rows, so one example is that long.
    pieces = calls((1, 1, 2 * getattr(module, "PIECE_ELEMENTS", 1), 1))
    return {"row_norm_forward": [rows[0], pieces[0]],
            "row_norm_backward": [rows[1], pieces[1]]}


EXAMPLES["row_norm"] = _row_norm


# ---- interpolate: (P, H, W) planes, int64 index tables, weights in x's dtype ----------------
def _interpolate(dtype, module):
    x, out = _rand((2, 3, 4), dtype), np.empty((2, 5, 6), dtype)
    rows, cols = np.arange(5) % 3, np.arange(6) % 4
    pairs = (np.stack([rows, rows], 1), np.full((5, 2), 0.5, dtype),
             np.stack([cols, cols], 1), np.full((6, 2), 0.5, dtype))
    return {"nearest2d_forward": [(x, out, rows, cols)],
            "nearest2d_backward": [(out, np.empty_like(x), rows, cols)],
            "bilinear2d_forward": [(x, out) + pairs],
            "bilinear2d_backward": [(out, np.empty_like(x)) + pairs]}


EXAMPLES["interpolate"] = _interpolate


# ---- elementwise: only erf, erfc and erfinv are Numba loops (numpy has no erf) ---------------
def _elementwise(dtype, module):
    x, out = _rand(6, dtype) / 4, np.empty(6, dtype)  # |x| < 1: in erfinv's domain
    return {"unary": [(x, out, op) for op in ("erf", "erfc", "erfinv")]}


EXAMPLES["elementwise"] = _elementwise


if __name__ == "__main__":
    sys.exit(main())
