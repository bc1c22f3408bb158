"""Autograd Functions: forward and backward side by side, one file per family.

Each op is written once for every device: it validates, asks ``backend.for_arrays`` for the
device of its input arrays (a kernel set and an allocator), allocates its outputs there and
calls kernels. ``_arrays.py`` holds the allocate-and-call helpers the ops share (broadcasting
arithmetic, casts, reductions). Ops never import numba.
"""
