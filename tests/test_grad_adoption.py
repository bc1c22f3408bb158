"""The engine adopts a backward's fresh gradient array as a leaf's .grad (no copy) only when no
one else holds it; otherwise it copies, so a later += never writes into someone else's array."""

import numpy as np

from microdl import tensor
from microdl.autograd import Function


class Fresh(Function):
    """y = 2x; backward returns a new array (and remembers it, weakly, for the test)."""

    last = None

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        out = 2 * g
        Fresh.last = id(out)
        return out


class SameForBoth(Function):
    """y = a + b; backward hands the same array to both inputs."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, g):
        out = g.copy()
        return out, out


class PassThrough(Function):
    """y = x; backward returns the upstream gradient itself."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Saved(Function):
    """y = x * c; backward returns an array the context keeps."""

    @staticmethod
    def forward(ctx, x):
        ctx.keep = np.full_like(x, 3.0)
        return x * 3.0

    @staticmethod
    def backward(ctx, g):
        return ctx.keep


def test_a_fresh_gradient_is_adopted():
    x = tensor(np.ones(3), requires_grad=True)
    Fresh.apply(x).sum().backward()
    assert id(x.grad.array) == Fresh.last
    np.testing.assert_array_equal(x.grad.array, 2.0)


def test_a_gradient_given_to_two_leaves_is_copied_for_each():
    a = tensor(np.ones(3), requires_grad=True)
    b = tensor(np.ones(3), requires_grad=True)
    SameForBoth.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad.array, b.grad.array)
    a.grad.array += 5
    np.testing.assert_array_equal(b.grad.array, 1.0)


def test_the_upstream_gradient_is_not_adopted():
    x = tensor(np.ones(3), requires_grad=True)
    upstream = np.full(3, 7.0)
    PassThrough.apply(x).backward(upstream)
    assert not np.shares_memory(x.grad.array, upstream)
    x.grad.array += 1
    np.testing.assert_array_equal(upstream, 7.0)


def test_an_array_the_context_keeps_is_not_adopted():
    x = tensor(np.ones(3), requires_grad=True)
    y = Saved.apply(x).sum()
    y.backward(retain_graph=True)
    x.grad.array += 1  # must not change what the context keeps for a second backward
    y.backward()
    np.testing.assert_array_equal(x.grad.array, 3.0 + 1 + 3.0)


def test_a_view_is_not_adopted():
    base = tensor(np.ones((2, 3)), requires_grad=True)
    base.reshape(3, 2).sum().backward()  # Reshape.backward returns a view of the ones it made
    assert base.grad.array.base is None
    np.testing.assert_array_equal(base.grad.array, 1.0)
