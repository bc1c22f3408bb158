"""Kernels: pure array functions with identical names and signatures in every backend.

Contract (see DESIGN.md): ``<op>_forward`` / ``<op>_backward``; in-place names end in ``_``;
arguments are inputs, then outputs preallocated by the caller, then scalars; kernels return None.
``numpy_ref`` is the specification; ``cpu`` holds the Numba twins and ``cuda`` the numba.cuda
twins (loaded only once a CUDA tensor exists), both tested against it.
"""
