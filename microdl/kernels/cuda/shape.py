"""Copies of rectangular blocks between C-contiguous device arrays: one grid-stride kernel over
the block's values, which turns each flat block position into a position in the source and in the
destination (shapes padded to MAX_DIMS axes, as the elementwise kernels do)."""

from numba import cuda

from ._launch import flat, grid
from .elementwise import MAX_DIMS, _element_strides, _padded


@cuda.jit
def _block_copy_kernel(src, dst, block, src_strides, src_base, dst_strides, dst_base, count):
    i = cuda.grid(1)
    while i < count:
        rem = i
        s = src_base
        d = dst_base
        for axis in range(MAX_DIMS - 1, -1, -1):
            coord = rem % block[axis]
            rem //= block[axis]
            s += coord * src_strides[axis]
            d += coord * dst_strides[axis]
        dst[d] = src[s]
        i += cuda.gridsize(1)


def _copy(src, dst, block, src_offsets, dst_offsets):
    count = 1
    for n in block:
        count *= n
    if count == 0:
        return
    src_strides = _element_strides(tuple(src.shape))
    dst_strides = _element_strides(tuple(dst.shape))
    src_base = sum(o * s for o, s in zip(src_offsets, src_strides))
    dst_base = sum(o * s for o, s in zip(dst_offsets, dst_strides))
    _block_copy_kernel[grid(count)](flat(src), flat(dst), _padded(block, 1),
                                    _padded(src_strides, 0), src_base,
                                    _padded(dst_strides, 0), dst_base, count)


def read_block(x, out, offsets):
    """out = x[o0 : o0 + out.shape[0], o1 : o1 + out.shape[1], ...] for offsets (o0, o1, ...)."""
    shape = tuple(out.shape)
    _copy(x, out, shape, tuple(offsets), (0,) * len(shape))


def write_block(x, out, offsets):
    """out[o0 : o0 + x.shape[0], o1 : o1 + x.shape[1], ...] = x (cast to out's dtype); the rest
    of out is left as it is."""
    shape = tuple(x.shape)
    _copy(x, out, shape, (0,) * len(shape), tuple(offsets))
