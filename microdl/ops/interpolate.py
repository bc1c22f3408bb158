"""Resampling (F.interpolate, nn.Upsample): nearest and (bi)linear, with PyTorch's source
indices, computed here on the host as per-axis tables that the ``interpolate`` kernels read.

For output position d of an axis of input size n and output size m (``scale`` is 1 / the
scale_factor the caller gave, else n / m; PyTorch computes these in float32 for nearest and in
the input's float type for linear, and so does this module):
  nearest:        src = min(floor(d * scale), n - 1)         (m == n: d; m == 2n: d // 2)
  nearest-exact:  src = min(floor((d + 0.5) * scale), n - 1)
  linear:         r = d * (n - 1) / (m - 1) with align_corners (0 when m == 1), else
                  r = max((d + 0.5) * scale - 0.5, 0); i0 = min(floor(r), n - 1),
                  i1 = i0 + (i0 < n - 1), weights (1 - l, l) with l = clamp(r - i0, 0, 1)
                  (m == n: i0 = i1 = d, weights (1, 0)).
"""

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import contiguous

_F32 = np.dtype(np.float32)


def _inverse_scale(in_size, out_size, scale_factor, dtype):
    """PyTorch's compute_scales_value: 1 / scale_factor when one was given (> 0), else
    in_size / out_size, in ``dtype``."""
    if scale_factor is not None and scale_factor > 0:
        return dtype.type(1.0 / scale_factor)
    return dtype.type(in_size) / dtype.type(out_size)


def nearest_table(in_size, out_size, scale_factor, exact=False):
    """The source index of every output position (int64), as the module docstring states."""
    d = np.arange(out_size)
    if not exact and out_size == in_size:
        return d
    if not exact and out_size == 2 * in_size:
        return d >> 1
    scale = _inverse_scale(in_size, out_size, scale_factor, _F32)
    position = (d.astype(_F32) + _F32.type(0.5 if exact else 0.0)) * scale
    return np.minimum(np.floor(position).astype(np.int64), in_size - 1)


def linear_table(in_size, out_size, scale_factor, align_corners, dtype):
    """(indices (m, 2) int64, weights (m, 2) of ``dtype``) of every output position."""
    d = np.arange(out_size)
    if out_size == in_size:
        weights = np.zeros((out_size, 2), dtype)
        weights[:, 0] = 1
        return np.stack([d, d], axis=1), weights
    if align_corners:
        scale = (dtype.type(in_size - 1) / dtype.type(out_size - 1) if out_size > 1
                 else dtype.type(0))
        real = scale * d.astype(dtype)
    else:
        scale = _inverse_scale(in_size, out_size, scale_factor, dtype)
        real = np.maximum(scale * (d.astype(dtype) + dtype.type(0.5)) - dtype.type(0.5),
                          dtype.type(0))
    first = np.minimum(np.floor(real).astype(np.int64), in_size - 1)
    upper = np.clip(real - first.astype(dtype), 0, 1).astype(dtype)
    second = first + (first < in_size - 1)
    return np.stack([first, second], axis=1), np.stack([1 - upper, upper], axis=1)


def _planes(x):
    """A C-contiguous (N, C, H, W) or (N, C, L) array as (N * C, H, W) planes (L: H = 1)."""
    x = contiguous(x)
    height, width = (x.shape[2], x.shape[3]) if x.ndim == 4 else (1, x.shape[2])
    return x.reshape(x.shape[0] * x.shape[1], height, width)


class Resample(Function):
    """y = x resampled by the tables of ``kernel`` ("nearest2d": (rows, cols) of source
    indices; "bilinear2d": (rows, row_weights, cols, col_weights)); dx = the transpose: each
    g value goes back, times its weights, to the values it was read from.
    ``out_size``: the output's spatial sizes ((OH, OW), or (OL,) for 3-D x)."""

    @staticmethod
    def forward(ctx, x, kernel, out_size, tables):
        dev = backend.for_arrays(x)
        planes = _planes(x)
        ctx.kernel, ctx.input_shape = kernel, x.shape
        ctx.tables = tuple(dev.to_here(t) for t in tables)
        out_hw = (1, *out_size) if len(out_size) == 1 else tuple(out_size)
        out = dev.empty((planes.shape[0], *out_hw), x.dtype)
        getattr(dev.kernels("interpolate"), f"{kernel}_forward")(planes, out, *ctx.tables)
        return out.reshape(*x.shape[:2], *out_size)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        grad_out = _planes(g)
        dx = dev.empty(_planes_shape(ctx.input_shape), g.dtype)
        getattr(dev.kernels("interpolate"), f"{ctx.kernel}_backward")(grad_out, dx, *ctx.tables)
        return dx.reshape(ctx.input_shape)


def _planes_shape(shape):
    return (shape[0] * shape[1], *((shape[2], shape[3]) if len(shape) == 4 else (1, shape[2])))


def output_size(in_sizes, size, scale_factors):
    """The output's spatial sizes: ``size``, or floor(in * scale_factor) per axis."""
    if size is not None:
        return tuple(int(s) for s in size)
    return tuple(math.floor(float(n) * s) for n, s in zip(in_sizes, scale_factors))
