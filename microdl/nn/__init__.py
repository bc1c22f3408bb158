"""Neural-network modules with PyTorch's names."""

from . import init
from .activation import (CELU, ELU, GELU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                         LeakyReLU, LogSigmoid, LogSoftmax, Mish, ReLU, ReLU6, Sigmoid, SiLU,
                         Softmax, Softplus, Softshrink, Softsign, Tanh, Tanhshrink)
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .container import ModuleDict, ModuleList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .attention import MultiheadAttention
from .linear import Identity, Linear
from .bilinear import Bilinear
from .unpooling import MaxUnpool2d
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer,
                          TransformerEncoder, TransformerEncoderLayer)
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .embedding import Embedding
from .misc import (AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d, FeatureAlphaDropout,
                   Flatten, Unflatten)
from .upsampling import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d
from .module import Module, Parameter
from .normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d, LayerNorm
from .pooling import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
                      MaxPool2d)
from .activation import PReLU
from .distance import CosineSimilarity, PairwiseDistance
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .fold import Fold, Unfold
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .loss import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss, MarginRankingLoss,
                   MultiLabelSoftMarginLoss, PoissonNLLLoss, SoftMarginLoss, TripletMarginLoss)
from . import utils

# ---- microdl.nn.functional: the module microdl.functional under PyTorch's path ----------------
# One module, two names: `import microdl.nn.functional as F`, `from microdl.nn import functional`
# and `from microdl.nn.functional import relu` all reach microdl.functional itself (the import
# system finds the dotted name in sys.modules, the attribute serves `from microdl.nn import`).
import sys as _sys

from .. import functional

_sys.modules[__name__ + ".functional"] = functional
