"""Vision functions (PyTorch's heading): pad, interpolate / upsample, pixel_shuffle and
pixel_unshuffle."""

import warnings

import numpy as np

from ..ops import elementwise as _ew
from ..ops import interpolate as _interp
from ..ops import shape as _shape
from ._common import _as_tensor
from .pooling import adaptive_avg_pool2d


# ---- tensor ops PyTorch keeps in F (pad, ...) ----------------------------------------------
_NON_CONSTANT_PADS = {1: (2, 3), 2: (3, 4), 3: (4, 5)}  # pairs of pads -> ranks they take


def _pad_positions(size, before, after, mode):
    """The source positions along one dimension of a reflect/replicate/circular pad."""
    if mode == "reflect":
        if before >= size or after >= size:
            return None
        i = np.arange(-before, size + after)
        return np.where(i < 0, -i, np.where(i >= size, 2 * (size - 1) - i, i))
    if mode == "replicate":
        return np.clip(np.arange(-before, size + after), 0, size - 1)
    # circular: the values kept after any negative pad, wrapped around (at most once)
    kept = np.arange(max(0, -before), size - max(0, -after))
    if before > kept.size or after > kept.size:
        raise RuntimeError("Padding value causes wrapping around more than once.")
    return kept[np.arange(-max(0, before), kept.size + max(0, after)) % kept.size]


def pad(input, pad, mode="constant", value=None):
    """input padded on its last len(pad) // 2 dimensions: pad = (before_last, after_last,
    before_second_last, ...); negative amounts crop. "constant" fills with ``value`` (0 by
    default); "reflect" mirrors without repeating the edge, "replicate" repeats the edge,
    "circular" wraps around. The gradient of a padded value flows back to where it came from."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    pairs, ndim = len(pad) // 2, input.ndim
    if pairs > ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of dimension "
                           f"{ndim}")
    before, after = [0] * ndim, [0] * ndim
    for i in range(pairs):
        before[ndim - 1 - i], after[ndim - 1 - i] = int(pad[2 * i]), int(pad[2 * i + 1])
    if mode == "constant":
        return _shape.ConstantPad.apply(input, before=tuple(before), after=tuple(after),
                                        value=0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if ndim not in _NON_CONSTANT_PADS.get(pairs, ()):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    positions = []
    for d in range(ndim - pairs, ndim):
        found = _pad_positions(input.shape[d], before[d], after[d], mode)
        if found is None:
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                               f"input dimension, but got: padding ({before[d]}, {after[d]}) at "
                               f"dimension {d} of input {list(input.shape)}")
        positions.append(found)
    return input[(Ellipsis, *np.ix_(*positions))]


# ---- interpolation -------------------------------------------------------------------------
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


# microdl's modes: the input ranks each takes
_MODE_RANKS = {"nearest": (3, 4), "nearest-exact": (3, 4), "area": (3, 4), "linear": (3,),
               "bilinear": (4,)}


_TORCH_MODES = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                "nearest-exact")


def _per_axis(value, dims, input, what, found, example):
    """``value`` for each of the dims spatial axes (one value for all, or one per axis)."""
    if not isinstance(value, (list, tuple)):
        return [value] * dims
    if len(value) != dims:
        raise ValueError(f"Input and {what} must have the same number of spatial dimensions, "
                         f"but got input with spatial dimensions of {list(input.shape[2:])} "
                         f"and {found} {value}. Please provide input tensor in (N, C, d1, d2, "
                         f"...,dK) format and {example} format.")
    return list(value)


def _check_mode(mode, ndim):
    """PyTorch's errors for a mode that does not fit the rank, and microdl's for the modes it
    does not implement."""
    if ndim in _MODE_RANKS.get(mode, ()):
        return
    mismatch = {(3, "bilinear"): "bilinear mode needs 4D", (3, "trilinear"): "trilinear mode "
                "needs 5D", (3, "bicubic"): "bicubic mode needs 4D", (4, "linear"): "linear mode "
                "needs 3D", (4, "trilinear"): "trilinear mode needs 5D", (5, "linear"): "linear "
                "mode needs 3D", (5, "bilinear"): "bilinear mode needs 4D", (5, "bicubic"):
                "bicubic mode needs 4D"}.get((ndim, mode))
    if mismatch:
        raise NotImplementedError(f"Got {ndim}D input, but {mismatch} input")
    if ndim in (3, 4, 5) and mode in _TORCH_MODES.split(" | "):
        raise NotImplementedError(f"interpolate: mode '{mode}' for {ndim}D input is not "
                                  "implemented in microdl (nearest, nearest-exact and area take "
                                  "3D and 4D input, linear 3D, bilinear 4D)")
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                              f"{ndim}D) for the modes: {_TORCH_MODES} (got {mode})")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resample the spatial axes of (N, C, L) or (N, C, H, W) input to ``size`` or by
    ``scale_factor``: "nearest", "nearest-exact", "linear" (3-D), "bilinear" (4-D), "area"
    (adaptive average pooling); source positions as ops/interpolate.py states them."""
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    input = _as_tensor(input)
    dims = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    scales = None
    if size is not None:
        size = _per_axis(size, dims, input, "output", "output size of",
                         "output size in (o1, o2, ...,oK)")
        if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in size):
            raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                            f"Tuple[int, int, int], but got size with types "
                            f"{[type(s) for s in size]}")
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    else:
        scales = [float(s) for s in _per_axis(scale_factor, dims, input, "scale_factor",
                                              "scale_factor of shape",
                                              "scale_factor in (s1, s2, ...,sK)")]
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError("Anti-alias option is restricted to bilinear and bicubic modes and "
                         "requires a 4-D tensor as input")
    _check_mode(mode, input.ndim)
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented in microdl")
    out_size = _interp.output_size(input.shape[2:], size, scales)
    if recompute_scale_factor or mode == "area":
        scales = None  # the kernels then use in / out, as PyTorch's recomputed factor does
    _check_sizes(input.shape[2:], out_size)
    if input.dtype.kind != "f":
        raise NotImplementedError(f'"upsample_{mode}{dims}d" not implemented for '
                                  f"'{_ew.TORCH_NAMES.get(input.dtype, input.dtype)}'")
    if mode == "area":
        return _area(input, out_size)
    scales = scales or [None] * dims
    if mode.startswith("nearest"):
        tables = tuple(_interp.nearest_table(n, m, s, mode == "nearest-exact")
                       for n, m, s in zip(input.shape[2:], out_size, scales))
        tables = ((np.zeros(1, np.int64),) if dims == 1 else ()) + tables
        return _interp.Resample.apply(input, kernel="nearest2d", out_size=out_size,
                                      tables=tables)
    tables = [_interp.linear_table(n, m, s, align_corners, input.dtype)
              for n, m, s in zip(input.shape[2:], out_size, scales)]
    if dims == 1:  # one row, read with weight 1
        tables.insert(0, (np.zeros((1, 2), np.int64), np.array([[1, 0]], input.dtype)))
    return _interp.Resample.apply(input, kernel="bilinear2d", out_size=out_size,
                                  tables=(*tables[0], *tables[1]))


def _check_sizes(in_sizes, out_sizes):
    if all(n > 0 for n in in_sizes) and all(m > 0 for m in out_sizes):
        return
    axes = "HW" if len(in_sizes) == 2 else "W"
    text = ", ".join(f"{a}: {n}" for a, n in zip(axes, in_sizes))
    out_text = ", ".join(f"{a}: {m}" for a, m in zip(axes, out_sizes))
    raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                       f"({text}) output ({out_text})")


def _area(input, out_size):
    """"area" is adaptive average pooling (a 3-D input as one row of a plane)."""
    if input.ndim == 4:
        return adaptive_avg_pool2d(input, out_size)
    plane = input.reshape(*input.shape[:2], 1, input.shape[2])
    return adaptive_avg_pool2d(plane, (1, out_size[0])).reshape(*input.shape[:2], out_size[0])


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated in PyTorch: F.interpolate under its old name (with PyTorch's warning)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


# ---- pixel shuffle -------------------------------------------------------------------------
def pixel_shuffle(input, upscale_factor):
    """(*, C r², H, W) -> (*, C, H r, W r)."""
    r = upscale_factor
    *batch, channels, height, width = input.shape
    if channels % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{channels} is not divisible by {r * r}")
    n = len(batch)
    x = input.reshape(*batch, channels // (r * r), r, r, height, width)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*batch, channels // (r * r), height * r, width * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r², H, W)."""
    r = downscale_factor
    *batch, channels, height, width = input.shape
    if height % r or width % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={height} is not divisible "
                           f"by {r}" if height % r else
                           f"pixel_unshuffle expects width to be divisible by downscale_factor,"
                           f" but input.size(-1)={width} is not divisible by {r}")
    n = len(batch)
    x = input.reshape(*batch, channels, height // r, r, width // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*batch, channels * r * r, height // r, width // r)
