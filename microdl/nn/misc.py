"""Flatten, Unflatten and the dropout layers."""

import numpy as np

from .. import functional as F
from .module import Module


class Flatten(Module):
    """Merge dims start_dim..end_dim into one (default: everything but the batch)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _DropoutNd(Module):
    """The dropout layers' shared part: p in [0, 1] and ``inplace`` (the result written into the
    input, as PyTorch does)."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Training: zero each element with probability p, scale the rest by 1/(1-p). Eval: y = x.

    Args: p=0.5, the probability of zeroing. Shape: any, output the same."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training, inplace=self.inplace)


class Dropout1d(_DropoutNd):
    """Training: zero whole channels of (N, C, L) or (C, L) input with probability p, scale the
    rest by 1/(1-p). Eval: y = x."""

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, inplace=self.inplace)


class Dropout2d(_DropoutNd):
    """Training: zero whole channels of (N, C, H, W) input with probability p, scale the rest
    by 1/(1-p). Eval: y = x."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, inplace=self.inplace)


class Dropout3d(_DropoutNd):
    """Training: zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability
    p, scale the rest by 1/(1-p). Eval: y = x."""

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, inplace=self.inplace)


class AlphaDropout(_DropoutNd):
    """Training: F.alpha_dropout (SELU's mean and variance kept). Eval: y = x."""

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training, inplace=self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """Training: F.feature_alpha_dropout (whole channels). Eval: y = x."""

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training, inplace=self.inplace)


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (a tuple whose product is that dim's size;
    one entry may be -1): the inverse of Flatten. (N, 12) -> Unflatten(1, (3, 4)) -> (N, 3, 4)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"invalid argument: dim must be an int (got {type(dim).__name__})")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(n, int) for n in unflattened_size):
            raise TypeError("unflattened_size must be tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        shape = input.shape
        dim = self.dim % len(shape) if shape else 0
        sizes = list(self.unflattened_size)
        known = 1
        for n in sizes:
            known *= n if n != -1 else 1
        if sizes.count(-1) == 1 and known and shape[dim] % known == 0:
            sizes[sizes.index(-1)] = shape[dim] // known
        if -1 in sizes or int(np.prod(sizes)) != shape[dim]:
            raise RuntimeError(f"unflatten: Provided sizes {list(self.unflattened_size)} don't "
                               f"multiply up to the size of dim {self.dim} ({shape[dim]}) in the "
                               "input tensor")
        return input.reshape(*shape[:dim], *sizes, *shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
