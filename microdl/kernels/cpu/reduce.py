"""Reductions on the CPU: numpy's pairwise sums and its max/argmax are the fast path here, so
this set reuses the reference functions."""

from ..numpy_ref.reduce import argmax_axis, max_axes, sum_axes  # noqa: F401
