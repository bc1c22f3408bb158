"""Numba twins of ``numpy_ref``: ``@njit(cache=True)``, parallel where the input is large."""
