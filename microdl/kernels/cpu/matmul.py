"""Matrix products on the CPU: OpenBLAS through numpy, large products split across microdl's
threads (``_blas.matmul``, which says why)."""

import numpy as np

from . import _blas


def gemm(a, b, bias, out, transpose_a, transpose_b):
    """out (M, N) = op(a) @ op(b) + bias[None, :], op(a) = a.T if transpose_a (likewise b);
    a bias of size 0 adds nothing."""
    _blas.matmul(a.T if transpose_a else a, b.T if transpose_b else b, out=out)
    if bias.size:
        np.add(out, bias, out=out)
