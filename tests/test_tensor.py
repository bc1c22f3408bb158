"""Tensor construction, conversion and the PyTorch-style conveniences."""

import numpy as np
import pytest

import microdl
from microdl import tensor


def test_python_floats_default_to_float32_and_numpy_keeps_its_dtype():
    assert tensor([1.0, 2.0]).dtype == np.float32
    assert tensor([1, 2]).dtype == np.int64
    assert tensor(np.zeros(2)).dtype == np.float64
    assert tensor([1.0], dtype=np.float64).dtype == np.float64


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t, s = tensor(a), microdl.from_numpy(a)
    a[0] = 5
    assert t.array[0] == 0 and s.array[0] == 5


def test_python_scalars_take_the_tensor_dtype():
    x = tensor(np.ones(2, np.float32))
    assert (x * 2.0).dtype == np.float32
    assert (1.5 - x).dtype == np.float32
    assert (x + np.ones(2, np.float64)).dtype == np.float64  # numpy's promotion


def test_reflected_operators_with_numpy_arrays():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], np.float32) * x
    assert isinstance(y, microdl.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, [3, 4])


def test_item_numpy_and_errors():
    assert tensor([3.5]).item() == 3.5
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        tensor([1.0, 2.0]).item()
    with pytest.raises(RuntimeError, match="detach"):
        tensor([1.0], requires_grad=True).numpy()
    np.testing.assert_array_equal(np.asarray(tensor([1.0, 2.0])), [1, 2])


def test_repr_reads_like_pytorch():
    assert repr(tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(tensor([1.0], requires_grad=True))
    assert "grad_fn=<MulBackward0>" in repr(tensor([1.0], requires_grad=True) * 2)


def test_transpose_swaps_two_dims_and_T_reverses():
    x = tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.T.shape == (4, 3, 2)
    assert x.permute(1, 0, 2).shape == (3, 2, 4)
    with pytest.raises(RuntimeError, match="not a permutation"):
        x.permute(0, 0, 1)


def test_reshape_flatten_and_errors():
    x = tensor(np.zeros((2, 3, 4), np.float32))
    assert x.reshape(6, 4).shape == (6, 4)
    assert x.reshape((-1,)).shape == (24,)
    assert x.flatten(1).shape == (2, 12)
    with pytest.raises(RuntimeError, match=r"shape '\[5, 5\]' is invalid for input of size 24"):
        x.reshape(5, 5)


def test_reductions_accept_numpy_and_pytorch_argument_names():
    x = tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_allclose(x.sum(axis=0).array, [3, 5, 7])
    np.testing.assert_allclose(x.sum(dim=1, keepdim=True).array, [[3], [12]])
    np.testing.assert_allclose(x.mean().array, 2.5)
    np.testing.assert_allclose(x.max(axis=1).values.array, [2, 5])
    np.testing.assert_array_equal(x.argmax(dim=1).array, [2, 2])
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(axis=2)


def test_indexing_gradients_add_up_for_repeated_indices():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_allclose(x.grad.array, [2, 0, 1])
    y = tensor(np.ones((3, 4)), requires_grad=True)
    y[1:, ::2].sum().backward()
    assert y.grad.array.sum() == 4


def test_device_names():
    # "cuda" itself is tested in tests/cuda (simulator or GPU)
    with pytest.raises(RuntimeError, match="device type at start of device string: gpu"):
        tensor([1.0], device="gpu")
    assert tensor([1.0]).to("cpu").device == "cpu"
    assert tensor([1.0], device="cpu").device == "cpu"


def test_to_dtype_is_differentiable():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float32


def test_kernel_set_switch_and_env_var_validation():
    assert microdl.get_kernels() in ("numba", "numpy")
    with pytest.raises(ValueError, match="unknown kernel set 'fortran'"):
        microdl.set_kernels("fortran")


def test_integer_tensor_powers_follow_pytorch():
    t = microdl.tensor(np.array([1, 4, 9]))
    half = t ** 0.5
    assert half.dtype == np.float32
    np.testing.assert_allclose(half.array, [1, 2, 3])
    squared = t ** 2
    assert squared.dtype == t.dtype
    np.testing.assert_array_equal(squared.array, [1, 16, 81])
    assert (t ** 2.0).dtype == np.float32
    inverse = t ** -1.0
    assert inverse.dtype == np.float32
    np.testing.assert_allclose(inverse.array, [1, 0.25, 1 / 9], rtol=1e-6)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        t ** -1
    floats = microdl.tensor(np.array([1.0, 2.0], np.float32))
    assert (floats ** 2).dtype == np.float32 and (floats ** 0.5).dtype == np.float32
