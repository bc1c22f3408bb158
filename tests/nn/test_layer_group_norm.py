"""LayerNorm, GroupNorm and InstanceNorm1d/2d: against PyTorch (weights through state_dict,
values, dtypes, gradients, errors), finite differences, a large-mean numerics case and the
modules on the CUDA simulator. (The row_norm kernels against numpy_ref:
tests/kernels/test_row_norm_kernels.py.)"""

import numpy as np
import pytest

import microdl
import microdl.nn.functional as F
from microdl import nn

torch = pytest.importorskip("torch")

DTYPES = {np.float32: torch.float32, np.float64: torch.float64}

# (module factory taking the nn namespace, input shape)
MODULES = {
    "layer_norm_last": (lambda m: m.LayerNorm(7), (4, 7)),
    "layer_norm_2d": (lambda m: m.LayerNorm((3, 5)), (2, 4, 3, 5)),
    "layer_norm_no_bias": (lambda m: m.LayerNorm([5], bias=False), (3, 2, 5)),
    "layer_norm_no_affine": (lambda m: m.LayerNorm(6, elementwise_affine=False), (6,)),
    "group_norm_4d": (lambda m: m.GroupNorm(3, 6), (2, 6, 4, 3)),
    "group_norm_2d": (lambda m: m.GroupNorm(2, 4), (5, 4)),
    "group_norm_one_group": (lambda m: m.GroupNorm(1, 4, eps=1e-3), (3, 4, 5)),
    "group_norm_no_bias": (lambda m: m.GroupNorm(2, 4, bias=False), (3, 4, 5)),
    "group_norm_no_affine": (lambda m: m.GroupNorm(4, 4, affine=False), (2, 4, 3, 3)),
    "instance_norm_1d": (lambda m: m.InstanceNorm1d(3), (2, 3, 6)),
    "instance_norm_1d_unbatched": (lambda m: m.InstanceNorm1d(3), (3, 6)),
    "instance_norm_2d": (lambda m: m.InstanceNorm2d(2), (2, 2, 3, 4)),
}


def _pair(name, dtype):
    """(microdl module, torch module) with the same random weights, copied through
    state_dict."""
    make, _ = MODULES[name]
    theirs = make(torch.nn).to(DTYPES[dtype])
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.5, 1.5)
    ours = make(nn)
    if dtype == np.float64:
        ours.to(dtype=np.float64)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()}, strict=True)
    return ours, theirs


def _run_both(ours, theirs, x, g):
    xm, xt = microdl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ym, yt = ours(xm), theirs(xt)
    ym.backward(microdl.tensor(g))
    yt.backward(torch.tensor(g))
    return (ym, xm), (yt, xt)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(name, dtype, kernel_set, rng):
    ours, theirs = _pair(name, dtype)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    shape = MODULES[name][1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    (ym, xm), (yt, xt) = _run_both(ours, theirs, x, g)
    assert ym.dtype == x.dtype and ym.shape == tuple(yt.shape)
    # float32: microdl's statistics are float64 (exact to rounding); PyTorch's float32 sums
    # and gradient formulas are a few ulps off, more in dx where a row's variance is small
    tight, loose = (1e-6, 1e-4) if dtype == np.float32 else (1e-12, 1e-10)
    np.testing.assert_allclose(ym.detach().numpy(), yt.detach().numpy(), rtol=tight, atol=tight)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=loose, atol=loose)
    theirs_params = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        assert p.grad.dtype == p.dtype and p.grad.shape == p.shape
        np.testing.assert_allclose(p.grad.numpy(), theirs_params[pname].grad.numpy(),
                                   rtol=loose, atol=loose, err_msg=pname)


@pytest.mark.parametrize("name", ["layer_norm_2d", "group_norm_4d", "instance_norm_2d"])
def test_eval_computes_what_training_does(name, rng):
    ours, _ = _pair(name, np.float32)
    x = microdl.tensor(rng.standard_normal(MODULES[name][1]).astype(np.float32))
    trained = ours(x).detach().numpy()
    ours.eval()
    np.testing.assert_array_equal(ours(x).detach().numpy(), trained)
    assert ours.state_dict().keys() == _pair(name, np.float32)[0].state_dict().keys()


def test_default_parameters_and_attributes_match_torch():
    for ours, theirs in ((nn.LayerNorm((2, 3)), torch.nn.LayerNorm((2, 3))),
                         (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4))):
        for key, value in theirs.state_dict().items():
            got = ours.state_dict()[key]
            assert got.dtype == np.float32 and got.shape == tuple(value.shape)
            np.testing.assert_array_equal(got, value.numpy())
    assert nn.LayerNorm(4).normalized_shape == torch.nn.LayerNorm(4).normalized_shape == (4,)


# ---- finite differences ---------------------------------------------------------------------

@pytest.mark.parametrize("case", ["layer_norm", "group_norm", "instance_norm"])
def test_gradients_match_finite_differences(case, kernel_set, rng):
    if case == "layer_norm":
        shapes, fn = [(3, 2, 4), (2, 4), (2, 4)], \
            lambda x, w, b: F.layer_norm(x, (2, 4), w, b, eps=1e-3)
    elif case == "group_norm":
        shapes, fn = [(2, 4, 3), (4,), (4,)], lambda x, w, b: F.group_norm(x, 2, w, b)
    else:
        shapes, fn = [(2, 3, 5)], lambda x: nn.InstanceNorm1d(3)(x)
    tensors = [microdl.tensor(rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s),
                              requires_grad=True) for s in shapes]
    assert microdl.gradcheck(fn, tensors)


# ---- errors, as PyTorch raises them ---------------------------------------------------------

def _layer_norm_errors(lib, t):
    return [
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 3, 4))), (5,)),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 3, 4))), (2, 3, 4, 1)),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4))), 4),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4))), (4.0,)),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4))), ()),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4))), (4,), t(np.ones(3))),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4))), (4,), None, t(np.ones(3))),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4), np.int64)), (4,)),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4), np.float32)), (4,),
                                             t(np.ones(4))),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4))), (4,),
                                             t(np.ones(4, np.float32))),
        lambda: lib.nn.functional.layer_norm(t(np.ones((2, 4))), (4,), t(np.ones(4)),
                                             t(np.ones(4, np.float32))),
        lambda: lib.nn.LayerNorm(4)(t(np.ones((2, 5), np.float32))),
    ]


def _group_norm_errors(lib, t):
    x = np.ones((2, 6, 3))
    return [
        lambda: lib.nn.functional.group_norm(t(x), 4),
        lambda: lib.nn.functional.group_norm(t(x), 0),
        lambda: lib.nn.functional.group_norm(t(x), -2),
        lambda: lib.nn.functional.group_norm(t(x), 3.0),
        lambda: lib.nn.functional.group_norm(t(x), 3, t(np.ones(5))),
        lambda: lib.nn.functional.group_norm(t(x), 3, None, t(np.ones(5))),
        lambda: lib.nn.functional.group_norm(t(x), 3, t(np.ones(6)), t(np.ones(5))),
        lambda: lib.nn.functional.group_norm(t(np.ones(6)), 3),
        lambda: lib.nn.functional.group_norm(t(np.ones((1, 6))), 6),
        lambda: lib.nn.functional.group_norm(t(np.ones((2, 6), np.int64)), 3),
        lambda: lib.nn.functional.group_norm(t(x), 3, t(np.ones(6, np.float32))),
        lambda: lib.nn.GroupNorm(4, 6),
        lambda: lib.nn.GroupNorm(0, 6),
        lambda: lib.nn.GroupNorm(3, 6)(t(np.ones((2, 5, 3), np.float32))),
        lambda: lib.nn.InstanceNorm1d(3)(t(np.ones((2, 3, 4, 5), np.float32))),
        lambda: lib.nn.InstanceNorm2d(3)(t(np.ones((2, 3), np.float32))),
        lambda: lib.nn.InstanceNorm1d(3)(t(np.ones((2, 3, 4), np.int64))),
    ]


def _raised(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.type, str(info.value)


@pytest.mark.parametrize("errors", [_layer_norm_errors, _group_norm_errors])
def test_errors_match_torch(errors):
    ours = errors(microdl, microdl.tensor)
    theirs = errors(torch, torch.tensor)
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        assert _raised(mine) == _raised(reference), f"case {i}"


def test_instance_norm_one_spatial_value_and_unsupported_options():
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        nn.InstanceNorm1d(3)(microdl.tensor(np.ones((2, 3, 1), np.float32)))
    for option in ("affine", "track_running_stats"):
        with pytest.raises(NotImplementedError, match=f"{option}=True"):
            nn.InstanceNorm2d(3, **{option: True})
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(4)(microdl.tensor(np.ones((2, 3, 5), np.float32)))


def test_empty_inputs_give_empty_outputs_and_zero_parameter_gradients():
    for module, shape in ((nn.LayerNorm(4), (0, 4)), (nn.GroupNorm(2, 4), (0, 4, 3))):
        x = microdl.tensor(np.ones(shape, np.float32), requires_grad=True)
        y = module(x)
        assert y.shape == shape
        y.sum().backward()
        assert x.grad.shape == shape
        np.testing.assert_array_equal(module.weight.grad.numpy(), 0)


# ---- numerics -------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["layer_norm", "group_norm"])
def test_large_mean_keeps_its_digits(case, kernel_set, rng):
    """x = 1e4 + noise of spread 1e-2 in float32: E[x^2] - E[x]^2 would lose every digit (and
    PyTorch's float32 sums lose some); two float64 passes give the float64 result to rounding."""
    x = (1e4 + 1e-2 * rng.standard_normal((4, 8, 64))).astype(np.float32)
    xd = x.astype(np.float64)
    axes = (1, 2) if case == "group_norm" else (2,)
    exact = (xd - xd.mean(axis=axes, keepdims=True)) / np.sqrt(
        xd.var(axis=axes, keepdims=True) + 1e-5)
    xm = microdl.tensor(x)
    y = F.layer_norm(xm, (64,)) if case == "layer_norm" else F.group_norm(xm, 1)
    np.testing.assert_allclose(y.numpy(), exact, rtol=1e-5, atol=2e-6)


# ---- the op on the CUDA simulator -----------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.parametrize("name", ["layer_norm_2d", "group_norm_4d", "instance_norm_1d"])
def test_modules_on_cuda_match_the_cpu(name, shrunk_cuda, rng):
    ours, _ = _pair(name, np.float64)
    shape = MODULES[name][1]
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    xc = microdl.tensor(x, requires_grad=True)
    yc = ours(xc)
    yc.backward(microdl.tensor(g))
    expected = [yc.detach().numpy(), xc.grad.numpy()] + [p.grad.numpy()
                                                         for p in ours.parameters()]
    ours.zero_grad()
    ours.to("cuda")
    xd = microdl.tensor(x, requires_grad=True, device="cuda")
    yd = ours(xd)
    yd.backward(microdl.tensor(g, device="cuda"))
    got = [yd.detach().numpy(), xd.grad.numpy()] + [p.grad.numpy() for p in ours.parameters()]
    for e, r in zip(expected, got):
        np.testing.assert_allclose(r, e, rtol=1e-10, atol=1e-12)
