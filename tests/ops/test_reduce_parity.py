"""Reductions against PyTorch (values, dtypes, shapes, gradients), finite-difference gradchecks
in float64, the new ``reduce`` kernels of every set against the numpy reference, and the ops on
the CUDA simulator against the CPU."""

import pathlib
import sys

import numpy as np
import pytest

import microdl
from microdl.ops.reduce import max_result

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "kernels"))  # the kernel harness
from kernel_harness import KernelSet  # noqa: E402

torch = pytest.importorskip("torch")


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def twin(request):
    """tests/kernels/conftest.py's twin: each kernel set that must match the numpy reference."""
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return KernelSet(request.param)

SHAPE = (3, 4, 5)

# name -> expression, run as f(microdl tensor) and f(torch tensor) on the same float64 input
CASES = {
    "max": lambda a: a.max(),
    "min": lambda a: a.min(),
    "max dim": lambda a: a.max(1)[0],
    "max dim keepdim": lambda a: a.max(-1, keepdim=True).values,
    "min dim": lambda a: a.min(dim=0).values,
    "amax tuple": lambda a: a.amax((0, 2)),
    "amin keepdim": lambda a: a.amin(1, keepdim=True),
    "var": lambda a: a.var(),
    "var dim keepdim": lambda a: a.var(1, keepdim=True),
    "var correction 0": lambda a: a.var((0, 2), correction=0),
    "var unbiased False": lambda a: a.var(2, False),
    "std": lambda a: a.std(),
    "std dim": lambda a: a.std(2, unbiased=False),
    "std correction 2": lambda a: a.std((0, 1), correction=2, keepdim=True),
    "prod": lambda a: a.prod(),
    "prod dim": lambda a: a.prod(1, keepdim=True),
    "cumsum": lambda a: a.cumsum(1),
    "cumsum last": lambda a: a.cumsum(-1),
    "logsumexp": lambda a: a.logsumexp(1),
    "logsumexp tuple": lambda a: a.logsumexp((0, 2), keepdim=True),
    "sum": lambda a: a.sum((0, 1)),
    "mean": lambda a: a.mean(-1, keepdim=True),
}
INDEXES = {
    "argmax": lambda a: a.argmax(),
    "argmax dim": lambda a: a.argmax(1),
    "argmin dim keepdim": lambda a: a.argmin(2, keepdim=True),
    "argmax keepdim no dim": lambda a: a.argmax(keepdim=True),
    "max dim indices": lambda a: a.max(1).indices,
    "min dim indices": lambda a: a.min(-1, keepdim=True)[1],
}


def _input(seed=0, shape=SHAPE):
    return np.random.default_rng(seed).uniform(0.5, 1.5, shape) * \
        np.random.default_rng(seed + 1).choice([-1, 1], shape)


def _against_torch(expression, x):
    a = microdl.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    got, want = expression(a), expression(t)
    assert got.shape == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    if want.requires_grad:
        w = np.random.default_rng(9).standard_normal(tuple(want.shape))
        (got * microdl.tensor(w)).sum().backward()
        (want * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    _against_torch(CASES[name], _input())


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_indices_match_torch(name):
    x = _input()
    got, want = INDEXES[name](microdl.tensor(x)), INDEXES[name](torch.tensor(x))
    assert got.dtype == np.int64 and got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("name", sorted(set(CASES) - {"max", "min"}))
def test_gradcheck(name):
    assert microdl.gradcheck(CASES[name], [microdl.tensor(_input(3), requires_grad=True)])


def test_prod_gradient_with_zeros_matches_torch():
    x = np.array([[1.5, 0.0, 3.0, 2.0], [0.0, 0.0, 2.0, 1.0], [2.0, -1.0, 0.5, 3.0]])
    _against_torch(lambda a: a.prod(1), x)
    _against_torch(lambda a: a.prod(), x[2:])
    _against_torch(lambda a: a.prod(), x[:1])
    assert microdl.gradcheck(lambda a: a.prod(1), [microdl.tensor(x, requires_grad=True)])


def test_max_dim_is_a_named_tuple_whose_gradient_goes_to_one_index():
    x = [[3.0, 3.0, 1.0], [0.0, 2.0, 2.0]]
    a = microdl.tensor(x, requires_grad=True)
    result = a.max(1)
    assert isinstance(result, max_result)
    values, indices = result
    assert values is result.values and indices is result[1]
    np.testing.assert_array_equal(indices.numpy(), [0, 1])
    values.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[1, 0, 0], [0, 1, 0]])
    a.grad = None
    a.max().backward()  # no dim: the gradient split among the ties, as torch
    np.testing.assert_array_equal(a.grad.numpy(), [[0.5, 0.5, 0], [0, 0, 0]])
    a.grad = None
    a.amax(1).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[0.5, 0.5, 0], [0, 0.5, 0.5]])


def test_max_with_nan_picks_the_nan_as_torch():
    x = np.array([[1.0, np.nan, 3.0], [2.0, 1.0, 0.0]])
    for name in ("max", "min"):
        got = getattr(microdl.tensor(x), name)(1)
        want = getattr(torch.tensor(x), name)(1)
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


def test_axis_and_keepdims_are_aliases_of_dim_and_keepdim_as_in_torch():
    x = _input()
    a, t = microdl.tensor(x), torch.tensor(x)
    ours, theirs = a.max(axis=1, keepdims=True), t.max(axis=1, keepdims=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert a.min(axis=1, keepdims=True).values.shape == (3, 1, 5)
    with pytest.raises(TypeError, match="must be int, not tuple"):
        a.max(axis=(0, 2))
    np.testing.assert_array_equal(a.amax((0, 2)).numpy(), x.max(axis=(0, 2)))


def test_functions_spell_the_methods():
    x = _input()
    a, t = microdl.tensor(x), torch.tensor(x)
    np.testing.assert_array_equal(microdl.max(a, 1).indices.numpy(), torch.max(t, 1).indices)
    np.testing.assert_allclose(microdl.std(a, 0).numpy(), torch.std(t, 0).numpy())
    np.testing.assert_allclose(microdl.logsumexp(a, 2).numpy(), torch.logsumexp(t, 2).numpy())
    np.testing.assert_array_equal(microdl.argmin(a).numpy(), torch.argmin(t).numpy())


def test_0d_inputs_as_torch():
    a, t = microdl.tensor(3.0), torch.tensor(3.0)
    for f in (lambda v: v.max(0).values, lambda v: v.min(-1)[1], lambda v: v.cumsum(0),
              lambda v: v.argmax(0), lambda v: v.prod(), lambda v: v.std(correction=0)):
        got, want = f(a), f(t)
        assert got.shape == () and str(got.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int32, np.int64])
def test_integer_dtypes_as_torch(dtype):
    x = np.array([[1, 0, 1], [1, 1, 1]]).astype(dtype)
    a, t = microdl.tensor(x), torch.tensor(x)
    for f in (lambda v: v.sum(), lambda v: v.sum(1), lambda v: v.prod(0), lambda v: v.cumsum(1),
              lambda v: v.all(), lambda v: v.all(1), lambda v: v.any(0, keepdim=True),
              lambda v: v.max(), lambda v: v.amin(1), lambda v: v.max(1).values):
        got, want = f(a), f(t)
        assert str(got.dtype) == str(want.dtype).replace("torch.", "").replace("uint8", "uint8")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_all_any_of_floats():
    x = np.array([[1.5, 0.0], [np.nan, 2.0]])
    for f in (lambda v: v.all(1), lambda v: v.any(), lambda v: v.any(0)):
        got, want = f(microdl.tensor(x)), f(torch.tensor(x))
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_var_of_a_large_mean_keeps_its_digits():
    # float64 accumulation (DESIGN): exact where torch's float32 CPU kernel gives 27.43 here
    x = (1e8 + np.arange(8.0)).astype(np.float32)
    exact = x.astype(np.float64).var(ddof=1)
    np.testing.assert_allclose(microdl.tensor(x).var().item(), exact, rtol=1e-7)
    np.testing.assert_allclose(microdl.tensor(x).std(0).item(), np.sqrt(exact), rtol=1e-7)


def test_var_with_no_degrees_of_freedom_as_torch():
    with pytest.warns(UserWarning):
        want = [torch.tensor([1.0]).var().item(), torch.tensor([1.0, 2.0]).var(correction=3)]
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        got = [microdl.tensor([1.0]).var().item(),
               microdl.tensor([1.0, 2.0]).var(correction=3).item()]
    assert np.isnan(got[0]) and np.isnan(want[0])
    assert got[1] == float(want[1]) == np.inf


def test_std_gradient_is_zero_where_std_is_zero():
    a = microdl.tensor([2.0, 2.0], requires_grad=True)
    a.std().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])


ERRORS = [
    (lambda m: m.tensor([1, 2]).mean(), RuntimeError,
     "mean(): could not infer output dtype. Input dtype must be either a floating point or "
     "complex dtype. Got: Long"),
    (lambda m: m.tensor([True]).mean(), RuntimeError, "Got: Bool"),
    (lambda m: m.tensor([1, 2]).var(), RuntimeError,
     "std and var only support floating point and complex dtypes"),
    (lambda m: m.ones(0, 3).min(), RuntimeError,
     "min(): Expected reduction dim to be specified for input.numel() == 0."),
    (lambda m: m.ones(0, 3).max(0), IndexError,
     "max(): Expected reduction dim 0 to have non-zero size."),
    (lambda m: m.ones(0, 3).amax(0), IndexError,
     "amax(): Expected reduction dim 0 to have non-zero size."),
    (lambda m: m.ones(0, 3).argmax(), IndexError,
     "argmax(): Expected reduction dim to be specified for input.numel() == 0."),
    (lambda m: m.ones(2, 3).std(5), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 5)"),
    (lambda m: m.tensor(3.0).max(1), IndexError,
     "Dimension out of range (expected to be in range of [-1, 0], but got 1)"),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_as_torch(case):
    expression, kind, message = ERRORS[case]
    with pytest.raises(kind) as want:
        expression(torch)
    assert message in str(want.value)
    with pytest.raises(kind) as got:
        expression(microdl)
    assert message in str(got.value)


# ---- kernels: every set against numpy_ref ----------------------------------------------------
def _with_ties_and_nan(rng, shape, dtype):
    x = rng.integers(-3, 4, shape).astype(dtype)
    if dtype != np.int64:
        x.reshape(-1)[1] = np.nan
    return x


def _kernel_rows():
    rows = {}
    for dtype in (np.float32, np.float64, np.int64):
        for shape, axes in (((4, 5, 3), (1,)), ((4, 5, 3), (0, 2)), ((7,), (0,))):
            out_shape = tuple(1 if d in axes else n for d, n in enumerate(shape))
            for kernel in ("min_axes", "prod_axes"):
                out_dtype = np.int64 if kernel == "prod_axes" and dtype == np.int64 else dtype
                rows[f"{kernel} {np.dtype(dtype)} {shape} {axes}"] = (
                    kernel, lambda rng, shape=shape, dtype=dtype, axes=axes, o=out_shape,
                    od=out_dtype: [_with_ties_and_nan(rng, shape, dtype),
                                   np.zeros(o, od), axes])
        for kernel in ("argmax_axis", "argmin_axis"):
            for axis in (0, 1, 2):
                rows[f"{kernel} {np.dtype(dtype)} {axis}"] = (
                    kernel, lambda rng, dtype=dtype, axis=axis: [
                        _with_ties_and_nan(rng, (3, 4, 5), dtype),
                        np.zeros(tuple(n for d, n in enumerate((3, 4, 5)) if d != axis),
                                 np.int64), axis])
        for axis in (0, 1, 2):
            for reverse in (False, True):
                rows[f"cumsum_axis {np.dtype(dtype)} {axis} {reverse}"] = (
                    "cumsum_axis", lambda rng, dtype=dtype, axis=axis, reverse=reverse: [
                        rng.integers(-3, 4, (3, 4, 5)).astype(dtype),
                        np.zeros((3, 4, 5), dtype), axis, reverse])
    for axis in (0, 1, 2):
        def index(rng, axis=axis):
            shape = [3, 4, 5]
            length, shape[axis] = shape[axis], 1
            return rng.integers(0, length, shape)

        rows[f"take_along_axis {axis}"] = ("take_along_axis", lambda rng, axis=axis, index=index: [
            rng.standard_normal((3, 4, 5)), index(rng), np.zeros(
                tuple(1 if d == axis else n for d, n in enumerate((3, 4, 5)))), axis])
        rows[f"put_along_axis {axis}"] = ("put_along_axis", lambda rng, axis=axis, index=index: [
            rng.standard_normal(tuple(1 if d == axis else n for d, n in enumerate((3, 4, 5)))),
            index(rng), rng.standard_normal((3, 4, 5)), axis])
    return rows


KERNEL_ROWS = _kernel_rows()


@pytest.mark.parametrize("row", sorted(KERNEL_ROWS))
def test_kernel_matches_the_reference(row, twin):
    kernel, build = KERNEL_ROWS[row]
    twin.check("reduce", kernel, build(np.random.default_rng(5)), rtol=1e-6, atol=1e-12)


# ---- ops on the CUDA simulator against the CPU -----------------------------------------------
CUDA_CASES = ["max dim", "min dim", "amax tuple", "var dim keepdim", "std dim", "prod dim",
              "cumsum", "logsumexp"]


@pytest.mark.cuda
@pytest.mark.parametrize("name", CUDA_CASES)
def test_op_on_cuda_matches_cpu(name, shrunk_cuda):
    x = _input(4, (2, 3, 4))
    x.reshape(-1)[5] = 0.0  # a zero for prod's backward
    results = []
    for device in ("cpu", "cuda"):
        a = microdl.tensor(x, requires_grad=True, device=device)
        out = CASES[name](a)
        w = np.random.default_rng(2).standard_normal(out.shape)
        (out * microdl.tensor(w, device=device)).sum().backward()
        results.append((out.detach().numpy(), a.grad.numpy()))
    (value, grad), (cuda_value, cuda_grad) = results
    np.testing.assert_allclose(cuda_value, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cuda_grad, grad, rtol=1e-12, atol=1e-12)


@pytest.mark.cuda
def test_indices_and_all_any_on_cuda(shrunk_cuda):
    x = _input(6, (3, 4))
    x[1, 2] = 0.0
    for f in (lambda v: v.max(1).indices, lambda v: v.argmin(0), lambda v: v.argmax(),
              lambda v: v.all(1), lambda v: v.any(0), lambda v: (v * 0).any()):
        want = f(microdl.tensor(x))
        got = f(microdl.tensor(x, device="cuda"))
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), want.numpy())
