"""Optimizers and learning-rate schedules with PyTorch's names."""

from . import lr_scheduler
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "lr_scheduler"]
