"""Sparse functions (PyTorch's heading): embedding lookups and one_hot."""

import numpy as np

from .. import _device
from ..ops import elementwise as _ew
from ..ops import embedding as _embedding
from ..ops import loss as _loss
from ..tensor import Tensor
from ._common import _array_of, _as_tensor


def _embedding_indices(input, num_embeddings):
    """The indices as a host int64 array: PyTorch takes Long and Int tensors only, every index
    in [0, num_embeddings)."""
    indices = _device.host(_array_of(input))
    if indices.dtype not in (np.int64, np.int32):
        name = _ew.TORCH_NAMES.get(indices.dtype, str(indices.dtype))
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the "
                           "following scalar types: Long, Int; but got torch."
                           f"{name}Tensor instead (while checking arguments for embedding)")
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        raise IndexError("index out of range in self")
    return indices.astype(np.int64, copy=False)


def _padding_index(padding_idx, num_embeddings):
    """padding_idx in [0, num_embeddings) (a negative one counts from the end), or None;
    checked as PyTorch checks it (0 always passes)."""
    if padding_idx is None:
        return None
    if (padding_idx > 0 and padding_idx >= num_embeddings) or \
            (padding_idx < 0 and padding_idx < -num_embeddings):
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """out[..., :] = weight[input[...], :]; the gradient of a row sums over its occurrences,
    the padding_idx row gets none (divided by the row's count with scale_grad_by_freq)."""
    if max_norm is not None:
        raise NotImplementedError("embedding: max_norm is not implemented in microdl (it "
                                  "renormalizes weight rows in place during the lookup)")
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not implemented in microdl (it has "
                                  "no sparse gradients)")
    if padding_idx is not None:  # (PyTorch reads weight's rows only then)
        padding_idx = _padding_index(padding_idx, weight.shape[0])
    if len(weight.shape) != 2:
        raise RuntimeError("'weight' must be 2-D")
    indices = _embedding_indices(input, weight.shape[0])
    return _embedding.Embedding.apply(_as_tensor(weight), indices, padding_idx=padding_idx,
                                      scale_grad_by_freq=bool(scale_grad_by_freq))


# ---- one_hot -------------------------------------------------------------------------------
def one_hot(tensor, num_classes=-1):
    """out[..., c] = 1 where tensor[...] == c (int64, a new last axis of num_classes, or
    max + 1 when num_classes is -1)."""
    return Tensor._wrap(_loss.one_hot(_array_of(tensor), int(num_classes)))
