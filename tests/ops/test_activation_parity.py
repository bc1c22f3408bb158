"""The pointwise activations (GELU, SiLU, ELU, SELU, CELU, Softplus, LogSigmoid, Hardswish,
Hardsigmoid, ReLU6, Hardtanh, Mish, Softsign, Tanhshrink, Softshrink, Hardshrink) against
PyTorch: values, dtypes and gradients, at the kinks too; finite differences off the kinks; the
numba and cuda kernels against numpy_ref; errors; the modules' constructors and reprs; and the
torch arguments of the older activations (ReLU, LeakyReLU, Softmax)."""

import warnings

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.backend import kernel_module
from microdl.kernels.cpu._jit import PARALLEL_MIN_ELEMENTS

# name -> (microdl call, torch call's name and keyword arguments, the kinks of the function)
CASES = {
    "gelu": (F.gelu, ("gelu", {}), []),
    "gelu tanh": (lambda x: F.gelu(x, approximate="tanh"), ("gelu", {"approximate": "tanh"}),
                  []),
    "silu": (F.silu, ("silu", {}), []),
    "elu": (lambda x: F.elu(x, 0.7), ("elu", {"alpha": 0.7}), [0.0]),
    "selu": (F.selu, ("selu", {}), [0.0]),
    "celu": (lambda x: F.celu(x, alpha=1.3), ("celu", {"alpha": 1.3}), [0.0]),
    "softplus": (F.softplus, ("softplus", {}), []),
    "softplus beta threshold": (lambda x: F.softplus(x, beta=2.0, threshold=3.0),
                                ("softplus", {"beta": 2.0, "threshold": 3.0}), [1.5]),
    "logsigmoid": (F.logsigmoid, ("logsigmoid", {}), []),
    "hardswish": (F.hardswish, ("hardswish", {}), [-3.0, 3.0]),
    "hardsigmoid": (F.hardsigmoid, ("hardsigmoid", {}), [-3.0, 3.0]),
    "relu6": (F.relu6, ("relu6", {}), [0.0, 6.0]),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 2.0),
                 ("hardtanh", {"min_val": -0.5, "max_val": 2.0}), [-0.5, 2.0]),
    "mish": (F.mish, ("mish", {}), []),
    "softsign": (F.softsign, ("softsign", {}), []),
    "tanhshrink": (F.tanhshrink, ("tanhshrink", {}), []),
    "softshrink": (lambda x: F.softshrink(x, 0.7), ("softshrink", {"lambd": 0.7}),
                   [-0.7, 0.7]),
    "hardshrink": (lambda x: F.hardshrink(x, 0.7), ("hardshrink", {"lambd": 0.7}),
                   [-0.7, 0.7]),
    "relu": (F.relu, ("relu", {}), [0.0]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), ("leaky_relu", {"negative_slope": 0.2}),
                   [0.0]),
}
# Points every case meets: every kink of every case, and the edges of the formulas' branches.
KINKS = [0.0, -3.0, 3.0, 6.0, -6.0, -0.5, 2.0, 0.7, -0.7, 1.5, -1.5, 1.0, -1.0, 10.0, 20.0,
         -20.0, 30.0, -30.0]
# PyTorch's float32 GELU and tanhshrink lose digits to cancellation where the value is tiny
# next to x (1 + erf(x / sqrt 2) for x << 0, x - tanh(x) near 0); ours round the float64 value
# once, so there the float32 comparison takes an absolute tolerance (and the float64 one shows
# which side is right).
FLOAT32_ATOL = {"gelu": 3e-6, "gelu tanh": 3e-6, "tanhshrink": 3e-6}


def _torch_fn(name):
    torch = pytest.importorskip("torch")
    fn, kwargs = CASES[name][1]
    return lambda t: getattr(torch.nn.functional, fn)(t, **kwargs)


def _values(dtype):
    x = np.concatenate([KINKS, np.random.default_rng(5).standard_normal(400) * 4])
    return x.astype(dtype)


def _both(name, x, g):
    """(microdl value, grad) and (torch value, grad) of the case at x, with output grad g."""
    torch = pytest.importorskip("torch")
    t = microdl.tensor(x, requires_grad=True)
    y = CASES[name][0](t)
    y.backward(microdl.tensor(g))
    tt = torch.tensor(x, requires_grad=True)
    ty = _torch_fn(name)(tt)
    ty.backward(torch.tensor(g))
    return (y.detach(), t.grad.numpy()), (ty.detach(), tt.grad.numpy())


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_dtypes_and_gradients_match_torch(name, dtype, kernel_set):
    x = _values(dtype)
    g = np.random.default_rng(6).standard_normal(x.size).astype(dtype)
    (y, grad), (ty, tgrad) = _both(name, x, g)
    assert y.dtype == dtype and str(ty.dtype) == f"torch.{np.dtype(dtype).name}"
    if dtype == np.float64:
        tol = dict(rtol=1e-10, atol=1e-14)
    else:
        tol = dict(rtol=1e-6, atol=FLOAT32_ATOL.get(name, 1e-7))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **tol)
    np.testing.assert_allclose(grad, tgrad, **tol)


@pytest.mark.parametrize("name", sorted(FLOAT32_ATOL))
def test_float32_is_the_float64_value_rounded(name):
    """Where the float32 comparison with PyTorch needs an absolute tolerance, ours is within
    1e-6 relative of PyTorch's float64 result: the difference is PyTorch's float32 rounding."""
    x = _values(np.float32)
    g = np.ones_like(x)
    (y, grad), _ = _both(name, x, g)
    _, (ty64, tgrad64) = _both(name, x.astype(np.float64), g.astype(np.float64))
    np.testing.assert_allclose(y.numpy(), ty64.detach().numpy(), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(grad, tgrad64, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_at_the_kinks_take_torchs_side(name):
    kinks = np.array(CASES[name][2] + [0.0], np.float64)
    (_, grad), (_, tgrad) = _both(name, kinks, np.ones_like(kinks))
    np.testing.assert_array_equal(grad, tgrad)


def test_infinities_match_torch():
    """+-inf through every formula (exp overflow, inf * 0); NaN in, NaN out."""
    torch = pytest.importorskip("torch")
    x = np.array([np.inf, -np.inf, np.nan, -1000.0, 1000.0])
    for name, (fn, _, _) in CASES.items():
        y = fn(microdl.tensor(x)).numpy()
        np.testing.assert_array_equal(y, _torch_fn(name)(torch.tensor(x)).numpy(), err_msg=name)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_off_the_kinks(name, kernel_set):
    x = np.random.default_rng(8).uniform(-5, 5, 40)
    kinks = np.array(CASES[name][2])
    if kinks.size:
        x = x[np.min(np.abs(x[:, None] - kinks[None, :]), axis=1) > 0.05]
    assert microdl.gradcheck(CASES[name][0], [microdl.tensor(x, requires_grad=True)])


# ---- kernels: numba and cuda against numpy_ref ------------------------------------------------
PARAMETERS = {"elu": (0.7, 0.0), "celu": (1.3, 1 / 1.3), "softplus": (2.0, 3.0),
              "hardtanh": (-0.5, 2.0), "softshrink": (0.7, 0.0), "hardshrink": (0.7, 0.0)}
POINTWISE_OPS = kernel_module("numpy", "activation").POINTWISE_OPS


def _run_kernel(kernel_set, name, args):
    """Call ``activation.name`` of the set on copies of args; the arrays afterwards, on host."""
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    if kernel_set != "cuda":
        getattr(kernel_module(kernel_set, "activation"), name)(*copies)
        return copies
    from numba import cuda

    on_device = [cuda.to_device(c) if isinstance(c, np.ndarray) else c for c in copies]
    getattr(kernel_module("cuda", "activation"), name)(*on_device)
    return [d.copy_to_host() if isinstance(c, np.ndarray) else d
            for c, d in zip(copies, on_device)]


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def compiled_set(request):
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return request.param


# (set, size): a tiny size everywhere, one past the parallel threshold on numba only (the
# simulator runs a Python thread per CUDA thread)
SET_SIZES = [("numba", 23), ("numba", PARALLEL_MIN_ELEMENTS + 5),
             pytest.param("cuda", 23, marks=pytest.mark.cuda)]


@pytest.mark.parametrize("op", POINTWISE_OPS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel_set, size", SET_SIZES)
def test_pointwise_kernels_match_the_reference(op, dtype, kernel_set, size, request):
    if kernel_set == "cuda":
        request.getfixturevalue("shrunk_cuda")
    rng = np.random.default_rng(9)
    x = (rng.standard_normal(size) * 4).astype(dtype)
    x[:6] = [0.0, np.nan, np.inf, -np.inf, 3.0, -0.7]
    g = rng.standard_normal(size).astype(dtype)
    a, b = PARAMETERS.get(op, (0.0, 0.0))
    tol = dict(rtol=1e-6, atol=1e-12) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for name, args in (("pointwise_forward", [x, np.full_like(x, np.nan), op, a, b]),
                       ("pointwise_backward", [x, g, np.full_like(x, np.nan), op, a, b])):
        expected = _run_kernel("numpy", name, args)
        got = _run_kernel(kernel_set, name, args)
        assert got[-4].dtype == dtype
        np.testing.assert_allclose(got[-4], expected[-4], err_msg=f"{name} {op}", **tol)


def test_hardtanh_kernel_clamps_integers(compiled_set):
    x = np.array([-7, -2, 0, 3, 9], np.int64)
    for kernel_set in ("numpy", compiled_set):
        _, out, *_ = _run_kernel(kernel_set, "pointwise_forward",
                                 [x, np.zeros_like(x), "hardtanh", -1.0, 2.0])
        np.testing.assert_array_equal(out, [-1, -1, 0, 2, 2])


def test_ops_on_cuda_match_the_cpu(shrunk_cuda):
    x = np.random.default_rng(10).standard_normal((3, 5)) * 3
    for name, (fn, _, _) in CASES.items():
        results = []
        for device in ("cpu", "cuda"):
            t = microdl.tensor(x, requires_grad=True, device=device)
            y = fn(t)
            y.sum().backward()
            results.append((y.detach().numpy(), t.grad.numpy()))
        np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12, err_msg=name)


# ---- integer input, bad arguments --------------------------------------------------------------
NO_INTEGERS = {"gelu": "GeluKernelImpl", "silu": "silu_cpu", "elu": "elu_cpu",
               "selu": "elu_cpu", "celu": "elu_cpu", "softplus": "softplus_cpu",
               "logsigmoid": "log_sigmoid_cpu", "hardswish": "hardswish_cpu",
               "hardsigmoid": "hardsigmoid_cpu", "mish": "mish_cpu",
               "softshrink": "softshrink_check", "hardshrink": "hardshrink_cpu"}


@pytest.mark.parametrize("name", sorted(NO_INTEGERS))
@pytest.mark.parametrize("dtype, torch_name", [(np.int64, "Long"), (np.int32, "Int"),
                                               (np.bool_, "Bool"), (np.uint8, "Byte")])
def test_integer_input_raises_as_torch(name, dtype, torch_name):
    torch = pytest.importorskip("torch")
    x = np.array([1, 0, 1], dtype)
    message = f"\"{NO_INTEGERS[name]}\" not implemented for '{torch_name}'"
    with pytest.raises(NotImplementedError, match=message):
        _torch_fn(name)(torch.tensor(x))
    with pytest.raises(NotImplementedError, match=message):
        CASES[name][0](microdl.tensor(x))


def test_integer_input_where_torch_takes_it():
    torch = pytest.importorskip("torch")
    x = np.array([-7, -2, 0, 3, 9])
    for fn, torch_fn in [(F.relu6, torch.nn.functional.relu6),
                         (lambda t: F.hardtanh(t, -1.5, 2.5),
                          lambda t: torch.nn.functional.hardtanh(t, -1.5, 2.5)),
                         (F.softsign, torch.nn.functional.softsign),
                         (F.tanhshrink, torch.nn.functional.tanhshrink)]:
        for dtype in (np.int64, np.int32):
            y, ty = fn(microdl.tensor(x.astype(dtype))), torch_fn(torch.tensor(x.astype(dtype)))
            assert str(ty.dtype) == f"torch.{y.dtype}"
            np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-6)
    errors = [(lambda: F.relu6(microdl.tensor([True])), RuntimeError,
               "Bool inputs not supported for hardtanh"),
              (lambda: F.hardtanh(microdl.tensor(np.array([1], np.uint8))), RuntimeError,
               "cannot do hardtanh on an unsigned type with negative limits"),
              (lambda: F.softsign(microdl.tensor([True])), NotImplementedError,
               "\"abs_cpu\" not implemented for 'Bool'"),
              (lambda: F.tanhshrink(microdl.tensor([True])), RuntimeError,
               "Subtraction, the `-` operator, with a bool tensor is not supported")]
    for call, error, message in errors:
        with pytest.raises(error, match=message):
            call()


def test_bad_arguments_raise_as_torch():
    x = microdl.tensor([1.0, -2.0])
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        F.gelu(x, approximate="exact")
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        nn.GELU("exact")(x)
    with pytest.raises(RuntimeError, match="ZeroDivisionError: alpha cannot be 0 for CELU"):
        F.celu(x, alpha=0.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(AssertionError, match=r"max_val \(1.0\) must be greater than min_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 3.40282e\+38\] for "
                                           r"input dtype Float, but found -1"):
        F.softshrink(x.float(), -1.0)
    with pytest.raises(RuntimeError, match=r"\[0, 1.79769e\+308\] for input dtype Double, "
                                           r"but found -0.5"):
        F.softshrink(x.double(), -0.5)


# ---- modules -------------------------------------------------------------------------------------
def _module_pairs(torch_nn):
    """(microdl module, torch module) built with the same arguments."""
    specs = [("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("SiLU", (True,)), ("ELU", ()),
             ("ELU", (0.5, True)), ("SELU", (True,)), ("CELU", (2.0,)), ("CELU", (0.5, True)),
             ("Softplus", ()), ("Softplus", (2, 10)), ("LogSigmoid", ()), ("Hardswish", (True,)),
             ("Hardsigmoid", ()), ("ReLU6", ()), ("ReLU6", (True,)), ("Hardtanh", ()),
             ("Hardtanh", (-2, 3, True)), ("Mish", (True,)), ("Softsign", ()),
             ("Tanhshrink", ()), ("Softshrink", ()), ("Softshrink", (1,)), ("Hardshrink", (0.3,)),
             ("ReLU", ()), ("ReLU", (True,)), ("LeakyReLU", ()), ("LeakyReLU", (0.2, True)),
             ("Softmax", ()), ("Softmax", (1,)), ("LogSoftmax", ()), ("Sigmoid", ()),
             ("Tanh", ())]
    return [(getattr(nn, n)(*args), getattr(torch_nn, n)(*args)) for n, args in specs]


def test_modules_repr_attributes_and_values_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(11).standard_normal((4, 3)) * 3
    for ours, theirs in _module_pairs(torch.nn):
        assert repr(ours) == repr(theirs)
        for attribute in ("inplace", "alpha", "beta", "threshold", "min_val", "max_val",
                          "lambd", "approximate", "negative_slope", "dim"):
            if hasattr(theirs, attribute):
                assert getattr(ours, attribute) == getattr(theirs, attribute), attribute
        if getattr(theirs, "dim", 0) is None:
            continue  # the implicit-dim softmax: test_softmax_without_dim
        np.testing.assert_allclose(ours(microdl.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-15,
                                   err_msg=repr(ours))


def test_inplace_writes_into_the_input_as_torch():
    """inplace=True writes the result into the input and returns it, as in PyTorch; a leaf that
    requires grad is refused, and on the tape the gradient is that of the activation."""
    torch = pytest.importorskip("torch")
    for name, args in (("ReLU", ()), ("ELU", ()), ("Hardtanh", ()), ("SiLU", ()),
                       ("LeakyReLU", (0.5,)), ("ReLU6", ()), ("Hardswish", ())):
        x, xt = microdl.tensor([-1.0, 2.0]), torch.tensor([-1.0, 2.0])
        y = getattr(nn, name)(*args, inplace=True)(x)
        yt = getattr(torch.nn, name)(*args, inplace=True)(xt)
        assert y is x
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-6)
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6)
    leaf = microdl.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        F.relu(leaf, inplace=True)
    hidden = leaf * 3
    F.relu(hidden, inplace=True).sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), [0.0, 3.0])


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_without_dim(name, ndim):
    """dim=None: PyTorch's implicit dimension (0 for 1- and 3-D input, else 1) and its
    deprecation warning, pointing at the caller; the module too."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(12).standard_normal((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been "
                                         "deprecated") as record:
        y = getattr(F, name)(microdl.tensor(x))
        module = nn.Softmax() if name == "softmax" else nn.LogSoftmax()
        y_module = module(microdl.tensor(x))
    assert all(w.filename == __file__ for w in record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(torch.nn.functional, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(y_module.numpy(), expected, rtol=1e-12)


def test_softmax_dtype_argument():
    x = microdl.tensor(np.array([[1.0, 2.0, 3.0]], np.float32))
    y = F.softmax(x, dim=1, dtype=np.float64)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.numpy().sum(), 1.0, rtol=1e-15)
