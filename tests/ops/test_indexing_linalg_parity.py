"""Indexing, sorting and linear-algebra ops (gather, scatter, sort, topk, einsum, norm, ...)
against PyTorch (values, dtypes, gradients, errors), against finite differences (float64), and
on every kernel set: the new kernels (indexing, linalg families) against the numpy reference,
and the ops on the CUDA simulator against the CPU."""

import math
import pathlib
import sys

import numpy as np
import pytest

import microdl
import microdl.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "kernels"))  # the kernel harness
from kernel_harness import KernelSet  # noqa: E402

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
A23 = RNG.uniform(0.5, 2.0, (2, 3)) * RNG.choice([-1, 1], (2, 3))
A34 = RNG.uniform(0.5, 2.0, (3, 4))
A234 = RNG.standard_normal((2, 3, 4))
V3, W4 = RNG.standard_normal(3), RNG.standard_normal(4)
SQ = RNG.standard_normal((3, 3))
IDX = np.array([[0, 2, 2], [1, 0, 1]])  # repeats: gradients add up
ZEROS = np.array([[2.0, 0.0, 3.0, 0.0], [1.5, -2.0, 0.0, 4.0]])  # cumprod through zeros


_ON = {"device": "cpu"}  # where _run puts microdl's inputs; index tensors go there too


def _index(lib, values):
    return lib.tensor(values) if lib is torch else lib.tensor(values, device=_ON["device"])


# name -> (inputs, expression over (lib, *tensors)); every input is float64 and differentiable
CASES = {
    "gather": ([A23], lambda L, x: x.gather(1, _index(L, IDX[:, :2]))),
    "gather smaller index": ([A234], lambda L, x: x.gather(2, _index(L, [[[3, 0]]]))),
    "scatter src": ([A23, A23[:1, :2] * 2], lambda L, x, s: x.scatter(1, _index(L, [[2, 0]]), s)),
    "scatter value": ([A23], lambda L, x: x.scatter(0, _index(L, [[1, 0, 1]]), 2.5)),
    "scatter_add repeats": ([A23, A23 * 0.5], lambda L, x, s: x.scatter_add(1, _index(L, IDX), s)),
    "index_select": ([A234], lambda L, x: x.index_select(1, _index(L, [2, 0, 2]))),
    "index_add": ([A23, A23[:, :2]], lambda L, x, s: x.index_add(1, _index(L, [2, 2]), s,
                                                                    alpha=3.0)),
    "masked_select": ([A23], lambda L, x: x.masked_select(_index(L, [True, False, True]))),
    "take": ([A23], lambda L, x: L.take(x, _index(L, [[5, -1], [0, 0]]))),
    "sort": ([A234], lambda L, x: x.sort(1)),
    "sort descending": ([A234], lambda L, x: x.sort(dim=-1, descending=True)),
    "topk": ([A234], lambda L, x: x.topk(2, dim=2)),
    "topk smallest": ([A234], lambda L, x: x.topk(2, dim=1, largest=False)),
    "kthvalue": ([A234], lambda L, x: x.kthvalue(2, 1, keepdim=True)),
    "median dim": ([A234], lambda L, x: x.median(2)),
    "median all": ([A234], lambda L, x: x.median()),
    "mm": ([A23, A34], lambda L, a, b: a.mm(b)),
    "bmm": ([A234, RNG.standard_normal((2, 4, 2))], lambda L, a, b: L.bmm(a, b)),
    "mv": ([A34, W4], lambda L, a, v: L.mv(a, v)),
    "dot": ([V3, V3[::-1].copy()], lambda L, a, b: L.dot(a, b)),
    "outer": ([V3, W4], lambda L, a, b: L.outer(a, b)),
    "einsum matmul": ([A23, A34], lambda L, a, b: L.einsum("ij,jk->ik", a, b)),
    "einsum implicit": ([A23, A34], lambda L, a, b: L.einsum("ij,jk", a, b)),
    "einsum trace": ([SQ], lambda L, a: L.einsum("ii", a)),
    "einsum diagonal": ([SQ], lambda L, a: L.einsum("ii->i", a)),
    "einsum summed label": ([A234], lambda L, a: L.einsum("bij->j", a)),
    "einsum ellipsis broadcast": ([A234[:1], RNG.standard_normal((2, 4, 2))],
                                  lambda L, a, b: L.einsum("...ij,...jk->...ik", a, b)),
    "einsum three": ([A23, A34, W4], lambda L, a, b, c: L.einsum("ij,jk,k->i", [a, b, c])),
    "einsum outer batch": ([A234, V3], lambda L, a, v: L.einsum("bjk,j->bkj", a, v)),
    "diag vector": ([V3], lambda L, v: L.diag(v, -1)),
    "diag matrix": ([A34], lambda L, a: L.diag(a, 1)),
    "diagonal": ([A234], lambda L, a: a.diagonal(offset=-1, dim1=2, dim2=1)),
    "tril triu": ([A234], lambda L, a: a.tril(1) * 2 + a.triu(-1)),
    "trace": ([SQ], lambda L, a: L.trace(a)),
    "cumprod": ([A234], lambda L, a: a.cumprod(1)),
    "cumprod zeros": ([ZEROS], lambda L, a: L.cumprod(a, dim=1)),
    "norm fro": ([A234], lambda L, a: a.norm()),
    "norm p dim": ([A234], lambda L, a: L.norm(a, p=3, dim=(0, 2), keepdim=True)),
    "vector_norm inf": ([A23], lambda L, a: L.linalg.vector_norm(a, float("inf"), dim=1)),
    "vector_norm -inf": ([A23], lambda L, a: L.linalg.vector_norm(a, -math.inf)),
    "vector_norm 1": ([A23], lambda L, a: L.linalg.vector_norm(a, 1, dim=0)),
    "vector_norm 0.5": ([A23], lambda L, a: L.linalg.vector_norm(a, 0.5, dim=-1)),
    "linalg.norm": ([A23], lambda L, a: L.linalg.norm(a)),
    "linalg.norm ord inf": ([A23], lambda L, a: L.linalg.norm(a, ord=math.inf)),
    "linalg.norm ord -1": ([A23], lambda L, a: L.linalg.norm(a, ord=-1)),
    "matrix_norm fro": ([A234], lambda L, a: L.linalg.matrix_norm(a)),
    "normalize": ([A23], lambda L, a: (L.nn.functional.normalize(a, dim=1) if L is torch
                                       else F.normalize(a, dim=1))),
    "normalize p1 dim0": ([A23], lambda L, a: (L.nn.functional.normalize(a, p=1, dim=0)
                                               if L is torch else F.normalize(a, p=1, dim=0))),
    "cdist": ([A23, A34.T.copy()[:2, :3]], lambda L, a, b: L.cdist(a, b)),
}


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def _run(lib, name, device="cpu"):
    arrays, expression = CASES[name]
    if lib is torch:
        tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    else:
        _ON["device"] = device
        tensors = [microdl.tensor(a, requires_grad=True, device=device) for a in arrays]
    try:
        outputs = _outputs(expression(lib, *tensors))
    finally:
        _ON["device"] = "cpu"
    first = outputs[0]
    g = np.random.default_rng(9).standard_normal(tuple(first.shape))
    first.backward(lib.tensor(g) if lib is torch else microdl.tensor(g, device=device))
    values = [o.detach().numpy() for o in outputs]
    grads = [None if t.grad is None else t.grad.numpy() for t in tensors]
    return values, [o.dtype for o in outputs], grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_dtypes_and_gradients_match_torch(name):
    values, dtypes, grads = _run(microdl, name)
    want_values, want_dtypes, want_grads = _run(torch, name)
    for got, want in zip(values, want_values):
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    assert [str(d) for d in dtypes] == [str(d).replace("torch.", "") for d in want_dtypes]
    for i, (got, want) in enumerate(zip(grads, want_grads)):
        assert (got is None) == (want is None), f"input {i}"
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"input {i}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradients_match_finite_differences(name):
    arrays, expression = CASES[name]
    tensors = [microdl.tensor(a, requires_grad=True) for a in arrays]
    assert microdl.gradcheck(lambda *ts: _outputs(expression(microdl, *ts))[0], tensors)


# ---- on the CUDA simulator: the same ops, the same numbers -------------------------------------
CUDA_CASES = ["gather", "scatter_add repeats", "scatter src", "index_select", "take", "sort",
              "topk", "median dim", "einsum matmul", "einsum three", "einsum diagonal",
              "einsum summed label", "diag vector", "tril triu", "cumprod zeros", "norm p dim",
              "vector_norm inf", "normalize", "cdist"]


@pytest.mark.cuda
@pytest.mark.parametrize("name", CUDA_CASES)
def test_cuda_matches_the_cpu(name, shrunk_cuda):
    values, _, grads = _run(microdl, name, device="cuda")
    want_values, _, want_grads = _run(microdl, name)
    for got, want in zip(values, want_values):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for got, want in zip(grads, want_grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---- the new kernels against the reference ----------------------------------------------------
def _kernel_cases():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5))
    index = rng.integers(0, 4, (2, 4, 3))  # smaller than x off axis 1; repeats
    values = rng.standard_normal(index.shape)
    target = rng.standard_normal((3, 4, 5))
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    sq = rng.standard_normal((3, 3, 2))
    z = np.where(rng.random((3, 5)) < 0.3, 0.0, rng.standard_normal((3, 5)))
    return {
        "gather": ("indexing", "gather_along_axis", [x, index, np.empty(index.shape), 1]),
        "scatter": ("indexing", "scatter_along_axis", [values, index, target, 1, False]),
        "scatter add": ("indexing", "scatter_along_axis", [values, index, target, 1, True]),
        "einsum pair": ("linalg", "einsum", [(a, b), np.empty((2, 4)), "ij,jk->ik"]),
        "einsum three": ("linalg", "einsum", [(a, b, c), np.empty(2), "ij,jk,k->i"]),
        "einsum one": ("linalg", "einsum", [(sq,), np.empty((2, 3)), "iij->ji"]),
        "einsum outer": ("linalg", "einsum", [(a, c), np.empty((4, 2, 3)), "ij,k->kij"]),
        "cumprod": ("linalg", "cumprod_axis", [z, np.empty(z.shape), 1]),
        "cumprod int": ("linalg", "cumprod_axis", [np.arange(1, 7).reshape(2, 3),
                                                   np.empty((2, 3), np.int64), 0]),
        "cumprod backward": ("linalg", "cumprod_backward",
                             [z, rng.standard_normal(z.shape), np.empty(z.shape), 1]),
        "cumprod backward axis 0": ("linalg", "cumprod_backward",
                                    [z, rng.standard_normal(z.shape), np.empty(z.shape), 0]),
    }


KERNEL_CASES = _kernel_cases()


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def kernel_set(request):
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return KernelSet(request.param)


@pytest.mark.parametrize("case", sorted(KERNEL_CASES))
def test_kernels_match_the_reference(case, kernel_set):
    family, name, args = KERNEL_CASES[case]
    if kernel_set.name == "cuda" and isinstance(args[0], tuple):  # operand tuples: copy in
        from microdl.kernels.cuda.memory import to_here

        expected = np.empty_like(args[1])
        getattr(microdl.backend.kernel_module("numpy", family), name)(*args[:1], expected,
                                                                       *args[2:])
        out = to_here(np.empty_like(args[1]))
        getattr(microdl.backend.kernel_module("cuda", family), name)(
            tuple(to_here(a) for a in args[0]), out, *args[2:])
        np.testing.assert_allclose(out.copy_to_host(), expected, rtol=1e-12, atol=1e-12)
        return
    if isinstance(args[0], tuple):
        expected = np.empty_like(args[1])
        got = np.empty_like(args[1])
        getattr(microdl.backend.kernel_module("numpy", family), name)(args[0], expected,
                                                                       *args[2:])
        getattr(microdl.backend.kernel_module(kernel_set.name, family), name)(args[0], got,
                                                                               *args[2:])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        return
    kernel_set.check(family, name, args, rtol=1e-12, atol=1e-12)


def test_scatter_kernel_keeps_the_last_of_repeated_positions():
    from microdl.backend import kernel_module

    out = np.zeros(3)
    kernel_module("numpy", "indexing").scatter_along_axis(np.array([1.0, 2.0, 3.0]),
                                                          np.array([1, 1, 1]), out, 0, False)
    np.testing.assert_array_equal(out, [0, 3, 0])


def test_cumprod_backward_reference_is_the_product_of_the_others():
    """dx_k = sum_(i >= k) g_i prod_(j <= i, j != k) x_j, written out by brute force."""
    from microdl.backend import kernel_module

    x, g = np.array([2.0, 0.0, 3.0, 0.0, 5.0]), np.array([1.0, -1.0, 2.0, 0.5, 3.0])
    want = [sum(g[i] * np.prod([x[j] for j in range(i + 1) if j != k]) for i in range(k, 5))
            for k in range(5)]
    dx = np.empty(5)
    kernel_module("numpy", "linalg").cumprod_backward(x, g, dx, 0)
    np.testing.assert_allclose(dx, want)


# ---- sorting: NaN, ties, dtypes -------------------------------------------------------------
SORT_INPUTS = {
    "nan inf ties": [3.0, np.nan, 1.0, 3.0, np.inf, -np.inf, 1.0, np.nan, -0.0, 0.0],
    "int ties": [3, 1, 3, 1, 2, 2, -5],
    "bool": [True, False, True, False],
}


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("case", sorted(SORT_INPUTS))
def test_stable_sort_matches_torch_with_nan_and_ties(case, descending):
    data = SORT_INPUTS[case]
    got = microdl.tensor(data).sort(descending=descending, stable=True)
    want = torch.tensor(data).sort(descending=descending, stable=True)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got.indices.dtype == np.int64 and got.values.dtype == microdl.tensor(data).dtype
    np.testing.assert_array_equal(
        microdl.argsort(microdl.tensor(data), descending=descending, stable=True).numpy(),
        torch.argsort(torch.tensor(data), descending=descending, stable=True).numpy())


def test_topk_median_mode_kthvalue_with_nan_and_ties_match_torch():
    data = [3.0, np.nan, 1.0, 3.0, np.inf, -np.inf, 5.0]
    got, want = microdl.tensor(data), torch.tensor(data)
    for a, b in [(got.topk(3), want.topk(3)), (got.median(0), want.median(0)),
                 (got.kthvalue(2), want.kthvalue(2))]:
        np.testing.assert_array_equal(a.values.numpy(), b.values.numpy())
        np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())
    assert np.isnan(got.median().item()) and np.isnan(want.median().item())
    for values in ([1.0, 2, 2, 3, 3], [3, 1, 3, 2, 1], [[2.0, 1, 2, 1], [0, 0, 5, 5]]):
        a, b = microdl.tensor(values).mode(), torch.tensor(values).mode()
        np.testing.assert_array_equal(a.values.numpy(), b.values.numpy())
        np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())
        assert type(a).__name__ == "mode"


@pytest.mark.parametrize("kwargs", [{}, dict(return_inverse=True), dict(return_counts=True),
                                    dict(return_inverse=True, return_counts=True),
                                    dict(dim=0, return_inverse=True, return_counts=True)])
def test_unique_matches_torch(kwargs):
    data = [[3, 1, 3], [2, 0, 2], [3, 1, 3]]
    got = microdl.unique(microdl.tensor(data), **kwargs)
    want = torch.unique(torch.tensor(data), **kwargs)
    got, want = _outputs(got), _outputs(want)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")


def test_nonzero_and_integer_results_match_torch():
    data = [[0, 2, 0], [1, 0, 3]]
    np.testing.assert_array_equal(microdl.tensor(data).nonzero().numpy(),
                                  torch.tensor(data).nonzero().numpy())
    for a, b in zip(microdl.nonzero(microdl.tensor(data), as_tuple=True),
                    torch.nonzero(torch.tensor(data), as_tuple=True)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    ints = np.arange(1, 7).reshape(2, 3)
    for name, fn in [("cumprod", lambda L, t: L.cumprod(t, 1)), ("trace", lambda L, t:
                     t[:, :2].trace()), ("mm", lambda L, t: t.mm(t.T)),
                     ("einsum", lambda L, t: L.einsum("ij,kj->ik", t, t)),
                     ("gather", lambda L, t: t.gather(0, L.tensor([[1, 0, 1]])))]:
        a, b = fn(microdl, microdl.tensor(ints)), fn(torch, torch.tensor(ints))
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
        assert str(a.dtype) == str(b.dtype).replace("torch.", ""), name


# ---- bad input: PyTorch's exception and message ----------------------------------------------
ERRORS = {
    "gather out of range": lambda L: L.ones(2, 3).gather(1, L.tensor([[0, 3]])),
    "gather float index": lambda L: L.ones(2, 3).gather(1, L.tensor([[0.0, 1.0]])),
    "gather rank": lambda L: L.ones(2, 3).gather(1, L.tensor([0, 1])),
    "gather larger index": lambda L: L.ones(2, 3).gather(1, L.tensor([[0], [0], [0]])),
    "scatter dtype": lambda L: L.ones(2, 3).scatter(1, L.tensor([[0]]), L.tensor([[1]])),
    "index_select matrix": lambda L: L.ones(2, 3).index_select(1, L.tensor([[0]])),
    "index_select bounds": lambda L: L.ones(2, 3).index_select(1, L.tensor([3])),
    "index_add count": lambda L: L.ones(2, 3).index_add(1, L.tensor([0, 0]), L.ones(2, 3)),
    "masked_select mask": lambda L: L.ones(3).masked_select(L.tensor([1, 0, 1])),
    "take int32": lambda L: L.take(L.ones(3), L.tensor([0], dtype=L.int32)),
    "take bounds": lambda L: L.take(L.ones(2, 3), L.tensor([6])),
    "topk k": lambda L: L.ones(3).topk(4),
    "kthvalue k": lambda L: L.ones(2, 3).kthvalue(4, 1),
    "mm shapes": lambda L: L.mm(L.ones(2, 3), L.ones(2, 3)),
    "mm vector": lambda L: L.mm(L.ones(2, 3), L.ones(3)),
    "mm dtype": lambda L: L.mm(L.ones(2, 3), L.ones(3, 2, dtype=L.float64)),
    "bmm rank": lambda L: L.bmm(L.ones(2, 3), L.ones(2, 3, 2)),
    "bmm shapes": lambda L: L.bmm(L.ones(2, 2, 3), L.ones(3, 3, 2)),
    "mv size": lambda L: L.mv(L.ones(2, 3), L.ones(2)),
    "dot sizes": lambda L: L.dot(L.ones(2), L.ones(3)),
    "dot dtype": lambda L: L.dot(L.ones(2), L.ones(2, dtype=L.float64)),
    "dot rank": lambda L: L.dot(L.ones(2, 1), L.ones(2)),
    "outer rank": lambda L: L.outer(L.ones(2, 2), L.ones(3)),
    "einsum sizes": lambda L: L.einsum("ij,jk", L.ones(2, 3), L.ones(4, 2)),
    "einsum operands": lambda L: L.einsum("ij", L.ones(2, 3), L.ones(4, 2)),
    "einsum repeated sizes": lambda L: L.einsum("ii", L.ones(2, 3)),
    "einsum dtype": lambda L: L.einsum("ij,jk", L.ones(2, 3), L.ones(3, 2, dtype=L.float64)),
    "diag rank": lambda L: L.diag(L.ones(2, 2, 2)),
    "diagonal dims": lambda L: L.ones(2, 3).diagonal(0, 1, 1),
    "tril rank": lambda L: L.ones(2).tril(),
    "trace rank": lambda L: L.trace(L.ones(2)),
    "norm int": lambda L: L.ones(3, dtype=L.int64).norm(),
    "vector_norm int": lambda L: L.linalg.vector_norm(L.ones(3, dtype=L.int64)),
    "matrix_norm vector": lambda L: L.linalg.norm(L.ones(3), ord="fro"),
    "matrix_norm order": lambda L: L.linalg.norm(L.ones(2, 3), ord=3),
    "cdist columns": lambda L: L.cdist(L.ones(2, 3), L.ones(4, 2)),
    "cdist rank": lambda L: L.cdist(L.ones(3), L.ones(3)),
    "multinomial sum": lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
    "multinomial too many": lambda L: L.multinomial(L.tensor([1.0, 1.0]), 3),
    "multinomial negative": lambda L: L.multinomial(L.tensor([1.0, -1.0]), 1),
    "multinomial rank": lambda L: L.multinomial(L.ones(2, 2, 2), 1),
    "bernoulli p": lambda L: L.bernoulli(L.tensor([0.5, 2.0])),
    "bernoulli int": lambda L: L.bernoulli(L.tensor([1, 0])),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    with pytest.raises(Exception) as want:
        ERRORS[name](torch)
    with pytest.raises(type(want.value)) as got:
        ERRORS[name](microdl)
    assert str(got.value).splitlines()[0] == str(want.value).splitlines()[0].split(
        "  (Could this")[0].strip() or str(got.value) in str(want.value)


# ---- random draws ------------------------------------------------------------------------------
def test_multinomial_draws_repeat_with_the_seed_and_follow_the_probabilities():
    probs = microdl.tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]])
    microdl.manual_seed(4)
    first = microdl.multinomial(probs, 4000, replacement=True)
    microdl.manual_seed(4)
    np.testing.assert_array_equal(first.numpy(), probs.multinomial(4000, True).numpy())
    assert first.dtype == np.int64 and first.shape == (2, 4000)
    counts = np.bincount(first.numpy()[0], minlength=3) / 4000
    np.testing.assert_allclose(counts, [0, 0.25, 0.75], atol=0.03)
    assert (first.numpy()[1] == 0).all()
    once = microdl.multinomial(probs, 3).numpy()  # without replacement: each category once
    assert sorted(once[0]) == [0, 1, 2] and once[0][2] == 0 and once[1][0] == 0


def test_bernoulli_draws_in_the_input_dtype():
    microdl.manual_seed(1)
    p = microdl.tensor(np.linspace(0, 1, 5), dtype=microdl.float64)
    drawn = microdl.bernoulli(p)
    assert drawn.dtype == np.float64 and drawn.numpy()[0] == 0 and drawn.numpy()[-1] == 1
    many = microdl.zeros(20000).bernoulli(0.3)
    assert abs(many.numpy().mean() - 0.3) < 0.02 and set(np.unique(many.numpy())) <= {0, 1}


def test_return_types_are_named_as_torch():
    x = microdl.tensor([[3.0, 1.0, 2.0]])
    for name, result in [("sort", x.sort()), ("topk", x.topk(1)), ("kthvalue", x.kthvalue(1)),
                         ("median", x.median(1)), ("mode", x.mode())]:
        assert type(result).__name__ == name and result._fields == ("values", "indices")


def test_in_place_variants_write_into_the_tensor():
    x = microdl.zeros(2, 3)
    x.scatter_(1, microdl.tensor([[2], [0]]), 5.0)
    x.scatter_add_(0, microdl.tensor([[1, 1, 1]]), microdl.ones(1, 3))
    x.index_add_(1, microdl.tensor([0]), microdl.ones(2, 1), alpha=2)
    want = torch.zeros(2, 3)
    want.scatter_(1, torch.tensor([[2], [0]]), 5.0)
    want.scatter_add_(0, torch.tensor([[1, 1, 1]]), torch.ones(1, 3))
    want.index_add_(1, torch.tensor([0]), torch.ones(2, 1), alpha=2)
    np.testing.assert_array_equal(x.numpy(), want.numpy())
    np.testing.assert_array_equal(microdl.ones(3, 3).tril_(-1).numpy(),
                                  torch.ones(3, 3).tril_(-1).numpy())


def test_scatter_reads_src_only_where_the_index_reaches():
    """src larger than the index (PyTorch reads its leading block; PyTorch's own backward
    rejects this case, so finite differences are the reference): its other values get 0."""
    x, src = microdl.tensor(A23, requires_grad=True), microdl.tensor(A34, requires_grad=True)
    index = microdl.tensor([[2, 0]])
    np.testing.assert_array_equal(x.scatter(1, index, src).detach().numpy(),
                                  torch.tensor(A23).scatter(1, torch.tensor([[2, 0]]),
                                                            torch.tensor(A34)).numpy())
    assert microdl.gradcheck(lambda a, s: a.scatter(1, index, s) * 1.5, [x, src])
    x.scatter_add(1, index, src).sum().backward()
    assert np.count_nonzero(src.grad.numpy()) == 2
