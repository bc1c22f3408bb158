"""Elementwise arithmetic on the CPU: numpy's ufuncs already run these in one vectorised pass at
memory speed, so this set reuses the reference functions (a Numba loop measured no faster)."""

from ..numpy_ref.elementwise import (binary, broadcast_to, copy, fill, permute,  # noqa: F401
                                     put_add, take, unary, where)
