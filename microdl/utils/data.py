"""``microdl.utils.data``: PyTorch's ``torch.utils.data`` names for microdl.data's classes (the
same objects), so ``from torch.utils.data import DataLoader`` becomes
``from microdl.utils.data import DataLoader``."""

from ..data import DataLoader, Dataset, TensorDataset

__all__ = ["DataLoader", "Dataset", "TensorDataset"]
