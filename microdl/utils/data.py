"""``microdl.utils.data``: PyTorch's ``torch.utils.data`` names for microdl.data's classes (the
same objects), so ``from torch.utils.data import DataLoader`` becomes
``from microdl.utils.data import DataLoader``."""

from ..data import (BatchSampler, ConcatDataset, DataLoader, Dataset, IterableDataset,
                    RandomSampler, Sampler, SequentialSampler, Subset, SubsetRandomSampler,
                    TensorDataset, WeightedRandomSampler, default_collate, default_convert,
                    get_worker_info, random_split)

__all__ = [
    "DataLoader", "Dataset", "TensorDataset", "IterableDataset", "Subset", "ConcatDataset",
    "random_split", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler", "default_collate", "default_convert",
    "get_worker_info",
]
