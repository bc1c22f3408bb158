"""Einstein sums and cumulative products on device arrays.

einsum contracts its operands left to right, two at a time: one thread per output value walks
every combination of the summed labels, accumulating in float64 (integers are exact below
2**53). A label repeated within an operand reads its diagonal: its strides add up. Label counts
are padded to MAX_DIMS (at most MAX_DIMS kept and MAX_DIMS summed labels per step).
Cumulative products: one thread per line along the axis, in order."""

import math

import numpy as np
from numba import cuda

from ._launch import flat, grid
from .elementwise import MAX_DIMS, _element_strides, _padded


@cuda.jit(device=True)
def _walk(index, shape, a_strides, b_strides):
    at_a, at_b = 0, 0
    for d in range(MAX_DIMS - 1, -1, -1):
        coord = index % shape[d]
        index //= shape[d]
        at_a += coord * a_strides[d]
        at_b += coord * b_strides[d]
    return at_a, at_b


@cuda.jit
def _pair_kernel(a, b, out, out_shape, a_out, b_out, sum_shape, a_sum, b_sum, n_sum):
    i = cuda.grid(1)
    while i < out.size:
        base_a, base_b = _walk(i, out_shape, a_out, b_out)
        acc = 0.0
        for s in range(n_sum):
            at_a, at_b = _walk(s, sum_shape, a_sum, b_sum)
            acc += a[base_a + at_a] * b[base_b + at_b]
        out[i] = acc
        i += cuda.gridsize(1)


def _label_strides(array, labels, wanted):
    """Each wanted label's element stride in ``array`` (summed where a label repeats; 0 where
    the array lacks it)."""
    strides = _element_strides(tuple(array.shape))
    return tuple(sum(s for label, s in zip(labels, strides) if label == w) for w in wanted)


def _contract(a, a_labels, b, b_labels, out, out_labels, sizes):
    summed = [label for label in dict.fromkeys(a_labels + b_labels) if label not in out_labels]
    if len(out_labels) > MAX_DIMS or len(summed) > MAX_DIMS:
        raise ValueError(f"CUDA einsum takes at most {MAX_DIMS} kept and {MAX_DIMS} summed "
                         f"labels per contraction (got {out_labels!r} and {summed!r})")
    if out.size == 0:
        return
    sum_shape = tuple(sizes[label] for label in summed)
    _pair_kernel[grid(out.size)](
        flat(a), flat(b), flat(out), _padded(tuple(out.shape), 1),
        _padded(_label_strides(a, a_labels, out_labels), 0),
        _padded(_label_strides(b, b_labels, out_labels), 0), _padded(sum_shape, 1),
        _padded(_label_strides(a, a_labels, summed), 0),
        _padded(_label_strides(b, b_labels, summed), 0), math.prod(sum_shape))


def einsum(operands, out, equation):
    """out[o] = sum over the labels not in the output of prod_k operands[k][labels of k]."""
    inputs, output = equation.split("->")
    inputs = inputs.split(",")
    sizes = {label: n for labels, x in zip(inputs, operands) for label, n in zip(labels, x.shape)}
    if len(operands) == 1:  # one operand: contracted with a 1-element array of no labels
        one = cuda.to_device(np.ones(1, out.dtype))
        _contract(operands[0], inputs[0], one, "", out, output, sizes)
        return
    current, labels = operands[0], inputs[0]
    for k in range(1, len(operands)):
        if k == len(operands) - 1:
            target, kept = out, output
        else:  # keep the labels the output or a later operand still needs
            later = output + "".join(inputs[k + 1:])
            kept = "".join(label for label in dict.fromkeys(labels + inputs[k])
                           if label in later)
            target = cuda.device_array(tuple(sizes[label] for label in kept), out.dtype)
        _contract(current, labels, operands[k], inputs[k], target, kept, sizes)
        current, labels = target, kept


@cuda.jit
def _cumprod_kernel(x, g, out, outer, length, inner, backward):
    # one thread per line; forward: out = running product of x. backward: out = dx (see
    # cumprod_backward), the suffix sums S first, then times the running prefix product
    i = cuda.grid(1)
    while i < outer * inner:
        o = i // inner
        base = o * length * inner + (i - o * inner)
        if backward:
            for r in range(length - 1, -1, -1):
                at = base + r * inner
                if r == length - 1:
                    out[at] = g[at]
                else:
                    out[at] = g[at] + x[at + inner] * out[at + inner]
            prefix = 1.0
            for r in range(length):
                at = base + r * inner
                value = x[at]
                out[at] = out[at] * prefix
                prefix *= value
        else:
            for r in range(length):
                at = base + r * inner
                out[at] = x[at] if r == 0 else out[at - inner] * x[at]
        i += cuda.gridsize(1)


def _lines(shape, axis):
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def cumprod_axis(x, out, axis):
    """out[..., i, ...] = x[..., 0, ...] * ... * x[..., i, ...] along ``axis``, in out's dtype."""
    outer, length, inner = _lines(tuple(x.shape), axis)
    if outer * inner:
        _cumprod_kernel[grid(outer * inner)](flat(x), flat(x), flat(out), outer, length, inner,
                                             False)


def cumprod_backward(x, g, dx, axis):
    """dx_k = P_k * S_k: P_k = x_0 ... x_(k-1), S_(n-1) = g_(n-1), S_k = g_k + x_(k+1) S_(k+1)."""
    outer, length, inner = _lines(tuple(x.shape), axis)
    if outer * inner:
        _cumprod_kernel[grid(outer * inner)](flat(x), flat(g), flat(dx), outer, length, inner,
                                             True)
