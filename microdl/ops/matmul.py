"""Matrix products on the ``matmul`` kernels (BLAS on the CPU): a @ b and the fused linear layer."""

import itertools
import math

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import absent, contiguous, reduce_sum, rows


def _shape_text(shape):
    return "x".join(str(n) for n in shape)


def _gemm(a, b, transpose_a=False, transpose_b=False, bias=None, out=None):
    """op(a) @ op(b) (+ bias) for 2-D a and b, into ``out`` or a new array."""
    dev = backend.for_arrays(a, b)
    if out is None:
        m = a.shape[1] if transpose_a else a.shape[0]
        n = b.shape[0] if transpose_b else b.shape[1]
        out = dev.empty((m, n), a.dtype if a.dtype == b.dtype else
                        np.result_type(a.dtype, b.dtype))
    if out.size == 0:  # nothing to write (and the CUDA launcher takes no empty grid)
        return out
    if bias is None:
        bias = absent(dev, out.dtype)
    dev.kernels("matmul").gemm(a, b, bias, out, transpose_a, transpose_b)
    return out


def _rows(a):
    """a (..., k) as a C-contiguous 2-D (rows, k) array; unlike ``rows`` it keeps the row count
    when k is 0 (an empty inner dimension: the product is all zeros)."""
    if a.ndim == 2:
        return contiguous(a)  # what rows does with a matrix, a call fewer
    shape = tuple(a.shape)
    if shape[-1]:
        return rows(a)
    return contiguous(a).reshape(math.prod(shape[:-1]), 0)


def _as_matrix(x, vector_shape):
    return x.reshape(vector_shape) if x.ndim == 1 else x


def _stacked(a, b, transpose_a=False, transpose_b=False):
    """op(a) @ op(b) over the stacked leading axes (numpy's matmul broadcasting), one product
    per stacked matrix."""
    dev = backend.for_arrays(a, b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    sa, sb = tuple(a.shape), tuple(b.shape)  # (the CUDA simulator's shapes refuse [-1])
    m = sa[-1] if transpose_a else sa[-2]
    n = sb[-2] if transpose_b else sb[-1]
    out = dev.empty(batch + (m, n), np.result_type(a.dtype, b.dtype))
    for index in itertools.product(*(range(k) for k in batch)):
        pick_a = tuple(i if k > 1 else 0 for i, k in zip(index[len(batch) - a.ndim + 2:],
                                                          a.shape[:-2]))
        pick_b = tuple(i if k > 1 else 0 for i, k in zip(index[len(batch) - b.ndim + 2:],
                                                          b.shape[:-2]))
        _gemm(a[pick_a], b[pick_b], transpose_a, transpose_b, out=out[index])
    return out


class MatMul(Function):
    """y = a @ b (numpy's matmul rules, 1-D operands promoted to matrices and squeezed back);
    da = g @ b^T,  db = a^T @ g (the engine sums the stacked axes an operand was broadcast
    along)."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                               f"{a.ndim}D and {b.ndim}D")
        if a.ndim == 1 and b.ndim == 1:  # PyTorch's dot checks dtypes before sizes
            _check_matmul_dtypes(a, b)
        sa, sb = tuple(a.shape), tuple(b.shape)  # (the CUDA simulator's shapes refuse [-1])
        if sa[-1] != sb[0 if b.ndim == 1 else -2]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_shape_text(a.shape)} and "
                f"{_shape_text(b.shape)})"
            )
        _check_matmul_dtypes(a, b)
        ctx.save_for_backward(a, b)
        a2, b2 = _as_matrix(a, (1, a.shape[0])), _as_matrix(b, (b.shape[0], 1))
        if b.ndim <= 2:
            return _gemm(_rows(a2), b2).reshape(a.shape[:-1] + b.shape[1:])
        y = _stacked(a2, b2)
        return y.reshape(y.shape[:-2] + y.shape[y.ndim - 1:]) if a.ndim == 1 else y

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        a2, b2 = _as_matrix(a, (1, a.shape[0])), _as_matrix(b, (b.shape[0], 1))
        need_a, need_b = ctx.needs_input_grad
        if b.ndim <= 2:
            g2 = _rows(g.reshape(a2.shape[:-1] + b2.shape[1:]))
            da = _gemm(g2, b2, transpose_b=True).reshape(a.shape) if need_a else None
            db = _gemm(_rows(a2), g2, transpose_a=True).reshape(b.shape) if need_b else None
            return da, db
        g2 = g.reshape(g.shape[:-1] + (1,) + g.shape[g.ndim - 1:]) if a.ndim == 1 else g
        da = _stacked(g2, b2, transpose_b=True) if need_a else None
        db = _stacked(a2, g2, transpose_a=True) if need_b else None
        return da, db


# PyTorch's names of dtypes in its GEMM errors: the C type ("long int != float") and the
# ScalarType ("Float and Long")
C_TYPE_NAMES = {"f2": "c10::Half", "f4": "float", "f8": "double", "i8": "long int", "i4": "int",
                "i2": "short int", "i1": "signed char", "u1": "unsigned char", "b1": "bool"}
SCALAR_TYPE_NAMES = {"f2": "Half", "f4": "Float", "f8": "Double", "i8": "Long", "i4": "Int",
                     "i2": "Short", "i1": "Char", "u1": "Byte", "b1": "Bool"}


def dtype_key(dtype):
    return f"{dtype.kind}{dtype.itemsize}"


def _check_matmul_dtypes(a, b):
    """PyTorch's matmul wants both operands in one dtype (numpy would promote int64 @ float32 to
    float64 silently) and has no bool kernels; its error names the routine that the ranks
    dispatch to: dot (1-D @ 1-D), addmv (@ 1-D), bmm (@ 3-D or more), else addmm (mm).
    Two float dtypes keep microdl's promotion, as in _check_linear_dtypes (README)."""
    if b.ndim == 1:
        routine = "dot" if a.ndim == 1 else "addmv_impl_cpu"
    else:
        routine = "bmm" if b.ndim > 2 else "addmm_impl_cpu_"
    if a.dtype != b.dtype and not (a.dtype.kind == "f" and b.dtype.kind == "f"):
        ka, kb = dtype_key(a.dtype), dtype_key(b.dtype)
        if routine == "dot":
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{SCALAR_TYPE_NAMES[ka]} and {SCALAR_TYPE_NAMES[kb]}")
        if routine == "addmv_impl_cpu":  # addmv(out: b's dtype, mat: a, vec: b)
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                               f"{SCALAR_TYPE_NAMES[kb]}, {SCALAR_TYPE_NAMES[ka]}, and "
                               f"{SCALAR_TYPE_NAMES[kb]}")
        if routine == "bmm":
            raise RuntimeError(f"expected scalar type {SCALAR_TYPE_NAMES[ka]} but found "
                               f"{SCALAR_TYPE_NAMES[kb]}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{C_TYPE_NAMES[ka]} != {C_TYPE_NAMES[kb]}")
    if a.dtype.kind == "b" and a.size and b.size:  # (an empty product needs no kernel)
        raise NotImplementedError(f"\"{routine}\" not implemented for 'Bool'")


def _check_linear_dtypes(x, weight, bias):
    """PyTorch computes integer products in their own dtype, and then wants every operand in
    that one dtype (numpy would promote int64 data with float32 weights to float64 silently).
    Floating operands keep microdl's promotion (README: float64 input, float32 weight)."""
    if x.dtype.kind == "f" and weight.dtype.kind == "f" and (bias is None or
                                                            bias.dtype.kind == "f"):
        return  # the common case, without a generator (this runs for every Linear)
    if x.dtype != weight.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{C_TYPE_NAMES[dtype_key(x.dtype)]} != "
                           f"{C_TYPE_NAMES[dtype_key(weight.dtype)]}")
    if bias is not None and bias.dtype != weight.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{SCALAR_TYPE_NAMES[dtype_key(bias.dtype)]} and "
                           f"{SCALAR_TYPE_NAMES[dtype_key(weight.dtype)]}")
    if x.dtype.kind == "b" and x.size and weight.size:  # (an empty product needs no kernel)
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")


class Linear(Function):
    """y = x @ W^T + b for x (..., in), W (out, in), b (out,);
    dx = g @ W,  dW = g^T @ x,  db = sum of g over all but the last axis."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        _check_linear_dtypes(x, weight, bias)
        inner = x.shape[x.ndim - 1] if x.ndim else 1  # (the simulator's shapes refuse [-1])
        if x.ndim == 0 or weight.ndim != 2 or inner != weight.shape[1]:
            rows_ = x.size // inner if inner else 1
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({rows_}x{inner} and "
                f"{_shape_text(weight.shape[::-1])})"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise RuntimeError(f"linear: bias of shape {bias.shape} does not match weight of "
                               f"shape {weight.shape} (expected ({weight.shape[0]},))")
        ctx.save_for_backward(x, weight)
        y = _gemm(_rows(x), weight, transpose_b=True, bias=bias)
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        needs = tuple(ctx.needs_input_grad) + (False,)
        g2 = _rows(g)
        dx = _gemm(g2, weight).reshape(x.shape) if needs[0] else None
        dw = _gemm(g2, _rows(x), transpose_a=True) if needs[1] else None
        db = reduce_sum(g2, (0,), False) if needs[2] else None
        return dx, dw, db
