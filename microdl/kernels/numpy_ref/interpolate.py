"""Resampling of (P, H, W) planes (P = N * C; 1-D signals are planes with H = 1) to (P, OH, OW),
from per-axis tables the op computes (PyTorch's source-index rules, ops/interpolate.py).

Nearest: ``rows`` (OH,) and ``cols`` (OW,) hold source indices:
    out[p, i, j] = x[p, rows[i], cols[j]].
Bilinear: ``rows`` (OH, 2) holds the two source rows h0, h1 of output row i and ``row_weights``
(OH, 2) their weights (1 - l, l); ``cols`` / ``col_weights`` (OW, 2) likewise:
    out[p, i, j] = (x[h0, w0] cw0 + x[h0, w1] cw1) rw0 + (x[h1, w0] cw0 + x[h1, w1] cw1) rw1,
in that order (PyTorch's: the inner axis first). Backward is the transpose: each grad_out value
goes, times its weights, to the input values it was made from; repeated targets add up.
"""

import numpy as np


def nearest2d_forward(x, out, rows, cols):
    """out[p, i, j] = x[p, rows[i], cols[j]]."""
    np.copyto(out, x[:, rows[:, None], cols[None, :]])


def nearest2d_backward(grad_out, grad_in, rows, cols):
    """grad_in[p, h, w] = sum of grad_out[p, i, j] over rows[i] == h and cols[j] == w."""
    grad_in[...] = 0
    np.add.at(grad_in, (slice(None), rows[:, None], cols[None, :]), grad_out)


def bilinear2d_forward(x, out, rows, row_weights, cols, col_weights):
    """out = sum over k, l of x[:, rows[:, k], cols[:, l]] * col_weights[:, l] * row_weights[:, k]
    (the inner sum over l first, as the module docstring writes it)."""
    def along_columns(k):
        taps = x[:, rows[:, k][:, None, None], cols[None, :, :]]  # (P, OH, OW, 2)
        return taps[..., 0] * col_weights[:, 0] + taps[..., 1] * col_weights[:, 1]

    np.copyto(out, along_columns(0) * row_weights[:, 0, None]
              + along_columns(1) * row_weights[:, 1, None])


def bilinear2d_backward(grad_out, grad_in, rows, row_weights, cols, col_weights):
    """grad_in[p, rows[i, k], cols[j, l]] += grad_out[p, i, j] * row_weights[i, k] *
    col_weights[j, l] for k, l in {0, 1}."""
    grad_in[...] = 0
    for k in range(2):
        for m in range(2):
            part = grad_out * row_weights[:, k, None] * col_weights[:, m]
            np.add.at(grad_in, (slice(None), rows[:, k, None], cols[None, :, m]), part)
