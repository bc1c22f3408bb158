"""Einstein sums and cumulative products, the specification.

``einsum`` takes an explicit equation ("ij,jk->ik": letters only, no ellipsis, an output part;
the op writes it out so), ``operands`` a tuple of arrays."""

import numpy as np


def einsum(operands, out, equation):
    """out[o] = sum over the labels not in the output of prod_k operands[k][labels of k]
    (numpy's einsum; a label repeated within an operand reads its diagonal)."""
    np.copyto(out, np.einsum(equation, *operands), casting="unsafe")


def cumprod_axis(x, out, axis):
    """out[..., i, ...] = x[..., 0, ...] * ... * x[..., i, ...] along ``axis``, in out's dtype."""
    np.cumprod(x, axis=axis, dtype=out.dtype, out=out)


def cumprod_backward(x, g, dx, axis):
    """The gradient of y = cumprod(x) along ``axis``, exact with zeros in x (no division):
    dx_k = P_k * S_k with P_k = x_0 * ... * x_(k-1) (1 for k = 0) and
    S_k = sum_(i >= k) g_i * x_(k+1) * ... * x_i, i.e. S_(n-1) = g_(n-1),
    S_k = g_k + x_(k+1) * S_(k+1)."""
    x, g = np.moveaxis(x, axis, -1), np.moveaxis(g, axis, -1)
    n = x.shape[-1]
    if n == 0:
        return
    suffix = np.empty(x.shape, dx.dtype)
    suffix[..., n - 1] = g[..., n - 1]
    for k in range(n - 2, -1, -1):
        suffix[..., k] = g[..., k] + x[..., k + 1] * suffix[..., k + 1]
    prefix = np.ones(x.shape, dx.dtype)
    np.cumprod(x[..., :-1], axis=-1, out=prefix[..., 1:])
    np.copyto(dx, np.moveaxis(prefix * suffix, -1, axis), casting="unsafe")
