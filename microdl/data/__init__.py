"""Data: datasets, batching, and the feature scaling the Batch Normalization examples start from."""

from .dataset import DataLoader, Dataset, TensorDataset
from .datasets import (ChecksumError, DatasetNotFoundError, IDXError, digits, fashion_mnist,
                       min_max_scale, mnist, read_idx, standardize)

__all__ = [
    "Dataset", "TensorDataset", "DataLoader", "digits", "read_idx", "IDXError", "fashion_mnist",
    "mnist", "DatasetNotFoundError", "ChecksumError", "min_max_scale", "standardize",
]
