"""2-D convolution as im2col + one matrix product per group, and the reorders around that product.

Layouts, with K = C * kh * kw rows per tap block:

- ``cols`` (K, N, OH, OW): element [(c, i, j), n, oh, ow] holds
  x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw], zero where that falls in the padding.
  Viewed as a (K, N * OH * OW) matrix, one product Y = W (Cout, K / groups) @ cols covers the
  whole batch; with groups, group g's filters W_g (Cout / groups rows of W) meet its own rows
  cols_g (K / groups rows of cols): Y_g = W_g @ cols_g.
- ``y_cols`` (Cout, N, OH, OW): that product; the output (N, Cout, OH, OW) is its reorder + bias.

``kernel_size, stride, padding, dilation`` are (height, width) pairs; OH and OW come from the
shape of ``cols`` or ``out`` (the op computes them as (H + 2 ph - dh (kh - 1) - 1) // sh + 1).
"""

import numpy as np


def conv2d_forward(x, weight, bias, out, cols, stride, padding, dilation, groups):
    """out[n, co, oh, ow] = bias[co] + sum over (c, i, j) of weight[co, c, i, j] *
    x[n, g * C / groups + c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (zero outside x), with g the
    group of co and no bias term when bias is None. As matrices: cols = im2col(x),
    Y_g = W_g @ cols_g, out = Y reordered + bias.

    cols is an output: the columns conv2d_backward reads for dW (a set may instead rebuild them
    from x there, and leave cols unwritten; the cpu set's blocked layout does)."""
    im2col(x, cols, weight.shape[2:], stride, padding, dilation)
    products = [w_g @ cols_g for w_g, cols_g in zip(_by_group(weight, groups),
                                                    _by_group(cols, groups))]
    y_cols = np.concatenate(products).reshape(weight.shape[:1] + cols.shape[1:])
    cols_to_output(y_cols, np.zeros(len(weight), out.dtype) if bias is None else bias, out)


def conv2d_backward(x, cols, weight, grad_out, grad_x, grad_weight, grad_bias, stride, padding,
                    dilation, groups):
    """With dY = grad_out reordered to (Cout, N * OH * OW) and split by group as in forward:
    grad_weight_g = dY_g @ cols_g^T, dcols_g = W_g^T @ dY_g, grad_x = col2im(dcols),
    grad_bias[co] = sum of grad_out[:, co] (accumulated in float64). An output passed as None is
    not computed; x and cols are forward's input and columns (None when grad_weight is; x is
    there for sets that rebuild cols, this one reads cols)."""
    dy = np.empty(weight.shape[:1] + grad_out.shape[:1] + grad_out.shape[2:], grad_out.dtype)
    db = np.empty(len(weight), grad_out.dtype)
    output_grad_to_cols(grad_out, dy, db)
    if grad_bias is not None:
        np.copyto(grad_bias, db)
    if grad_weight is not None:
        dw = [dy_g @ cols_g.T for dy_g, cols_g in zip(_by_group(dy, groups),
                                                      _by_group(cols, groups))]
        np.copyto(grad_weight, np.concatenate(dw).reshape(grad_weight.shape))
    if grad_x is not None:
        dcols = [w_g.T @ dy_g for w_g, dy_g in zip(_by_group(weight, groups),
                                                   _by_group(dy, groups))]
        taps = grad_x.shape[1] * weight.shape[2] * weight.shape[3]
        col2im(np.concatenate(dcols).reshape((taps,) + dy.shape[1:]), grad_x, weight.shape[2:],
               stride, padding, dilation)


def _by_group(array, groups):
    """``array`` as a (rows, columns) matrix, cut into ``groups`` blocks of rows."""
    return np.split(array.reshape(len(array), -1), groups)


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
