"""Linear functions: linear (input @ weight^T + bias) and bilinear."""

from ..ops import elementwise as _ew
from ..ops import matmul as _mm
from ._common import _check_input_tensor


def linear(input, weight, bias=None):
    """y = input @ weight^T + bias."""
    return _mm.Linear.apply(input, weight, bias)


# ---- bilinear ------------------------------------------------------------------------------
def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]: input1
    (*, in1), input2 (*, in2) with the same batch dims, weight (out, in1, in2), bias (out,).
    Built from matmul: (x1 @ W as (in1, out * in2)) viewed (N, out, in2), times x2, summed."""
    _check_input_tensor(input1, "bilinear", arrays_ok=False)
    _check_input_tensor(input2, "bilinear", arrays_ok=False)
    given = [("input1", input1), ("input2", input2), ("weight", weight)]
    given += [("bias", bias)] if bias is not None else []
    if len({t.dtype for _, t in given}) > 1:
        names = ", ".join(f"{n}: {_ew.TORCH_NAMES[t.dtype].lower()}" for n, t in given)
        raise RuntimeError(f"All tensors must have the same dtype, got {names}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and "
                           f"{input2.ndim}")
    for d, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: "
                               f"got {a} and {b}")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out, in1, in2), got "
                           f"{weight.ndim}-D")
    out_features, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {in2}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_features):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.shape[-1] if bias.ndim else 1} but expected {out_features}")
    batch = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    mixed = x1 @ weight.permute(1, 0, 2).reshape(in1, out_features * in2)  # (N, out * in2)
    # (sum(dtype=): integers keep their dtype, as in torch, rather than summing to int64)
    y = (mixed.reshape(-1, out_features, in2) * x2.unsqueeze(1)).sum(-1, dtype=weight.dtype)
    if bias is not None:
        y = y + bias
    return y.reshape(*batch, out_features)
