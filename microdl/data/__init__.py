"""Data: datasets, samplers, batching, and the feature scaling the Batch Normalization examples
start from."""

from .dataset import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                      RandomSampler, Sampler, SequentialSampler, Subset, SubsetRandomSampler,
                      TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                      get_worker_info, random_split)
from .datasets import (ChecksumError, DatasetNotFoundError, IDXError, digits, fashion_mnist,
                       min_max_scale, mnist, read_idx, standardize)

__all__ = [
    "Dataset", "TensorDataset", "DataLoader", "digits", "read_idx", "IDXError", "fashion_mnist",
    "mnist", "DatasetNotFoundError", "ChecksumError", "min_max_scale", "standardize",
    "IterableDataset", "Subset", "ConcatDataset", "random_split", "Sampler",
    "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler", "default_collate", "default_convert", "get_worker_info",
]
