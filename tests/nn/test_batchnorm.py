"""BatchNorm1d / BatchNorm2d against PyTorch, module behaviour, errors, fold_batchnorm."""

import numpy as np
import pytest

import microdl
import microdl.nn as nn

OPTIONS = [
    dict(),
    dict(momentum=None),
    dict(momentum=0.3, eps=1e-3),
    dict(affine=False),
    dict(track_running_stats=False),
    dict(affine=False, track_running_stats=False, momentum=None),
]
SHAPES = [("BatchNorm1d", (16, 5)), ("BatchNorm1d", (8, 5, 7)), ("BatchNorm2d", (6, 5, 4, 3)),
          ("BatchNorm1d", (300, 260)), ("BatchNorm2d", (4, 6, 20, 20)),
          ("BatchNorm2d", (64, 8, 4, 4))]


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _pair(torch, kind, channels, options, rng):
    ours = getattr(nn, kind)(channels, **options)
    theirs = getattr(torch.nn, kind)(channels, **options)
    if ours.affine:
        ours.weight.array[...] = rng.uniform(0.5, 1.5, channels)
        ours.bias.array[...] = rng.standard_normal(channels)
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                            ours.state_dict().items()})
    return ours, theirs


def _step(torch, ours, theirs, x, g):
    for p in list(ours.parameters()):
        p.grad = None
    theirs.zero_grad()
    xo = microdl.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    yo.backward(g)
    yt.backward(torch.from_numpy(g))
    return xo, xt, yo, yt


def _assert_same_state(ours, theirs, rtol):
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():
        assert ours_state[key].shape == tuple(value.shape), key
        assert ours_state[key].dtype == value.numpy().dtype, key
        np.testing.assert_allclose(ours_state[key], value.numpy(), rtol=rtol, atol=rtol,
                                   err_msg=key)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in
                                                                     o.items()) or "default")
@pytest.mark.parametrize("kind,shape", SHAPES)
def test_training_steps_then_eval_match_pytorch(kind, shape, options, kernel_set):
    _compare_with_pytorch(kind, shape, options)


@pytest.mark.parametrize("options", [dict(), dict(momentum=None, affine=False)])
@pytest.mark.parametrize("kind,shape,layout", [("BatchNorm1d", (64, 40), "rows"),
                                               ("BatchNorm2d", (16, 5, 4, 4), "rows"),
                                               ("BatchNorm2d", (8, 6, 32, 32), "channels")])
def test_parallel_layouts_match_pytorch(kind, shape, layout, options, monkeypatch):
    """Module-sized shapes take the serial kernels; force the parallel ones end to end."""
    from microdl.kernels.cpu import normalization as kernels

    monkeypatch.setattr(kernels, "TINY_ELEMENTS", 0)
    monkeypatch.setattr(kernels, "SMALL_ELEMENTS", 0)
    ncs = (shape[0], shape[1], int(np.prod(shape[2:])))
    assert kernels._layout(np.empty(ncs, np.float32)) == layout
    previous = microdl.get_kernels()
    microdl.set_kernels("numba")
    try:
        _compare_with_pytorch(kind, shape, options)
    finally:
        microdl.set_kernels(previous)


def _compare_with_pytorch(kind, shape, options):
    torch = _torch()
    rng = np.random.default_rng(7)
    ours, theirs = _pair(torch, kind, shape[1], options, rng)
    for step in range(4):
        x = (rng.standard_normal(shape) * (1 + step) + rng.uniform(-3, 3, (1, shape[1]) +
                                                                      (1,) * (len(shape) - 2)))
        x = x.astype(np.float32)
        g = rng.standard_normal(shape).astype(np.float32)
        if step == 3:
            ours.eval()
            theirs.eval()
        xo, xt, yo, yt = _step(torch, ours, theirs, x, g)
        np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(xo.grad.array, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        if ours.affine:
            np.testing.assert_allclose(ours.weight.grad.array, theirs.weight.grad.numpy(),
                                       rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(ours.bias.grad.array, theirs.bias.grad.numpy(),
                                       rtol=1e-4, atol=1e-4)
        _assert_same_state(ours, theirs, rtol=1e-5)
        assert yo.dtype == np.float32
    if ours.track_running_stats:
        assert int(ours.num_batches_tracked) == 3 == int(theirs.num_batches_tracked)


def test_float64_module_matches_pytorch(kernel_set):
    torch = _torch()
    rng = np.random.default_rng(3)
    ours = nn.BatchNorm2d(3, dtype=np.float64)
    theirs = torch.nn.BatchNorm2d(3, dtype=torch.float64)
    x = rng.standard_normal((4, 3, 5, 5))
    g = rng.standard_normal(x.shape)
    xo, xt, yo, yt = _step(torch, ours, theirs, x, g)
    assert yo.dtype == np.float64
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xo.grad.array, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    _assert_same_state(ours, theirs, rtol=1e-12)


def test_buffers_parameters_and_repr():
    bn = nn.BatchNorm2d(64)
    assert repr(bn) == ("BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                        "track_running_stats=True)")  # PyTorch 2.13's
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.dtype == np.int64
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    plain = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert plain.weight is None and plain.bias is None and plain.running_mean is None
    assert plain.state_dict() == {} and list(plain.parameters()) == []
    assert "affine=False, bias=False, track_running_stats=False" in repr(plain)  # as torch


def test_reset_running_stats_and_parameters(rng):
    bn = nn.BatchNorm1d(4)
    for _ in range(3):
        bn(microdl.tensor(rng.standard_normal((10, 4)).astype(np.float32) + 2))
    bn.weight.array[...] = 3
    assert int(bn.num_batches_tracked) == 3 and bn.running_mean.any()
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    assert int(bn.num_batches_tracked) == 0
    np.testing.assert_array_equal(bn.weight.array, 3)
    bn.reset_parameters()
    np.testing.assert_array_equal(bn.weight.array, 1)
    np.testing.assert_array_equal(bn.bias.array, 0)


def test_untracked_module_uses_batch_stats_in_eval(rng):
    bn = nn.BatchNorm1d(3, track_running_stats=False).eval()
    x = rng.standard_normal((20, 3)).astype(np.float32) * 4 + 1
    y = bn(microdl.tensor(x)).array
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-3)


def test_errors_use_pytorch_wording():
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(microdl.tensor(np.zeros((2, 3, 4), np.float32)))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(microdl.tensor(np.zeros((2, 3, 4, 4), np.float32)))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        nn.BatchNorm1d(3)(microdl.tensor(np.zeros((2, 4), np.float32)))
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                                         r"training, got input size \[1, 4\]"):
        nn.BatchNorm1d(4)(microdl.tensor(np.zeros((1, 4), np.float32)))
    y = nn.BatchNorm2d(2)(microdl.tensor(np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)))
    assert np.isfinite(y.array).all()
    assert nn.BatchNorm1d(4).eval()(microdl.tensor(np.ones((1, 4), np.float32))).shape == (1, 4)


def test_state_dict_round_trip_with_pytorch():
    torch = _torch()
    theirs = torch.nn.BatchNorm1d(5, momentum=None)
    theirs(torch.randn(10, 5) * 3 + 1)
    ours = nn.BatchNorm1d(5, momentum=None)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    _assert_same_state(ours, theirs, rtol=0)
    x = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(microdl.tensor(x)).array,
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    assert int(ours.num_batches_tracked) == 2 == int(theirs.num_batches_tracked)


def _trained(model, x, steps=3):
    model.train()
    for i in range(steps):
        model(microdl.tensor(x * (1 + i)))
    return model.eval()


def test_fold_batchnorm_after_linear(rng):
    microdl.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(),
                          nn.Linear(5, 4, bias=False), nn.BatchNorm1d(4, momentum=None),
                          nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, affine=False)))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d) and m.affine:
            m.weight.array[...] = rng.uniform(0.5, 2, m.num_features)
            m.bias.array[...] = rng.standard_normal(m.num_features)
    x = rng.standard_normal((32, 6)).astype(np.float32)
    _trained(model, x)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    folded = nn.utils.fold_batchnorm(model)
    assert isinstance(folded[1], nn.Identity) and isinstance(folded[4], nn.Identity)
    assert isinstance(folded[5][1], nn.Identity) and folded[3].bias is not None
    assert not any(isinstance(m, nn.BatchNorm1d) for m in folded.modules())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    with microdl.no_grad():
        np.testing.assert_allclose(folded(microdl.tensor(x)).array, model(microdl.tensor(x)).array,
                                   rtol=1e-5, atol=1e-5)


def test_fold_batchnorm_leaves_training_mode_and_unpaired_batchnorm(rng):
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 3), nn.ReLU(), nn.BatchNorm1d(3))
    _trained(model, rng.standard_normal((8, 3)).astype(np.float32))
    folded = nn.utils.fold_batchnorm(model)
    assert isinstance(folded[0], nn.BatchNorm1d) and isinstance(folded[3], nn.BatchNorm1d)
    training = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    assert isinstance(nn.utils.fold_batchnorm(training)[1], nn.BatchNorm1d)


def test_fold_batchnorm_keeps_layers_and_weights_used_elsewhere_as_they_were(rng):
    """A Linear used twice (before a BatchNorm, then again) and a weight tied to another layer:
    the fold goes into copies, so the other uses compute what they did."""
    shared, tied_a = nn.Linear(3, 3), nn.Linear(3, 3)
    tied_b = nn.Linear(3, 3)
    tied_b.weight = tied_a.weight
    model = nn.Sequential(shared, nn.BatchNorm1d(3), shared, tied_a, nn.BatchNorm1d(3), tied_b)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.weight.array[...] = rng.uniform(0.5, 2, 3)
    x = rng.standard_normal((16, 3)).astype(np.float32)
    _trained(model, x)
    folded = nn.utils.fold_batchnorm(model)
    assert isinstance(folded[1], nn.Identity) and isinstance(folded[4], nn.Identity)
    assert folded[0] is not folded[2]
    frozen = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Linear(3, 2, bias=False),
                           nn.BatchNorm1d(2))
    frozen[0].bias.requires_grad = False
    _trained(frozen, x)
    refolded = nn.utils.fold_batchnorm(frozen)
    assert refolded[0].weight.requires_grad and not refolded[0].bias.requires_grad
    assert refolded[2].bias.requires_grad  # a new bias follows its layer's weight
    with microdl.no_grad():
        np.testing.assert_allclose(folded(microdl.tensor(x)).array, model(microdl.tensor(x)).array,
                                   rtol=1e-5, atol=1e-5)


def test_fold_batchnorm_after_conv2d(rng):
    if not hasattr(nn, "Conv2d"):
        pytest.skip("microdl.nn.Conv2d is not written yet")
    microdl.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 3, 3, bias=False), nn.BatchNorm2d(3))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.array[...] = rng.uniform(0.5, 2, m.num_features)
            m.bias.array[...] = rng.standard_normal(m.num_features)
    x = rng.standard_normal((4, 2, 6, 6)).astype(np.float32)
    _trained(model, x)
    folded = nn.utils.fold_batchnorm(model)
    assert isinstance(folded[1], nn.Identity) and isinstance(folded[4], nn.Identity)
    with microdl.no_grad():
        np.testing.assert_allclose(folded(microdl.tensor(x)).array, model(microdl.tensor(x)).array,
                                   rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("bn, shape", [(lambda: nn.BatchNorm1d(5), (8, 5)),
                                       (lambda: nn.BatchNorm2d(3), (4, 3, 6, 6))])
def test_sequential_fuses_batchnorm_then_relu_with_the_same_numbers(bn, shape, train,
                                                                      activation):
    rng = np.random.default_rng(0)
    microdl.manual_seed(0)
    fused = nn.Sequential(bn(), activation(), nn.Identity())
    plain = [bn(), activation()]
    plain[0].load_state_dict(fused[0].state_dict())
    for module in (fused, *plain):
        module.train(train)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    xs = [microdl.tensor(x, requires_grad=True) for _ in range(2)]
    y_fused = fused(xs[0])
    y_plain = plain[1](plain[0](xs[1]))
    # the one op ran (it keeps its ReLU's output, or its sigmoid's)
    assert y_fused._node.function.__name__ == "BatchNorm"
    assert y_fused._node.ctx.saved_arrays[-1 if activation is nn.ReLU else -2] is not None
    np.testing.assert_allclose(y_fused.array, y_plain.array, rtol=1e-6, atol=1e-6)
    y_fused.backward(g)
    y_plain.backward(g)
    np.testing.assert_allclose(xs[0].grad.array, xs[1].grad.array, rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(fused[0].parameters(), plain[0].parameters()):
        np.testing.assert_allclose(mine.grad.array, theirs.grad.array, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fused[0].running_mean, plain[0].running_mean)


@pytest.mark.parametrize("hooked", [0, 1])
@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid])
def test_sequential_runs_hooked_modules_as_themselves(activation, hooked):
    seq = nn.Sequential(nn.BatchNorm1d(3), activation())
    seen = []
    seq[hooked].register_forward_hook(lambda module, args, out: seen.append(type(module)))
    x = microdl.tensor(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
    y = seq(x)
    assert seen == [type(seq[hooked])]
    assert y._node.function.__name__ == activation.__name__
    np.testing.assert_allclose(y.array, seq[1](seq[0](x)).array, rtol=1e-6)


def test_sequential_does_not_fuse_a_relu_that_is_not_next():
    seq = nn.Sequential(nn.BatchNorm1d(3), nn.Identity(), nn.ReLU())
    x = microdl.tensor(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
    y = seq(x)
    assert type(y._node.ctx).__name__ == "Context" and y._node.function.__name__ == "ReLU"
