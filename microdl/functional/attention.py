"""Attention: scaled_dot_product_attention."""

import math

import numpy as np

from ..ops import matmul as _mm
from ..tensor import Tensor
from ._common import _check_input_tensor
from .activations import softmax
from .dropouts import dropout


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V over the last two dimensions, scale = 1/sqrt(E) unless
    given. A bool mask keeps where True (the rest gets -inf), a float mask is added; is_causal
    keeps key j <= query i. A query row with no key left gets zeros (PyTorch's safe softmax),
    not NaN. dropout_p drops attention weights (always: F's SDPA has no training flag).
    enable_gqa: key and value heads (dim -3) repeat to match the query's."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_input_tensor(t, "scaled_dot_product_attention", arrays_ok=False)
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {_dtype_word(query)} key.dtype: {_dtype_word(key)} "
                           f"and value.dtype: {_dtype_word(value)} instead.")
    if query.array.dtype.kind not in "f":
        raise RuntimeError("expected scalar type Float but found "
                           f"{_mm.SCALAR_TYPE_NAMES[_mm.dtype_key(query.array.dtype)]}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    length, source = query.shape[-2], key.shape[-2]
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        repeat = query.shape[-3] // key.shape[-3]
        key, value = (t.unsqueeze(-3).expand(*t.shape[:-2], repeat, *t.shape[-2:])
                      .reshape(*t.shape[:-3], t.shape[-3] * repeat, *t.shape[-2:])
                      for t in (key, value))
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.transpose(-2, -1)) * factor
    if is_causal:
        attn_mask = Tensor(np.tril(np.ones((length, source), np.bool_))).to(query.device)
    if attn_mask is not None:
        if attn_mask.array.dtype == np.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    weights = softmax(scores, dim=-1)
    if attn_mask is not None:
        # a row whose every score is -inf: zeros, as PyTorch's safe softmax gives
        dead = scores.amax(-1, keepdim=True) == float("-inf")
        weights = weights.masked_fill(dead, 0.0)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


def _dtype_word(t):
    """PyTorch's short dtype word (float, double, half, ...)."""
    return {"float32": "float", "float64": "double", "float16": "half",
            "bfloat16": "bfloat16"}.get(str(t.array.dtype), str(t.array.dtype))
