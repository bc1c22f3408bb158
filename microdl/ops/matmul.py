"""Matrix products on numpy's BLAS (both kernel sets share it): a @ b and the fused linear layer."""

import numpy as np

from ..kernels.cpu import _blas
from ..autograd import Function


def _shape_text(shape):
    return "x".join(str(n) for n in shape)


class MatMul(Function):
    """y = a @ b (numpy's matmul rules);  da = g @ b^T,  db = a^T @ g."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                               f"{a.ndim}D and {b.ndim}D")
        if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({_shape_text(a.shape)} and "
                f"{_shape_text(b.shape)})"
            )
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        # NOTE: 1-D operands are promoted to matrices as matmul does, then squeezed back.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        da = np.matmul(g2, np.swapaxes(b2, -1, -2)) if ctx.needs_input_grad[0] else None
        db = np.matmul(np.swapaxes(a2, -1, -2), g2) if ctx.needs_input_grad[1] else None
        if da is not None and a.ndim == 1:
            da = da.reshape(da.shape[:-2] + (da.shape[-1],))
        if db is not None and b.ndim == 1:
            db = db[..., 0]
        return da, db


class Linear(Function):
    """y = x @ W^T + b for x (..., in), W (out, in), b (out,);
    dx = g @ W,  dW = g^T @ x,  db = sum of g over all but the last axis."""

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        if x.dtype.kind != "f" or weight.dtype.kind != "f":
            # NOTE: numpy would promote int64 data with float32 weights to float64 silently
            raise TypeError(f"linear: expected floating point input and weight, but got "
                            f"{x.dtype} and {weight.dtype} (cast integer or boolean data with "
                            ".float())")
        if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[1]:
            rows = int(np.prod(x.shape[:-1], dtype=np.int64)) if x.ndim else 1
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                f"{x.shape[-1] if x.ndim else 1} and {_shape_text(weight.shape[::-1])})"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise RuntimeError(f"linear: bias of shape {bias.shape} does not match weight of "
                               f"shape {weight.shape} (expected ({weight.shape[0]},))")
        ctx.save_for_backward(x, weight)
        x2 = x.reshape(-1, x.shape[-1])
        # NOTE: OpenBLAS runs W @ x^T 1.3-1.7x faster than x @ W^T at small batch shapes
        # (bench/core.py); one pass then transposes it into a C-contiguous y and adds the bias.
        y = np.empty((x2.shape[0], weight.shape[0]), np.result_type(x, weight))
        yt = _blas.matmul(weight, x2.T)
        if bias is None:
            np.copyto(y, yt.T)
        else:
            np.add(yt.T, bias, out=y)
        return y.reshape(x.shape[:-1] + (weight.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        g2 = g.reshape(-1, g.shape[-1])
        dx = _blas.matmul(g2, weight).reshape(x.shape) if ctx.needs_input_grad[0] else None
        dw = _blas.matmul(g2.T, x.reshape(-1, x.shape[-1])) if ctx.needs_input_grad[1] else None
        db = g2.sum(axis=0) if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2] else None
        return dx, dw, db
