"""Embedding, F.interpolate / Upsample, the dropout variants, the nn.init additions and
microdl.load's PyTorch arguments: against PyTorch (values, dtypes, gradients, errors, reprs),
finite differences in float64, the interpolate kernels of every set against numpy_ref, and the
ops on the CUDA simulator."""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kernels"))
from kernel_harness import KernelSet  # noqa: E402

F32, F64 = np.float32, np.float64


def grads_of(out, tensors, g):
    out.backward(microdl.tensor(g, device=out.device))
    return [t.grad.numpy() for t in tensors]


def torch_grads_of(out, tensors, g, torch):
    out.backward(torch.tensor(g))
    return [t.grad.numpy() for t in tensors]


# ---- embedding --------------------------------------------------------------------------------
EMBEDDING_CASES = {  # name -> (indices, F.embedding keyword arguments)
    "repeated": (np.array([[1, 3, 1], [0, 3, 3]]), {}),
    "padding": (np.array([[1, 2, 2], [0, 2, 4]]), {"padding_idx": 2}),
    "negative padding": (np.array([4, 1, 4, 0]), {"padding_idx": -1}),
    "scale_grad_by_freq": (np.array([1, 1, 3, 0, 1]), {"scale_grad_by_freq": True,
                                                       "padding_idx": 0}),
    "int32 scalar": (np.array(3, np.int32), {}),
}


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("name", sorted(EMBEDDING_CASES))
def test_embedding_matches_pytorch(name, dtype, kernel_set):
    torch = pytest.importorskip("torch")
    indices, kwargs = EMBEDDING_CASES[name]
    weight = np.random.default_rng(1).standard_normal((5, 3)).astype(dtype)
    w, tw = microdl.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
    out = F.embedding(microdl.tensor(indices), w, **kwargs)
    ref = torch.nn.functional.embedding(torch.tensor(indices), tw, **kwargs)
    assert out.dtype == dtype and out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = np.random.default_rng(2).standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(grads_of(out, [w], g)[0], torch_grads_of(ref, [tw], g, torch)[0],
                               rtol=1e-6, atol=1e-7)


def test_embedding_gradcheck_with_repeats():
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: compared with
    # PyTorch above, not with finite differences)
    weight = microdl.tensor(np.random.default_rng(0).standard_normal((6, 4)), requires_grad=True)
    indices = microdl.tensor(np.array([[0, 5, 5], [2, 0, 1]]))
    assert microdl.gradcheck(lambda w: F.embedding(indices, w) ** 2, [weight])


def test_embedding_module_init_repr_and_from_pretrained():
    torch = pytest.importorskip("torch")
    microdl.manual_seed(0)
    big = nn.Embedding(400, 50, padding_idx=3)
    w = big.weight.detach().numpy()
    assert big.weight.dtype == F32 and big.weight.requires_grad and w.shape == (400, 50)
    assert np.all(w[3] == 0) and abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02
    assert repr(nn.Embedding(10, 3)) == repr(torch.nn.Embedding(10, 3)) == "Embedding(10, 3)"
    for kwargs in ({"padding_idx": -1, "scale_grad_by_freq": True}, {"norm_type": 1.0}):
        assert repr(nn.Embedding(10, 3, **kwargs)) == repr(torch.nn.Embedding(10, 3, **kwargs))
    assert nn.Embedding(10, 3, padding_idx=-2).padding_idx == 8
    table = np.arange(12.0).reshape(4, 3)
    frozen = nn.Embedding.from_pretrained(microdl.tensor(table), padding_idx=1)
    assert not frozen.weight.requires_grad and frozen.padding_idx == 1
    np.testing.assert_array_equal(frozen(microdl.tensor([1, 3])).numpy(), table[[1, 3]])
    trained = nn.Embedding.from_pretrained(table, freeze=False)
    assert trained.weight.requires_grad and trained.weight.dtype == F64
    assert list(trained.state_dict()) == ["weight"]


def test_embedding_errors_as_pytorch_raises_them():
    torch = pytest.importorskip("torch")
    weight = np.zeros((3, 2), F32)
    cases = [  # (microdl call, torch call)
        (lambda: F.embedding(microdl.tensor([1.0]), microdl.tensor(weight)),
         lambda: torch.nn.functional.embedding(torch.tensor([1.0]), torch.tensor(weight))),
        (lambda: F.embedding(microdl.tensor([1], dtype=microdl.int16), microdl.tensor(weight)),
         lambda: torch.nn.functional.embedding(torch.tensor([1], dtype=torch.int16),
                                               torch.tensor(weight))),
        (lambda: F.embedding(microdl.tensor([3]), microdl.tensor(weight)),
         lambda: torch.nn.functional.embedding(torch.tensor([3]), torch.tensor(weight))),
        (lambda: F.embedding(microdl.tensor([-1]), microdl.tensor(weight)),
         lambda: torch.nn.functional.embedding(torch.tensor([-1]), torch.tensor(weight))),
        (lambda: F.embedding(microdl.tensor([1]), microdl.tensor(np.zeros(3))),
         lambda: torch.nn.functional.embedding(torch.tensor([1]), torch.zeros(3))),
        (lambda: nn.Embedding(10, 3, padding_idx=10), lambda: torch.nn.Embedding(10, 3, 10)),
        (lambda: nn.Embedding(10, 3, padding_idx=-11), lambda: torch.nn.Embedding(10, 3, -11)),
        (lambda: nn.Embedding(10, 3, _weight=np.zeros((3, 3))),
         lambda: torch.nn.Embedding(10, 3, _weight=torch.zeros(3, 3))),
        (lambda: nn.Embedding.from_pretrained(np.zeros(3)),
         lambda: torch.nn.Embedding.from_pretrained(torch.zeros(3))),
    ]
    for ours, theirs in cases:
        with pytest.raises(Exception) as expected:
            theirs()
        with pytest.raises(type(expected.value)) as got:
            ours()
        assert str(got.value) == str(expected.value)
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(10, 3, max_norm=1.0)
    with pytest.raises(NotImplementedError, match="max_norm"):
        F.embedding(microdl.tensor([1]), microdl.tensor(weight), max_norm=1.0)
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(10, 3, sparse=True)


# ---- interpolate ------------------------------------------------------------------------------
INTERPOLATE_CASES = {  # name -> (input shape, F.interpolate keyword arguments)
    "nearest size": ((2, 3, 4, 5), dict(size=(7, 3))),
    "nearest x2": ((1, 2, 3, 4), dict(scale_factor=2)),
    "nearest 1.7": ((2, 2, 4, 5), dict(scale_factor=1.7)),
    "nearest down": ((1, 2, 7, 6), dict(scale_factor=(0.5, 0.4))),
    "nearest recompute": ((1, 2, 5, 5), dict(scale_factor=1.3, recompute_scale_factor=True)),
    "nearest-exact": ((2, 2, 4, 5), dict(scale_factor=1.7, mode="nearest-exact")),
    "nearest 1d": ((2, 3, 6), dict(size=4)),
    "bilinear": ((2, 3, 4, 5), dict(size=(7, 3), mode="bilinear")),
    "bilinear corners": ((2, 3, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=True)),
    "bilinear 1.7": ((2, 2, 4, 5), dict(scale_factor=1.7, mode="bilinear")),
    "bilinear same height": ((1, 1, 4, 4), dict(size=(4, 9), mode="bilinear")),
    "bilinear to one": ((1, 2, 4, 4), dict(size=(1, 1), mode="bilinear", align_corners=True)),
    "bilinear down": ((1, 2, 9, 8), dict(scale_factor=0.45, mode="bilinear")),
    "linear": ((2, 3, 6), dict(size=11, mode="linear")),
    "linear corners": ((2, 3, 6), dict(scale_factor=0.6, mode="linear", align_corners=True)),
    "area": ((2, 3, 6, 5), dict(size=(4, 3), mode="area")),
    "area 1d": ((2, 3, 6), dict(scale_factor=0.5, mode="area")),
}


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("name", sorted(INTERPOLATE_CASES))
def test_interpolate_matches_pytorch(name, dtype, kernel_set):
    torch = pytest.importorskip("torch")
    shape, kwargs = INTERPOLATE_CASES[name]
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    t, tt = microdl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = F.interpolate(t, **kwargs)
    ref = torch.nn.functional.interpolate(tt, **kwargs)
    assert out.dtype == dtype and out.shape == tuple(ref.shape)
    tol = dict(rtol=1e-5, atol=2e-6) if dtype == F32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    g = np.random.default_rng(4).standard_normal(out.shape).astype(dtype)
    np.testing.assert_allclose(grads_of(out, [t], g)[0], torch_grads_of(ref, [tt], g, torch)[0],
                               **tol)


@pytest.mark.parametrize("name", ["bilinear", "bilinear corners", "linear", "nearest 1.7",
                                  "bilinear down"])
def test_interpolate_gradcheck(name, kernel_set):
    shape, kwargs = INTERPOLATE_CASES[name]
    x = microdl.tensor(np.random.default_rng(5).standard_normal(shape), requires_grad=True)
    assert microdl.gradcheck(lambda x: F.interpolate(x, **kwargs), [x])


def test_interpolate_errors_as_pytorch_raises_them():
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 2, 2, 2), F32)
    cases = [dict(size=3, scale_factor=2), dict(), dict(size=(3,)),
             dict(size=3, align_corners=True), dict(scale_factor=(2, 3, 4)),
             dict(size=0), dict(scale_factor=-1.0), dict(size=3, mode="linear"),
             dict(size=3, mode="foo"), dict(size=3, recompute_scale_factor=True),
             dict(size=3, mode="bilinear", antialias=False, align_corners=None)]
    for kwargs in cases:
        try:
            torch.nn.functional.interpolate(torch.tensor(x), **kwargs)
        except Exception as error:  # noqa: BLE001  (each case raises; its type is compared)
            expected = error
        else:
            F.interpolate(microdl.tensor(x), **kwargs)  # both accept it
            continue
        with pytest.raises(type(expected)) as got:
            F.interpolate(microdl.tensor(x), **kwargs)
        assert str(got.value) == str(expected), kwargs
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D"):
        F.interpolate(microdl.tensor(np.zeros((1, 2, 4))), size=3, mode="bilinear")
    for mode in ("bicubic", "trilinear", "lanczos"):
        with pytest.raises(NotImplementedError, match=mode):
            F.interpolate(microdl.tensor(np.zeros((1, 1, 2, 2, 2))), size=3, mode=mode)
    with pytest.raises(NotImplementedError, match="'bicubic' for 4D input is not implemented"):
        F.interpolate(microdl.tensor(x), size=3, mode="bicubic")
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.interpolate(microdl.tensor(np.zeros((1, 1, 2, 2), np.int64)), size=3)


def test_upsample_modules_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(6).standard_normal((1, 2, 3, 4)).astype(F32)
    pairs = [(nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
             (nn.Upsample(size=(5, 2), mode="bilinear"),
              torch.nn.Upsample(size=(5, 2), mode="bilinear")),
             (nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=True),
              torch.nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=True)),
             (nn.UpsamplingNearest2d(size=5), torch.nn.UpsamplingNearest2d(size=5)),
             (nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(
                 scale_factor=2))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(microdl.tensor(x)).numpy(),
                                   theirs(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-6)


# the kernels of every set against numpy_ref (tables as the op builds them)
def _linear_tables(in_size, out_size, align_corners, dtype):
    from microdl.ops.interpolate import linear_table

    return linear_table(in_size, out_size, None, align_corners, np.dtype(dtype))


def _kernel_cases(dtype):
    from microdl.ops.interpolate import nearest_table

    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    out = np.full((3, 7, 3), np.nan, dtype)
    grad_out = rng.standard_normal(out.shape).astype(dtype)
    grad_in = np.full(x.shape, np.nan, dtype)
    rows, cols = nearest_table(4, 7, None), nearest_table(5, 3, 1.7)
    (lr, lrw), (lc, lcw) = _linear_tables(4, 7, False, dtype), _linear_tables(5, 3, True, dtype)
    big = rng.standard_normal((70, 40, 30)).astype(dtype)  # past the parallel threshold
    (br, brw), (bc, bcw) = _linear_tables(40, 61, False, dtype), _linear_tables(30, 47, False,
                                                                                dtype)
    return {
        "nearest2d_forward": (x, out, rows, cols),
        "nearest2d_backward": (grad_out, grad_in, rows, cols),
        "bilinear2d_forward": (x, out, lr, lrw, lc, lcw),
        "bilinear2d_backward": (grad_out, grad_in, lr, lrw, lc, lcw),
        "bilinear2d_forward large": (big, np.full((70, 61, 47), np.nan, dtype), br, brw, bc,
                                     bcw),
        "bilinear2d_backward large": (rng.standard_normal((70, 61, 47)).astype(dtype),
                                      np.full(big.shape, np.nan, dtype), br, brw, bc, bcw),
    }


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def twin(request):
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return KernelSet(request.param)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("case", sorted(_kernel_cases(F32)))
def test_interpolate_kernels_match_numpy_ref(case, dtype, twin):
    args = _kernel_cases(dtype)[case]
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == F32 else dict(rtol=1e-12, atol=1e-12)
    twin.check("interpolate", case.split()[0], list(args), **tol)


@pytest.mark.cuda
def test_ops_on_the_cuda_simulator_match_the_cpu(shrunk_cuda):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 2, 3, 3))
    weight = rng.standard_normal((4, 3))
    indices = np.array([[1, 2, 1], [3, 0, 2]])
    cases = [
        (lambda x: F.interpolate(x, size=(4, 5), mode="bilinear"), x),
        (lambda x: F.interpolate(x, scale_factor=1.5), x),
        (lambda w: F.embedding(microdl.tensor(indices, device=w.device), w, padding_idx=2),
         weight),
    ]
    for fn, value in cases:
        results = []
        for device in ("cpu", "cuda"):
            t = microdl.tensor(value, requires_grad=True, device=device)
            out = fn(t)
            g = np.linspace(-1, 1, out.numel()).reshape(out.shape)
            results.append((out.detach().numpy(), grads_of(out, [t], g)[0]))
        np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)


# ---- dropout variants -------------------------------------------------------------------------
@pytest.mark.parametrize("fn, shape, channel_axes", [
    (F.dropout1d, (4, 6, 5), 2), (F.dropout1d, (6, 5), 1), (F.dropout2d, (4, 6, 3, 3), 2),
    (F.dropout3d, (4, 6, 2, 2, 2), 2), (F.dropout3d, (6, 2, 2, 2), 1)])
def test_feature_dropout_zeroes_whole_channels(fn, shape, channel_axes):
    microdl.manual_seed(1)
    x = microdl.tensor(np.random.default_rng(0).uniform(1, 2, shape), requires_grad=True)
    y = fn(x, p=0.4)
    ratio = (y.detach().numpy() / x.detach().numpy()).reshape(*shape[:channel_axes], -1)
    per_channel = ratio[..., :1]
    assert np.allclose(ratio, per_channel)  # one factor per channel
    assert set(np.round(np.unique(per_channel), 12)) == {0.0, round(1 / 0.6, 12)}
    y.backward(microdl.ones(*shape, dtype=microdl.float64))
    np.testing.assert_allclose(x.grad.numpy().reshape(ratio.shape), ratio)
    microdl.manual_seed(1)
    np.testing.assert_array_equal(fn(x, p=0.4).detach().numpy(), y.detach().numpy())
    assert fn(x, p=0.4, training=False) is x
    assert np.all(fn(x, p=1.0).detach().numpy() == 0)


def test_dropout_modules_reprs_modes_and_errors():
    torch = pytest.importorskip("torch")
    for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                 "FeatureAlphaDropout"):
        assert repr(getattr(nn, name)(0.2)) == repr(getattr(torch.nn, name)(0.2))
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                             "but got 1.5"):
            getattr(nn, name)(1.5)
    layer = nn.Dropout2d(0.5).eval()
    x = microdl.ones(2, 3, 2, 2)
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    with pytest.raises(RuntimeError) as expected:
        torch.nn.functional.dropout1d(torch.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError) as got:
        F.dropout1d(microdl.ones(2, 3, 4, 5))
    assert str(got.value) == str(expected.value)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F.dropout2d(microdl.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout3d"):
        F.dropout3d(microdl.ones(2, 3), training=False)


@pytest.mark.parametrize("fn, per_channel", [(F.alpha_dropout, False),
                                             (F.feature_alpha_dropout, True)])
def test_alpha_dropout_keeps_selu_statistics(fn, per_channel):
    microdl.manual_seed(3)
    x = microdl.tensor(np.random.default_rng(1).standard_normal((400, 50, 4)))
    assert fn(x, 0.2) is x  # PyTorch's default is training=False
    y = fn(x, 0.2, training=True).numpy()
    s, p = 1.7580993408473766, 0.2
    a = 1 / math.sqrt((s * s * p + 1) * (1 - p))
    kept = np.isclose(y, a * x.numpy() + a * s * p)
    dropped = np.isclose(y, a * s * (p - 1))
    assert np.all(kept | dropped) and abs(dropped.mean() - p) < 0.02
    if per_channel:
        assert np.all(dropped.all(axis=2) | ~dropped.any(axis=2))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02


# ---- nn.init ----------------------------------------------------------------------------------
def test_init_fills_like_pytorch():
    torch = pytest.importorskip("torch")
    for shape, groups in (((4, 2, 3), 1), ((6, 3, 3, 3), 2), ((2, 2, 3, 3, 3), 1)):
        ours, theirs = microdl.empty(*shape), torch.empty(*shape)
        assert nn.init.dirac_(ours, groups) is ours
        np.testing.assert_array_equal(ours.numpy(), torch.nn.init.dirac_(theirs, groups))
    for shape in ((3, 5), (5, 3)):
        np.testing.assert_array_equal(nn.init.eye_(microdl.empty(*shape)).numpy(),
                                      torch.nn.init.eye_(torch.empty(*shape)).numpy())
    for name, arg in (("tanh", None), ("relu", None), ("leaky_relu", 0.3), ("selu", None)):
        assert nn.init.calculate_gain(name, arg) == torch.nn.init.calculate_gain(name, arg)
    for call, shape in ((lambda t: nn.init.eye_(t), (2, 2, 2)),
                        (lambda t: nn.init.dirac_(t), (2, 2)),
                        (lambda t: nn.init.orthogonal_(t), (3,))):
        with pytest.raises(ValueError) as got:
            call(microdl.empty(*shape))
        name = {2: "dirac_", 3: "eye_", 1: "orthogonal_"}[len(shape)]
        with pytest.raises(ValueError) as expected:
            getattr(torch.nn.init, name)(torch.empty(*shape))
        assert str(got.value) == str(expected.value)


def test_init_random_fills_draw_from_microdl_generator():
    w = microdl.empty(6, 4, 3)
    nn.init.orthogonal_(w, gain=2.0)
    flat = w.numpy().reshape(6, 12)
    np.testing.assert_allclose(flat @ flat.T, 4 * np.eye(6), atol=1e-5)
    microdl.manual_seed(5)
    t = nn.init.trunc_normal_(microdl.empty(20000), mean=1.0, std=2.0, a=-1.0, b=2.0).numpy()
    assert t.min() >= -1.0 and t.max() <= 2.0 and abs(t.mean() - 0.5867) < 0.03
    microdl.manual_seed(5)
    again = nn.init.trunc_normal_(microdl.empty(20000), mean=1.0, std=2.0, a=-1.0, b=2.0)
    np.testing.assert_array_equal(again.numpy(), t)
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        far = nn.init.trunc_normal_(microdl.empty(5000), a=4.0, b=4.5)
    assert far.numpy().min() >= 4.0 and far.numpy().max() <= 4.5
    s = nn.init.sparse_(microdl.empty(10, 7), sparsity=0.3).numpy()
    assert np.all((s == 0).sum(axis=0) >= 3)
    own = np.random.default_rng(11)
    a = nn.init.kaiming_normal_(microdl.empty(3, 4), generator=own).numpy()
    b = nn.init.kaiming_normal_(microdl.empty(3, 4), generator=np.random.default_rng(11)).numpy()
    np.testing.assert_array_equal(a, b)


# ---- save / load ------------------------------------------------------------------------------
def test_load_takes_pytorchs_arguments_and_save_refuses_whole_modules(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.Embedding(4, 2))
    path = tmp_path / "m.npz"
    microdl.save(model.state_dict(), path)
    for kwargs in ({"weights_only": True}, {"weights_only": False}, {"map_location": "cpu"},
                   {"map_location": microdl.device("cpu"), "weights_only": None},
                   {"map_location": lambda storage, loc: storage}):
        state = microdl.load(path, **kwargs)
        assert sorted(state) == sorted(model.state_dict())
    fresh = nn.Sequential(nn.Linear(2, 3), nn.Embedding(4, 2))
    fresh.load_state_dict(microdl.load(path, map_location="cpu", weights_only=True))
    np.testing.assert_array_equal(fresh[1].weight.detach().numpy(),
                                  model[1].weight.detach().numpy())
    with pytest.raises(TypeError, match=r"Save model.state_dict\(\)"):
        microdl.save(model, tmp_path / "whole.npz")
    assert not (tmp_path / "whole.npz").exists()
    with pytest.raises(TypeError, match=r"optimizer.state_dict\(\)"):
        microdl.save(microdl.optim.SGD(model.parameters(), lr=0.1), tmp_path / "o.npz")
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        microdl.load(path, map_location="tpu")
    with pytest.raises(TypeError, match="pickle_module"):
        microdl.load(path, pickle_module=object())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        microdl.load(path, weights_only=True)  # no FutureWarning, unlike old torch.load
