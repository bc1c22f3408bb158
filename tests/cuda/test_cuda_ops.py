"""CUDA op twins against their CPU ops where the device matters: random streams, gradient
accumulation on the device, argmax's device output and the dtype rules of integer and mixed
float32/float64 operands. (The table of every op on every kernel set, cuda included, is
tests/ops/test_op_cases.py.)"""

import numpy as np
import pytest

import microdl
import microdl.functional as F


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
    "float mean": lambda a, b: a.float().mean(),
    "float mean axis": lambda a, b: a.float().reshape(2, 2).mean(axis=0),
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
    if out["cpu"].dtype != np.float32 or name not in ("pow 0.5", "exp", "log"):  # libm ulps
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
