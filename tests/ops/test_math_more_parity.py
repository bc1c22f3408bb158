"""More math against PyTorch: inverse trigonometric, hyperbolic and erf functions, atan2 and
hypot (new ``elementwise`` kernel op codes, checked in every kernel set), and the composites
(lerp, logaddexp, nan_to_num, addmm/addmv/baddbmm, addcmul/addcdiv, roll, count_nonzero,
meshgrid, cosine_similarity, pairwise_distance, prelu, pixel_shuffle) with their modules."""

import os
import sys

import numpy as np
import pytest

import microdl
import microdl.functional as F
from microdl import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "kernels"))
from kernel_harness import KernelSet  # noqa: E402

torch = pytest.importorskip("torch")

# name -> inputs inside the function's domain
UNARY = {"erf": (-2, 2), "erfc": (-2, 2), "atan": (-3, 3), "asin": (-0.9, 0.9),
         "acos": (-0.9, 0.9), "sinh": (-2, 2), "cosh": (-2, 2), "asinh": (-3, 3),
         "acosh": (1.2, 3), "atanh": (-0.9, 0.9), "exp2": (-3, 3), "erfinv": (-0.99, 0.99)}
BINARY = ["atan2", "hypot"]


def _values(low, high, shape=(3, 4), seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape)


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def kernel_set(request):
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return KernelSet(request.param)


@pytest.mark.parametrize("op", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_kernel_matches_the_reference(kernel_set, op, dtype):
    x = _values(*UNARY[op]).astype(dtype)
    kernel_set.check("elementwise", "unary", [x, np.empty_like(x), op, 0.0], rtol=1e-6)


@pytest.mark.parametrize("op", BINARY)
def test_binary_kernel_matches_the_reference(kernel_set, op):
    a, b = _values(-2, 2), _values(-2, 2, seed=1)
    kernel_set.check("elementwise", "binary", [a, b, np.empty_like(a), op], rtol=1e-12)
    kernel_set.check("elementwise", "binary", [a, b[:1], np.empty_like(a), op], rtol=1e-12)


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_matches_torch_values_dtype_and_gradient(op):
    x = _values(*UNARY[op])
    for dtype in (np.float32, np.float64):
        mine = microdl.tensor(x.astype(dtype), requires_grad=True)
        theirs = torch.tensor(x.astype(dtype), requires_grad=True)
        y, expected = getattr(microdl, op)(mine), getattr(torch, op)(theirs)
        np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=2e-6)
        assert y.dtype == microdl.tensor(np.zeros(1, dtype)).dtype
        y.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-5)
    ints = microdl.tensor([0, 1]) if op not in ("acosh",) else microdl.tensor([1, 2])
    assert getattr(microdl, op)(ints).dtype == microdl.float32  # as torch: int -> float32
    assert microdl.gradcheck(getattr(microdl, op),
                             (microdl.tensor(x, requires_grad=True),))


@pytest.mark.parametrize("op", BINARY)
def test_binary_matches_torch(op):
    a, b = _values(-2, 2, (3, 4)), _values(-2, 2, (4,), seed=1)
    ma, mb = microdl.tensor(a, requires_grad=True), microdl.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    y, expected = getattr(microdl, op)(ma, mb), getattr(torch, op)(ta, tb)
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ma.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(mb.grad.numpy(), tb.grad.numpy(), rtol=1e-10)
    assert microdl.gradcheck(getattr(microdl, op), (microdl.tensor(a, requires_grad=True),
                                                    microdl.tensor(b, requires_grad=True)))


def test_atan2_of_integers_is_float32_and_hypot_refuses_them():
    assert microdl.arctan2(microdl.tensor([1, 2]), microdl.tensor([3, 4])).dtype == microdl.float32
    with pytest.raises(NotImplementedError, match="\"hypot_cpu\" not implemented for 'Long'"):
        microdl.hypot(microdl.tensor([1]), microdl.tensor([2]))


def _compare(mine_fn, torch_fn, *arrays, rtol=1e-10):
    mine = [microdl.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y, expected = mine_fn(*mine), torch_fn(*theirs)
    np.testing.assert_allclose(y.detach().numpy(), expected.detach().numpy(), rtol=rtol)
    assert str(y.dtype) == str(expected.dtype).removeprefix("torch.")
    if expected.requires_grad:
        g = np.random.default_rng(5).standard_normal(tuple(expected.shape))
        y.backward(microdl.tensor(g))
        expected.backward(torch.tensor(g))
        for m, t in zip(mine, theirs):
            if t.grad is None:  # an input only compared (a target): no gradient either side
                assert m.grad is None
            elif t.requires_grad:
                np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-12)


R = np.random.default_rng(7)
COMPOSITES = {
    "lerp": (lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3),
             R.standard_normal((3, 4)), R.standard_normal((3, 4))),
    "lerp tensor weight": (lambda a, b, w: a.lerp(b, w), lambda a, b, w: a.lerp(b, w),
                           R.standard_normal((3, 4)), R.standard_normal(4), R.random(4)),
    "logaddexp": (microdl.logaddexp, torch.logaddexp, R.standard_normal((3, 4)),
                  np.array([-np.inf, 0.5, np.inf, 1.0])),
    "nan_to_num": (lambda a: a.nan_to_num(), lambda a: a.nan_to_num(),
                   np.array([1.0, np.nan, np.inf, -np.inf])),
    "nan_to_num args": (lambda a: microdl.nan_to_num(a, 1.5, 2.0, -3.0),
                        lambda a: torch.nan_to_num(a, 1.5, 2.0, -3.0),
                        np.array([1.0, np.nan, np.inf, -np.inf])),
    "addmm": (lambda c, a, b: microdl.addmm(c, a, b, beta=0.5, alpha=2.0),
              lambda c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0),
              R.standard_normal(4), R.standard_normal((3, 2)), R.standard_normal((2, 4))),
    "addmm beta 0 ignores nan": (lambda c, a, b: microdl.addmm(c, a, b, beta=0),
                                 lambda c, a, b: torch.addmm(c, a, b, beta=0),
                                 np.full((3, 4), np.nan), R.standard_normal((3, 2)),
                                 R.standard_normal((2, 4))),
    "addmv": (lambda c, a, b: c.addmv(a, b, alpha=3), lambda c, a, b: c.addmv(a, b, alpha=3),
              R.standard_normal(3), R.standard_normal((3, 2)), R.standard_normal(2)),
    "addmv int": (lambda c, a, b: c.addmv(a, b, beta=1.7, alpha=2.6),
                  lambda c, a, b: c.addmv(a, b, beta=1.7, alpha=2.6),
                  np.arange(3), np.arange(6).reshape(3, 2), np.arange(2)),
    "baddbmm": (lambda c, a, b: microdl.baddbmm(c, a, b, beta=2),
                lambda c, a, b: torch.baddbmm(c, a, b, beta=2),
                R.standard_normal((2, 3, 4)), R.standard_normal((2, 3, 5)),
                R.standard_normal((2, 5, 4))),
    "addcmul": (lambda a, b, c: microdl.addcmul(a, b, c, value=0.5),
                lambda a, b, c: torch.addcmul(a, b, c, value=0.5),
                R.standard_normal((3, 4)), R.standard_normal(4), R.standard_normal((3, 1))),
    "addcdiv": (lambda a, b, c: a.addcdiv(b, c, value=-2),
                lambda a, b, c: a.addcdiv(b, c, value=-2),
                R.standard_normal((3, 4)), R.standard_normal(4), R.random((3, 1)) + 1),
    "roll": (lambda a: a.roll(1), lambda a: a.roll(1), R.standard_normal((3, 4))),
    "roll dims": (lambda a: microdl.roll(a, (2, -1), (0, 1)),
                  lambda a: torch.roll(a, (2, -1), (0, 1)), R.standard_normal((3, 4))),
    "count_nonzero": (lambda a: a.count_nonzero(dim=1), lambda a: a.count_nonzero(dim=1),
                      np.array([[0, 1, 2], [0, 0, 3]])),
    "cosine_similarity": (lambda a, b: F.cosine_similarity(a, b, dim=1),
                          lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=1),
                          R.standard_normal((3, 4)), R.standard_normal((1, 4))),
    "pairwise_distance": (lambda a, b: F.pairwise_distance(a, b, p=3, keepdim=True),
                          lambda a, b: torch.nn.functional.pairwise_distance(a, b, 3,
                                                                             keepdim=True),
                          R.standard_normal((3, 4)), R.standard_normal((3, 4))),
    "prelu": (F.prelu, torch.nn.functional.prelu, R.standard_normal((2, 3, 4)),
              np.array([0.1, -0.2, 0.3])),
    "pixel_shuffle": (lambda a: F.pixel_shuffle(a, 2),
                      lambda a: torch.nn.functional.pixel_shuffle(a, 2),
                      R.standard_normal((2, 8, 3, 2))),
    "pixel_unshuffle": (lambda a: F.pixel_unshuffle(a, 2),
                        lambda a: torch.nn.functional.pixel_unshuffle(a, 2),
                        R.standard_normal((2, 2, 4, 6))),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_matches_torch(name):
    mine_fn, torch_fn, *arrays = COMPOSITES[name]
    _compare(mine_fn, torch_fn, *arrays)


@pytest.mark.parametrize("name", ["lerp", "addmm", "addcdiv", "roll dims", "cosine_similarity",
                                  "prelu", "pixel_shuffle", "logaddexp"])
def test_composite_gradcheck(name):
    mine_fn, _, *arrays = COMPOSITES[name]
    finite = [np.where(np.isfinite(a), a, 0.25) for a in arrays]
    assert microdl.gradcheck(mine_fn, tuple(microdl.tensor(a, requires_grad=True)
                                            for a in finite))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(indexing):
    arrays = [np.arange(3.0), np.arange(2.0) + 5, np.arange(4.0)]
    mine = microdl.meshgrid(*map(microdl.tensor, arrays), indexing=indexing)
    theirs = torch.meshgrid(*map(torch.tensor, arrays), indexing=indexing)
    for m, t in zip(mine, theirs):
        np.testing.assert_array_equal(m.numpy(), t.numpy())
    with pytest.warns(UserWarning, match="indexing argument"):
        assert microdl.meshgrid(microdl.tensor([1, 2]))[0].shape == (2,)


def test_modules_match_functional_and_torch():
    x = microdl.tensor(R.standard_normal((2, 3, 4, 4)).astype(np.float32))
    prelu = nn.PReLU(3)
    assert prelu.weight.shape == (3,) and prelu.weight[0].item() == 0.25
    np.testing.assert_allclose(prelu(x).detach().numpy(), torch.nn.PReLU(3)(
        torch.tensor(x.numpy())).detach().numpy())
    assert repr(prelu) == "PReLU(num_parameters=3)"
    assert nn.PixelShuffle(2)(microdl.tensor(np.zeros((1, 4, 2, 2)))).shape == (1, 1, 4, 4)
    assert nn.PixelUnshuffle(2)(microdl.tensor(np.zeros((1, 1, 4, 4)))).shape == (1, 4, 2, 2)
    a, b = x.reshape(2, -1), (x * 2).reshape(2, -1)
    np.testing.assert_allclose(nn.CosineSimilarity()(a, b).numpy(), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(nn.PairwiseDistance()(a, b).numpy(), F.pairwise_distance(a, b)
                               .numpy())


def test_bad_inputs_raise_like_torch():
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        F.prelu(microdl.tensor(np.zeros((2, 3))), microdl.tensor(np.zeros(2)))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        microdl.tensor([1, 2]).roll((1, 1), 0)
    with pytest.raises(RuntimeError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(microdl.tensor(np.zeros((1, 3, 2, 2))), 2)
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        microdl.addcdiv(microdl.tensor([1.0]), microdl.tensor([1]), microdl.tensor([2]))


@pytest.mark.cuda
@pytest.mark.parametrize("op", ["erf", "atan", "sinh", "atan2"])
def test_ops_on_the_cuda_simulator_match_the_cpu(op, shrunk_cuda):
    x = _values(-0.9, 0.9, (2, 3))
    fn = getattr(microdl, op)
    args = [x, _values(0.5, 1, (2, 3), seed=2)] if op == "atan2" else [x]
    results = {}
    for device in ("cpu", "cuda"):
        tensors = [microdl.tensor(a, requires_grad=True, device=device) for a in args]
        y = fn(*tensors)
        y.sum().backward()
        results[device] = (y.detach().numpy(), [t.grad.numpy() for t in tensors])
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-12)
    for g_cuda, g_cpu in zip(results["cuda"][1], results["cpu"][1]):
        np.testing.assert_allclose(g_cuda, g_cpu, rtol=1e-12)


FOLD_CASES = [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1,
                                        stride=(2, 1))]


@pytest.mark.parametrize("kwargs", FOLD_CASES)
def test_unfold_and_fold_match_torch(kwargs):
    x = R.standard_normal((2, 3, 5, 6))
    _compare(lambda t: F.unfold(t, **kwargs), lambda t: torch.nn.functional.unfold(t, **kwargs), x)
    columns = torch.nn.functional.unfold(torch.tensor(x), **kwargs).numpy()
    _compare(lambda t: F.fold(t, (5, 6), **kwargs),
             lambda t: torch.nn.functional.fold(t, (5, 6), **kwargs), columns)
    _compare(lambda t: F.fold(t, (5, 6), **kwargs),  # unbatched
             lambda t: torch.nn.functional.fold(t, (5, 6), **kwargs), columns[0])
    assert microdl.gradcheck(lambda t: F.unfold(t, **kwargs),
                             (microdl.tensor(x[:1, :2], requires_grad=True),))
    module = nn.Fold((5, 6), **kwargs)
    np.testing.assert_allclose(module(nn.Unfold(**kwargs)(microdl.tensor(x))).numpy(),
                               torch.nn.Fold((5, 6), **kwargs)(torch.nn.Unfold(**kwargs)(
                                   torch.tensor(x))).numpy())


def test_fold_bad_inputs_raise_like_torch():
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(microdl.tensor(np.zeros((1, 5, 4))), (3, 3), 2)
    with pytest.raises(RuntimeError, match="calculated number of sliding blocks 2 \\* 2 = 4"):
        F.fold(microdl.tensor(np.zeros((1, 4, 5))), (3, 3), 2)
    with pytest.raises(RuntimeError, match="stride should be greater than zero"):
        F.unfold(microdl.tensor(np.zeros((1, 1, 3, 3))), 2, stride=0)


@pytest.mark.cuda
def test_unfold_and_fold_on_the_cuda_simulator_match_the_cpu(shrunk_cuda):
    x = R.standard_normal((1, 2, 3, 4))
    results = {}
    for device in ("cpu", "cuda"):
        t = microdl.tensor(x, requires_grad=True, device=device)
        y = F.fold(F.unfold(t, 2, padding=1), (3, 4), 2, padding=1)
        y.sum().backward()
        results[device] = (y.detach().numpy(), t.grad.numpy())
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-12)
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], rtol=1e-12)


MORE = {
    "xlogy": (microdl.xlogy, torch.xlogy, np.array([0.0, 1.5, -2.0, 0.0, 3.0]),
              np.array([0.0, 2.0, 0.5, np.nan, 4.0])),
    "rot90": (lambda a: a.rot90(1, (0, 2)), lambda a: a.rot90(1, (0, 2)),
              R.standard_normal((2, 3, 4))),
    "rot90 k=-1": (lambda a: microdl.rot90(a, -1), lambda a: torch.rot90(a, -1),
                   R.standard_normal((2, 3))),
    "argwhere": (microdl.argwhere, torch.argwhere, np.array([[0, 1], [2, 0]])),
    "var_mean": (lambda a: microdl.var_mean(a, 1, correction=0)[0] + a.var_mean(1)[1],
                 lambda a: torch.var_mean(a, 1, correction=0)[0] + torch.var_mean(a, 1)[1],
                 R.standard_normal((3, 4))),
    "std_mean": (lambda a: sum(microdl.std_mean(a, keepdim=True, dim=0)),
                 lambda a: sum(torch.std_mean(a, keepdim=True, dim=0)),
                 R.standard_normal((3, 4))),
}
LOSSES = {
    "margin_ranking_loss": ((3,), (3,), "sign"),
    "hinge_embedding_loss": ((3, 4), "sign"),
    "soft_margin_loss": ((3, 4), "sign"),
    "multilabel_soft_margin_loss": ((3, 4), "binary"),
    "cosine_embedding_loss": ((3, 4), (3, 4), "sign3"),
    "triplet_margin_loss": ((3, 4), (3, 4), (3, 4)),
    "poisson_nll_loss": ((3, 4), "positive"),
    "gaussian_nll_loss": ((3, 4), (3, 4), "positive"),
}


def _loss_inputs(spec):
    rng = np.random.default_rng(11)
    kinds = {"sign": lambda: np.sign(rng.standard_normal(spec[0]) + 0.1),
             "sign3": lambda: np.sign(rng.standard_normal(spec[0][:1]) + 0.1),
             "binary": lambda: (rng.random(spec[0]) > 0.5).astype(np.float64),
             "positive": lambda: rng.random(spec[0]) + 0.5}
    return [kinds[s]() if isinstance(s, str) else rng.standard_normal(s) for s in spec]


@pytest.mark.parametrize("name", sorted(MORE))
def test_more_composites_match_torch(name):
    mine_fn, torch_fn, *arrays = MORE[name]
    _compare(mine_fn, torch_fn, *arrays)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_match_torch(name, reduction):
    arrays = _loss_inputs(LOSSES[name])
    if name == "soft_margin_loss":  # PyTorch refuses a target that requires grad
        arrays[1] = arrays[1].astype(np.float32).astype(np.int64)
    _compare(lambda *t: getattr(F, name)(*t, reduction=reduction),
             lambda *t: getattr(torch.nn.functional, name)(*t, reduction=reduction), *arrays)
    differentiable = [i for i, s in enumerate(LOSSES[name]) if not isinstance(s, str)]

    def loss_of(*ts):
        full = [microdl.tensor(a) for a in arrays]
        for i, t in zip(differentiable, ts):
            full[i] = t
        return getattr(F, name)(*full, reduction=reduction)

    assert microdl.gradcheck(loss_of, tuple(microdl.tensor(arrays[i], requires_grad=True)
                                            for i in differentiable))


def test_loss_modules_match_functional():
    a, b, c = (microdl.tensor(x) for x in _loss_inputs(((3, 4), (3, 4), (3, 4))))
    target = microdl.tensor(np.sign(np.arange(3) - 0.5))
    np.testing.assert_allclose(nn.TripletMarginLoss(margin=0.5, swap=True)(a, b, c).numpy(),
                               F.triplet_margin_loss(a, b, c, 0.5, swap=True).numpy())
    np.testing.assert_allclose(nn.CosineEmbeddingLoss(0.1)(a, b, target).numpy(),
                               F.cosine_embedding_loss(a, b, target, 0.1).numpy())
    np.testing.assert_allclose(nn.MarginRankingLoss(0.2, reduction="sum")(a[0], b[0], c[0])
                               .numpy(), F.margin_ranking_loss(a[0], b[0], c[0], 0.2,
                                                               reduction="sum").numpy())
    positive = a.abs() + 0.5
    np.testing.assert_allclose(nn.GaussianNLLLoss(full=True)(a, b, positive).numpy(),
                               torch.nn.GaussianNLLLoss(full=True)(*(torch.tensor(t.numpy())
                                                                     for t in (a, b, positive))))
    np.testing.assert_allclose(nn.PoissonNLLLoss(log_input=False, full=True)(positive, b.abs())
                               .numpy(), torch.nn.PoissonNLLLoss(log_input=False, full=True)(
                                   torch.tensor(positive.numpy()), torch.tensor(b.abs().numpy())))
    for module in (nn.HingeEmbeddingLoss(), nn.SoftMarginLoss(), nn.MultiLabelSoftMarginLoss()):
        assert module(a, microdl.tensor(np.ones((3, 4)))).shape == ()
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(a, b, c, margin=0)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(a, b, -positive)


SEARCHES = {
    "isin": (lambda a, b: microdl.isin(a, b), lambda a, b: torch.isin(a, b),
             np.array([[1, 5], [3, 2]]), np.array([2, 3, 9])),
    "isin invert": (lambda a, b: microdl.isin(a, b, invert=True),
                    lambda a, b: torch.isin(a, b, invert=True),
                    np.array([1.0, 2.5, 3.0]), np.array([3.0, 1.0])),
    "bucketize": (lambda x, b: microdl.bucketize(x, b), lambda x, b: torch.bucketize(x, b),
                  np.array([[0.5, 1.0], [2.0, 7.0]]), np.array([1.0, 2.0, 5.0])),
    "bucketize right int32": (lambda x, b: microdl.bucketize(x, b, right=True, out_int32=True),
                              lambda x, b: torch.bucketize(x, b, right=True, out_int32=True),
                              np.array([1, 2, 3, 9]), np.array([1, 3, 5])),
    "searchsorted": (lambda s, v: microdl.searchsorted(s, v, side="right"),
                     lambda s, v: torch.searchsorted(s, v, side="right"),
                     np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), np.array([[3.0, 6.0],
                                                                             [1.0, 4.0]])),
}


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_searches_match_torch(name):
    mine_fn, torch_fn, *arrays = SEARCHES[name]
    mine = mine_fn(*map(microdl.tensor, arrays))
    expected = torch_fn(*map(torch.tensor, arrays))
    np.testing.assert_array_equal(mine.numpy(), expected.numpy())
    assert str(mine.dtype) == str(expected.dtype).removeprefix("torch.")


def test_searchsorted_sorter_and_bad_sides():
    sequence, values = np.array([5.0, 1.0, 3.0]), np.array([2.0, 5.0])
    sorter = np.argsort(sequence)
    np.testing.assert_array_equal(
        microdl.searchsorted(microdl.tensor(sequence), microdl.tensor(values),
                             sorter=microdl.tensor(sorter)).numpy(),
        torch.searchsorted(torch.tensor(sequence), torch.tensor(values),
                           sorter=torch.tensor(sorter)).numpy())
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        microdl.searchsorted(microdl.tensor(sequence), microdl.tensor(values), right=True,
                             side="left")
    with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension"):
        microdl.bucketize(microdl.tensor(values), microdl.tensor(np.zeros((2, 2))))


def test_bincount_and_histc_match_torch():
    x = np.array([0, 2, 2, 5])
    for kwargs in ({}, {"minlength": 8}):
        np.testing.assert_array_equal(microdl.bincount(microdl.tensor(x), **kwargs).numpy(),
                                      torch.bincount(torch.tensor(x), **kwargs).numpy())
    for weights in (np.array([1.0, 2.0, 3.0, 4.0], np.float32), np.array([1, 2, 3, 4], np.int32)):
        mine = microdl.tensor(x).bincount(microdl.tensor(weights))
        expected = torch.tensor(x).bincount(torch.tensor(weights))
        np.testing.assert_array_equal(mine.numpy(), expected.numpy())
        assert str(mine.dtype) == str(expected.dtype).removeprefix("torch.")
    with pytest.raises(RuntimeError, match="1-d non-negative integral"):
        microdl.bincount(microdl.tensor([-1, 2]))
    values = np.array([1.0, 2.0, 1.0, 7.0, -1.0, 3.0])
    for kwargs in ({"bins": 4, "min": 0, "max": 3}, {"bins": 5}):
        np.testing.assert_array_equal(microdl.histc(microdl.tensor(values), **kwargs).numpy(),
                                      torch.histc(torch.tensor(values), **kwargs).numpy())
    with pytest.raises(NotImplementedError, match="\"histogram_cpu\" not implemented for 'Long'"):
        microdl.histc(microdl.tensor([1, 2]))


def test_in_place_forms_match_torch():
    a, b, c = R.standard_normal((3, 4)), R.standard_normal((3, 4)), R.random((3, 4)) + 0.5
    steps = [("lerp_", (b, 0.25), {}), ("addcmul_", (b, c), {"value": 0.1}),
             ("addcdiv_", (b, c), {"value": -0.5}), ("atan2_", (c,), {}), ("erf_", (), {}),
             ("sinh_", (), {}), ("nan_to_num_", (), {}), ("addmm_", (b[:, :2], c[:2]),
                                                        {"beta": 0.5})]
    mine, theirs = microdl.tensor(a), torch.tensor(a)
    for name, args, kwargs in steps:
        returned = getattr(mine, name)(*(microdl.tensor(x) if isinstance(x, np.ndarray) else x
                                         for x in args), **kwargs)
        getattr(theirs, name)(*(torch.tensor(x) if isinstance(x, np.ndarray) else x
                                for x in args), **kwargs)
        assert returned is mine
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_cummin_match_torch(op):
    a = np.array([[1.0, 3.0, 2.0, 3.0, 5.0, 0.0], [2.0, np.nan, 1.0, 4.0, np.nan, 0.0]])
    for dim in (1, 0, -1):
        mine = getattr(microdl.tensor(a), op)(dim)
        theirs = getattr(torch.tensor(a), op)(dim)
        np.testing.assert_array_equal(mine.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(mine.indices.numpy(), theirs.indices.numpy())
    ints = np.array([3, 1, 4, 1, 5, 9, 2, 6])
    np.testing.assert_array_equal(getattr(microdl, op)(microdl.tensor(ints), 0).indices.numpy(),
                                  getattr(torch, op)(torch.tensor(ints), 0).indices.numpy())
    x = R.standard_normal((3, 5))
    _compare(lambda t: getattr(t, op)(1).values, lambda t: getattr(t, op)(1).values, x)
    assert microdl.gradcheck(lambda t: getattr(t, op)(0).values,
                             (microdl.tensor(x, requires_grad=True),))
