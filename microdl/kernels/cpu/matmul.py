"""Matrix products on the CPU: OpenBLAS through numpy, large products split across microdl's
threads (``_blas.matmul``, which says why)."""

import numpy as np

from . import _blas


# A linear layer's x @ W^T with fewer rows than this runs as (W @ x^T)^T (see gemm).
SMALL_BATCH_ROWS = 64


def gemm(a, b, bias, out, transpose_a, transpose_b):
    """out (M, N) = op(a) @ op(b) + bias[None, :], op(a) = a.T if transpose_a (likewise b);
    a bias of size 0 adds nothing."""
    if transpose_b and not transpose_a and a.shape[0] < SMALL_BATCH_ROWS:
        # NOTE: a linear layer's x @ W^T on a small batch: OpenBLAS runs W @ x^T faster there
        # (1.3-1.7x at 60 rows on an Intel host, bench/core.py; 1.1-1.25x at 8-32 rows on the
        # AMD one), and one pass then transposes it into out and adds the bias. From 64 rows on
        # that transposed pass costs more than the product gains: x @ W^T, written into out,
        # took 1.1-1.5x less time at 128-1024 rows (784 -> 100, 1024 -> 1024, 3136 -> 10;
        # 4096 x 1024 -> 1024: 46.9 against 71.5 ms).
        product_t = _blas.matmul(b, a.T)
        if bias.size:
            np.add(product_t.T, bias, out=out)
        else:
            np.copyto(out, product_t.T)
        return
    _blas.matmul(a.T if transpose_a else a, b.T if transpose_b else b, out=out)
    if bias.size:
        np.add(out, bias, out=out)
