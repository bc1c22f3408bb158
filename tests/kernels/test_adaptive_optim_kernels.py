"""The adaptive optimizers' kernels (adam_update_, rmsprop_update_, adadelta_update_,
adagrad_update_): the "numba" and simulated "cuda" sets against numpy_ref, per option, on a
first step (zero state) and a later one, on a tiny shape and one past numba's parallel
threshold; then numba's edge cases. The reference itself is checked against torch.optim in
tests/optim/test_adaptive.py."""

import numpy as np
import pytest

from microdl.backend import kernel_module
from microdl.kernels.cpu import optim as cpu_optim

F32, F64 = np.float32, np.float64
REF = kernel_module("numpy", "optim")
CPU = kernel_module("numba", "optim")
SIZES = {"tiny": (3, 5), "parallel": (cpu_optim._adam.threshold + 5,)}


def state(rng, shape, dtype, first, positive=False):
    """Zeros on a first step, else random values (non-negative for averages of squares)."""
    if first:
        return np.zeros(shape, dtype)
    values = rng.standard_normal(shape)
    return (np.abs(values) if positive else values).astype(dtype)


def adam_args(rng, shape, dtype, first, lr=1e-2, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0, amsgrad=False, maximize=False, decoupled=False):
    p, g = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    m = state(rng, shape, dtype, first)
    v, v_max = (state(rng, shape, dtype, first, positive=True) for _ in range(2))
    return [p, g, m, v, v_max if amsgrad else None, lr, *betas, eps, weight_decay,
            1.0 if first else 7.0, amsgrad, maximize, decoupled]


def rmsprop_args(rng, shape, dtype, first, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, maximize=False):
    p, g = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    grad_avg = state(rng, shape, dtype, first)
    # a real run keeps square_avg >= grad_avg ** 2 (sqrt of a negative is an error in the
    # simulator, NaN elsewhere)
    square_avg = (grad_avg.astype(F64) ** 2 + state(rng, shape, F64, first, True)).astype(dtype)
    buf = state(rng, shape, dtype, first)
    return [p, g, square_avg, grad_avg if centered else None, buf if momentum > 0 else None,
            lr, alpha, eps, weight_decay, momentum, centered, maximize]


def adadelta_args(rng, shape, dtype, first, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0,
                  maximize=False):
    p, g = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    square_avg, acc_delta = (state(rng, shape, dtype, first, True) for _ in range(2))
    return [p, g, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize]


def adagrad_args(rng, shape, dtype, first, lr=1e-2, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                 maximize=False):
    p, g = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    total = state(rng, shape, dtype, first, True)
    return [p, g, total, lr, lr_decay, eps, weight_decay, 1.0 if first else 4.0, maximize]


# (kernel, argument builder, options): every option that changes the arithmetic
OPTIONS = {
    "adam": ("adam_update_", adam_args, {}),
    "adam_l2": ("adam_update_", adam_args, dict(weight_decay=0.1)),
    "adamw": ("adam_update_", adam_args, dict(weight_decay=0.1, decoupled=True)),
    "adam_amsgrad_maximize": ("adam_update_", adam_args, dict(amsgrad=True, maximize=True)),
    "adam_large_lerp_weight": ("adam_update_", adam_args, dict(betas=(0.3, 0.6), eps=1e-3)),
    "rmsprop": ("rmsprop_update_", rmsprop_args, {}),
    "rmsprop_decay_maximize": ("rmsprop_update_", rmsprop_args,
                               dict(weight_decay=0.1, maximize=True)),
    "rmsprop_momentum": ("rmsprop_update_", rmsprop_args, dict(momentum=0.9)),
    "rmsprop_centered": ("rmsprop_update_", rmsprop_args, dict(centered=True, alpha=0.3)),
    "rmsprop_everything": ("rmsprop_update_", rmsprop_args,
                           dict(centered=True, momentum=0.5, weight_decay=0.01,
                                maximize=True)),
    "adadelta": ("adadelta_update_", adadelta_args, {}),
    "adadelta_decay_maximize": ("adadelta_update_", adadelta_args,
                                dict(weight_decay=0.1, maximize=True, rho=0.3)),
    "adagrad": ("adagrad_update_", adagrad_args, {}),
    "adagrad_everything": ("adagrad_update_", adagrad_args,
                           dict(lr_decay=0.1, weight_decay=0.1, maximize=True)),
}


def tol(dtype):
    # float32: the simulator takes sqrt in float64; float64: numba fuses a * b + c (one
    # rounding), numpy cannot
    return dict(rtol=1e-5, atol=1e-6) if dtype == F32 else dict(rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("first", [True, False], ids=["first_step", "later_step"])
@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_kernel_sets_match_the_reference(case, dtype, size, first, twin):
    kernel, build, options = OPTIONS[case]
    args = build(np.random.default_rng(11), SIZES[size], dtype, first, **options)
    twin.check("optim", kernel, args, **tol(dtype))


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_numba_float32_equals_the_reference_bit_for_bit(case):
    """Both round every op of PyTorch's sequence once, in float32 (fused multiply-adds
    included), so nothing is left to differ."""
    kernel, build, options = OPTIONS[case]
    args = build(np.random.default_rng(12), SIZES["parallel"], F32, False, **options)
    want = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    getattr(REF, kernel)(*want)
    getattr(CPU, kernel)(*got)
    for w, g in zip(want, got):
        if isinstance(w, np.ndarray):
            np.testing.assert_array_equal(g, w)


def test_amsgrad_keeps_nan_and_inf_like_the_reference():
    args = adam_args(np.random.default_rng(13), (4,), F32, False, amsgrad=True)
    args[1][0] = np.nan          # a NaN gradient
    args[4][1] = np.nan          # a NaN already in max_exp_avg_sq: torch.maximum keeps it
    args[3][2] = np.inf
    want = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    REF.adam_update_(*want)
    CPU.adam_update_(*got)
    for w, g in zip(want, got):
        if isinstance(w, np.ndarray):
            np.testing.assert_array_equal(g, w)
    assert np.isnan(got[4][:2]).all() and np.isnan(got[0][:2]).all()


def test_non_contiguous_gradient_and_multidimensional_parameter():
    args = adagrad_args(np.random.default_rng(14), (6, 10), F32, False, weight_decay=0.1)
    want = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    REF.adagrad_update_(*want)
    got = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got[1] = np.repeat(args[1], 2, axis=1)[:, ::2]
    assert not got[1].flags.c_contiguous
    CPU.adagrad_update_(*got)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[2], want[2])


@pytest.mark.parametrize("kernel, build, position", [
    ("adam_update_", adam_args, 3), ("rmsprop_update_", rmsprop_args, 2),
    ("adadelta_update_", adadelta_args, 3), ("adagrad_update_", adagrad_args, 2)])
def test_wrong_shapes_and_dtypes_are_refused_before_numba_writes_out_of_bounds(kernel, build,
                                                                               position):
    args = build(np.random.default_rng(15), (4,), F32, False)
    args[position] = np.zeros(3, F32)
    with pytest.raises(ValueError, match="must have param's shape and dtype"):
        getattr(CPU, kernel)(*args)
    args[position] = np.zeros(4, F64)
    with pytest.raises(ValueError, match="must have param's shape and dtype"):
        getattr(CPU, kernel)(*args)


def test_one_compiled_version_per_dtype():
    for kernel, build, options in OPTIONS.values():
        getattr(CPU, kernel)(*build(np.random.default_rng(16), (5,), F32, False, **options))
    # ints, numpy scalars and bools for the hyper-parameters reach the same signature
    args = adam_args(np.random.default_rng(17), (5,), F32, False)
    args[5:] = [1, 0.9, np.float64(0.999), 1e-8, 0, 3, np.bool_(False), 0, 0]
    CPU.adam_update_(*args)
    for dispatcher in (cpu_optim._adam, cpu_optim._rmsprop, cpu_optim._adadelta,
                       cpu_optim._adagrad):
        signatures = [s for s in dispatcher.serial.signatures if "float32" in str(s[0])]
        assert len(signatures) == 1, dispatcher.serial
