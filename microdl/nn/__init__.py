"""Neural-network modules with PyTorch's names."""

from . import init
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import Sequential
from .conv import Conv2d
from .linear import Identity, Linear
from .loss import CrossEntropyLoss, MSELoss
from .misc import Dropout, Flatten
from .module import Module, Parameter
from .pooling import AvgPool2d, MaxPool2d
from . import utils
