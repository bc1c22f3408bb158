"""Every CUDA op twin against its CPU op: the same expression on a cpu and a cuda tensor gives
the same value and the same gradients (float64, so only summation order differs)."""

import numpy as np
import pytest

import microdl
import microdl.functional as F

# name -> (input shapes, expression); inputs are kept off kinks and away from 0 where it matters
CASES = {
    "add broadcast": ([(3, 4), (4,)], lambda a, b: a + b),
    "sub stretched": ([(3, 1), (1, 4)], lambda a, b: a - b),
    "mul scalar": ([(3, 4)], lambda a: 2.5 * a * a),
    "div": ([(2, 3), (2, 3)], lambda a, b: a / (b * b + 1)),
    "neg pow": ([(4,)], lambda a: -(a ** 3)),
    "exp log abs": ([(2, 3)], lambda a: (a.exp() + a.abs()).log()),
    "sum mean": ([(2, 3, 4)], lambda a: a.sum(axis=(0, 2)).reshape(1, 3, 1)
                 * a.mean(axis=1, keepdims=True) + a.sum()),
    "max": ([(3, 5)], lambda a: a.max(axis=1)),
    "reshape transpose": ([(2, 3, 4)], lambda a: a.reshape(6, -1).T.transpose(1, 0) * 2),
    "getitem": ([(4, 5)], lambda a: a[1:3, ::2] * a[np.array([0, 0])][:, :3]),
    "matmul": ([(3, 4), (4, 2)], lambda a, b: a @ b),
    "matmul vector": ([(2, 3, 4), (4,)], lambda a, b: a @ b),
    "linear": ([(5, 3), (4, 3), (4,)], F.linear),
    "activations": ([(3, 4)], lambda a: F.relu(a) + F.leaky_relu(a, 0.1) + F.sigmoid(a)
                    + F.tanh(a)),
    "softmax dim 0": ([(3, 4)], lambda a: F.softmax(a, dim=0) * F.log_softmax(a, dim=1)),
    "mse": ([(3, 4), (3, 4)], lambda a, b: F.mse_loss(a, b)),
    "mse sum": ([(3, 4), (3, 4)], lambda a, b: F.mse_loss(a, b, reduction="sum")),
    "conv groups stride": ([(2, 4, 5, 5), (6, 2, 3, 3), (6,)],
                           lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2)),
    "conv same": ([(1, 2, 4, 4), (3, 2, 2, 2)], lambda x, w: F.conv2d(x, w, padding="same")),
    "pools": ([(2, 2, 5, 5)], lambda x: F.max_pool2d(x, 3, 2, 1) + F.avg_pool2d(x, 3, 2, 1)),
    "batch_norm eval": ([(4, 3, 2), (3,), (3,)], lambda x, w, b: F.batch_norm(
        x, np.zeros(3), np.ones(3), w, b, training=False)),
    "batch_norm_relu train": ([(4, 3, 2), (3,), (3,)], lambda x, w, b: F.batch_norm_relu(
        x, None, None, w, b, training=True)),
    "cast": ([(2, 3)], lambda a: a.float().double() * 3),
    "promotion": ([(2, 3), (3,)], lambda a, b: a.float() * b + a.float() * np.float64(2)),
}


def _run(expression, arrays, device):
    tensors = [microdl.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = expression(*tensors)
    g = np.random.default_rng(3).standard_normal(out.shape)
    out.backward(microdl.tensor(g, device=device))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def _with_device_buffers(expression, device):
    """batch_norm eval takes running statistics: on cuda they must be device arrays too."""
    def run(*tensors):
        if expression is CASES["batch_norm eval"][1]:
            x, w, b = tensors
            rm = microdl.tensor(np.linspace(-1, 1, 3), device=device)
            rv = microdl.tensor(np.linspace(0.5, 2, 3), device=device)
            return F.batch_norm(x, rm, rv, w, b, training=False)
        return expression(*tensors)
    return run


@pytest.mark.parametrize("name", sorted(CASES))
def test_twin_matches_cpu_op(name, rng):
    shapes, expression = CASES[name]
    arrays = [rng.uniform(0.2, 1.5, s) * rng.choice([-1, 1], s) for s in shapes]
    if name in ("exp log abs",):
        arrays = [np.abs(a) for a in arrays]
    expected, expected_grads = _run(_with_device_buffers(expression, "cpu"), arrays, "cpu")
    got, grads = _run(_with_device_buffers(expression, "cuda"), arrays, "cuda")
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_cross_entropy_and_dropout_match_cpu(rng):
    logits = rng.standard_normal((5, 4))
    labels = rng.integers(0, 4, 5)
    results = {}
    for device in ("cpu", "cuda"):
        microdl.manual_seed(11)
        x = microdl.tensor(logits, requires_grad=True, device=device)
        y = microdl.tensor(labels, device=device)
        loss = F.cross_entropy(F.dropout(x, 0.3), y) + F.cross_entropy(x, y, reduction="sum")
        loss.backward()
        results[device] = (loss.item(), x.grad.numpy())
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-12)
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], rtol=1e-10, atol=1e-14)


def test_a_tensor_used_twice_on_cuda_gets_both_gradients():
    x = microdl.tensor([1.0, 2.0, 3.0], requires_grad=True, device="cuda")
    h = x * 2
    (h * h + h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, 2.0, 3.0]) + 2)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, 2.0, 3.0]) + 5)


def test_argmax_runs_on_the_device(rng):
    a = rng.standard_normal((3, 5)).astype(np.float32)
    t = microdl.tensor(a, device="cuda")
    for axis in (None, 0, 1):
        got = t.argmax(axis=axis)
        assert got.device == "cuda:0"
        np.testing.assert_array_equal(got.numpy(), np.argmax(a, axis=axis))
    np.testing.assert_array_equal(t.argmax(dim=1, keepdim=True).numpy(),
                                  np.argmax(a, axis=1)[:, None])


# ---- dtypes: a twin's output dtype (and rounding) is its CPU op's ------------------------------
INT_CASES = {
    "int / number": lambda a, b: a / 2,
    "int / int": lambda a, b: a / b,
    "number / int": lambda a, b: 3 / a,
    "int * float number": lambda a, b: a * 0.5,
    "int + float number": lambda a, b: a + 0.5,
    "int - int": lambda a, b: a - b,
    "int * 0-d float64": lambda a, b: a * np.float64(1.5),
    "int32 * int number": lambda a, b: a.to(dtype=np.int32) * 3,
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: a.log(),
    "mean": lambda a, b: a.mean(),
    "mean axis": lambda a, b: a.reshape(2, 2).mean(axis=0),
    "sum int32": lambda a, b: a.to(dtype=np.int32).sum(),
    "pow 0.5": lambda a, b: a ** 0.5,
    "float32 * int tensor": lambda a, b: a.to(dtype=np.float32) * b,
}


@pytest.mark.parametrize("name", sorted(INT_CASES))
def test_integer_tensors_compute_as_on_the_cpu(name):
    # b holds 2**24 + 1: float32 * b rounds b to float32 first on the CPU (PyTorch's promotion)
    arrays = (np.array([1, 2, 3, 7]), np.array([2, 3, 2, 2 ** 24 + 1]))
    out = {}
    for device in ("cpu", "cuda"):
        a, b = (microdl.tensor(x, device=device) for x in arrays)
        out[device] = INT_CASES[name](a, b)
    assert out["cuda"].dtype == out["cpu"].dtype
    assert out["cuda"].shape == out["cpu"].shape
    np.testing.assert_allclose(out["cuda"].numpy(), out["cpu"].numpy(), rtol=1e-6)
    if out["cpu"].dtype != np.float32 or name != "pow 0.5":  # pow: float32 vs float64 libm
        np.testing.assert_array_equal(out["cuda"].numpy(), out["cpu"].numpy())


@pytest.mark.parametrize("scalar_device", ["cpu", "same"])
def test_float32_with_a_0d_float64_tensor_rounds_as_on_the_cpu(scalar_device, rng):
    # PyTorch's rule: the 0-d float64 is cast to float32 first; float32(x + 0.1) in float64
    # differs from x + float32(0.1) in float32 in the last bit for some x. ("cpu": the scalar
    # reaches the kernel as a Python float; the simulator computes float32 with it as numpy
    # does, so only a real GPU, which types it float64, can show the double rounding there.)
    x = rng.standard_normal(64).astype(np.float32)
    results = {}
    for device in ("cpu", "cuda"):
        s = microdl.tensor(0.1, dtype=np.float64,
                           device=device if scalar_device == "same" else "cpu")
        t = microdl.tensor(x, device=device)
        results[device] = [(t + s).numpy(), (t * s).numpy(), (s / t).numpy()]
    for got, expected in zip(results["cuda"], results["cpu"]):
        assert got.dtype == expected.dtype == np.float32
        np.testing.assert_array_equal(got, expected)
