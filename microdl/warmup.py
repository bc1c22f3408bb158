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
"""

import argparse
import importlib
import inspect
import math
import pkgutil
import re
import sys
import time

import numpy as np

PACKAGE = "microdl.kernels.cpu"
DTYPES = {"float32": np.float32, "float64": np.float64}


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
    """{name: numba dispatcher} defined in a family module: module-level ``@njit`` functions and
    the ``serial`` / ``parallel`` builds held by pair objects (``_jit.SerialAndParallel`` and
    the like)."""
    found = {}
    for name, obj in vars(module).items():
        if _is_dispatcher(obj) and obj.py_func.__module__ == module.__name__:
            found[name] = obj
        for build in ("serial", "parallel"):
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
    """Dispatchers of ``module`` with no compiled signature for one of ``dtypes``."""
    found = dispatchers(module)
    skip = helpers(found)
    missing = []
    for name, dispatcher in sorted(found.items()):
        if name in skip:
            continue
        for dtype in dtypes:
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
    }


def _softmax(dtype, module):
    x, out = _rand((4, 5), dtype), np.empty((4, 5), dtype)
    labels, losses = np.zeros(4, np.int64), np.empty(4, dtype)
    return {
        "softmax_forward": [(x, out)], "softmax_backward": [(x, x, out)],
        "log_softmax_forward": [(x, out)], "log_softmax_backward": [(x, x, out)],
        "cross_entropy_forward": [(x, labels, out, losses)],
        "cross_entropy_backward": [(x, labels, np.full(4, 0.25, dtype), out)],
    }


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

    tiny = calls(4, 3, 1)
    # NOTE: the per-channel layout runs only for inputs past the module's size thresholds, so
    # one example is that large (2 x 2 x 2**17 values at the defaults: a few MB, milliseconds).
    c = 2
    s = max(getattr(module, "PLANE_MIN", 1),
            math.ceil(getattr(module, "TINY_ELEMENTS", 0) / (2 * c)))
    large = calls(2, c, s)
    return {
        "batch_norm_forward_train": [tiny[0], large[0]],
        "batch_norm_forward_eval": [tiny[1], large[1]],
        "batch_norm_backward": [tiny[2], large[2]],
        "batch_norm_relu_forward_train": [tiny[0], large[0]],
        "batch_norm_relu_forward_eval": [tiny[1], large[1]],
        "batch_norm_relu_backward": [tiny[3], large[3]],
    }


def _conv(dtype, module):
    n, cin, h, w, cout, k = 2, 2, 5, 5, 3, 3
    x = _rand((n, cin, h, w), dtype)
    geometry = ((k, k), (1, 1), (1, 1), (1, 1))
    cols = np.empty((cin * k * k, n, h, w), dtype)
    y_cols, out = _rand((cout, n, h, w), dtype), np.empty((n, cout, h, w), dtype)
    weight, hyper = _rand((cout, cin, k, k), dtype), geometry[1:] + (1,)  # (groups 1)
    grads = (np.empty_like(x), np.empty_like(weight), np.empty(cout, dtype))
    return {
        "conv2d_forward": [(x, weight, None, out, cols) + hyper],
        "conv2d_backward": [(x, cols, weight, out) + grads + hyper],
        "im2col": [(x, cols) + geometry],
        "col2im": [(_rand(cols.shape, dtype), np.empty_like(x)) + geometry],
        "cols_to_output": [(y_cols, np.zeros(cout, dtype), out)],
        "output_grad_to_cols": [(out, np.empty_like(y_cols), np.empty(cout, dtype))],
    }


def _pool(dtype, module):
    x = _rand((2, 3, 4, 4), dtype)
    calls = {"max_pool2d_forward": [], "max_pool2d_backward": [],
             "avg_pool2d_forward": [], "avg_pool2d_backward": []}
    # 2x2 stride 2 (a fast path of its own) and 3x3 stride 1 pad 1 (the general loop).
    for kernel, stride, padding, side in [((2, 2), (2, 2), (0, 0), 2), ((3, 3), (1, 1), (1, 1), 4)]:
        out = np.empty((2, 3, side, side), dtype)
        indices = np.zeros(out.shape, np.int32)  # flat index 0 is in every plane
        geometry = (kernel, stride, padding)
        calls["max_pool2d_forward"].append((x, out, indices) + geometry)
        calls["max_pool2d_backward"].append((out, indices, np.empty_like(x)) + geometry)
        calls["avg_pool2d_forward"].append((x, out) + geometry)
        calls["avg_pool2d_backward"].append((out, np.empty_like(x)) + geometry)
    return calls


def _optim(dtype, module):
    p, g, buf = _rand(6, dtype), _rand(6, dtype), np.zeros(6, dtype)
    # With and without momentum (the buffer is None then, as SGD passes it).
    return {"sgd_update_": [(p, g, buf, 0.1, 0.9, 0.0, 0.0, False, True),
                            (p, g, None, 0.1, 0.0, 0.0, 0.0, False, True)]}


EXAMPLES = {"activation": _activation, "softmax": _softmax, "normalization": _normalization,
            "conv": _conv, "pool": _pool, "optim": _optim}


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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
