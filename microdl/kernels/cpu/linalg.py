"""Einstein sums and cumulative products on the CPU. The cumulative products are numpy's own
(the reference re-exported: vectorised along the other axes); einsum is numpy's too, with
``optimize=True``, which sends the contractions to BLAS through tensordot (the reference
contracts in one naive loop)."""

import numpy as np

from ..numpy_ref.linalg import cumprod_axis, cumprod_backward  # noqa: F401


def einsum(operands, out, equation):
    """out[o] = sum over the labels not in the output of prod_k operands[k][labels of k]."""
    np.copyto(out, np.einsum(equation, *operands, optimize=len(operands) > 1),
              casting="unsafe")
