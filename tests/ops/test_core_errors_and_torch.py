"""Errors worded as PyTorch words them, and values against PyTorch when it is installed."""

import numpy as np
import pytest

import microdl.functional as F
from microdl import tensor


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(3x4 "
                                           r"and 5x2\)"):
        tensor(np.ones((3, 4))) @ tensor(np.ones((5, 2)))


def test_linear_shape_mismatch():
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(60x784 and 100x10\)"):
        F.linear(tensor(np.ones((60, 784))), tensor(np.ones((10, 100))))


def test_cross_entropy_errors():
    logits = tensor(np.zeros((3, 4), np.float32))
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(logits, np.array([0, 1, 4]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.cross_entropy(logits, np.array([0, -1, 1]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target"):
        F.cross_entropy(logits, np.array([0, 1]))
    # an unbatched (C,) input takes a 0-d label, as in PyTorch
    np.testing.assert_allclose(F.cross_entropy(tensor(np.zeros(4, np.float32)),
                                               np.array(0)).item(), np.log(4), rtol=1e-6)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")


def test_activations_promote_integer_input_as_torch():
    # PyTorch computes sigmoid of integers in float32 (it refuses only leaky_relu and kin)
    assert F.sigmoid(tensor([1, 2])).dtype == np.float32
    with pytest.raises(NotImplementedError, match="leaky_relu_cpu.* not implemented for 'Long'"):
        F.leaky_relu(tensor([1, 2]))


def test_dropout_probability_is_checked():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(tensor([1.0]), p=1.5)


def test_cross_entropy_stays_finite_for_huge_logits(kernel_set):
    logits = tensor(np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], np.float32),
                    requires_grad=True)
    loss = F.cross_entropy(logits, np.array([1, 1]))
    np.testing.assert_allclose(loss.item(), 1000.0, rtol=1e-6)
    loss.backward()
    assert np.all(np.isfinite(logits.grad.array))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_matches_torch(name, kernel_set, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((5, 7)).astype(np.float32)
    g = rng.standard_normal((5, 7)).astype(np.float32)
    ours = tensor(x, requires_grad=True)
    getattr(F, name)(ours, dim=0).backward(g)
    theirs = torch.tensor(x, requires_grad=True)
    getattr(torch.nn.functional, name)(theirs, dim=0).backward(torch.tensor(g))
    np.testing.assert_allclose(getattr(F, name)(tensor(x), dim=0).array,
                               getattr(torch.nn.functional, name)(torch.tensor(x), dim=0).numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(reduction, kernel_set, rng):
    torch = pytest.importorskip("torch")
    x = (rng.standard_normal((6, 4)) * 3).astype(np.float32)
    labels = rng.integers(0, 4, 6)
    ours = tensor(x, requires_grad=True)
    loss = F.cross_entropy(ours, labels, reduction=reduction)
    loss.sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(theirs, torch.tensor(labels), reduction=reduction)
    ref.sum().backward()
    np.testing.assert_allclose(loss.array, ref.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-5, atol=1e-7)
