"""nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d: PyTorch's parameter names, shapes, initialisation,
repr and outputs (weights copied through state_dict)."""

import math

import numpy as np
import pytest

import microdl
from microdl import nn, tensor

CONFIGS = [
    dict(in_channels=3, out_channels=8, kernel_size=3),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0),
         dilation=(1, 2), groups=2, bias=False),
    dict(in_channels=2, out_channels=4, kernel_size=4, padding="same"),
    dict(in_channels=2, out_channels=4, kernel_size=3, padding="valid"),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv2d_state_dict_repr_and_output_match_torch(config, rng):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    mine, theirs = nn.Conv2d(**config), torch.nn.Conv2d(**config)
    state = mine.state_dict()
    expected = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert {k: v.shape for k, v in state.items()} == expected
    assert repr(mine) == repr(theirs)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    x = rng.standard_normal((2, config["in_channels"], 9, 8)).astype(np.float32)
    np.testing.assert_allclose(mine(tensor(x)).array, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)


def test_conv2d_default_init_is_kaiming_uniform_with_a_sqrt5():
    microdl.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3)
    bound = 1 / math.sqrt(16 * 9)  # gain sqrt(2 / (1 + 5)) * sqrt(3 / fan_in)
    for p in (conv.weight.array, conv.bias.array):
        assert p.dtype == np.float32
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    assert abs(conv.weight.array.std() - bound / math.sqrt(3)) < 0.05 * bound
    microdl.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(16, 32, 3).weight.array, conv.weight.array)


def test_conv2d_trains_weight_and_bias():
    conv = nn.Conv2d(2, 3, 3, padding=1)
    conv(tensor(np.ones((1, 2, 4, 4), np.float32))).sum().backward()
    assert conv.weight.grad.shape == (3, 2, 3, 3)
    np.testing.assert_allclose(conv.bias.grad.array, 16.0)


def test_conv2d_constructor_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        nn.Conv2d(4, 4, 3, stride=2, padding="same")


@pytest.mark.parametrize("name", ["MaxPool2d", "AvgPool2d"])
def test_pool_modules_match_functional_and_torch(name, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 3, 8, 7)).astype(np.float32)
    mine, theirs = getattr(nn, name)(3, stride=2, padding=1), getattr(torch.nn, name)(3, 2, 1)
    assert mine.state_dict() == {} and mine.stride == 2
    assert getattr(nn, name)(2).stride == 2
    np.testing.assert_allclose(mine(tensor(x)).array, theirs(torch.tensor(x)).numpy(),
                               rtol=1e-6, atol=1e-6)
    assert repr(mine) == (
        f"{name}(kernel_size=3, stride=2, padding=1"
        + (", dilation=1, ceil_mode=False)" if name == "MaxPool2d" else ")"))  # PyTorch's


def _cnn(nn_module, bn):
    layers = [nn_module.Conv2d(1, 4, 3, padding=1)]
    layers += [nn_module.BatchNorm2d(4)] if bn else []
    layers += [nn_module.ReLU(), nn_module.MaxPool2d(2), nn_module.Conv2d(4, 6, 3, padding=1)]
    layers += [nn_module.BatchNorm2d(6)] if bn else []
    layers += [nn_module.ReLU(), nn_module.AvgPool2d(2), nn_module.Flatten(),
               nn_module.Linear(6 * 2 * 2, 3)]
    return nn_module.Sequential(*layers)


@pytest.mark.parametrize("kernels", ["numpy", "numba"])
def test_conv_bn_relu_pool_linear_sgd_steps_match_torch(kernels, rng):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    bn = hasattr(nn, "BatchNorm2d")
    if not bn:
        pytest.skip("microdl.nn.BatchNorm2d does not exist yet")
    previous = microdl.get_kernels()
    microdl.set_kernels(kernels)
    try:
        mine, theirs = _cnn(nn, bn).train(), _cnn(torch.nn, bn).train()
        mine.load_state_dict({k: v.detach().numpy().copy()
                              for k, v in theirs.state_dict().items()})
        opt_m = microdl.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9)
        opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
        loss_m, loss_t = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
        for _ in range(4):
            x = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
            y = rng.integers(0, 3, 5)
            opt_m.zero_grad()
            opt_t.zero_grad()
            lm = loss_m(mine(tensor(x)), y)
            lt = loss_t(theirs(torch.tensor(x)), torch.tensor(y))
            lm.backward()
            lt.backward()
            opt_m.step()
            opt_t.step()
            np.testing.assert_allclose(lm.item(), lt.item(), rtol=1e-4, atol=1e-5)
        for name, value in theirs.state_dict().items():
            np.testing.assert_allclose(mine.state_dict()[name], value.numpy(), rtol=1e-4,
                                       atol=1e-5, err_msg=name)
    finally:
        microdl.set_kernels(previous)
