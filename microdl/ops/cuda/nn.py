"""CUDA twins of the network ops (activation.py, loss.py, normalization.py, conv.py, pool.py):
the CPU ops' validation and math, device allocation and the CUDA kernels."""

import numpy as np

from .. import activation as act
from .. import conv as cv
from .. import loss as ls
from .. import normalization as bn
from .. import pool as pl
from ._arrays import binary, broadcast_to, empty, empty_like, k, reduce_sum, rows, unary


def _elementwise(cpu_class, name, saves_input):
    """The twin of an activation: y = f(x) forward, backward from y (or x when saves_input)."""

    class Twin(cpu_class):
        @staticmethod
        def forward(ctx, x, negative_slope=0.01):
            act._check_float(x, name)
            y = empty_like(x)
            # only leaky_relu's kernels take the slope
            ctx.slope = (negative_slope,) if name == "leaky_relu" else ()
            getattr(k("activation"), f"{name}_forward")(x, y, *ctx.slope)
            ctx.save_for_backward(x if saves_input else y)
            return y

        @staticmethod
        def backward(ctx, g):
            (saved,) = ctx.saved
            gi = empty_like(saved)
            getattr(k("activation"), f"{name}_backward")(saved, g, gi, *ctx.slope)
            return gi

    Twin.__name__ = Twin.__qualname__ = cpu_class.__name__
    return Twin


ReLU = _elementwise(act.ReLU, "relu", False)
LeakyReLU = _elementwise(act.LeakyReLU, "leaky_relu", True)
Sigmoid = _elementwise(act.Sigmoid, "sigmoid", False)
Tanh = _elementwise(act.Tanh, "tanh", False)


def _rows(x, dim):
    """x as contiguous (rows, classes) with axis dim last, and the axes to undo that."""
    if x.ndim == 0 or not -x.ndim <= dim < x.ndim:
        act._rows_view(np.empty(x.shape, np.bool_), dim)  # raises the CPU op's error
    dim %= x.ndim
    if dim == x.ndim - 1:
        return rows(x), None
    axes = tuple(d for d in range(x.ndim) if d != dim) + (dim,)
    moved = empty(tuple(x.shape[a] for a in axes), x.dtype)
    k("elementwise").permute(x, moved, axes)
    return rows(moved), axes


def _unrows(rows, shape, axes):
    if axes is None:
        return rows.reshape(shape)
    moved = rows.reshape(tuple(shape[a] for a in axes))
    out = empty(shape, rows.dtype)
    k("elementwise").permute(moved, out, tuple(int(i) for i in np.argsort(axes)))
    return out


def _softmax_family(cpu_class, name):
    class Twin(cpu_class):
        @staticmethod
        def forward(ctx, x, dim=-1):
            act._check_float(x, name)
            rows, axes = _rows(x, dim)
            y = empty_like(rows)
            getattr(k("softmax"), f"{name}_forward")(rows, y)
            ctx.save_for_backward(y)
            ctx.dim, ctx.axes, ctx.shape = dim, axes, x.shape
            return _unrows(y, x.shape, axes)

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved
            g_rows, _ = _rows(g, ctx.dim)
            gi = empty_like(y)
            getattr(k("softmax"), f"{name}_backward")(y, g_rows, gi)
            return _unrows(gi, ctx.shape, ctx.axes)

    Twin.__name__ = Twin.__qualname__ = cpu_class.__name__
    return Twin


Softmax = _softmax_family(act.Softmax, "softmax")
LogSoftmax = _softmax_family(act.LogSoftmax, "log_softmax")


def _reduce_losses(losses, reduction):
    if reduction == "none":
        return losses
    return reduce_sum(losses, tuple(range(losses.ndim)), False,
                      1.0 / losses.size if reduction == "mean" else 1.0)


def _spread(g, shape, reduction):
    """The gradient of the reduction, one value per loss term, without leaving the device."""
    if reduction == "none":
        return g
    full = broadcast_to(g, shape)
    size = int(np.prod(shape, dtype=np.int64))
    return unary(full, "scale", 1.0 / size) if reduction == "mean" else full


class CrossEntropy(ls.CrossEntropy):
    """Labels are checked for shape and dtype here; a label out of range gives a NaN loss
    (checking its value would wait for the device every step)."""

    @staticmethod
    def forward(ctx, logits, labels, reduction="mean"):
        ls._check_reduction(reduction)
        ls._check_labels(logits, _LabelShape(labels))
        log_probs = empty_like(logits)
        losses = empty((logits.shape[0],), logits.dtype)
        k("softmax").cross_entropy_forward(logits, labels, log_probs, losses)
        ctx.save_for_backward(log_probs, labels)
        ctx.reduction = reduction
        return _reduce_losses(losses, reduction)

    @staticmethod
    def backward(ctx, g):
        log_probs, labels = ctx.saved
        grad_losses = _spread(g, (log_probs.shape[0],), ctx.reduction)
        grad_logits = empty_like(log_probs)
        k("softmax").cross_entropy_backward(log_probs, labels, grad_losses, grad_logits)
        return grad_logits, None


class _LabelShape:
    """Shape and dtype of device labels, for ls._check_labels: its value checks see no data."""

    def __init__(self, labels):
        self.shape, self.dtype, self.ndim = tuple(labels.shape), labels.dtype, labels.ndim
        self.size = 0


class MSELoss(ls.MSELoss):
    @staticmethod
    def forward(ctx, pred, target, reduction="mean"):
        ls._check_reduction(reduction)
        if pred.shape != target.shape:
            return ls.MSELoss.forward(ctx, np.empty(pred.shape), np.empty(target.shape),
                                      reduction)  # raises the CPU op's error
        diff = binary(pred, target, "sub")
        ctx.save_for_backward(diff)
        ctx.reduction = reduction
        return _reduce_losses(binary(diff, diff, "mul"), reduction)

    @staticmethod
    def backward(ctx, g):
        (diff,) = ctx.saved
        grad = unary(binary(diff, _spread(g, diff.shape, ctx.reduction), "mul"), "scale", 2.0)
        return grad, unary(grad, "neg")


class BatchNorm(bn.BatchNorm):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=False,
                momentum=0.1, eps=1e-5, relu=False):
        from ... import device

        for stat in (running_mean, running_var):
            if stat is not None and not device.is_device_array(stat):
                raise RuntimeError(device.SAME_DEVICE)
        x3 = x.reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:], dtype=np.int64)))
        C = x3.shape[1]
        y = empty_like(x3)
        bn.run_forward(ctx, k("normalization"), x3, weight, bias, running_mean, running_var,
                       training, momentum, eps, relu, y, empty((C,), np.float64),
                       empty((C,), np.float64), empty(0, x.dtype))
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        x3, w = ctx.saved[:2]
        C = x3.shape[1]
        gdtype = bn.grad_dtype(x3, w)
        return bn.run_backward(ctx, k("normalization"), g.reshape(x3.shape), empty_like(x3),
                               empty((C,), gdtype), empty((C,), gdtype), g.shape)


def _matmul_groups(a, b, out, groups, transpose_a=False, transpose_b=False):
    """out_g = op(a_g) @ op(b_g) over the row blocks of a, b and out (one GEMM per group)."""
    gemm = k("matmul").gemm
    ra, rb, ro = a.shape[0] // groups, b.shape[0] // groups, out.shape[0] // groups
    none = empty(0, out.dtype)
    for i in range(groups):
        gemm(a[i * ra:(i + 1) * ra], b[i * rb:(i + 1) * rb], none, out[i * ro:(i + 1) * ro],
             transpose_a, transpose_b)


class Conv2d(cv.Conv2d):
    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                groups=1):
        oh, ow = cv.check_conv2d(x, weight, bias, stride, padding, dilation, groups)
        n, cout, kernel = x.shape[0], weight.shape[0], weight.shape[2:]
        kern = k("conv")
        cols = empty((x.shape[1] * kernel[0] * kernel[1], n, oh, ow), x.dtype)
        kern.im2col(x, cols, kernel, stride, padding, dilation)
        y_cols = empty((cout, n, oh, ow), x.dtype)
        _matmul_groups(weight.reshape(cout, weight.size // cout),
                       cols.reshape(cols.shape[0], cols.size // cols.shape[0]),
                       y_cols.reshape(cout, y_cols.size // cout), groups)
        out = empty((n, cout, oh, ow), x.dtype)
        kern.cols_to_output(y_cols, k("memory").zeros((cout,), x.dtype) if bias is None
                            else bias, out)
        ctx.save_for_backward(cols if ctx.needs_input_grad[1] else None, weight)
        ctx.x_shape, ctx.geometry, ctx.groups = x.shape, (kernel, stride, padding, dilation), groups
        return out

    @staticmethod
    def backward(ctx, g):
        cols, weight = ctx.saved
        need_x, need_w, need_b = (tuple(ctx.needs_input_grad) + (False,) * 3)[:3]
        kern, cout, groups = k("conv"), weight.shape[0], ctx.groups
        dy = empty((cout, g.shape[0]) + tuple(g.shape[2:]), weight.dtype)
        db = empty((cout,), weight.dtype)
        kern.output_grad_to_cols(g, dy, db)
        dy2 = dy.reshape(cout, dy.size // cout)
        dw = dx = None
        if need_w:
            dw = empty(weight.shape, weight.dtype)
            _matmul_groups(dy2, cols.reshape(cols.shape[0], cols.size // cols.shape[0]),
                           dw.reshape(cout, dw.size // cout), groups, transpose_b=True)
        if need_x:
            taps = weight.shape[2] * weight.shape[3]
            dcols = empty((ctx.x_shape[1] * taps,) + tuple(dy.shape[1:]), dy.dtype)
            _matmul_groups(weight.reshape(cout, weight.size // cout), dy2,
                           dcols.reshape(dcols.shape[0], dcols.size // dcols.shape[0]), groups,
                           transpose_a=True)
            dx = empty(ctx.x_shape, weight.dtype)
            kern.col2im(dcols, dx, *ctx.geometry)
        return dx, dw, db if need_b else None


class MaxPool2d(pl.MaxPool2d):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0)):
        out_hw = pl.check_pool2d(x, kernel_size, stride, padding, "max_pool2d")
        out = empty(tuple(x.shape[:2]) + out_hw, x.dtype)
        plane = x.shape[2] * x.shape[3]
        indices = empty(out.shape, np.int32 if plane < 2 ** 31 else np.int64)
        k("pool").max_pool2d_forward(x, out, indices, kernel_size, stride, padding)
        ctx.save_for_backward(indices)
        ctx.x_shape, ctx.geometry = x.shape, (kernel_size, stride, padding)
        return out

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved
        dx = empty(ctx.x_shape, g.dtype)
        k("pool").max_pool2d_backward(g, indices, dx, *ctx.geometry)
        return dx


class AvgPool2d(pl.AvgPool2d):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding=(0, 0)):
        out_hw = pl.check_pool2d(x, kernel_size, stride, padding, "avg_pool2d")
        out = empty(tuple(x.shape[:2]) + out_hw, x.dtype)
        k("pool").avg_pool2d_forward(x, out, kernel_size, stride, padding)
        ctx.x_shape, ctx.geometry = x.shape, (kernel_size, stride, padding)
        return out

    @staticmethod
    def backward(ctx, g):
        dx = empty(ctx.x_shape, g.dtype)
        k("pool").avg_pool2d_backward(g, dx, *ctx.geometry)
        return dx


TWINS = {cpu: twin for cpu, twin in [
    (act.ReLU, ReLU), (act.LeakyReLU, LeakyReLU), (act.Sigmoid, Sigmoid), (act.Tanh, Tanh),
    (act.Softmax, Softmax), (act.LogSoftmax, LogSoftmax), (ls.CrossEntropy, CrossEntropy),
    (ls.MSELoss, MSELoss), (bn.BatchNorm, BatchNorm), (cv.Conv2d, Conv2d),
    (pl.MaxPool2d, MaxPool2d), (pl.AvgPool2d, AvgPool2d)]}
