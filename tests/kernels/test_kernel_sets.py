"""Every kernel of the "numba" and "cuda" sets against the "numpy" reference, one table per
family. A row names the kernel and builds its arguments (inputs, and outputs filled with NaN so
an unwritten value shows); the ``twin`` fixture (conftest.py) runs both and compares every
array argument. Shapes past the CPU kernels' parallel thresholds run on numba only."""

import numpy as np
import pytest

from kernel_harness import SGD_OPTIONS, Host, reference
from microdl.kernels.cpu import normalization as cpu_normalization
from microdl.kernels.cpu import optim as cpu_optim
from microdl.kernels.cpu._jit import BLOCKED_MIN_ELEMENTS, PARALLEL_MIN_ELEMENTS

F32, F64 = np.float32, np.float64


def tol(dtype, reordered=False):
    """rtol/atol: float32 1e-5 (1e-4 where the sums run in another order), float64 ~1e-12."""
    if dtype == F32:
        return dict(rtol=1e-4 if reordered else 1e-5, atol=1e-6)
    return dict(rtol=1e-10 if reordered else 1e-12, atol=1e-12)


def nans(shape, dtype):
    return np.full(shape, np.nan, dtype)


def randn(rng, shape, dtype, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(dtype)


def run_table(family, row, dtype, twin):
    kernel, build, reordered = row
    twin.check(family, kernel, build(np.random.default_rng(7), dtype), **tol(dtype, reordered))


# ---- activation -------------------------------------------------------------------------------
# a tiny shape, one past the parallel threshold and one past the blocked one (numba only)
ACTIVATION_SHAPES = {"tiny": (5, 7), "parallel": (PARALLEL_MIN_ELEMENTS // 64 + 3, 64),
                     "blocked": (BLOCKED_MIN_ELEMENTS // 100 + 7, 100)}


def _activation_rows():
    rows = {}
    for name in ("relu", "leaky_relu", "sigmoid", "tanh"):
        extra = (0.2,) if name == "leaky_relu" else ()
        for label, shape in ACTIVATION_SHAPES.items():
            def x(rng, dtype, shape=shape):
                x = randn(rng, shape, dtype, 4)
                x[0, :3] = [0, np.nan, -np.inf]
                return x

            def forward(rng, dtype, name=name, x=x, extra=extra):
                x = x(rng, dtype)
                return [x, nans(x.shape, dtype), *extra]

            def backward(rng, dtype, name=name, forward=forward, extra=extra):
                x, y = reference("activation", f"{name}_forward", forward(rng, dtype))[:2]
                saved = x if name == "leaky_relu" else y  # what the op keeps for backward
                return [saved, randn(rng, x.shape, dtype), nans(x.shape, dtype), *extra]

            rows[f"{name}_forward {label}"] = (f"{name}_forward", forward, False)
            rows[f"{name}_backward {label}"] = (f"{name}_backward", backward, False)
    return rows


ACTIVATION = _activation_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(ACTIVATION))
def test_activation(case, dtype, twin):
    run_table("activation", ACTIVATION[case], dtype, twin)


# ---- softmax ----------------------------------------------------------------------------------
SOFTMAX_SHAPES = {"tiny": (6, 5), "parallel": ACTIVATION_SHAPES["parallel"],
                  "blocked": ACTIVATION_SHAPES["blocked"]}


def _softmax_rows():
    rows = {}
    for label, shape in SOFTMAX_SHAPES.items():
        for name in ("softmax", "log_softmax"):
            def forward(rng, dtype, shape=shape):
                return [randn(rng, shape, dtype, 30), nans(shape, dtype)]

            def backward(rng, dtype, name=name, forward=forward, shape=shape):
                y = reference("softmax", f"{name}_forward", forward(rng, dtype))[1]
                return [y, randn(rng, shape, dtype), nans(shape, dtype)]

            rows[f"{name}_forward {label}"] = (f"{name}_forward", forward, True)
            rows[f"{name}_backward {label}"] = (f"{name}_backward", backward, True)

        def ce_forward(rng, dtype, shape=shape):
            logits = randn(rng, shape, dtype, 10)
            labels = rng.integers(0, shape[1], shape[0])
            return [logits, labels, nans(shape, dtype), nans(shape[0], dtype)]

        def ce_backward(rng, dtype, shape=shape, ce_forward=ce_forward):
            _, labels, log_probs, _ = reference("softmax", "cross_entropy_forward",
                                                ce_forward(rng, dtype))
            return [log_probs, labels, rng.random(shape[0]).astype(dtype), nans(shape, dtype)]

        rows[f"cross_entropy_forward {label}"] = ("cross_entropy_forward", ce_forward, True)
        rows[f"cross_entropy_backward {label}"] = ("cross_entropy_backward", ce_backward, True)
    return rows


SOFTMAX = _softmax_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(SOFTMAX))
def test_softmax(case, dtype, twin):
    run_table("softmax", SOFTMAX[case], dtype, twin)


# ---- pool -------------------------------------------------------------------------------------
# (N, C, H, W), kernel, stride, padding; (16, 32, 28, 28) is past numba's parallel threshold,
# (3, 2, 7, 9) leaves the last row and column out of every window
POOL_GEOMETRIES = {
    "2x2/2": ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    "3x2/2,1 pad 1": ((2, 2, 7, 5), (3, 2), (2, 1), (1, 1)),
    "3x3/1,2 pad 1,0": ((1, 2, 5, 6), (3, 3), (1, 2), (1, 0)),
    "3x3/2 pad 1": ((2, 2, 5, 6), (3, 3), (2, 2), (1, 1)),
    "3x2/1,2 pad 1,0": ((2, 2, 5, 6), (3, 2), (1, 2), (1, 0)),
    "parallel": ((16, 32, 28, 28), (2, 2), (2, 2), (0, 0)),
    "odd sides": ((3, 2, 7, 9), (2, 2), (2, 2), (0, 0)),
}


def pooled_shape(shape, kernel, stride, padding):
    return shape[:2] + tuple((s + 2 * p - k) // st + 1
                             for s, k, st, p in zip(shape[2:], kernel, stride, padding))


def _pool_rows():
    rows = {}
    for label, (shape, *geometry) in POOL_GEOMETRIES.items():
        out = pooled_shape(shape, *geometry)

        def max_forward(rng, dtype, shape=shape, geometry=geometry, out=out):
            x = rng.integers(-3, 4, shape).astype(dtype)  # integers: ties happen
            x.reshape(-1)[::97] = np.nan
            x.reshape(-1)[5::89] = -0.0  # ties between -0 and +0 keep the first tap too
            x[0, 1] = -np.inf  # windows of -inf only: the first tap inside x is the index
            return [x, nans(out, dtype), np.full(out, -1, np.int32), *geometry]

        def max_backward(rng, dtype, shape=shape, geometry=geometry, out=out,
                         max_forward=max_forward):
            indices = reference("pool", "max_pool2d_forward", max_forward(rng, dtype))[2]
            return [randn(rng, out, dtype), indices, nans(shape, dtype), *geometry]

        def avg_forward(rng, dtype, shape=shape, geometry=geometry, out=out):
            return [randn(rng, shape, dtype), nans(out, dtype), *geometry]

        def avg_backward(rng, dtype, shape=shape, geometry=geometry, out=out):
            return [randn(rng, out, dtype), nans(shape, dtype), *geometry]

        rows[f"max_pool2d_forward {label}"] = ("max_pool2d_forward", max_forward, False)
        rows[f"max_pool2d_backward {label}"] = ("max_pool2d_backward", max_backward, True)
        rows[f"avg_pool2d_forward {label}"] = ("avg_pool2d_forward", avg_forward, True)
        rows[f"avg_pool2d_backward {label}"] = ("avg_pool2d_backward", avg_backward, True)
    return rows


POOL = _pool_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(POOL))
def test_pool(case, dtype, twin):
    run_table("pool", POOL[case], dtype, twin)


# ---- optim ------------------------------------------------------------------------------------
SGD_SIZES = {"tiny": (3, 5), "parallel": (cpu_optim._sgd.threshold + 5,)}


def _optim_rows():
    rows = {}
    for (name, options), (label, shape), first in (
            (o, s, f) for o in SGD_OPTIONS.items() for s in SGD_SIZES.items()
            for f in (True, False)):
        def update(rng, dtype, options=options, shape=shape, first=first):
            lr, momentum, dampening, weight_decay, nesterov = options
            p, g, buf = (randn(rng, shape, dtype) for _ in range(3))
            # without momentum there is no buffer (None), as torch.optim.SGD keeps none
            return [p, g, buf if momentum else None, lr, momentum, dampening, weight_decay,
                    nesterov, first]

        step = "first step" if first else "later step"
        rows[f"sgd {name} {label} {step}"] = ("sgd_update_", update, False)
    return rows


OPTIM = _optim_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(OPTIM))
def test_optim(case, dtype, twin):
    run_table("optim", OPTIM[case], dtype, twin)


# ---- normalization ----------------------------------------------------------------------------
# (N, C, S): tiny ones (m = N * S values per channel against BN_VALUES_PER_BLOCK = 16 on cuda:
# one- and two-level statistics), then numba's layouts under the thresholds of
# SMALL_THRESHOLDS (serial, rows, channels; numba only)
BN_SHAPES = {"6x4x1": (6, 4, 1), "3x2x5": (3, 2, 5), "4x3x9": (4, 3, 9),
             "serial 3x4x5": (3, 4, 5), "serial 60x100x1": (60, 100, 1), "rows 256x64x16": (256, 64, 16),
             "rows 33x37x64": (33, 37, 64), "channels 64x8x300": (64, 8, 300),
             "channels 5x3x5003": (5, 3, 5003), "rows 256x1024x1": (256, 1024, 1)}
SMALL_THRESHOLDS = dict(TINY_ELEMENTS=1 << 16)
# affine, track running statistics, momentum, eps
BN_OPTIONS = {"affine tracked": (True, True, 0.1, 1e-5), "plain": (False, False, 0.1, 1e-5),
              "cumulative": (True, True, 1 / 3, 1e-3)}


@pytest.fixture
def small_thresholds(monkeypatch):
    """numba's BatchNorm picks a layout by size; these thresholds reach every layout on shapes
    the reference still computes quickly."""
    for name, value in SMALL_THRESHOLDS.items():
        monkeypatch.setattr(cpu_normalization, name, value)


def _bn_inputs(rng, shape, dtype, affine, track):
    C = shape[1]
    x = randn(rng, shape, dtype, rng.uniform(0.5, 3, (1, C, 1)), rng.uniform(-4, 4, (1, C, 1)))
    empty = np.empty(0, dtype)
    w = rng.uniform(0.5, 1.5, C).astype(dtype) if affine else empty
    b = rng.standard_normal(C).astype(dtype) if affine else empty
    rm = rng.standard_normal(C).astype(dtype) if track else empty
    rv = rng.uniform(0.5, 2, C).astype(dtype) if track else empty
    return x, w, b, rm, rv


def _normalization_rows():
    rows = {}
    for (label, shape), (option, (affine, track, momentum, eps)), fused in (
            (s, o, f) for s in BN_SHAPES.items() for o in BN_OPTIONS.items()
            for f in ("", "relu_")):
        C = shape[1]  # (bound into each builder below: the loop moves on)

        def train(rng, dtype, shape=shape, affine=affine, track=track, momentum=momentum,
                  eps=eps, C=C):
            x, w, b, rm, rv = _bn_inputs(rng, shape, dtype, affine, track)
            return [x, w, b, nans(shape, dtype), nans(C, F64), nans(C, F64), rm, rv, momentum,
                    eps]

        def evaluate(rng, dtype, shape=shape, affine=affine, eps=eps, C=C):
            x, w, b, rm, rv = _bn_inputs(rng, shape, dtype, affine, True)
            return [x, w, b, rm, rv, nans(shape, dtype), nans(C, F64), nans(C, F64), eps]

        for training, forward in ((True, train), (False, evaluate)):
            def backward(rng, dtype, shape=shape, forward=forward, training=training,
                         fused=fused, C=C):
                args = forward(rng, dtype)
                done = reference("normalization", f"batch_norm_{fused}forward_"
                                 + ("train" if training else "eval"), args)
                x, w = done[0], done[1]
                y, mean, invstd = (done[3:6] if training else done[5:8])
                gdtype = w.dtype if w.size else x.dtype
                g = randn(rng, shape, dtype)
                before = [x, y, g] if fused else [x, g]  # the fused backward masks by y > 0
                return [*before, w, mean, invstd, nans(shape, dtype), nans(C, gdtype),
                        nans(C, gdtype), training]

            mode = "train" if training else "eval"
            if training or option != "cumulative":  # eval has no momentum
                rows[f"{fused}forward_{mode} {option} {label}"] = (
                    f"batch_norm_{fused}forward_{mode}", forward, True)
                rows[f"{fused}backward {mode} {option} {label}"] = (
                    f"batch_norm_{fused}backward", backward, True)
    return rows


NORMALIZATION = _normalization_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(NORMALIZATION))
def test_normalization(case, dtype, twin, small_thresholds):
    kernel, build, _ = NORMALIZATION[case]
    # the statistics of channels with means up to 4 and spreads up to 3, in another order
    tolerance = dict(rtol=1e-4, atol=1e-5) if dtype == F32 else dict(rtol=1e-9, atol=1e-11)
    twin.check("normalization", kernel, build(np.random.default_rng(7), dtype), **tolerance)


# ---- elementwise ------------------------------------------------------------------------------
def _elementwise_rows():
    rows = {
        "fill": ("fill", lambda rng, dtype: [nans((3, 2), dtype), 1.5], False),
        "copy": ("copy", lambda rng, dtype: [randn(rng, (2, 3, 4), dtype),
                                             nans((2, 3, 4), dtype)], False),
        "copy cast": ("copy", lambda rng, dtype: [randn(rng, (2, 3, 4), dtype),
                                                  nans((2, 3, 4), F64 if dtype == F32 else F32)],
                      False),
        "broadcast_to": ("broadcast_to", lambda rng, dtype: [randn(rng, (3, 1), dtype),
                                                             nans((2, 3, 4), dtype)], False),
        "permute": ("permute", lambda rng, dtype: [randn(rng, (2, 3, 4), dtype),
                                                   nans((4, 2, 3), dtype), (2, 0, 1)], False),
    }
    # op -> scalar; log and pow 0.5 get positive inputs (log of 0 raises in the simulator,
    # which runs Python's math)
    for op, scalar in (("neg", 0.0), ("exp", 0.0), ("log", 0.0), ("abs", 0.0), ("sign", 0.0),
                       ("pow", 3.0), ("pow", 0.5), ("scale", 2.5)):
        def unary(rng, dtype, op=op, scalar=scalar):
            x = randn(rng, (4, 5), dtype)
            x[0, 0] = 0
            if op == "log" or scalar == 0.5:
                x = np.abs(x) + dtype(0.1)
            return [x, nans(x.shape, dtype), op, scalar]

        rows[f"unary {op} {scalar}"] = ("unary", unary, False)
    # shapes of a and b; "number": a Python number in that place
    for op in ("add", "sub", "mul", "div", "eq"):
        for a_shape, b_shape in (((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 4)),
                                 ((4,), "number"), ("number", (4,))):
            def binary(rng, dtype, op=op, a_shape=a_shape, b_shape=b_shape):
                # rounded, so "eq" meets equal values; b shifted away from 0 for "div"
                a = 0.5 if a_shape == "number" else np.round(randn(rng, a_shape, dtype), 1)
                b = 0.5 if b_shape == "number" else np.round(randn(rng, b_shape, dtype), 1) + 3
                out = np.broadcast_shapes(np.shape(a), np.shape(b))
                return [a, b, nans(out, dtype), op]

            rows[f"binary {op} {a_shape} {b_shape}"] = ("binary", binary, False)
    # numpy indices: repeated integers (put_add must add them up), slices with arrays, masks
    indices = {"repeated ints": lambda: np.array([0, 2, 0, 0]),
               "slice and array": lambda: (slice(1, 3), np.array([3, 0, 3])),
               "mask": lambda: np.array([True, False, True, True])}
    for label, index in indices.items():
        def take(rng, dtype, index=index):
            x = randn(rng, (4, 5), dtype)
            return [x, Host(index()), nans(x[index()].shape, dtype)]

        def put_add(rng, dtype, index=index):
            out = randn(rng, (4, 5), dtype)
            return [randn(rng, out[index()].shape, dtype), Host(index()), out]

        rows[f"take {label}"] = ("take", take, False)
        rows[f"put_add {label}"] = ("put_add", put_add, False)
    return rows


ELEMENTWISE = _elementwise_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(ELEMENTWISE))
def test_elementwise(case, dtype, twin):
    run_table("elementwise", ELEMENTWISE[case], dtype, twin)


# ---- reduce -----------------------------------------------------------------------------------
def _reduce_rows():
    rows = {}
    for shape, axes in (((3, 4), (0,)), ((2, 3, 4), (0, 2)), ((5, 7), (0, 1)),
                        ((2, 3, 4), (1,))):
        kept = tuple(n for d, n in enumerate(shape) if d not in axes) or (1,)

        def sum_axes(rng, dtype, shape=shape, axes=axes, kept=kept):
            return [randn(rng, shape, dtype), nans(kept, dtype), axes, 0.5]

        def max_axes(rng, dtype, shape=shape, axes=axes, kept=kept):
            x = randn(rng, shape, dtype)
            x.flat[3] = np.nan  # NaN wins, as numpy's max
            return [x, nans(kept, dtype), axes]

        rows[f"sum_axes {shape} {axes} scale 0.5"] = ("sum_axes", sum_axes, True)
        rows[f"max_axes {shape} {axes}"] = ("max_axes", max_axes, False)
    for shape, axis in (((3, 5), 0), ((3, 5), 1), ((2, 3, 4), 1), ((12,), 0)):
        def argmax(rng, dtype, shape=shape, axis=axis):
            x = rng.integers(-2, 3, shape).astype(dtype)  # ties: the first maximum wins
            out = np.full(np.argmax(x, axis=axis).shape, -1, np.int64)
            return [x, out, axis]

        rows[f"argmax_axis {shape} {axis}"] = ("argmax_axis", argmax, False)
    return rows


REDUCE = _reduce_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(REDUCE))
def test_reduce(case, dtype, twin):
    run_table("reduce", REDUCE[case], dtype, twin)


# ---- matmul -----------------------------------------------------------------------------------
def _matmul_rows():
    rows = {}
    m, k, n = 9, 7, 6  # not multiples of cuda's tile (4 in tests)
    for transpose_a in (False, True):
        for transpose_b in (False, True):
            for with_bias in (False, True):
                def gemm(rng, dtype, ta=transpose_a, tb=transpose_b, with_bias=with_bias):
                    a = randn(rng, (k, m) if ta else (m, k), dtype)
                    b = randn(rng, (n, k) if tb else (k, n), dtype)
                    bias = randn(rng, n, dtype) if with_bias else np.empty(0, dtype)
                    return [a, b, bias, nans((m, n), dtype), ta, tb]

                label = (f"gemm {'aT' if transpose_a else 'a'} {'bT' if transpose_b else 'b'}"
                         f"{' + bias' if with_bias else ''}")
                rows[label] = ("gemm", gemm, True)
    return rows


MATMUL = _matmul_rows()


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(MATMUL))
def test_matmul(case, dtype, twin):
    run_table("matmul", MATMUL[case], dtype, twin)
