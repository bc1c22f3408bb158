"""Layers against PyTorch: pooling options (ceil_mode, dilation, count_include_pad,
divisor_override, return_indices), adaptive and 1-D pooling, Conv1d, BatchNorm3d and the new
BatchNorm arguments, input type errors; the new pool kernels on numba and the cuda simulator
against numpy_ref; float64 gradchecks."""

import pathlib
import sys

import numpy as np
import pytest

import microdl
import microdl.functional as F
from microdl import gradcheck, nn, tensor
from microdl.backend import kernel_module

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "kernels"))
from kernel_harness import KernelSet  # noqa: E402

MAX_OPTIONS = [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 2)),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
    dict(kernel_size=(2,), stride=(), padding=0),
]
AVG_OPTIONS = [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=True),
    dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 1), ceil_mode=True, divisor_override=5),
    dict(kernel_size=2, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=1, padding=1, count_include_pad=False, divisor_override=-2),
]
ADAPTIVE_SIZES = [(3, 4), (5, 2), (2, None), 1, (7, 6), (4, 5)]


def _both(torch, x, requires_grad=True):
    return (tensor(x, requires_grad=requires_grad),
            torch.tensor(x, requires_grad=requires_grad))


def _backward_both(torch, ours, theirs, rng):
    g = rng.standard_normal(theirs.shape)
    ours.backward(tensor(g))
    theirs.backward(torch.tensor(g))


@pytest.mark.parametrize("options", MAX_OPTIONS, ids=str)
def test_max_pool2d_options_match_torch(options, kernel_set, rng):
    torch = pytest.importorskip("torch")
    x = rng.integers(-3, 4, (2, 3, 7, 6)).astype(np.float64)  # ties
    x[0, 0, 2, 2] = np.nan
    xm, xt = _both(torch, x)
    ym, im = F.max_pool2d(xm, return_indices=True, **options)
    yt, it = torch.nn.functional.max_pool2d(xt, return_indices=True, **options)
    np.testing.assert_array_equal(ym.detach().numpy(), yt.detach().numpy())
    assert im.dtype == np.int64 and not im.requires_grad
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    _backward_both(torch, ym, yt, rng)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("options", AVG_OPTIONS, ids=str)
def test_avg_pool2d_options_match_torch(options, kernel_set, rng):
    torch = pytest.importorskip("torch")
    xm, xt = _both(torch, rng.standard_normal((2, 3, 7, 6)))
    ym = F.avg_pool2d(xm, **options)
    yt = torch.nn.functional.avg_pool2d(xt, **options)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    _backward_both(torch, ym, yt, rng)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("size", ADAPTIVE_SIZES, ids=str)
def test_adaptive_pools_match_torch(size, kernel_set, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 7, 6))
    xm, xt = _both(torch, x)
    ym, yt = F.adaptive_avg_pool2d(xm, size), torch.nn.functional.adaptive_avg_pool2d(xt, size)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    _backward_both(torch, ym, yt, rng)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    xm, xt = _both(torch, x)
    ym, im = nn.AdaptiveMaxPool2d(size, return_indices=True)(xm)
    yt, it = torch.nn.AdaptiveMaxPool2d(size, return_indices=True)(xt)
    np.testing.assert_array_equal(ym.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    _backward_both(torch, ym, yt, rng)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_pool_modules_reprs_and_unbatched_input_match_torch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 8, 9)).astype(np.float32)
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(3, 2, 1, True, False), torch.nn.AvgPool2d(3, 2, 1, True, False)),
        (nn.MaxPool1d(3, 2, 1, 2), torch.nn.MaxPool1d(3, 2, 1, 2)),
        (nn.AvgPool1d(3, 2, 1), torch.nn.AvgPool1d(3, 2, 1)),
        (nn.AdaptiveAvgPool2d((2, None)), torch.nn.AdaptiveAvgPool2d((2, None))),
        (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        assert ours(tensor(x)).shape == tuple(theirs(torch.tensor(x)).shape), repr(ours)
        np.testing.assert_allclose(ours(tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-6, atol=1e-7)
    y, idx = nn.MaxPool2d(2, return_indices=True)(tensor(x))
    yt, it = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), it.numpy())


def test_1d_pools_match_torch(kernel_set, rng):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((2, 3, 9))
    xm, xt = _both(torch, x)
    ym, im = F.max_pool1d(xm, 3, 2, 1, 2, True, True)
    yt, it = tf.max_pool1d(xt, 3, 2, 1, 2, True, True)
    np.testing.assert_array_equal(ym.detach().numpy(), yt.detach().numpy())
    np.testing.assert_array_equal(im.numpy(), it.numpy())
    _backward_both(torch, ym, yt, rng)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    xm, xt = _both(torch, x)
    ym, yt = F.avg_pool1d(xm, 3, 2, 1, True, False), tf.avg_pool1d(xt, 3, 2, 1, True, False)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    _backward_both(torch, ym, yt, rng)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_pool_gradchecks_float64(rng):
    x = tensor(rng.standard_normal((1, 2, 7, 6)), requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, dilation=2, ceil_mode=True), [x])
    for options in AVG_OPTIONS:
        assert gradcheck(lambda x: F.avg_pool2d(x, **options), [x])
    for size in ADAPTIVE_SIZES:
        assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, size), [x])
        assert gradcheck(lambda x: F.adaptive_max_pool2d(x, size), [x])
    x1 = tensor(rng.standard_normal((2, 3, 9)), requires_grad=True)
    w = tensor(rng.standard_normal((4, 3, 3)), requires_grad=True)
    b = tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2), [x1, w, b])


# ---- pooling errors, as PyTorch raises them ----------------------------------------------------
POOL_ERRORS = [
    (lambda tf, x: tf.max_pool2d(x, (2, 2, 2)), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 2, (1, 1, 1)), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 2, 2, (1, 1, 1)), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 2, 2, 0, (1, 1, 1)), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, ()), RuntimeError),
    (lambda tf, x: tf.avg_pool2d(x, (2, 2, 2)), RuntimeError),
    (lambda tf, x: tf.avg_pool2d(x, 2, (2, 2, 2)), RuntimeError),
    (lambda tf, x: tf.avg_pool2d(x, 2, 2, (0, 0, 0)), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 2.0), TypeError),
    (lambda tf, x: tf.avg_pool2d(x, 2, divisor_override=0), RuntimeError),
    (lambda tf, x: tf.avg_pool2d(x, 2, divisor_override=1.5), TypeError),
    (lambda tf, x: tf.max_pool2d(x, 2, dilation=0), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 2, padding=2, dilation=2), RuntimeError),
    (lambda tf, x: tf.avg_pool2d(x, 2, padding=2), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 2, padding=-1), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 0), RuntimeError),
    (lambda tf, x: tf.max_pool2d(x, 6), RuntimeError),
    (lambda tf, x: tf.adaptive_avg_pool2d(x, (2, 2, 2)), RuntimeError),
    (lambda tf, x: tf.adaptive_avg_pool2d(x, -1), RuntimeError),
    (lambda tf, x: tf.adaptive_avg_pool2d(x[0, 0], 2), RuntimeError),
    (lambda tf, x: tf.adaptive_max_pool2d(x[0, 0], 2), RuntimeError),
    (lambda tf, x: tf.max_pool1d(x[0], (2, 2)), RuntimeError),
    (lambda tf, x: tf.avg_pool1d(x[0], (2, 2)), RuntimeError),
    (lambda tf, x: tf.max_pool1d(x, 2), RuntimeError),
    (lambda tf, x: tf.avg_pool1d(x, 2), RuntimeError),
    (lambda tf, x: tf.conv1d(x, x[:1, :, 0]), RuntimeError),
    (lambda tf, x: tf.conv1d(x[0], x[:1, :, 0], None, (1, 1)), RuntimeError),
    (lambda tf, x: tf.max_pool2d([[1.0]], 2), TypeError),
    (lambda tf, x: tf.avg_pool2d([[1.0]], 2), TypeError),
]


@pytest.mark.parametrize("case", range(len(POOL_ERRORS)))
def test_pool_and_conv1d_errors_match_torch(case):
    torch = pytest.importorskip("torch")
    call, kind = POOL_ERRORS[case]
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with pytest.raises(kind) as theirs:
        call(torch.nn.functional, torch.tensor(x))
    with pytest.raises(kind) as ours:
        call(F, tensor(x))
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0] \
        or kind is TypeError


@pytest.mark.parametrize("name,bad", [("Linear", "linear"), ("Conv2d", "conv2d"),
                                      ("BatchNorm2d", "batch_norm"),
                                      ("MaxPool2d", "max_pool2d")])
@pytest.mark.parametrize("value", [[[1.0, 2.0]], np.ones((1, 3, 4, 4), np.float32)])
def test_modules_reject_non_tensor_input_with_torch_wording(name, bad, value):
    module = {"Linear": lambda: nn.Linear(3, 2), "Conv2d": lambda: nn.Conv2d(3, 2, 3),
              "BatchNorm2d": lambda: nn.BatchNorm2d(3), "MaxPool2d": lambda: nn.MaxPool2d(2)}
    kind = "list" if isinstance(value, list) else "numpy.ndarray"
    with pytest.raises(TypeError, match=rf"^{bad}\(\): argument 'input' \(position 1\) must be "
                                        rf"Tensor, not {kind}$"):
        module[name]()(value)
    torch = pytest.importorskip("torch")
    if name in ("Linear", "MaxPool2d"):  # PyTorch's own words for these two
        theirs = getattr(torch.nn, name)(*((3, 2) if name == "Linear" else (2,)))
        with pytest.raises(TypeError, match=rf"must be Tensor, not {kind}"):
            theirs(value)


# ---- Conv1d and the Conv arguments ----------------------------------------------------------
@pytest.mark.parametrize("options", [dict(), dict(stride=2, padding=1, dilation=2),
                                     dict(padding="same", groups=3, bias=False),
                                     dict(padding="valid", stride=(2,))], ids=str)
def test_conv1d_module_matches_torch(options, rng):
    torch = pytest.importorskip("torch")
    ours = nn.Conv1d(6, 9, 3, dtype=np.float64, **options)
    theirs = torch.nn.Conv1d(6, 9, 3, dtype=torch.float64, **options)
    assert repr(ours) == repr(theirs)
    assert [(k, v.shape) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 6, 11))
    xm, xt = _both(torch, x)
    ym, yt = ours(xm), theirs(xt)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    _backward_both(torch, ym, yt, rng)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-10, atol=1e-12)
    unbatched = ours(tensor(x[0]))
    np.testing.assert_allclose(unbatched.detach().numpy(), ym.detach().numpy()[0], rtol=1e-12)


def test_conv_constructor_arguments_match_torch():
    torch = pytest.importorskip("torch")
    conv = nn.Conv2d(4, 6, 3, 1, 1, 1, 2, False, "zeros", "cpu", np.float64)
    assert conv.weight.dtype == np.float64 and conv.bias is None
    assert repr(conv) == repr(torch.nn.Conv2d(4, 6, 3, 1, 1, 1, 2, False, "zeros"))
    with pytest.raises(ValueError, match=r"padding_mode must be one of .* but got "
                                         r"padding_mode='bogus'"):
        nn.Conv2d(3, 1, 2, padding_mode="bogus")
    for mode in ("reflect", "replicate", "circular"):
        torch.nn.Conv1d(3, 1, 2, padding_mode=mode)  # PyTorch has them; microdl does not
        with pytest.raises(NotImplementedError, match=f"padding_mode='{mode}'"):
            nn.Conv1d(3, 1, 2, padding_mode=mode)
    with pytest.raises(RuntimeError, match=r"expected stride to be a single integer value or "
                                           r"a list of 2 values .* stride=\[1, 1, 1\]"):
        nn.Conv2d(3, 1, 2, stride=(1, 1, 1))
    with pytest.raises(RuntimeError, match=r"list of 1 values .* stride=\[1, 1\]"):
        nn.Conv1d(3, 1, 2, stride=(1, 1))
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv1d(3, 1, 4, padding="same", stride=2)
    x = torch.randn(2, 3, 5, 5)
    with pytest.raises(RuntimeError) as theirs:
        torch.nn.functional.conv2d(x, torch.ones(1, 3, 2, 2), None, (1, 1, 1))
    with pytest.raises(RuntimeError) as ours:
        F.conv2d(tensor(x.numpy()), tensor(np.ones((1, 3, 2, 2), np.float32)), None, (1, 1, 1))
    assert str(ours.value) == str(theirs.value)


# ---- BatchNorm: 3d, bias=False, eps, device/dtype, docstrings --------------------------------
@pytest.mark.parametrize("options", [dict(), dict(momentum=None), dict(bias=False),
                                     dict(affine=False), dict(track_running_stats=False)],
                         ids=str)
def test_batchnorm3d_matches_torch_in_train_and_eval(options, rng):
    torch = pytest.importorskip("torch")
    ours = nn.BatchNorm3d(3, dtype=np.float64, **options)
    theirs = torch.nn.BatchNorm3d(3, dtype=torch.float64, **options)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for p in ours.parameters():
        p.array[...] = rng.standard_normal(p.shape)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        x = rng.standard_normal((2, 3, 3, 2, 4)) * 3 + 1
        xm, xt = _both(torch, x)
        ym, yt = ours(xm), theirs(xt)
        np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        _backward_both(torch, ym, yt, rng)
        np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        for (name, p), pt in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-9, err_msg=name)
            p.grad, pt.grad = None, None
        for key, value in theirs.state_dict().items():
            np.testing.assert_allclose(ours.state_dict()[key], value.numpy(), rtol=1e-12,
                                       err_msg=key)


def test_batchnorm_eps_errors_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
    for eps in (0.0, -1.0):
        for training in (True, False):
            theirs = torch.nn.BatchNorm2d(3, eps=eps).train(training)
            ours = nn.BatchNorm2d(3, eps=eps).train(training)
            try:
                expected = theirs(torch.tensor(x)).detach().numpy()
            except ValueError as error:
                with pytest.raises(ValueError, match=f"^{str(error)}$"):
                    ours(tensor(x))
                continue
            np.testing.assert_allclose(ours(tensor(x)).detach().numpy(), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="^batch_norm eps must be positive during training, "
                                         "but got 0.0$"):
        F.batch_norm(tensor(x), None, None, training=True, eps=0.0)


def test_batchnorm_arguments_and_docstrings():
    bn = nn.BatchNorm2d(4, 1e-3, 0.2, True, True, "cpu", np.float64, bias=False)
    assert bn.weight.dtype == np.float64 and bn.bias is None
    assert bn.running_mean.dtype == np.float64
    with pytest.raises(ValueError, match=r"expected 5D input \(got 4D input\)"):
        nn.BatchNorm3d(3)(tensor(np.zeros((2, 3, 2, 2), np.float32)))
    for cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
        doc = cls.__doc__
        assert all(word in doc for word in ("eps", "momentum", "affine",
                                            "track_running_stats", "sqrt(var[c] + eps)",
                                            "Shape", "running_var"))
    for cls in (nn.Module, nn.Conv1d, nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.MaxPool1d,
                nn.AvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.ModuleList,
                nn.ModuleDict, nn.Sequential, nn.Unflatten, nn.Identity, nn.Linear):
        assert cls.__doc__ and len(cls.__doc__) > 40, cls


# ---- the pool kernels: numba and the cuda simulator against numpy_ref --------------------------
KERNEL_CASES = {
    "max ceil dilated": ("max_pool2d_forward", (2, 2, 7, 6), ((3, 2), (2, 1), (1, 0), (2, 2)),
                         (2, 2, 4, 4)),
    "max ceil": ("max_pool2d_forward", (1, 2, 5, 5), ((2, 2), (2, 2), (0, 0), (1, 1)),
                 (1, 2, 3, 3)),
    "avg ceil exclude pad": ("avg_pool2d_forward", (2, 2, 7, 6), ((3, 3), (2, 2), (1, 1), False,
                                                                  0), (2, 2, 5, 4)),
    "avg divisor": ("avg_pool2d_forward", (1, 2, 5, 6), ((2, 3), (3, 2), (1, 1), True, 5),
                    (1, 2, 3, 4)),
    "adaptive avg": ("adaptive_avg_pool2d_forward", (2, 2, 7, 6), (), (2, 2, 3, 4)),
    "adaptive max": ("adaptive_max_pool2d_forward", (2, 2, 7, 5), (), (2, 2, 4, 3)),
}


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def twin(request):
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return KernelSet(request.param)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", sorted(KERNEL_CASES))
def test_new_pool_kernels_match_numpy_ref(case, dtype, twin):
    name, shape, hyper, out_shape = KERNEL_CASES[case]
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, shape).astype(dtype)
    x.reshape(-1)[::11] = np.nan if name.startswith(("max", "adaptive_max")) else 0.5
    out = np.full(out_shape, np.nan, dtype)
    has_indices = "max" in name
    args = [x, out] + ([np.full(out_shape, -1, np.int64)] if has_indices else []) + list(hyper)
    tol = dict(rtol=1e-5 if dtype == np.float32 else 1e-12)
    expected = twin.check("pool", name, args, **tol)
    grad_out = rng.standard_normal(out_shape).astype(dtype)
    dx = np.full(shape, np.nan, dtype)
    backward = name.replace("forward", "backward")
    args = [grad_out] + ([expected[2]] if has_indices else []) + [dx] + list(hyper)
    twin.check("pool", backward, args, **tol)


def test_reference_adaptive_windows_cover_the_input_and_the_backward_is_the_adjoint():
    ref = kernel_module("numpy", "pool")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 2, 7, 5))
    out = np.empty((1, 2, 3, 4))
    ref.adaptive_avg_pool2d_forward(x, out)
    g = rng.standard_normal(out.shape)
    dx = np.empty(x.shape)
    ref.adaptive_avg_pool2d_backward(g, dx)
    np.testing.assert_allclose((out * g).sum(), (x * dx).sum(), rtol=1e-12)
    np.testing.assert_allclose(out[0, 0, 0, 0], x[0, 0, 0:3, 0:2].mean())


@pytest.mark.cuda
def test_pool_ops_on_the_cuda_simulator(shrunk_cuda, rng):
    x = rng.standard_normal((1, 2, 5, 4))
    for fn in (lambda t: F.max_pool2d(t, 3, 2, 1, 2, True),
               lambda t: F.avg_pool2d(t, 2, 2, 1, True, False),
               lambda t: F.adaptive_avg_pool2d(t, (2, 3)),
               lambda t: F.adaptive_max_pool2d(t, (3, 2))):
        host = tensor(x, requires_grad=True)
        device = tensor(x, device="cuda", requires_grad=True)
        expected, got = fn(host), fn(device)
        expected.sum().backward()
        got.sum().backward()
        np.testing.assert_allclose(got.to("cpu").detach().numpy(),
                                   expected.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(device.grad.to("cpu").numpy(), host.grad.numpy(),
                                   rtol=1e-12)
    y, idx = F.max_pool2d(tensor(x, device="cuda"), 2, return_indices=True)
    np.testing.assert_array_equal(idx.to("cpu").numpy(),
                                  F.max_pool2d(tensor(x), 2, return_indices=True)[1].numpy())


def test_unflatten_and_identity_match_torch():
    torch = pytest.importorskip("torch")
    x = np.arange(24, dtype=np.float32).reshape(2, 12)
    for sizes in ((3, 4), (-1, 2), (2, 3, 2)):
        ours, theirs = nn.Unflatten(1, sizes), torch.nn.Unflatten(1, sizes)
        assert repr(ours) == repr(theirs)
        assert ours(tensor(x)).shape == tuple(theirs(torch.tensor(x)).shape)
    with pytest.raises(RuntimeError, match=r"unflatten: Provided sizes \[5, 2\] don't multiply "
                                           r"up to the size of dim 1 \(12\)"):
        nn.Unflatten(1, (5, 2))(tensor(x))
    assert repr(nn.Identity(3, a=4)) == repr(torch.nn.Identity(3, a=4)) == "Identity()"
    assert microdl.nn.Identity(54, unused="x")(tensor(x)).shape == x.shape
