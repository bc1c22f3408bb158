"""Modules: PyTorch's names, state_dict, errors, repr, and an MLP that matches PyTorch."""

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


def test_linear_default_init_bounds_and_shapes():
    microdl.manual_seed(0)
    layer = nn.Linear(400, 30)
    assert layer.weight.shape == (30, 400) and layer.bias.shape == (30,)
    bound = 1 / np.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32 and np.abs(p.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound  # uniform fills the interval
    assert nn.Linear(3, 2, bias=False).bias is None


def test_seeded_init_repeats():
    microdl.manual_seed(7)
    a = nn.Linear(5, 5).weight.data.copy()
    microdl.manual_seed(7)
    np.testing.assert_array_equal(nn.Linear(5, 5).weight.data, a)


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


def test_state_dict_round_trip_and_copies():
    a, b = mlp((6, 5, 4)), mlp((6, 5, 4))
    state = a.state_dict()
    state["0.weight"][...] = 0  # a copy: the model is untouched
    assert np.abs(a[0].weight.data).sum() > 0
    b.load_state_dict(a.state_dict())
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


def test_load_state_dict_errors_name_the_keys_and_shapes():
    model = mlp((6, 5, 4))
    state = model.state_dict()
    state.pop("0.bias")
    state["9.weight"] = np.zeros(2)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    assert 'Unexpected key(s) in state_dict: "9.weight"' in str(error.value)
    assert 'Missing key(s) in state_dict: "0.bias"' in str(error.value)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["0.bias"] and unexpected == ["9.weight"]
    bad = model.state_dict()
    bad["2.weight"] = np.zeros((5, 5))
    before = model[0].weight.data.copy()
    bad["0.weight"] = np.ones((5, 6))
    with pytest.raises(RuntimeError, match=r"size mismatch for 2.weight: copying a param with "
                                           r"shape \(5, 5\)"):
        model.load_state_dict(bad)
    np.testing.assert_array_equal(model[0].weight.data, before)  # nothing half-loaded


def test_train_eval_is_recursive_and_dropout_follows_it():
    model = nn.Sequential(nn.Linear(10, 10), nn.Sequential(nn.Dropout(0.5)))
    x = microdl.tensor(np.ones((200, 10), np.float32))
    microdl.manual_seed(1)
    y = model[1](x).data
    assert set(np.unique(y)) == {0.0, 2.0}
    model.eval()
    assert not model[1][0].training
    np.testing.assert_array_equal(model[1](x).data, x.data)


def test_zero_grad_and_parameters():
    model = mlp((3, 2, 2))
    F.cross_entropy(model(microdl.tensor(np.ones((4, 3), np.float32))),
                    np.array([0, 1, 0, 1])).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


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
            np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-4, atol=1e-6,
                                       err_msg=f"step {step} grad {name}")
        opt.step()
        ref_opt.step()
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-5, atol=1e-5,
                                       err_msg=f"step {step} {name}")
