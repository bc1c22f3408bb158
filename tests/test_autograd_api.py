"""microdl.autograd.grad / backward, nn.Module forward hooks and lookups, in-place shape forms:
compared with PyTorch."""

import numpy as np
import pytest

import microdl as md
from microdl import autograd

torch = pytest.importorskip("torch")


def _pair(values, requires_grad=True):
    values = np.asarray(values, dtype=np.float64)
    return (md.tensor(values, requires_grad=requires_grad),
            torch.tensor(values, requires_grad=requires_grad))


def _close(ours, theirs):
    assert ours is not None and theirs is not None
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)


# ---- autograd.grad ------------------------------------------------------------------------------
def test_grad_matches_torch_and_leaves_grad_untouched():
    (x, tx), (w, tw) = _pair([1.0, -2.0, 3.0]), _pair([[0.5, 1.5, -1.0]])
    outs = [((w * x).sum() * x).sum(), (x * x).sum()]
    touts = [((tw * tx).sum() * tx).sum(), (tx * tx).sum()]
    grads = autograd.grad(outs, [x, w])
    tgrads = torch.autograd.grad(touts, [tx, tw])
    for g, tg in zip(grads, tgrads):
        _close(g, tg)
    assert x.grad is None and w.grad is None


def test_grad_of_a_non_leaf_with_grad_outputs_and_retain_graph():
    x, tx = _pair([1.0, 2.0, 3.0])
    y, ty = x.exp(), tx.exp()
    z, tz = y * y, ty * ty
    seed = np.array([1.0, -1.0, 2.0])
    first = autograd.grad(z, [y, x], grad_outputs=md.tensor(seed), retain_graph=True)
    tfirst = torch.autograd.grad(tz, [ty, tx], grad_outputs=torch.tensor(seed),
                                 retain_graph=True)
    for g, tg in zip(first, tfirst):
        _close(g, tg)
    again = autograd.grad(z, x, grad_outputs=md.tensor(seed))  # the graph was retained
    _close(again[0], tfirst[1])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        autograd.grad(z, x, grad_outputs=md.tensor(seed))


def test_grad_runs_hooks_and_retain_grad_as_torch():
    x, tx = _pair([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    tx.register_hook(lambda g: g * 10)
    y, ty = x * 3, tx * 3
    y.retain_grad()
    ty.retain_grad()
    (g,) = autograd.grad((y * y).sum(), x)
    (tg,) = torch.autograd.grad((ty * ty).sum(), tx)
    _close(g, tg)
    _close(y.grad, ty.grad)
    assert x.grad is None


def test_grad_unused_inputs_and_errors():
    x, _ = _pair([1.0, 2.0])
    unused, _ = _pair([5.0])
    with pytest.raises(RuntimeError, match="at index 1 appears to not have been used"):
        autograd.grad((x * 2).sum(), [x, unused])
    gx, gu = autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.numpy().tolist() == [2.0, 2.0]
    _, zeros = autograd.grad((x * 2).sum(), [x, unused], materialize_grads=True)
    assert zeros.numpy().tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad((x * 2).sum(), md.ones(2))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        autograd.grad(md.ones(2).sum(), x)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        autograd.grad(x * 2, x, grad_outputs=md.ones(3))
    with pytest.raises(NotImplementedError, match="create_graph"):
        autograd.grad((x * 2).sum(), x, create_graph=True)


def test_backward_of_several_outputs_in_one_pass():
    x, tx = _pair([1.0, -2.0, 0.5])
    y, ty = x * x, tx * tx
    autograd.backward([y.sum(), y], [None, md.tensor([1.0, 2.0, 3.0])])
    torch.autograd.backward([ty.sum(), ty], [None, torch.tensor([1.0, 2.0, 3.0],
                                                                dtype=torch.float64)])
    _close(x.grad, tx.grad)
    leaf, tleaf = _pair([4.0])  # a leaf as an output: its gradient is the seed
    autograd.backward(leaf, md.tensor([2.0]))
    torch.autograd.backward(tleaf, torch.tensor([2.0], dtype=torch.float64))
    _close(leaf.grad, tleaf.grad)


# ---- Module hooks -------------------------------------------------------------------------------
def _models():
    md.manual_seed(0)
    ours = md.nn.Sequential(md.nn.Linear(3, 2), md.nn.ReLU())
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def test_forward_hooks_replace_inputs_and_outputs_and_are_removed():
    x = np.array([[1.0, -1.0, 2.0]], dtype=np.float32)
    results = []
    for lib, model in zip((md, torch), _models()):
        seen = []
        handles = [
            model[0].register_forward_pre_hook(lambda m, args: args[0] * 2),
            model[0].register_forward_hook(lambda m, args, out: out + 1),
            model[0].register_forward_hook(lambda m, args, out: seen.append("first"),
                                           prepend=True),
            model.register_forward_pre_hook(lambda m, args, kwargs: ((args[0] - 1,), kwargs),
                                            with_kwargs=True),
            model.register_forward_hook(lambda m, args, kwargs, out: seen.append(kwargs),
                                        with_kwargs=True),
        ]
        hooked = model(lib.tensor(x)).detach().numpy()
        for handle in handles:
            handle.remove()
        plain = model(lib.tensor(x)).detach().numpy()
        results.append((hooked, plain, seen))
    (ours, ours_plain, ours_seen), (theirs, theirs_plain, theirs_seen) = results
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(ours_plain, theirs_plain, rtol=1e-6)
    assert not np.allclose(ours, ours_plain)
    assert ours_seen == theirs_seen == ["first", {}]
    assert _models()[0][0]._hooks is None


def test_always_call_hook_runs_when_forward_raises():
    class Failing(md.nn.Module):
        def forward(self, x):
            raise ValueError("bad input")

    calls = []
    module = Failing()
    with module.register_forward_hook(lambda m, a, out: calls.append(out), always_call=True):
        with pytest.raises(ValueError, match="bad input"):
            module(1)
    assert calls == [None] and module._hooks is None


def test_backward_hooks_are_refused():
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        md.nn.Linear(2, 2).register_full_backward_hook(lambda m, gi, go: None)


def test_module_lookup_casts_and_moves_as_torch():
    for lib, model in zip((md, torch), _models()):
        assert model.get_parameter("0.weight") is model[0].weight
        assert model.get_submodule("1") is model[1] and model.get_submodule("") is model
        for call, target, message in [
                (model.get_submodule, "2", "Sequential has no attribute `2`"),
                (model.get_submodule, "0.weight", "`weight` is not an nn.Module"),
                (model.get_parameter, "0.nope", "Linear has no attribute `nope`"),
                (model.get_parameter, "0.training", "`training` is not an nn.Parameter")]:
            with pytest.raises(AttributeError, match=message):
                call(target)
        assert [p is q for p, q in zip(model.parameters(recurse=False), [])] == []
        assert [n for n, _ in model.named_parameters(prefix="net")] == ["net.0.weight",
                                                                        "net.0.bias"]
        assert model.half() is model
        assert str(model[0].weight.dtype).endswith("float16")
        assert str(model.type(lib.float64)[0].bias.dtype).endswith("float64")
        assert model.cpu() is model and model.share_memory() is model
        assert model[0].extra_repr() == "in_features=3, out_features=2, bias=True"


# ---- in-place shape forms -----------------------------------------------------------------------
@pytest.mark.parametrize("method, args", [
    ("unsqueeze_", (1,)), ("squeeze_", ()), ("squeeze_", (0,)), ("t_", ()),
    ("transpose_", (0, 1)), ("swapaxes_", (1, 0)), ("swapdims_", (0, -1))])
def test_in_place_shape_forms_match_torch(method, args):
    x, tx = _pair(np.arange(6.0).reshape(1, 6) if "squeeze" in method
                  else np.arange(6.0).reshape(2, 3))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(x, method)(*args)
    y, ty = x * 2, tx * 2
    assert getattr(y, method)(*args) is y
    getattr(ty, method)(*args)
    assert tuple(y.shape) == tuple(ty.shape)
    _close(y, ty)
    weights = np.arange(ty.numel(), dtype=np.float64).reshape(tuple(ty.shape))
    (y * md.tensor(weights)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    _close(x.grad, tx.grad)


def test_swapaxes_and_t_errors():
    x = md.randn(2, 3, 4)
    assert tuple(x.swapaxes(0, 2).shape) == (4, 3, 2) == tuple(x.swapdims(2, 0).shape)
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        x.t_()
    plain = md.ones(3)
    assert tuple(plain.unsqueeze_(0).shape) == (1, 3)
