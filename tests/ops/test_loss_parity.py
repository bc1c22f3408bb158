"""The losses against PyTorch (values, dtypes, gradients wrt input and target, error types and
words), finite-difference gradchecks in float64, and the ops on the CUDA simulator. (The
``loss`` kernels of every set against numpy_ref: tests/kernels/test_loss_kernels.py.)"""

import warnings

import numpy as np
import pytest

import microdl
import microdl.functional as F
from microdl import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(42)
X = RNG.standard_normal((5, 4)).astype(np.float32)
LABELS = np.array([0, 3, 1, -100, 2])
W = RNG.uniform(0.5, 2.0, 4).astype(np.float32)
PROBS = RNG.dirichlet(np.ones(4), 5).astype(np.float32)
X4 = RNG.standard_normal((2, 4, 3, 2))
LABELS4 = np.array([[[0, 1], [3, 2], [1, 1]], [[2, -100], [0, 0], [3, 1]]])
P = RNG.uniform(0.05, 0.95, (5, 4))
Y = RNG.uniform(0.0, 1.0, (5, 4))
Y_WITH_ZERO = Y.copy()
Y_WITH_ZERO[0, 0] = 0.0


# Where _run puts the constants (labels, weights) of the case running now: torch, or microdl
# on a device.
_CONSTANTS = {"library": torch, "device": "cpu"}


def _t(x):
    """A constant of a case as the library under test takes it."""
    if _CONSTANTS["library"] is torch:
        return torch.tensor(x)
    return microdl.tensor(x, device=_CONSTANTS["device"])


# name -> (inputs, which inputs get gradients, microdl call, torch call); the calls take the
# library's functional module and the inputs (labels and weights are constants above).
CASES = {
    "nll weighted ignore": ([X], (0,), lambda f, a, r: f.nll_loss(a, _t(LABELS), _t(W),
                                                                  reduction=r)),
    "nll 4-D": ([X4], (0,), lambda f, a, r: f.nll_loss(a, _t(LABELS4), reduction=r)),
    "nll unbatched": ([X[0]], (0,), lambda f, a, r: f.nll_loss(a, _t(np.array(2)),
                                                               reduction=r)),
    "cross_entropy plain": ([X], (0,), lambda f, a, r: f.cross_entropy(
        a, _t(np.array([0, 3, 1, 1, 2])), reduction=r)),
    "cross_entropy weighted ignore": ([X], (0,), lambda f, a, r: f.cross_entropy(
        a, _t(LABELS), _t(W), reduction=r)),
    "cross_entropy ignore_index 3": ([X], (0,), lambda f, a, r: f.cross_entropy(
        a, _t(np.array([0, 3, 1, 1, 2])), ignore_index=3, reduction=r)),
    "cross_entropy smoothing weighted": ([X], (0,), lambda f, a, r: f.cross_entropy(
        a, _t(LABELS), _t(W), reduction=r, label_smoothing=0.2)),
    "cross_entropy smoothing 4-D": ([X4], (0,), lambda f, a, r: f.cross_entropy(
        a, _t(LABELS4), reduction=r, label_smoothing=0.3)),
    "cross_entropy 4-D weighted": ([X4], (0,), lambda f, a, r: f.cross_entropy(
        a, _t(LABELS4), _t(W.astype(np.float64)), reduction=r)),
    "cross_entropy unbatched": ([X[1]], (0,), lambda f, a, r: f.cross_entropy(
        a, _t(np.array(3)), reduction=r)),
    "cross_entropy probabilities": ([X, PROBS], (0, 1), lambda f, a, b, r: f.cross_entropy(
        a, b, _t(W), reduction=r, label_smoothing=0.1)),
    "cross_entropy probabilities 4-D": ([X4, np.abs(X4)], (0, 1),
                                        lambda f, a, b, r: f.cross_entropy(a, b, reduction=r)),
    "cross_entropy float32 logits, float64 probabilities": (
        [X, PROBS.astype(np.float64)], (0, 1), lambda f, a, b, r: f.cross_entropy(
            a, b, reduction=r)),
    "binary_cross_entropy weighted": ([P, Y], (0, 1), lambda f, a, b, r:
                                      f.binary_cross_entropy(a, b, _t(W.astype(np.float64)),
                                                             reduction=r)),
    "binary_cross_entropy_with_logits pos_weight": (
        [X * 10, Y.astype(np.float32)], (0, 1),
        lambda f, a, b, r: f.binary_cross_entropy_with_logits(
            a, b, _t(W), reduction=r, pos_weight=_t(W[::-1].copy()))),
    "binary_cross_entropy_with_logits float32 logits, float64 targets": (
        [X * 10, Y], (0, 1), lambda f, a, b, r: f.binary_cross_entropy_with_logits(
            a, b, reduction=r)),
    "l1": ([X, Y], (0, 1), lambda f, a, b, r: f.l1_loss(a, b, reduction=r)),
    "l1 weighted": ([X, Y], (0, 1), lambda f, a, b, r: f.l1_loss(
        a, b, reduction=r, weight=_t(P.astype(np.float32)))),
    "mse broadcast target": ([X, Y[:1]], (0, 1), lambda f, a, b, r: f.mse_loss(a, b,
                                                                               reduction=r)),
    "mse weighted": ([Y, P], (0, 1), lambda f, a, b, r: f.mse_loss(a, b, reduction=r,
                                                                   weight=_t(Y * 2))),
    "smooth_l1 beta": ([X, Y.astype(np.float32)], (0, 1), lambda f, a, b, r:
                       f.smooth_l1_loss(a, b, reduction=r, beta=0.7)),
    "smooth_l1 beta 0": ([X, Y.astype(np.float32)], (0, 1), lambda f, a, b, r:
                         f.smooth_l1_loss(a, b, reduction=r, beta=0.0)),
    # NOTE: same dtypes: PyTorch's huber backward fails on float32 input, float64 target
    "huber delta": ([X, Y.astype(np.float32)], (0, 1), lambda f, a, b, r: f.huber_loss(
        a, b, reduction=r, delta=0.7)),
    "kl_div": ([X.astype(np.float64), Y_WITH_ZERO], (0,), lambda f, a, b, r: f.kl_div(
        a, b, reduction=r)),
    "kl_div target grad": ([X.astype(np.float64), Y], (0, 1), lambda f, a, b, r: f.kl_div(
        a, b, reduction=r)),
    "kl_div log_target": ([X, Y.astype(np.float32) - 1], (0, 1), lambda f, a, b, r: f.kl_div(
        a, b, reduction=r, log_target=True)),
}
BATCHMEAN = {"kl_div", "kl_div target grad", "kl_div log_target"}


def _run(library, functional, name, reduction, device="cpu"):
    arrays, grads, call = CASES[name]
    _CONSTANTS.update(library=library, device=device)
    if library is torch:
        inputs = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    else:
        inputs = [microdl.tensor(a, requires_grad=i in grads, device=device)
                  for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = call(functional, *inputs, reduction)
    g = np.random.default_rng(1).standard_normal(tuple(out.shape))
    if library is torch:
        out.backward(torch.tensor(g, dtype=out.dtype))
        value = out.detach().numpy()
        dtype = np.dtype(str(out.dtype).replace("torch.", ""))
    else:
        out.backward(microdl.tensor(g.astype(out.dtype), device=device))
        value, dtype = out.detach().numpy(), out.dtype
    return value, dtype, [inputs[i].grad.numpy() if library is torch else inputs[i].grad.numpy()
                          for i in grads]


def _reductions(name):
    return ["mean", "sum", "none"] + (["batchmean"] if name in BATCHMEAN else [])


@pytest.mark.parametrize("name,reduction", [(n, r) for n in CASES for r in _reductions(n)])
def test_loss_matches_torch(name, reduction, kernel_set):
    value, dtype, grads = _run(microdl, F, name, reduction)
    ref_value, ref_dtype, ref_grads = _run(torch, TF, name, reduction)
    assert dtype == ref_dtype
    assert value.shape == ref_value.shape
    np.testing.assert_allclose(value, ref_value, rtol=2e-5, atol=1e-6)
    for i, (g, e) in enumerate(zip(grads, ref_grads)):
        assert g.dtype == e.dtype, f"gradient {i}"
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=1e-6, err_msg=f"gradient {i}")


GRADCHECKED = {
    "nll_loss": ([(5, 4)], lambda a: F.nll_loss(a, LABELS, W.astype(np.float64))),
    "cross_entropy smoothing": ([(2, 4, 3, 2)], lambda a: F.cross_entropy(
        a, LABELS4, W.astype(np.float64), label_smoothing=0.25)),
    "cross_entropy probabilities": ([(5, 4), (5, 4)], lambda a, b: F.cross_entropy(
        a, b, label_smoothing=0.1, reduction="sum")),
    "binary_cross_entropy": ([(5, 4), (5, 4)], lambda a, b: F.binary_cross_entropy(
        a.sigmoid(), b.sigmoid(), reduction="sum")),
    "binary_cross_entropy_with_logits": ([(5, 4), (5, 4)], lambda a, b:
                                         F.binary_cross_entropy_with_logits(
                                             a * 4, b.sigmoid(), pos_weight=W.astype(
                                                 np.float64))),
    "l1": ([(5, 4), (5, 4)], lambda a, b: F.l1_loss(a, b * 0.5, reduction="sum")),
    "smooth_l1": ([(5, 4), (5, 4)], lambda a, b: F.smooth_l1_loss(a, b * 0.5, beta=0.4)),
    "huber": ([(5, 4), (5, 4)], lambda a, b: F.huber_loss(a, b * 0.5, delta=0.4,
                                                          reduction="none")),
    "kl_div": ([(5, 4), (5, 4)], lambda a, b: F.kl_div(a, b.sigmoid(), reduction="batchmean")),
    "kl_div log_target": ([(5, 4), (5, 4)], lambda a, b: F.kl_div(
        a, b, reduction="sum", log_target=True)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKED))
def test_gradcheck_float64(name, kernel_set):
    shapes, fn = GRADCHECKED[name]
    rng = np.random.default_rng(3)
    tensors = [microdl.tensor(rng.uniform(-2, 2, s), requires_grad=True) for s in shapes]
    assert microdl.gradcheck(fn, tensors)


# name -> call(functional module, tensor maker, long maker); both libraries must raise the same
# exception type, and microdl's message must hold PyTorch's.
ERRORS = {
    "nll label out of range": lambda f, t, i: f.nll_loss(t(3, 4), i([0, 4, 1])),
    "nll negative label": lambda f, t, i: f.nll_loss(t(3, 4), i([0, -1, 1])),
    "nll batch mismatch": lambda f, t, i: f.nll_loss(t(3, 4), i([0, 1])),
    "nll float target": lambda f, t, i: f.nll_loss(t(3, 4), t(3)),
    "nll 0-d input": lambda f, t, i: f.nll_loss(t(), i(0)),
    "nll 1-D input, 2 targets": lambda f, t, i: f.nll_loss(t(4), i([1, 2])),
    "nll multi-target": lambda f, t, i: f.nll_loss(t(3, 4), t(3, 5).long()),
    "nll spatial target size": lambda f, t, i: f.nll_loss(t(2, 4, 5), i([[0] * 4] * 2)),
    "nll 2-D target for 4-D input": lambda f, t, i: f.nll_loss(t(2, 4, 5, 6), i([[0] * 5] * 2)),
    "nll 4-D size mismatch": lambda f, t, i: f.nll_loss(t(2, 3, 4, 5), i(np.zeros((2, 4, 4),
                                                                                  int))),
    "nll weight size": lambda f, t, i: f.nll_loss(t(3, 4), i([0, 1, 2]), weight=t(3)),
    "nll weight dtype": lambda f, t, i: f.nll_loss(t(3, 4), i([0, 1, 2]), weight=t(4).double()),
    "nll reduction": lambda f, t, i: f.nll_loss(t(3, 4), i([0, 1, 2]), reduction="avg"),
    "cross_entropy label smoothing": lambda f, t, i: f.cross_entropy(t(3, 4), i([0, 1, 2]),
                                                                     label_smoothing=1.5),
    "cross_entropy bool target": lambda f, t, i: f.cross_entropy(t(3, 4), i([1, 0, 1]).bool()),
    "cross_entropy integer probabilities": lambda f, t, i: f.cross_entropy(
        t(3, 4), t(3, 4).long()),
    "cross_entropy probabilities ignore_index": lambda f, t, i: f.cross_entropy(
        t(3, 4), t(3, 4), ignore_index=1),
    "cross_entropy probabilities weight": lambda f, t, i: f.cross_entropy(t(2, 3), t(2, 3),
                                                                          weight=t(4)),
    "cross_entropy reduction": lambda f, t, i: f.cross_entropy(t(3, 4), i([0, 1, 2]),
                                                               reduction="avg"),
    "bce size": lambda f, t, i: f.binary_cross_entropy(t(3).sigmoid(), t(4)),
    "bce target dtype": lambda f, t, i: f.binary_cross_entropy(t(3).sigmoid(),
                                                               t(3).double()),
    "bce input range": lambda f, t, i: f.binary_cross_entropy(t(3) + 5, t(3).sigmoid()),
    "bce target range": lambda f, t, i: f.binary_cross_entropy(t(3).sigmoid(), t(3) + 5),
    "bce reduction": lambda f, t, i: f.binary_cross_entropy(t(3).sigmoid(), t(3).sigmoid(),
                                                            reduction="avg"),
    "bce weight requires grad": lambda f, t, i: f.binary_cross_entropy(
        t(3).sigmoid(), t(3).sigmoid(), weight=t(3).requires_grad_()),
    "bce with logits size": lambda f, t, i: f.binary_cross_entropy_with_logits(t(3, 1), t(3)),
    "bce with logits integer target": lambda f, t, i: f.binary_cross_entropy_with_logits(
        t(3), i([0, 1, 1])),
    "bce with logits pos_weight shape": lambda f, t, i: f.binary_cross_entropy_with_logits(
        t(3, 2), t(3, 2), pos_weight=t(3)),
    "l1 shapes": lambda f, t, i: f.l1_loss(t(3), t(4)),
    "l1 integer mean": lambda f, t, i: f.l1_loss(i([1, 2]), i([1, 3])),
    "mse integer": lambda f, t, i: f.mse_loss(i([1, 2]), i([1, 3])),
    "mse weight size": lambda f, t, i: f.mse_loss(t(3), t(3), weight=t(1)),
    "smooth_l1 negative beta": lambda f, t, i: f.smooth_l1_loss(t(3), t(3), beta=-1),
    "huber delta 0": lambda f, t, i: f.huber_loss(t(3), t(3), delta=0),
    "kl_div integers": lambda f, t, i: f.kl_div(i([1, 2]), i([1, 2]), reduction="sum"),
    "kl_div reduction": lambda f, t, i: f.kl_div(t(3), t(3), reduction="avg"),
    "nll weight requires grad": lambda f, t, i: f.cross_entropy(
        t(3, 4), i([0, 1, 2]), weight=t(4).requires_grad_()),
    "one_hot too small": lambda f, t, i: f.one_hot(i([0, 2]), 2),
    "one_hot negative": lambda f, t, i: f.one_hot(i([0, -1]), 3),
    "one_hot float": lambda f, t, i: f.one_hot(t(2)),
    "one_hot empty": lambda f, t, i: f.one_hot(i(np.zeros(0, int))),
    "one_hot int32": lambda f, t, i: f.one_hot(i([0, 1]).int(), 3),
}


def _makers(library):
    rng = np.random.default_rng(0)
    if library is torch:
        return (lambda *s: torch.tensor(rng.random(s, np.float32)),
                lambda v: torch.tensor(np.asarray(v), dtype=torch.int64))
    return (lambda *s: microdl.tensor(rng.random(s, np.float32)),
            lambda v: microdl.tensor(np.asarray(v, np.int64)))


def _raised(library, functional, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ERRORS[name](functional, *_makers(library))
        except Exception as error:  # noqa: BLE001 (the type is what is compared)
            return error
    pytest.fail(f"{library.__name__} raised nothing for {name}")


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    ref = _raised(torch, TF, name)
    got = _raised(microdl, F, name)
    assert type(got) is type(ref), f"{type(got).__name__}: {got} vs {type(ref).__name__}: {ref}"
    assert str(ref) in str(got)


def test_legacy_reduction_arguments_are_refused():
    x = microdl.tensor(X)
    with pytest.raises(ValueError, match="size_average and reduce are deprecated"):
        F.cross_entropy(x, LABELS, size_average=True)
    with pytest.raises(ValueError, match="size_average and reduce are deprecated"):
        nn.MSELoss(reduce=False)


def test_broadcast_warnings_as_torch():
    with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[1, 4\]\)\) that "
                                         r"is different to the input size"):
        F.mse_loss(microdl.tensor(X), microdl.tensor(X[:1]))
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(microdl.tensor(X), microdl.tensor(np.abs(X)))


def test_probabilities_and_logits_stay_finite_at_the_edges(kernel_set):
    p = microdl.tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    y = microdl.tensor(np.array([1.0, 0.0, 0.0, 1.0]), requires_grad=True)
    loss = F.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(loss.detach().numpy(), [100, 100, 0, 0])
    loss.sum().backward()
    tp, ty = torch.tensor(p.detach().numpy(), requires_grad=True), torch.tensor(
        y.detach().numpy(), requires_grad=True)
    TF.binary_cross_entropy(tp, ty, reduction="sum").backward()
    np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())
    logits = microdl.tensor(np.array([-1000.0, 1000.0, 0.0], np.float32), requires_grad=True)
    out = F.binary_cross_entropy_with_logits(logits, microdl.tensor(np.ones(3, np.float32)),
                                             reduction="none")
    np.testing.assert_allclose(out.detach().numpy(), [1000, 0, np.log(2)], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [-1, 0, -0.5], atol=1e-7)


def test_all_targets_ignored_gives_nan_as_torch():
    x = microdl.tensor(X[:2], requires_grad=True)
    loss = F.cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())
    assert np.isnan(F.cross_entropy(microdl.tensor(X[:0]), np.zeros((0, 4), np.float32)).item())


def test_one_hot_matches_torch():
    labels = np.array([[0, 2], [1, 1]])
    out = F.one_hot(microdl.tensor(labels))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), TF.one_hot(torch.tensor(labels)).numpy())
    np.testing.assert_array_equal(F.one_hot(microdl.tensor(labels), 5).numpy(),
                                  TF.one_hot(torch.tensor(labels), 5).numpy())
    assert F.one_hot(microdl.tensor(np.zeros(0, np.int64)), 3).shape == (0, 3)


MODULES = [
    ("NLLLoss", dict(weight=W, ignore_index=3, reduction="sum"), X, np.array([0, 3, 1, 1, 2])),
    ("CrossEntropyLoss", dict(weight=W, label_smoothing=0.1), X, LABELS),
    ("BCELoss", dict(weight=W), P.astype(np.float32), Y.astype(np.float32)),
    ("BCEWithLogitsLoss", dict(pos_weight=W, reduction="none"), X, Y.astype(np.float32)),
    ("L1Loss", dict(), X, Y.astype(np.float32)),
    ("MSELoss", dict(reduction="sum"), X, Y.astype(np.float32)),
    ("SmoothL1Loss", dict(beta=0.5), X, Y.astype(np.float32)),
    ("HuberLoss", dict(delta=0.5), X, Y.astype(np.float32)),
    ("KLDivLoss", dict(reduction="batchmean", log_target=True), X, Y.astype(np.float32)),
]


@pytest.mark.parametrize("name,kwargs,x,y", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, kwargs, x, y):
    ours = getattr(nn, name)(**kwargs)
    theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                        for k, v in kwargs.items()})
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    xm, xt = microdl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xm, microdl.tensor(y)), theirs(xt, torch.tensor(y))
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=2e-5,
                               atol=1e-6)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=2e-5, atol=1e-6)


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["nll weighted ignore", "cross_entropy smoothing 4-D",
                                  "binary_cross_entropy weighted",
                                  "binary_cross_entropy_with_logits pos_weight", "huber delta",
                                  "kl_div log_target", "l1"])
def test_losses_on_cuda_match_cpu(name, shrunk_cuda):
    value, dtype, grads = _run(microdl, F, name, "mean", device="cuda")
    ref_value, ref_dtype, ref_grads = _run(microdl, F, name, "mean")
    assert dtype == ref_dtype
    np.testing.assert_allclose(value, ref_value, rtol=1e-5, atol=1e-7)
    for g, e in zip(grads, ref_grads):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)
