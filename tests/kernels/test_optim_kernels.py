"""optim kernels: numpy_ref against the formula itself, and the numba twin's edge cases (first
step, strides, NaN, shapes, compiled versions). The twins against numpy_ref, step by step and
per option, are test_kernel_sets.py."""

import numpy as np
import pytest

from kernel_harness import SGD_OPTIONS
from microdl.backend import kernel_module
from microdl.kernels.cpu import optim as cpu_optim

REF = kernel_module("numpy", "optim")
CPU = kernel_module("numba", "optim")

OPTIONS = SGD_OPTIONS


def naive_sgd(p, grads, lr, momentum, dampening, weight_decay, nesterov):
    """torch.optim.SGD's documented algorithm, element by element in float64."""
    p = p.astype(np.float64)
    buf = None
    for g in grads:
        d = g.astype(np.float64) + weight_decay * p
        if momentum != 0:
            buf = d.copy() if buf is None else momentum * buf + (1 - dampening) * d
            d = d + momentum * buf if nesterov else buf
        p = p - lr * d
    return p, buf


def run(module, start, grads, options, contiguous=True):
    lr, momentum, dampening, weight_decay, nesterov = options
    p, buf = start.copy(), np.full_like(start, np.nan)
    for step, g in enumerate(grads):
        if not contiguous:
            g = np.repeat(g, 2)[::2]
        module.sgd_update_(p, g, buf if momentum != 0 else None, lr, momentum, dampening,
                           weight_decay, nesterov, step == 0)
    return p, buf


def inputs(n, dtype, steps=4):
    rng = np.random.default_rng(n)
    start = rng.standard_normal(n).astype(dtype)
    return start, [rng.standard_normal(n).astype(dtype) for _ in range(steps)]


@pytest.mark.parametrize("name", sorted(OPTIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_follows_the_formula(name, dtype):
    start, grads = inputs(50, dtype)
    p, buf = run(REF, start, grads, OPTIONS[name])
    want_p, want_buf = naive_sgd(start, grads, *OPTIONS[name])
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    assert p.dtype == dtype
    np.testing.assert_allclose(p, want_p, rtol=rtol, atol=rtol)
    if want_buf is None:
        assert np.isnan(buf).all()  # never touched
    else:
        np.testing.assert_allclose(buf, want_buf, rtol=rtol, atol=rtol)


def test_first_step_copies_the_gradient_into_the_buffer_without_dampening():
    for module in (REF, CPU):
        p = np.ones(5, np.float32)
        g = np.arange(5, dtype=np.float32)
        buf = np.full(5, 7.0, np.float32)
        module.sgd_update_(p, g, buf, 0.5, 0.9, 0.5, 0.0, False, True)
        np.testing.assert_array_equal(buf, g)
        np.testing.assert_array_equal(p, 1 - 0.5 * g)


def test_non_contiguous_gradient_and_multidimensional_parameter():
    start, grads = inputs(60, np.float32)
    options = OPTIONS["everything"]
    want, _ = run(REF, start, grads, options)
    got, _ = run(CPU, start, grads, options, contiguous=False)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    p, g = start.reshape(6, 10).copy(), grads[0].reshape(6, 10)
    CPU.sgd_update_(p, g, None, 0.1, 0.0, 0.0, 0.0, False, True)
    np.testing.assert_allclose(p, start.reshape(6, 10) - np.float32(0.1) * g, rtol=1e-6)


def test_nan_and_inf_propagate_like_the_reference():
    p = np.array([1.0, np.inf, 2.0], np.float32)
    g = np.array([np.nan, 1.0, 1.0], np.float32)
    want, got = p.copy(), p.copy()
    REF.sgd_update_(want, g, None, 0.1, 0.0, 0.0, 0.0, False, True)
    CPU.sgd_update_(got, g, None, 0.1, 0.0, 0.0, 0.0, False, True)
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[0]) and np.isinf(got[1])


def test_wrong_shapes_are_refused_before_numba_writes_out_of_bounds():
    p = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="must have one shape"):
        CPU.sgd_update_(p, np.zeros(5, np.float32), None, 0.1, 0.0, 0.0, 0.0, False, True)
    with pytest.raises(ValueError, match="must have one shape"):
        CPU.sgd_update_(p, np.zeros(4, np.float32), np.zeros(3, np.float32), 0.1, 0.9, 0.0,
                        0.0, False, True)


def test_one_compiled_version_per_dtype():
    start, grads = inputs(20, np.float32)
    for options in OPTIONS.values():
        run(CPU, start, grads, options)
    # ints, floats and numpy scalars for the hyper-parameters all reach one signature.
    p = start.copy()
    CPU.sgd_update_(p, grads[0], None, 1, 0, 0, 0, 0, 1)
    CPU.sgd_update_(p, grads[0], None, np.float64(0.1), 0.0, 0.0, 0.0, np.bool_(False), False)
    float32_signatures = [s for s in cpu_optim._sgd.serial.signatures if "float32" in str(s[0])]
    assert len(float32_signatures) == 1
