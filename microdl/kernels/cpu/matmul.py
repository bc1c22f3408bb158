"""Matrix products on the CPU: OpenBLAS through numpy, large products split across microdl's
threads (``_blas.matmul``, which says why)."""

import numpy as np

from . import _blas


def gemm(a, b, bias, out, transpose_a, transpose_b):
    """out (M, N) = op(a) @ op(b) + bias[None, :], op(a) = a.T if transpose_a (likewise b);
    a bias of size 0 adds nothing."""
    if transpose_b and not transpose_a:
        # NOTE: a linear layer's x @ W^T: OpenBLAS runs W @ x^T 1.3-1.7x faster at small batch
        # shapes (bench/core.py); one pass then transposes it into out and adds the bias
        product_t = _blas.matmul(b, a.T)
        if bias.size:
            np.add(product_t.T, bias, out=out)
        else:
            np.copyto(out, product_t.T)
        return
    _blas.matmul(a.T if transpose_a else a, b.T if transpose_b else b, out=out)
    if bias.size:
        np.add(out, bias, out=out)
