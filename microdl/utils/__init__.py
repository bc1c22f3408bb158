"""``microdl.utils``: PyTorch's ``torch.utils`` path to the data tools (``microdl.utils.data``)."""

from . import data

__all__ = ["data"]
