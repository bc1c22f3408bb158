"""MultiheadAttention with PyTorch's arguments, parameter names and math (so a PyTorch
state_dict loads), built from existing ops: linear, matmul, softmax, masked_fill."""

import math

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from ..tensor_methods.shape import cat
from . import init
from .linear import Linear
from .module import Module, Parameter


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al.), as torch.nn.MultiheadAttention:

        head_h = softmax(Q_h K_h^T / sqrt(d) + mask) V_h,  Q = q W_q^T + b_q (K, V likewise),
        output = concat(head_1 .. head_H) W_o^T + b_o,     d = embed_dim / num_heads.

    Args: embed_dim, num_heads, dropout=0.0 (on the attention weights, training only),
    bias=True, add_bias_kv=False (a learnt key and value appended to the sequence),
    add_zero_attn=False (a zero key and value appended), kdim=None, vdim=None (key / value
    feature sizes; then q_proj_weight, k_proj_weight, v_proj_weight replace in_proj_weight),
    batch_first=False, device=None, dtype=None.

    Parameters as PyTorch names them: in_proj_weight (3E, E), in_proj_bias (3E,),
    out_proj.weight, out_proj.bias, bias_k and bias_v (1, 1, E). Masks: a bool
    key_padding_mask / attn_mask marks positions NOT to attend (True = masked, the opposite of
    scaled_dot_product_attention's), a float one is added to the scores.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()
        if device is not None:
            self.to(device)

    def _reset_parameters(self):
        """PyTorch's: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k/v
        (out_proj.weight keeps Linear's initialisation)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self):
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            weights = (self.in_proj_weight[:e], self.in_proj_weight[e:2 * e],
                       self.in_proj_weight[2 * e:])
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        if self.in_proj_bias is None:
            return zip(weights, (None,) * 3)
        b = self.in_proj_bias
        return zip(weights, (b[:e], b[e:2 * e], b[2 * e:]))

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """(L, N, E) inputs ((N, L, E) with batch_first; (L, E) unbatched) -> (output of
        query's shape, weights (N, L, S) averaged over heads, (N, H, L, S) when not, None when
        need_weights=False)."""
        unbatched = query.ndim == 2
        if query.ndim not in (2, 3):
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.ndim}-D query tensor")
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask`"
                               " to create this mask.")
        if unbatched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        length, batch, e = query.shape
        heads, d = self.num_heads, self.head_dim
        if key.shape[0] != value.shape[0] or key.shape[1] != batch or value.shape[1] != batch:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        (wq, bq), (wk, bk), (wv, bv) = self._projections()
        q, k, v = F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)
        mask = self._float_mask(attn_mask, q)
        padding = self._float_mask(key_padding_mask, q)
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, batch, e)])
            v = cat([v, self.bias_v.expand(1, batch, e)])
            mask = None if mask is None else F.pad(mask, (0, 1))
            padding = None if padding is None else F.pad(padding, (0, 1))
        # (seq, N, E) -> (N * H, seq, d): PyTorch's head layout
        q, k, v = (t.reshape(t.shape[0], batch * heads, d).transpose(0, 1) for t in (q, k, v))
        if self.add_zero_attn:
            zeros = Tensor(np.zeros((batch * heads, 1, d), q.array.dtype)).to(q.device)
            k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
            mask = None if mask is None else F.pad(mask, (0, 1))
            padding = None if padding is None else F.pad(padding, (0, 1))
        source = k.shape[1]
        if mask is not None and mask.ndim == 2:
            mask = mask.unsqueeze(0)
        if padding is not None:
            padding = padding.reshape(batch, 1, 1, source).expand(batch, heads, 1, source) \
                .reshape(batch * heads, 1, source)
            mask = padding if mask is None else mask + padding
        p = self.dropout if self.training else 0.0
        if not need_weights:
            if mask is not None:  # (N * H or 1, L or 1, S) -> broadcastable to (N, H, L, S)
                mask = mask.reshape(batch, heads, *mask.shape[1:]) \
                    if mask.shape[0] == batch * heads else mask.unsqueeze(0)
            out = F.scaled_dot_product_attention(
                q.reshape(batch, heads, length, d), k.reshape(batch, heads, source, d),
                v.reshape(batch, heads, source, d), mask, p)
            out = out.permute(2, 0, 1, 3).reshape(length * batch, e)
            weights = None
        else:
            scores = (q * (1.0 / math.sqrt(d))) @ k.transpose(-2, -1)
            if mask is not None:
                scores = scores + mask
            weights = F.softmax(scores, dim=-1)
            if p > 0.0:
                weights = F.dropout(weights, p)
            out = (weights @ v).transpose(0, 1).reshape(length * batch, e)
        out = self.out_proj(out).reshape(length, batch, e)
        if weights is not None:
            weights = weights.reshape(batch, heads, length, source)
            if average_attn_weights:
                weights = weights.mean(dim=1)
        if unbatched:
            out = out.squeeze(1)
            weights = None if weights is None else weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    @staticmethod
    def _float_mask(mask, like):
        """A bool mask (True = do not attend) as PyTorch's float mask: -inf there, 0
        elsewhere; a float mask as it is."""
        if mask is None:
            return None
        if mask.array.dtype == np.bool_:
            zeros = Tensor(np.zeros(mask.shape, like.array.dtype)).to(like.device)
            return zeros.masked_fill(mask, float("-inf"))
        if mask.array.dtype.kind != "f":
            raise AssertionError("only bool and floating types of masks are supported")
        return mask

    def extra_repr(self):
        return ""
