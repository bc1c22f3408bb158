"""Matrix products, the specification: numpy's matmul."""

import numpy as np


def gemm(a, b, bias, out, transpose_a, transpose_b):
    """out (M, N) = op(a) @ op(b) + bias[None, :], op(a) = a.T if transpose_a (likewise b);
    a bias of size 0 adds nothing."""
    product = np.matmul(a.T if transpose_a else a, b.T if transpose_b else b)
    if bias.size:
        product = product + bias
    np.copyto(out, product, casting="unsafe")
