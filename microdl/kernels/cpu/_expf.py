"""exp in float32 as plain arithmetic that LLVM vectorizes (numba's math.exp is a scalar libm
call here, and numpy's float32 exp ran at ~1.3 ns a value, ~2.4 ulp): ``exp32(t)`` inlines into
the calling loop. Cephes' expf:

    exp(t) = 2^n exp(r),  n = round(t / ln 2),  r = t - n ln 2,  |r| <= ln 2 / 2

with n ln 2 subtracted in two parts (ln 2's high part has 9 bits, so n times it is exact) and
exp(r) = 1 + r + r^2 P(r), P of degree 5. 2^n is built from exponent bits in two halves, so
that results from the smallest subnormal to FLT_MAX round once. Measured within 0.98 ulp of the
exact value over [-104, 88.7] (exp's float32 range); t below -104 gives 0. Past 88.7 it is not
defined: an upper clamp cost 12% of a sigmoid pass, and microdl's callers pass t <= 0.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

_LOG2E = np.float32(1.44269504088896341)
_LN2_HIGH, _LN2_LOW = np.float32(0.693359375), np.float32(-2.12194440e-4)
_POLY = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                      4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
# exp(-104) is below half the smallest subnormal: clamping there keeps n within what the two
# halves of 2^n can build
_LOW = np.float32(-104.0)


@intrinsic
def _times_power_of_two(typingctx, p, n):
    """p * 2^n for a float32 p and an integer n in -252 .. 254, as p * 2^a * 2^b with a = n >> 1,
    b = n - a: each factor built from exponent bits, only the last product rounding."""
    if p != types.float32 or not isinstance(n, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        n_ = builder.trunc(args[1], i32) if n.bitwidth > 32 else args[1]
        a = builder.ashr(n_, ir.Constant(i32, 1))
        result = args[0]
        for half in (a, builder.sub(n_, a)):
            bits = builder.shl(builder.add(half, ir.Constant(i32, 127)), ir.Constant(i32, 23))
            result = builder.fmul(result, builder.bitcast(bits, ir.FloatType()))
        return result

    return types.float32(p, n), codegen


@njit(inline="always", cache=True, error_model="numpy")
def exp32(t):
    """exp(t) for a float32 t <= 88.7. NaN gives a finite value: callers that can meet NaN
    replace it."""
    t = _LOW if not t > _LOW else t
    n = np.floor(t * _LOG2E + np.float32(0.5))
    r = t - n * _LN2_HIGH - n * _LN2_LOW
    c0, c1, c2, c3, c4, c5 = _POLY
    p = ((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5
    p = p * r * r + r + np.float32(1)
    return _times_power_of_two(p, np.int32(n))
