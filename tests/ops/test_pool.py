"""max_pool2d and avg_pool2d: finite-difference gradients, PyTorch's values, gradients and
tie-breaking, and PyTorch's error messages."""

import numpy as np
import pytest

import microdl.functional as F
from microdl import gradcheck, tensor

# kernel, stride, padding
GEOMETRIES = [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0)), (2, 1, 1)]


def distinct_values(rng, shape):
    """A permutation of well-separated values: no ties, so max pooling is differentiable."""
    return tensor(rng.permutation(np.prod(shape)).reshape(shape) * 0.1, requires_grad=True)


@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
def test_max_pool2d_gradcheck(kernel, stride, padding, kernel_set, rng):
    x = distinct_values(rng, (2, 3, 6, 5))
    assert gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding), [x], eps=1e-4)


@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
def test_avg_pool2d_gradcheck(kernel, stride, padding, kernel_set, rng):
    x = tensor(rng.standard_normal((2, 3, 6, 5)), requires_grad=True)
    assert gradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding), [x])


def torch_run(torch_fn, x, g, *args):
    import torch

    torch.set_num_threads(1)
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_fn(tx, *args)
    ty.backward(torch.tensor(g))
    return ty.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
def test_pools_match_torch(name, kernel, stride, padding, kernel_set, rng):
    torch = pytest.importorskip("torch")
    # Small integers: many ties, which both must break the same way (first occurrence).
    data = rng.integers(-3, 4, (3, 4, 9, 7)).astype(np.float32)
    x = tensor(data, requires_grad=True)
    y = getattr(F, name)(x, kernel, stride, padding)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    ty, tdx = torch_run(getattr(torch.nn.functional, name), data, g, kernel, stride, padding)
    np.testing.assert_allclose(y.array, ty, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x.grad.array, tdx, rtol=1e-5, atol=1e-6)


def test_max_pool2d_routes_ties_to_the_first_occurrence(kernel_set):
    x = tensor(np.array([[[[1.0, 1.0], [1.0, 1.0]]]], np.float32), requires_grad=True)
    F.max_pool2d(x, 2).backward(np.array([[[[5.0]]]], np.float32))
    np.testing.assert_array_equal(x.grad.array, [[[[5.0, 0.0], [0.0, 0.0]]]])


def test_max_pool2d_nan_and_infinities_like_torch(kernel_set):
    torch = pytest.importorskip("torch")
    data = np.array([[[[np.nan, 1.0, -np.inf, -np.inf], [2.0, np.nan, -np.inf, -np.inf],
                       [np.inf, 3.0, 0.0, -1.0], [np.inf, 0.0, 0.0, 7.0]]]], np.float32)
    x = tensor(data, requires_grad=True)
    y = F.max_pool2d(x, 2)
    g = np.arange(1, 5, dtype=np.float32).reshape(y.shape)
    y.backward(g)
    ty, tdx = torch_run(torch.nn.functional.max_pool2d, data, g, 2)
    np.testing.assert_array_equal(y.array, ty)
    np.testing.assert_array_equal(x.grad.array, tdx)


def test_pools_take_unbatched_input(rng):
    x = tensor(rng.standard_normal((3, 6, 6)).astype(np.float32))
    assert F.max_pool2d(x, 2).shape == (3, 3, 3)
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 1, 1).array,
                               F.avg_pool2d(x.reshape(1, 3, 6, 6), 3, 1, 1).array[0])


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pool_errors_as_torch_words_them(name):
    pool = getattr(F, name)
    x = tensor(np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(RuntimeError, match=r"Given input size: \(3x2x2\). Calculated output "
                                           r"size: \(3x0x0\). Output size is too small"):
        pool(x, 3)
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        pool(x, 2, 0)
    with pytest.raises(RuntimeError, match="pad should be at most half of"):
        pool(x, 2, 2, 2)
    flat = tensor(np.zeros((2, 2), np.float32))
    if name == "max_pool2d":
        with pytest.raises(RuntimeError, match=r"3D or 4D \(batch mode\) tensor expected"):
            pool(flat, 2)
    else:  # PyTorch's avg_pool2d reads the size of dim -3 first
        with pytest.raises(IndexError, match=r"Dimension out of range .*but got -3"):
            pool(flat, 2)


def test_pools_take_integer_input_where_torch_does():
    # PyTorch's CPU max_pool2d takes every integer dtype, its avg_pool2d int64 only
    x = np.arange(16, dtype=np.int32).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(F.max_pool2d(tensor(x), 2).array, [[[[5, 7], [13, 15]]]])
    with pytest.raises(NotImplementedError, match="\"avg_pool2d\" not implemented for 'Int'"):
        F.avg_pool2d(tensor(x), 2)
