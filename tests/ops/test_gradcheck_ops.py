"""Float64 finite-difference gradient checks of every foundation op, on both kernel sets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microdl
import microdl.functional as F
from microdl import gradcheck, tensor


def t(rng, *shape, low=None):
    data = rng.standard_normal(shape)
    if low is not None:  # keep away from a kink or a pole
        data = np.abs(data) + low
    return tensor(data, requires_grad=True)


LABELS = np.array([0, 2, 1, 2])

CASES = {
    "add broadcast": (lambda a, b: a + b, [(3, 4), (4,)]),
    "sub broadcast": (lambda a, b: a - b, [(3, 1), (1, 4)]),
    "mul broadcast": (lambda a, b: a * b, [(2, 3, 4), (3, 1)]),
    "div": (lambda a, b: a / b, [(3, 4), ("pos", 3, 4)]),
    "neg": (lambda a: -a, [(5,)]),
    "pow 3": (lambda a: a ** 3, [(3, 4)]),
    "pow 0.5": (lambda a: a ** 0.5, [("pos", 3, 4)]),
    "exp": (lambda a: a.exp(), [(3, 4)]),
    "log": (lambda a: a.log(), [("pos", 3, 4)]),
    "abs": (lambda a: a.abs(), [("pos", 6)]),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 5)]),
    "matmul batched broadcast": (lambda a, b: a @ b, [(2, 3, 4), (4, 2)]),
    "matmul vector": (lambda a, b: a @ b, [(3, 4), (4,)]),
    "vector matmul": (lambda a, b: a @ b, [(4,), (4, 5)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(5, 4), (3, 4), (3,)]),
    "linear 3d input": (lambda x, w, b: F.linear(x, w, b), [(2, 5, 4), (3, 4), (3,)]),
    "sum all": (lambda a: a.sum(), [(3, 4)]),
    "sum axis keepdims": (lambda a: a.sum(axis=1, keepdims=True), [(3, 4, 2)]),
    "mean axes": (lambda a: a.mean(axis=(0, 2)), [(3, 4, 2)]),
    "max axis": (lambda a: a.amax(1), [(3, 5)]),
    "reshape": (lambda a: a.reshape(6, 2) * a.reshape(6, 2), [(3, 4)]),
    "transpose": (lambda a: a.transpose(0, 2) @ np.ones((2, 3)), [(2, 3, 4)]),
    "getitem": (lambda a: a[1:, ::2] * 2, [(3, 4)]),
    "fancy getitem": (lambda a: a[np.array([0, 0, 2])], [(3, 4)]),
    "relu": (lambda a: a.relu(), [(3, 4)]),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), [(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [(3, 4)]),
    "tanh": (lambda a: a.tanh(), [(3, 4)]),
    "softmax dim 0": (lambda a: F.softmax(a, dim=0), [(3, 4)]),
    "softmax last": (lambda a: F.softmax(a, dim=-1), [(2, 3, 4)]),
    "log_softmax dim 1": (lambda a: F.log_softmax(a, dim=1), [(2, 3, 4)]),
    "cross_entropy mean": (lambda a: F.cross_entropy(a, LABELS), [(4, 3)]),
    "cross_entropy sum": (lambda a: F.cross_entropy(a, LABELS, reduction="sum"), [(4, 3)]),
    "cross_entropy none": (lambda a: F.cross_entropy(a, LABELS, reduction="none"), [(4, 3)]),
    "mse_loss": (lambda a, b: F.mse_loss(a, b), [(3, 4), (3, 4)]),
    "mse_loss none": (lambda a, b: F.mse_loss(a, b, reduction="none"), [(3, 4), (3, 4)]),
}


def make_inputs(rng, specs):
    inputs = []
    for spec in specs:
        if spec and spec[0] == "pos":
            inputs.append(t(rng, *spec[1:], low=0.5))
        else:
            data = rng.standard_normal(spec)
            data[np.abs(data) < 0.05] += 0.2  # off relu's and abs's kink
            inputs.append(tensor(data, requires_grad=True))
    return inputs


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name, kernel_set, rng):
    fn, specs = CASES[name]
    assert gradcheck(fn, make_inputs(rng, specs))


def test_dropout_gradient_uses_the_same_mask(rng):
    microdl.manual_seed(3)
    x = tensor(rng.standard_normal((50, 20)), requires_grad=True)
    y = F.dropout(x, p=0.3, training=True)
    y.sum().backward()
    kept = y.array != 0
    np.testing.assert_allclose(x.grad.array[kept], 1 / 0.7)
    assert np.all(x.grad.array[~kept] == 0)
    assert 0.6 < kept.mean() < 0.8
    assert F.dropout(x, p=0.3, training=False) is x


def test_gradcheck_reports_a_wrong_gradient(rng):
    from microdl.autograd import Function

    class WrongSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved
            return g * x  # should be 2 * g * x

    with pytest.raises(AssertionError, match="gradcheck failed for input 0"):
        gradcheck(lambda a: WrongSquare.apply(a), [t(rng, 3)])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_broadcast_binary_ops_gradcheck_on_random_shapes(shape, data):
    # The second operand drops leading axes and squeezes others to 1: every broadcast pattern.
    other = [n if data.draw(st.booleans()) else 1 for n in shape]
    other = other[data.draw(st.integers(0, len(other) - 1)):]
    rng = np.random.default_rng(len(shape))
    a = tensor(rng.standard_normal(shape), requires_grad=True)
    b = tensor(np.abs(rng.standard_normal(other)) + 0.5, requires_grad=True)
    op = data.draw(st.sampled_from(["add", "sub", "mul", "div"]))
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
          "mul": lambda x, y: x * y, "div": lambda x, y: x / y}[op]
    assert gradcheck(fn, [a, b])
