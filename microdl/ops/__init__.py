"""Autograd Functions: forward and backward side by side, one file per family.

Ops validate shapes, allocate outputs and call kernels (``backend.kernels(family)``); plain numpy
arithmetic that both kernel sets would share (broadcasting +, *, BLAS matmul) is written here once.
"""
