"""Neural-network modules with PyTorch's names."""

from .module import Module, Parameter
