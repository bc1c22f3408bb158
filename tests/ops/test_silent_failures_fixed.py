"""Regressions for differences from PyTorch that its OpInfo samples found (docs/conformance.md):
integer linspace/arange, cumprod's dtype, 0-d inputs of the sorting and indexing ops, bad input
that microdl accepted, and errors in other words than PyTorch's. Each case runs the same
expression through torch and microdl and compares what comes out, or what is raised."""

import numpy as np
import pytest

import microdl

torch = pytest.importorskip("torch")


def outcome(fn, lib):
    """What ``fn(lib)`` gives: ("raised", type name, first line) or ("value", arrays...)."""
    try:
        result = fn(lib)
    except Exception as error:  # noqa: BLE001 (the exception is the outcome compared)
        # PyTorch's binding lists its overloads after "but expected": compare up to there
        return ("raised", type(error).__name__, str(error).split(", but expected")[0])
    results = result if isinstance(result, (tuple, list)) else (result,)
    return ("value",) + tuple(_plain(r) for r in results)


def _plain(r):
    if isinstance(r, (torch.Tensor, microdl.Tensor)):
        array = r.detach().numpy() if isinstance(r, torch.Tensor) else r.numpy()
        return tuple(array.shape), str(array.dtype), array.tolist()
    return r


def assert_same(fn):
    want, got = outcome(fn, torch), outcome(fn, microdl)
    assert got == want


# ---- linspace and arange with integer dtypes ------------------------------------------------
@pytest.mark.parametrize("args", [(4.3, -3, 50), (-7.9, 13.2, 33), (-5.5, 5.5, 12), (0, 10, 5),
                                  (4.3, -3, 5), (4.3, -3, 1), (2.5, 2.5, 4)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8"])
def test_integer_linspace_truncates_like_torch(args, dtype):
    assert_same(lambda L: L.linspace(*args, dtype=getattr(L, dtype)))


@pytest.mark.parametrize("args", [
    (0.0, 1.0, 0.3), (0.5, 5.7, 1.5), (-0.5, 3.7, 1.5), (3.7, -0.5, -1.5), (0, -3.5, -1.2),
    (0.0, -8.000001, -4.0), (0.2, 2.5, 0.3), (1, 10, 3), (-3, 7, 2.5), (5,),
    (0.0, 1.0, -0.3), (0.2, -0.5, 0.3), (0.2, -0.5, 0.0), (0, float("inf"), 2),
    (0.5, float("nan"), 1.0), (1e20,)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "float32", "bool"])
def test_arange_lengths_values_and_errors_match_torch(args, dtype):
    assert_same(lambda L: L.arange(*args, dtype=getattr(L, dtype)))


def test_arange_of_an_infinite_range_is_unsupported():
    assert_same(lambda L: L.arange(0, float("inf"), 2))
    assert_same(lambda L: L.arange(-float("inf")))


def test_linspace_steps_must_be_an_int_and_tensor_bounds_0_d():
    for steps in (1.0, True):
        with pytest.raises(TypeError, match=r"received an invalid combination of arguments - "
                                            r"got \(int, int, (float|bool)"):
            microdl.linspace(0, 3, steps)
    assert_same(lambda L: L.linspace(L.tensor([1, 1]), L.tensor([3, 3]), 1))
    assert_same(lambda L: L.linspace(L.tensor(-2.0), L.tensor(-3), 4, dtype=L.int64))
    assert_same(lambda L: L.linspace(L.tensor(1.5), 3, 4))
    assert_same(lambda L: L.linspace(0, 3, 4, dtype=L.bool))


# ---- cumprod(dtype=) -------------------------------------------------------------------------
@pytest.mark.parametrize("source, dtype", [("int32", "int32"), ("int64", "int32"),
                                           ("int32", "int16"), ("int32", "float64"),
                                           ("float32", "int64"), ("bool", "int32")])
def test_cumprod_dtype_is_the_output_dtype(source, dtype):
    values = np.arange(1, 61).reshape(3, 4, 5) % 7 + 1

    def fn(L):
        x = L.tensor(values).to(getattr(L, source))
        return L.cumprod(x, 1, dtype=getattr(L, dtype)), x.cumprod(-1, dtype=getattr(L, dtype))
    assert_same(fn)


def test_cumprod_with_dtype_keeps_the_gradient():
    x = microdl.tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), dtype=microdl.float32,
                       requires_grad=True)
    assert microdl.gradcheck(lambda t: t.cumprod(1, dtype=microdl.float64),
                             [x.detach().double().requires_grad_()])
    y = x.cumprod(1, dtype=microdl.float64)
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32


# ---- 0-d inputs give 0-d outputs --------------------------------------------------------------
ZERO_D = {
    "sort": lambda L, x: x.sort(),
    "sort descending": lambda L, x: L.sort(x, descending=True),
    "argsort": lambda L, x: x.argsort(),
    "topk 1": lambda L, x: x.topk(1),
    "topk 0": lambda L, x: x.topk(0),
    "kthvalue": lambda L, x: L.kthvalue(x, 1),
    "median dim": lambda L, x: L.median(x, dim=0),
    "median dim keepdim": lambda L, x: L.median(x, dim=0, keepdim=True),
    "mode": lambda L, x: L.mode(x),
    "index_select": lambda L, x: L.index_select(x, 0, L.tensor([0])),
    "index_select 0-d index": lambda L, x: x.index_select(-1, L.tensor(0)),
    "index_select two": lambda L, x: x.index_select(0, L.tensor([0, 0])),
    "index_select none": lambda L, x: x.index_select(0, L.tensor([], dtype=L.int64)),
    "unique inverse": lambda L, x: L.unique(x, sorted=False, return_inverse=True),
    "unique counts": lambda L, x: x.unique(return_inverse=True, return_counts=True),
    "nonzero tuple": lambda L, x: L.nonzero(x, as_tuple=True),
    "nonzero tuple of zero": lambda L, x: (x * 0).nonzero(as_tuple=True),
    "nonzero": lambda L, x: x.nonzero(),
    "movedim": lambda L, x: x.movedim(0, -1),
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
def test_0_d_input_keeps_torch_shapes(name):
    assert_same(lambda L: ZERO_D[name](L, L.tensor(-8.25)))


def test_bernoulli_of_0_d_p_is_0_d():
    assert microdl.bernoulli(microdl.tensor(0.3)).shape == torch.bernoulli(
        torch.tensor(0.3)).shape == ()


def test_0_d_sort_and_index_select_pass_the_gradient():
    for fn in (lambda L, x: x.sort().values * 3, lambda L, x: x.topk(1).values * 3,
               lambda L, x: x.index_select(0, L.tensor([0])) * 3):
        grads = []
        for L in (torch, microdl):
            x = L.tensor(2.5, dtype=L.float64, requires_grad=True)
            fn(L, x).backward()
            grads.append((tuple(x.grad.shape), float(x.grad.numpy())))
        assert grads[0] == grads[1]


def test_0_d_sort_on_the_cuda_simulator(shrunk_cuda):
    x = microdl.tensor(1.5).to("cuda")
    values, indices = x.sort()
    assert values.shape == indices.shape == ()
    assert x.index_select(0, microdl.tensor([0]).to("cuda")).shape == ()


# ---- index_add on a 0-d tensor ----------------------------------------------------------------
@pytest.mark.parametrize("index, source", [([0], 3.0), (0, 3.0), ([0, 0], [3.0, 4.0]),
                                           ([0, 0], 3.0), ([1], 3.0), ([0], [3.0])])
def test_index_add_into_a_0_d_tensor(index, source):
    assert_same(lambda L: L.tensor(2.0).index_add(0, L.tensor(index), L.tensor(source),
                                                  alpha=-1))


def test_index_add_into_a_0_d_tensor_is_differentiable():
    grads = []
    for L in (torch, microdl):
        x = L.tensor(2.0, dtype=L.float64, requires_grad=True)
        s = L.tensor(3.0, dtype=L.float64, requires_grad=True)
        (x.index_add(0, L.tensor([0]), s, alpha=2) * 5).backward()
        grads.append((float(x.grad.numpy()), float(s.grad.numpy())))
    assert grads[0] == grads[1]


# ---- bad input accepted before -----------------------------------------------------------------
@pytest.mark.parametrize("value", [1j, 2 + 0j, 300, -1, -255, -256, 255.5, -1.5, 2 ** 31,
                                   2 ** 63 - 1, 1e300, 70000, True, float("inf"), 2 ** 70])
@pytest.mark.parametrize("dtype", ["uint8", "int8", "int32", "int64", "float16", "float32",
                                   "bool"])
def test_masked_fill_value_is_checked_as_torch_converts_it(value, dtype):
    assert_same(lambda L: L.ones(2, 2, dtype=getattr(L, dtype)).masked_fill(
        L.tensor([[True, False], [False, False]]), value))


@pytest.mark.parametrize("kwargs", [dict(rtol=-0.4), dict(atol=-0.4), dict(rtol=-1, atol=-1),
                                    dict(rtol=float("nan")), dict(rtol=0.0, atol=0.0)])
def test_isclose_tolerances_must_not_be_negative(kwargs):
    assert_same(lambda L: L.isclose(L.tensor([1.0, 2.0]), L.tensor([1.0, 2.1]), **kwargs))
    assert_same(lambda L: L.tensor([1.0]).allclose(L.tensor([1.0]), **kwargs))


@pytest.mark.parametrize("args", [
    (0, "bool", 2), (0, "float", 2), (0, "vector", 2), (0, "int", 2), (0, "uint8", 2),
    (0, 1.0, 2), (0, True, 2), (0, 1, -1), (0, 1, 2.0), (0, 5, 0), (0, -5, 1), (5, 1, 1),
    (0, 4, 1), (-2, -1, 1)])
def test_narrow_start_and_length_are_checked(args):
    dim, start, length = args
    starts = {"bool": lambda L: L.tensor(True), "float": lambda L: L.tensor(1.0),
              "vector": lambda L: L.tensor([1]), "int": lambda L: L.tensor(1),
              "uint8": lambda L: L.tensor(1, dtype=L.uint8)}
    assert_same(lambda L: L.ones(4, 5).narrow(
        dim, starts[start](L) if isinstance(start, str) else start, length))


def test_narrow_and_unbind_of_a_0_d_tensor():
    for dim in (0, -1, 1):
        assert_same(lambda L: L.narrow(L.tensor(1.0), dim, 0, 1))
        assert_same(lambda L: L.tensor(-8, dtype=L.int32).unbind(dim))


@pytest.mark.parametrize("probs, n, replacement", [
    ("int64", 2, False), ("bool", 1, False), ([1.0, -1.0, 1.0], 2, True),
    ([1.0, -1.0, 1.0], 2, False), ([1.0, -1.0, 1.0], 1, True), ([1.0, float("nan")], 2, True),
    ([1.0, float("inf")], 2, True), ([[0.0, 0.0], [1.0, -1.0]], 2, True),
    ([[0.0, 0.0], [1.0, -1.0]], 1, True), ([0.0, 0.0], 1, False), ([1.0, -1.0], 3, False),
    ([1.0, 1.0], 0, False)])
def test_multinomial_checks_in_torch_order(probs, n, replacement):
    def fn(L):
        p = L.tensor([[3, 4]], dtype=getattr(L, probs)) if isinstance(probs, str) \
            else L.tensor(probs)
        return L.multinomial(p, n, replacement).shape
    assert_same(fn)


def test_multinomial_number_of_categories_is_limited():
    assert_same(lambda L: L.multinomial(L.ones(2 ** 24 + 1), 3))


@pytest.mark.parametrize("source, destination", [
    ((1, 0, -4), (0, 4, -5)), ((0, 4, -5), (1, 0, 2)), ((0, 1), (2, 2)), ((0, 1), (2, -3)),
    ((0, 5), (1, 2)), ((0, 1), (1,)), ((), ())])
def test_movedim_rejects_repeated_dims(source, destination):
    assert_same(lambda L: L.ones(2, 3, 4, 5, 6).movedim(source, destination).shape)


@pytest.mark.parametrize("value", [1 + 0j, 1j, "1", None, True, 2])
def test_huber_loss_module_checks_delta_type(value):
    for L in (torch, microdl):
        if isinstance(value, (int, float)):
            L.nn.HuberLoss(delta=value)
        else:
            with pytest.raises(TypeError, match="delta must be a float or int, got: "):
                L.nn.HuberLoss(delta=value)


LOSS_ARGUMENTS = {
    "smooth_l1 beta": lambda L, v: L.nn.functional.smooth_l1_loss(_x(L), _x(L) * 2, beta=v),
    "huber delta": lambda L, v: L.nn.functional.huber_loss(_x(L), _x(L) * 2, delta=v),
    "cross_entropy label_smoothing": lambda L, v: L.nn.functional.cross_entropy(
        _x(L), L.tensor([0, 1, 2]), label_smoothing=v),
    "cross_entropy ignore_index": lambda L, v: L.nn.functional.cross_entropy(
        _x(L), L.tensor([0, 1, 2]), ignore_index=v),
    "nll_loss ignore_index": lambda L, v: L.nn.functional.nll_loss(
        _x(L), L.tensor([0, 1, 2]), ignore_index=v),
    "kl_div log_target": lambda L, v: L.nn.functional.kl_div(_x(L), _x(L), log_target=v,
                                                             reduction="sum"),
}


def _x(L):
    return L.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=L.float32)


@pytest.mark.parametrize("value", [1j, True, 1, 0.5, np.float64(0.5), np.int64(1), "1", None,
                                   2.0])
@pytest.mark.parametrize("name", sorted(LOSS_ARGUMENTS))
def test_loss_number_arguments_are_type_checked(name, value):
    def fn(L):
        loss = LOSS_ARGUMENTS[name](L, value)
        return round(float(loss.detach().numpy() if isinstance(loss, torch.Tensor)
                           else loss.numpy()), 4)
    assert_same(fn)


# ---- errors in PyTorch's words ----------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, -1, -1), (-1, -1), (-2, 15), (5, -2), (0, -1), (16,),
                                   (3, -1, -2), (5, -1)])
def test_reshape_and_view_check_the_shape_as_torch(shape):
    assert_same(lambda L: L.ones(1, 3, 5).reshape(shape).shape)
    assert_same(lambda L: L.ones(1, 3, 5).view(*shape).shape)


@pytest.mark.parametrize("shape", [(-1, 0), (0, -1), (2, -1), (-1,)])
def test_reshape_of_nothing_with_an_ambiguous_minus_one(shape):
    assert_same(lambda L: L.ones(0, 3).reshape(shape).shape)


@pytest.mark.parametrize("name", ["scatter", "scatter_add"])
@pytest.mark.parametrize("index, src", [
    ([[34, 1], [1, 2]], (2, 5, 2)), ([[34, 1], [1, 2]], (2, 5)), ([[0, 1, 2]], (2, 5, 2)),
    ([0, 1], (2, 5)), ([[0, 1], [1, 2]], (2, 5))])
def test_scatter_checks_index_dims_against_src(name, index, src):
    assert_same(lambda L: getattr(L, name)(L.ones(3, 5), 0, L.tensor(index), L.ones(*src)))


@pytest.mark.parametrize("dtype", ["uint8", "float32", "bool", "int64"])
def test_an_empty_index_is_not_checked(dtype):
    assert_same(lambda L: L.gather(L.ones(5), 0, L.tensor([], dtype=getattr(L, dtype))))
    assert_same(lambda L: L.gather(L.ones(3, 5), 0, L.ones(0, 0, dtype=getattr(L, dtype))))
    assert_same(lambda L: L.scatter(L.ones(3, 5), 0, L.tensor([], dtype=getattr(L, dtype)),
                                     L.ones(2, 5)))
    assert_same(lambda L: L.gather(L.ones(5), 0, L.tensor([1], dtype=getattr(L, dtype))))
