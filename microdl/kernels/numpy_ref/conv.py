"""2-D convolution as im2col + one matrix product, and the reorders around that product.

Layouts, with K = C * kh * kw rows per tap block:

- ``cols`` (K, N, OH, OW): element [(c, i, j), n, oh, ow] holds
  x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw], zero where that falls in the padding.
  Viewed as a (K, N * OH * OW) matrix, one product Y = W (Cout, K) @ cols covers the whole batch.
- ``y_cols`` (Cout, N, OH, OW): that product; the output (N, Cout, OH, OW) is its reorder + bias.

``kernel_size, stride, padding, dilation`` are (height, width) pairs; OH and OW come from the
shape of ``cols`` (the op computes them as (H + 2 ph - dh (kh - 1) - 1) // sh + 1).
"""

import numpy as np


def _tap(padded, i, j, out_hw, stride, dilation):
    """padded[:, :, oh * sh + i * dh, ow * sw + j * dw] for all (oh, ow): one kernel tap."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return padded[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh,
                  j * dw: j * dw + sw * (ow - 1) + 1: sw]


def im2col(x, cols, kernel_size, stride, padding, dilation):
    """cols[(c, i, j), n, oh, ow] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside x)."""
    n, c = x.shape[:2]
    (kh, kw), (ph, pw) = kernel_size, padding
    out_hw = cols.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    taps = cols.reshape(c, kh, kw, n, *out_hw)
    for i in range(kh):
        for j in range(kw):
            taps[:, i, j] = _tap(padded, i, j, out_hw, stride, dilation).transpose(1, 0, 2, 3)


def col2im(cols, grad_in, kernel_size, stride, padding, dilation):
    """grad_in[n, c, h, w] = sum of cols[(c, i, j), n, oh, ow] over every (i, j, oh, ow) that
    im2col read from x[n, c, h, w]: the adjoint of im2col (padding positions are dropped)."""
    n, c, h, w = grad_in.shape
    (kh, kw), (ph, pw) = kernel_size, padding
    out_hw = cols.shape[2:]
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), grad_in.dtype)
    taps = cols.reshape(c, kh, kw, n, *out_hw)
    for i in range(kh):
        for j in range(kw):
            # NOTE: the positions of one tap are distinct, so += on the strided view is exact.
            _tap(padded, i, j, out_hw, stride, dilation)[...] += taps[:, i, j].transpose(1, 0, 2, 3)
    np.copyto(grad_in, padded[:, :, ph: ph + h, pw: pw + w])


def cols_to_output(y_cols, bias, out):
    """out[n, co, oh, ow] = y_cols[co, n, oh, ow] + bias[co]."""
    np.copyto(out, y_cols.transpose(1, 0, 2, 3) + bias[None, :, None, None])


def output_grad_to_cols(grad_out, grad_cols, grad_bias):
    """grad_cols[co, n, oh, ow] = grad_out[n, co, oh, ow];
    grad_bias[co] = sum of grad_out[:, co] (accumulated in float64)."""
    np.copyto(grad_cols, grad_out.transpose(1, 0, 2, 3))
    np.copyto(grad_bias, grad_out.sum(axis=(0, 2, 3), dtype=np.float64))
