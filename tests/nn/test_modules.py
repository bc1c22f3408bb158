"""Modules: PyTorch's names, state_dict, errors, repr, and an MLP that matches PyTorch."""

from collections import OrderedDict

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.optim import SGD


def mlp(sizes=(784, 100, 100, 100, 10), activation=nn.Sigmoid):
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def torch_mlp(torch, sizes=(784, 100, 100, 100, 10)):
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.Sigmoid()]
    return torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], sizes[-1]))


def torch_or_skip():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def test_linear_default_init_statistics():
    microdl.manual_seed(0)
    layer = nn.Linear(1000, 400)
    bound = 1 / np.sqrt(1000)
    w = layer.weight.array.astype(np.float64)
    # U(-b, b): mean 0, standard deviation b / sqrt(3), every value inside the interval.
    assert abs(w.mean()) < 0.01 * bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.999 * bound
    b = layer.bias.array.astype(np.float64)
    assert np.abs(b).max() <= bound and b.std() == pytest.approx(bound / np.sqrt(3), rel=0.15)
    assert nn.Linear(3, 2, dtype=np.float64).weight.dtype == np.float64


def test_linear_forward_and_no_bias():
    microdl.manual_seed(3)
    layer = nn.Linear(4, 3)
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    np.testing.assert_allclose(layer(microdl.tensor(x)).array,
                               x @ layer.weight.array.T + layer.bias.array, rtol=1e-6)
    plain = nn.Linear(4, 3, bias=False)
    assert [n for n, _ in plain.named_parameters()] == ["weight"]
    assert list(plain.state_dict()) == ["weight"]
    assert repr(plain) == "Linear(in_features=4, out_features=3, bias=False)"
    np.testing.assert_allclose(plain(microdl.tensor(x)).array, x @ plain.weight.array.T,
                               rtol=1e-6)


def test_linear_default_init_bounds_and_shapes():
    microdl.manual_seed(0)
    layer = nn.Linear(400, 30)
    assert layer.weight.shape == (30, 400) and layer.bias.shape == (30,)
    bound = 1 / np.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32 and np.abs(p.array).max() <= bound
    assert np.abs(layer.weight.array).max() > 0.9 * bound  # uniform fills the interval
    assert nn.Linear(3, 2, bias=False).bias is None


def test_seeded_init_repeats():
    microdl.manual_seed(7)
    a = nn.Linear(5, 5).weight.array.copy()
    microdl.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(5, 5).weight.array, a)


def test_sequential_names_and_state_dict_keys_match_pytorch():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Dropout(0.1), nn.Linear(3, 2))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert [n for n, _ in model.named_parameters()] == list(model.state_dict())
    assert len(model) == 4 and isinstance(model[1], nn.ReLU)
    torch = pytest.importorskip("torch")
    reference = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
                                    torch.nn.Dropout(0.1), torch.nn.Linear(3, 2))
    assert list(model.state_dict()) == list(reference.state_dict())
    assert repr(model) == repr(reference)


def test_sequential_indexing_iteration_append_and_ordered_dict():
    relu, sig = nn.ReLU(), nn.Sigmoid()
    model = nn.Sequential(nn.Linear(3, 3), relu, sig)
    assert model[-1] is sig and model[1] is relu and list(model)[1] is relu
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        model[3]
    assert model.append(nn.Linear(3, 2)) is model and len(model) == 4
    assert list(model.state_dict()) == ["0.weight", "0.bias", "3.weight", "3.bias"]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        model.append(3)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 2)), ("act", nn.Tanh())]))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.fc is named[0]
    x = microdl.tensor(np.ones((2, 3), np.float32))
    np.testing.assert_allclose(named(x).array, np.tanh(named.fc(x).array), rtol=1e-6)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        nn.Sequential(nn.ReLU(), lambda t: t)


def test_nested_names_match_pytorch():
    torch = torch_or_skip()
    ours = nn.Sequential(OrderedDict([
        ("features", nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.LeakyReLU(0.2))),
        ("head", nn.Sequential(nn.Dropout(0.25), nn.Linear(6, 2))),
    ]))
    theirs = torch.nn.Sequential(OrderedDict([
        ("features", torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 6),
                                         torch.nn.LeakyReLU(0.2))),
        ("head", torch.nn.Sequential(torch.nn.Dropout(0.25), torch.nn.Linear(6, 2))),
    ]))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).random((4, 3, 4), dtype=np.float32)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(microdl.tensor(x)).array,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_every_module_repr_matches_pytorch():
    torch = torch_or_skip()
    pairs = [
        (nn.ReLU(), torch.nn.ReLU()), (nn.Sigmoid(), torch.nn.Sigmoid()),
        (nn.Tanh(), torch.nn.Tanh()), (nn.LeakyReLU(), torch.nn.LeakyReLU()),
        (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)), (nn.Softmax(dim=1), torch.nn.Softmax(1)),
        (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(1)), (nn.Flatten(), torch.nn.Flatten()),
        (nn.Flatten(0, 2), torch.nn.Flatten(0, 2)), (nn.Dropout(), torch.nn.Dropout()),
        (nn.Dropout(0.1), torch.nn.Dropout(0.1)), (nn.Identity(), torch.nn.Identity()),
        (nn.Linear(784, 100), torch.nn.Linear(784, 100)),
        (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()), (nn.MSELoss(), torch.nn.MSELoss()),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
    assert repr(mlp()) == repr(torch_mlp(torch))


@pytest.mark.parametrize("name, args", [
    ("ReLU", ()), ("Sigmoid", ()), ("Tanh", ()), ("LeakyReLU", (0.2,)), ("Softmax", (1,)),
    ("LogSoftmax", (1,)), ("Identity", ()), ("Flatten", ()), ("Flatten", (0, 1)),
])
def test_activation_and_shape_modules_forward_and_backward_match_pytorch(name, args):
    torch = torch_or_skip()
    x = np.random.default_rng(1).standard_normal((4, 3, 5)).astype(np.float32) * 3
    if name in ("Softmax", "LogSoftmax"):
        x = x[:, :, 0]
    weights = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    ours_in = microdl.tensor(x, requires_grad=True)
    out = getattr(nn, name)(*args)(ours_in)
    theirs_in = torch.tensor(x, requires_grad=True)
    ref = getattr(torch.nn, name)(*args)(theirs_in)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.array, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    flat_weights = weights.reshape(out.shape)
    (out * microdl.tensor(flat_weights)).sum().backward()
    (ref * torch.tensor(flat_weights)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.array, theirs_in.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_dropout_scaling_is_seeded_and_unbiased():
    x = microdl.tensor(np.full((400, 250), 3.0, np.float32), requires_grad=True)
    drop = nn.Dropout(0.3)
    microdl.manual_seed(5)
    y = drop(x)
    microdl.manual_seed(5)
    np.testing.assert_array_equal(drop(x).array, y.array)  # the same seed, the same mask
    kept = y.array != 0
    np.testing.assert_allclose(y.array[kept], 3.0 / 0.7, rtol=1e-6)
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    assert y.array.mean() == pytest.approx(3.0, rel=0.02)  # E[y] = x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, kept / np.float32(0.7), rtol=1e-6)
    drop.eval()
    assert drop(x) is x
    assert not nn.Dropout(1.0)(x).array.any()
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).array, x.array)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                             f"but got {p}"):
            nn.Dropout(p)


def test_state_dict_round_trip_and_copies():
    a, b = mlp((6, 5, 4)), mlp((6, 5, 4))
    state = a.state_dict()
    state["0.weight"][...] = 0  # a copy: the model is untouched
    assert np.abs(a[0].weight.array).sum() > 0
    b.load_state_dict(a.state_dict())
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.array, q.array, err_msg=name)


def test_load_state_dict_errors_name_the_keys_and_shapes():
    model = mlp((6, 5, 4))
    state = model.state_dict()
    state.pop("0.bias")
    state["9.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert 'Unexpected key(s) in state_dict: "9.weight"' in message
    assert 'Missing key(s) in state_dict: "0.bias"' in message
    assert message.index("Missing") < message.index("Unexpected")  # PyTorch's order
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["0.bias"] and unexpected == ["9.weight"]
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["9.weight"]
    bad = model.state_dict()
    bad["2.weight"] = np.zeros((5, 5))
    before = model[0].weight.array.copy()
    bad["0.weight"] = np.ones((5, 6))
    with pytest.raises(RuntimeError, match=r"size mismatch for 2.weight: copying a param with "
                                           r"shape \(5, 5\)"):
        model.load_state_dict(bad)
    np.testing.assert_array_equal(model[0].weight.array, before)  # nothing half-loaded
    text = model.state_dict()
    text["0.weight"] = np.ones((5, 6))
    text["2.weight"] = np.full((4, 5), "x")  # the right shape, but not numbers
    with pytest.raises(RuntimeError, match=r"dtype mismatch for 2.weight: cannot copy an "
                                           r"array of dtype <U1 into one of dtype float32"):
        model.load_state_dict(text)
    np.testing.assert_array_equal(model[0].weight.array, before)


def test_train_eval_is_recursive_and_dropout_follows_it():
    model = nn.Sequential(nn.Linear(10, 10), nn.Sequential(nn.Dropout(0.5)))
    x = microdl.tensor(np.ones((200, 10), np.float32))
    microdl.manual_seed(1)
    y = model[1](x).array
    assert set(np.unique(y)) == {0.0, 2.0}
    model.eval()
    assert not model[1][0].training
    np.testing.assert_array_equal(model[1](x).array, x.array)


def test_zero_grad_and_parameters():
    model = mlp((3, 2, 2))
    F.cross_entropy(model(microdl.tensor(np.ones((4, 3), np.float32))),
                    np.array([0, 1, 0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_pytorch(reduction):
    torch = torch_or_skip()
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((6, 5)).astype(np.float32)
    labels = rng.integers(0, 5, 6)
    target = rng.standard_normal((6, 5)).astype(np.float32)
    for ours, theirs, y in [(nn.CrossEntropyLoss(reduction=reduction), torch.nn.CrossEntropyLoss(
            reduction=reduction), labels), (nn.MSELoss(reduction=reduction), torch.nn.MSELoss(
                reduction=reduction), target)]:
        x = microdl.tensor(logits, requires_grad=True)
        tx = torch.tensor(logits, requires_grad=True)
        out, ref = ours(x, y), theirs(tx, torch.tensor(y))
        np.testing.assert_allclose(out.array, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(x.grad.array, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_losses_as_modules():
    logits = microdl.tensor(np.array([[2.0, 0.0], [0.0, 2.0]], np.float32))
    labels = np.array([0, 1])
    np.testing.assert_allclose(nn.CrossEntropyLoss()(logits, labels).item(),
                               np.log(1 + np.exp(-2.0)), rtol=1e-6)
    np.testing.assert_allclose(nn.MSELoss(reduction="sum")(logits, np.zeros((2, 2),
                                                                            np.float32)).item(), 8)


def test_module_errors():
    class Broken(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        Broken()(1)
    with pytest.raises(ValueError, match="positive sizes"):
        nn.Linear(0, 3)


@pytest.mark.parametrize("options", [
    dict(), dict(momentum=0.9), dict(momentum=0.9, nesterov=True),
    dict(momentum=0.8, dampening=0.3, weight_decay=0.01), dict(weight_decay=0.1, maximize=True),
])
def test_mlp_training_steps_match_pytorch(options, kernel_set):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    microdl.manual_seed(0)
    ours = mlp()
    theirs = torch_mlp(torch)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    opt = SGD(ours.parameters(), lr=0.1, **options)
    ref_opt = torch.optim.SGD(theirs.parameters(), lr=0.1, **options)
    rng = np.random.default_rng(0)
    for step in range(4):
        x = rng.random((60, 784), dtype=np.float32)
        y = rng.integers(0, 10, 60)
        opt.zero_grad()
        loss = F.cross_entropy(ours(microdl.tensor(x)), y)
        loss.backward()
        ref_opt.zero_grad()
        ref = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        ref.backward()
        np.testing.assert_allclose(loss.item(), ref.item(), rtol=1e-5)
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-4, atol=1e-6,
                                       err_msg=f"step {step} grad {name}")
        opt.step()
        ref_opt.step()
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-5, atol=1e-5,
                                       err_msg=f"step {step} {name}")
