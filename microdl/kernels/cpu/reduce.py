"""Reductions on the CPU: numpy's pairwise sums, its max/min/prod/argmax/argmin, cumsum and
take/put along an axis are the fast path here (vectorised, memory speed), so this set reuses
the reference functions."""

from ..numpy_ref.reduce import (argmax_axis, argmin_axis, cumsum_axis, max_axes,  # noqa: F401
                                min_axes, prod_axes, put_along_axis, sum_axes,
                                take_along_axis)
