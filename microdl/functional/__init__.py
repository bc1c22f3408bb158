"""Functional interface, PyTorch's names: thin wrappers that turn arguments into op calls.

One module per topic, named after the headings of PyTorch's torch.nn.functional page:

  activations.py       relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, gelu, silu, elu,
                       ..., prelu, gumbel_softmax
  linear_functions.py  linear, bilinear
  convolution.py       conv1d, conv2d, conv_transpose1d/2d, unfold, fold
  pooling.py           max_pool1d/2d, avg_pool1d/2d, adaptive_avg/max_pool2d, max_unpool2d
  normalization.py     batch_norm (and the fused batch_norm_relu, batch_norm_sigmoid),
                       layer_norm, group_norm, normalize, and nn.InstanceNorm's helper
  dropouts.py          dropout, dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout
  attention.py         scaled_dot_product_attention
  sparse.py            embedding, one_hot
  vision.py            pad, interpolate, upsample, pixel_shuffle, pixel_unshuffle
  distance.py          cosine_similarity, pairwise_distance
  losses.py            cross_entropy, nll_loss, mse_loss, binary cross entropy, l1 / smooth l1 /
                       huber, kl_div, the margin and likelihood losses
  _common.py           what they share: in-place results, Tensors and arrays, argument checks

Every public name is imported here: ``microdl.functional.relu``, and the same module under
PyTorch's path, ``microdl.nn.functional`` (an alias set in nn/__init__.py).
"""

from .activations import (celu, elu, gelu, gumbel_softmax, hardshrink, hardsigmoid, hardswish,
                          hardtanh, leaky_relu, log_softmax, logsigmoid, mish, prelu, relu, relu6,
                          selu, sigmoid, silu, softmax, softplus, softshrink, softsign, tanh,
                          tanhshrink)
from .linear_functions import bilinear, linear
from .convolution import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold
from .pooling import (adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d, avg_pool2d,
                      max_pool1d, max_pool2d, max_unpool2d)
from .normalization import (batch_norm, batch_norm_relu, batch_norm_sigmoid, group_norm,
                            layer_norm, normalize)
from .dropouts import (alpha_dropout, dropout, dropout1d, dropout2d, dropout3d,
                       feature_alpha_dropout)
from .attention import scaled_dot_product_attention
from .sparse import embedding, one_hot
from .vision import interpolate, pad, pixel_shuffle, pixel_unshuffle, upsample
from .distance import cosine_similarity, pairwise_distance
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits,
                     cosine_embedding_loss, cross_entropy, gaussian_nll_loss,
                     hinge_embedding_loss, huber_loss, kl_div, l1_loss, margin_ranking_loss,
                     mse_loss, multilabel_soft_margin_loss, nll_loss, poisson_nll_loss,
                     smooth_l1_loss, soft_margin_loss, triplet_margin_loss)

# Private helpers nn/ reaches as F._name (argument checks shared with the modules).
from . import _common, losses, normalization, sparse

_check_input_tensor, _ints = _common._check_input_tensor, _common._ints
_legacy_reduction = losses._legacy_reduction
_instance_norm = normalization._instance_norm
_padding_index = sparse._padding_index

__all__ = [
    # activations
    "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "silu", "elu",
    "selu", "celu", "softplus", "logsigmoid", "hardswish", "hardsigmoid", "hardtanh", "relu6",
    "mish", "softsign", "tanhshrink", "softshrink", "hardshrink", "prelu", "gumbel_softmax",
    # linear functions, convolution, pooling
    "linear", "bilinear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold",
    "fold", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
    "adaptive_max_pool2d", "max_unpool2d",
    # normalization, dropout, attention
    "batch_norm", "batch_norm_relu", "batch_norm_sigmoid", "layer_norm", "group_norm",
    "normalize", "dropout",
    "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    "scaled_dot_product_attention",
    # sparse, vision, distance
    "embedding", "one_hot", "pad", "interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle",
    "cosine_similarity", "pairwise_distance",
    # losses
    "cross_entropy", "nll_loss", "mse_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
    "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "poisson_nll_loss", "gaussian_nll_loss",
]
