"""The tape: order, accumulation, broadcasting, retain_graph, no_grad, errors."""

import numpy as np
import pytest

import microdl
from microdl import tensor


def test_gradient_of_a_small_expression():
    x = tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = tensor([4.0, 5.0, 6.0], requires_grad=True)
    z = (x * y + x ** 2).sum()
    z.backward()
    np.testing.assert_allclose(x.grad.array, [4 + 2, 5 + 4, 6 + 6])
    np.testing.assert_allclose(y.grad.array, [1, 2, 3])


def test_a_tensor_used_twice_gets_both_contributions():
    x = tensor([3.0], requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.array, [2 * 3 + 1])


def test_gradients_accumulate_across_backward_calls():
    x = tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.array, [5, 5])


def test_diamond_graph_runs_each_node_once_with_summed_gradient():
    x = tensor([2.0], requires_grad=True)
    a = x * 3
    b = a.exp()
    c = a * a
    (b + c).sum().backward()
    expected = 3 * np.exp(6.0) + 2 * 6 * 3
    np.testing.assert_allclose(x.grad.array, [expected], rtol=1e-6)


def test_chain_of_ten_thousand_ops_needs_no_recursion():
    x = tensor([1.0], requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, [1.0001 ** 10_000], rtol=1e-9)


def test_broadcast_gradients_are_summed_back_to_each_shape():
    a = tensor(np.ones((4, 3)), requires_grad=True)
    b = tensor(np.ones((3,)), requires_grad=True)
    c = tensor(np.ones((4, 1)), requires_grad=True)
    (a * b + c).sum().backward()
    assert b.grad.shape == (3,) and c.grad.shape == (4, 1)
    np.testing.assert_allclose(b.grad.array, [4, 4, 4])
    np.testing.assert_allclose(c.grad.array, [[3]] * 4)


def test_second_backward_without_retain_graph_raises():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.array, [4, 8])


def test_backward_of_non_scalar_needs_a_gradient():
    x = tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0], np.float32))
    np.testing.assert_allclose(x.grad.array, [2, 20])


def test_backward_gradient_of_wrong_shape_is_an_error():
    x = tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(np.ones(3))


def test_backward_on_a_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tensor([1.0]).sum().backward()


def test_no_grad_records_nothing():
    x = tensor([1.0], requires_grad=True)
    with microdl.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    assert (x * 2).requires_grad


def test_detach_cuts_the_tape():
    x = tensor([2.0], requires_grad=True)
    y = x * x.detach()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, [2.0])


def test_saved_arrays_are_freed_after_backward():
    x = tensor(np.ones(3), requires_grad=True)
    y = x * x
    node = y._node
    y.sum().backward()
    assert node.ctx.saved_arrays == ()


def test_dtypes_are_kept_through_ops_and_gradients():
    for dtype in (np.float32, np.float64):
        x = tensor(np.ones((2, 3), dtype), requires_grad=True)
        y = (x * 2.5 + 1).sigmoid().sum()
        assert y.dtype == dtype
        y.backward()
        assert x.grad.dtype == dtype


def test_a_gradient_takes_its_inputs_dtype_at_every_node():
    """As PyTorch: the float64 gradient reaching the float32 tensor b is rounded to float32
    there, so a.grad = 3 * float32(w), not float32(3 * w) (the two differ in the last bit for
    some values: double rounding)."""
    w = np.random.default_rng(0).standard_normal(1000)
    a = tensor(np.ones(1000, np.float32), requires_grad=True)
    b = a * 3
    (b * tensor(w)).sum().backward()
    expected = np.float32(3) * w.astype(np.float32)
    assert a.grad.dtype == np.float32
    np.testing.assert_array_equal(a.grad.numpy(), expected)
    assert not np.array_equal((3 * w).astype(np.float32), expected)  # the case is a real one
    torch = pytest.importorskip("torch")
    ta = torch.ones(1000, dtype=torch.float32, requires_grad=True)
    ((ta * 3) * torch.from_numpy(w)).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())


def test_a_cast_to_an_integer_dtype_leaves_the_tape():
    """As PyTorch: only floating-point results can require gradients, so a gradient is never
    rounded to an integer dtype on its way back (x.grad would come out 0)."""
    x = tensor(np.array([1.7, -2.6], np.float32), requires_grad=True)
    y = x.to(dtype=np.int64)
    assert y.dtype == np.int64 and not y.requires_grad and y._node is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        (y * tensor(np.array([0.5, 0.5], np.float32))).sum().backward()
    assert x.to(dtype=np.float64).requires_grad


def test_only_floating_tensors_can_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        tensor([1, 2, 3], requires_grad=True)
