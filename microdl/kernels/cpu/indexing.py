"""Gather and scatter along one axis on the CPU: numpy's fancy indexing (and np.add.at, unbuffered
and compiled in numpy >= 1.25) is the fast path here, so this set reuses the reference
functions."""

from ..numpy_ref.indexing import gather_along_axis, scatter_along_axis  # noqa: F401
