"""Embedding: a lookup table of num_embeddings vectors of embedding_dim values."""

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """y[..., :] = weight[input[...], :] for integer (int64 or int32) input of any shape.

    Args: num_embeddings, embedding_dim, padding_idx=None (that row starts at zero and gets no
    gradient; negative counts from the end), max_norm=None (only None: NotImplementedError),
    norm_type=2.0, scale_grad_by_freq=False (divide each row's gradient by its count in the
    batch), sparse=False (only False), _weight=None (a (num_embeddings, embedding_dim) initial
    weight), _freeze=False, device=None, dtype=None (float32).

    Initialised as PyTorch does: weight ~ N(0, 1), the padding_idx row zeroed.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = F._padding_index(padding_idx, num_embeddings)
        for name, value, default in (("max_norm", max_norm, None), ("sparse", sparse, False)):
            if value != default:
                raise NotImplementedError(f"Embedding: {name}={value!r} is not implemented in "
                                          f"microdl (only {name}={default!r})")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            shape = [num_embeddings, embedding_dim]
            if min(shape) < 0:
                negative = next(n for n in shape if n < 0)
                raise RuntimeError(f"Trying to create tensor with negative dimension {negative}: "
                                   f"{shape}")
            dtype = np.dtype(np.float32 if dtype is None else dtype)
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """weight ~ N(0, 1), in place, with the padding_idx row zeroed."""
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is not None:
            values = self.weight.detach().numpy().copy()
            values[self.padding_idx] = 0
            init._fill(self.weight, values)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding a copy of ``embeddings`` (2-D) as its weight, frozen (no
        gradient) unless freeze=False; the padding_idx row is kept as given."""
        if len(embeddings.shape) != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        weight = embeddings.detach() if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=weight, _freeze=freeze)
