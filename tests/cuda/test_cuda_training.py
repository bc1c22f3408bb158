"""Whole training steps on the GPU match the same steps on the CPU (to 1e-4), and stay on the
device: the only device-to-host copy of a step is reading the loss."""

import numpy as np
import pytest

import microdl
import microdl.nn as nn
from microdl import optim


def _mlp_bn():
    return nn.Sequential(nn.Linear(12, 10), nn.BatchNorm1d(10), nn.Sigmoid(), nn.Linear(10, 8),
                         nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 4))


def _cnn():
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(3, 4, 3, padding=1, bias=False),
                         nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(4, 3))


def _steps(model, x, y, device, steps):
    model.to(device)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    xt, yt = microdl.tensor(x, device=device), microdl.tensor(y, device=device)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("build,x_shape,classes", [(_mlp_bn, (8, 12), 4),
                                                  (_cnn, (3, 2, 4, 4), 3)])
def test_training_steps_on_cuda_match_cpu_without_host_round_trips(build, x_shape, classes,
                                                                   monkeypatch, rng):
    x = rng.standard_normal(x_shape).astype(np.float32)
    y = rng.integers(0, classes, x_shape[0])
    microdl.manual_seed(0)
    cpu_model = build()
    cuda_model = build()
    cuda_model.load_state_dict(cpu_model.state_dict())
    cpu_losses = _steps(cpu_model, x, y, "cpu", 2)

    from microdl.kernels.cuda import memory

    copies = []
    to_host = memory.to_host
    monkeypatch.setattr(memory, "to_host", lambda a: copies.append(tuple(a.shape)) or to_host(a))
    cuda_losses = _steps(cuda_model, x, y, "cuda", 2)
    assert copies == [(), ()], "a step copied more than its loss value to the host"
    monkeypatch.undo()

    np.testing.assert_allclose(cuda_losses, cpu_losses, rtol=1e-4)
    cpu_state, cuda_state = cpu_model.state_dict(), cuda_model.state_dict()
    assert cuda_state.keys() == cpu_state.keys()
    for name in cpu_state:
        np.testing.assert_allclose(cuda_state[name], cpu_state[name], rtol=1e-4, atol=1e-5,
                                   err_msg=name)
    assert all(p.device == "cuda:0" for p in cuda_model.parameters())
    assert cuda_model[1].num_batches_tracked == 2
