"""transpose(dim0, dim1) swaps two axes at every rank, as torch.transpose does."""

import numpy as np
import pytest

import microdl


@pytest.mark.parametrize("shape,dims", [((2, 3), (0, 1)), ((2, 3), (1, 0)), ((2, 3), (-1, 0)),
                                        ((2, 3), (0, 0)), ((2, 3, 4), (0, 2)),
                                        ((2, 3, 4), (-1, 1))])
def test_two_dims_swap_at_every_rank(shape, dims, rng):
    x = rng.standard_normal(shape)
    t = microdl.tensor(x, requires_grad=True)
    y = t.transpose(*dims)
    np.testing.assert_array_equal(y.detach().numpy(), np.swapaxes(x, *dims))
    g = rng.standard_normal(y.shape)
    y.backward(g)
    np.testing.assert_array_equal(t.grad.numpy(), np.swapaxes(g, *dims))


def test_zero_d_transpose_is_the_tensor():
    t = microdl.tensor(3.0)
    assert t.transpose(0, -1).item() == 3.0
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.transpose(0, 1)


def test_two_d_transpose_matches_weight_transposed(rng):
    w = rng.standard_normal((3, 5)).astype(np.float32)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    out = microdl.tensor(x) @ microdl.tensor(w).transpose(0, 1)
    np.testing.assert_allclose(out.numpy(), x @ w.T, rtol=1e-6)
