"""Elementwise arithmetic on the CPU: numpy's ufuncs already run these in one vectorised pass at
memory speed, so this set reuses the reference functions (a Numba loop measured no faster),
except erf, erfc and erfinv, which numpy lacks (the reference calls Python's math.erf per element):
those are Numba loops here."""

import math

import numpy as np
from numba import njit, prange

from ..numpy_ref import elementwise as _reference
from ..numpy_ref.elementwise import (binary, broadcast_to, copy, fill, permute,  # noqa: F401
                                     put_add, take, where)
from ._jit import flat, flat_out, serial_and_parallel

_erfinv_scalar = njit(cache=True, error_model="numpy", nogil=True)(_reference._erfinv_scalar)


@serial_and_parallel()
def _erf(x, out):
    for i in prange(x.size):
        out[i] = math.erf(x[i])


@serial_and_parallel()
def _erfc(x, out):
    for i in prange(x.size):
        out[i] = math.erfc(x[i])


@serial_and_parallel()
def _erfinv(x, out):
    for i in prange(x.size):
        out[i] = _erfinv_scalar(np.float64(x[i]))


_LOOPS = {"erf": _erf, "erfc": _erfc, "erfinv": _erfinv}


def unary(x, out, op, scalar=0.0):
    """out = f(x) for the ops of the numpy reference's ``unary`` (same names, same results)."""
    if op in _LOOPS and out.dtype in (np.float32, np.float64) and x.dtype == out.dtype:
        _LOOPS[op].run(out.size, flat(x), flat_out(out))
        return
    _reference.unary(x, out, op, scalar)
