"""Neural-network modules with PyTorch's names."""

from . import init
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import Sequential
from .linear import Identity, Linear
from .loss import CrossEntropyLoss, MSELoss
from .misc import Dropout, Flatten
from .module import Module, Parameter
from . import utils
