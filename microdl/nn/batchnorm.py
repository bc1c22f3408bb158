"""BatchNorm1d and BatchNorm2d, as PyTorch's ``nn/modules/batchnorm.py`` defines them.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias,   per channel (axis 1)

Training normalizes with the batch's mean and biased variance and updates the running statistics
(``running_var`` with the unbiased variance) with factor ``momentum``, or ``1 /
num_batches_tracked`` when momentum is None (a cumulative average). Eval normalizes with the
running statistics, or with the batch's when ``track_running_stats=False``.
"""

import numpy as np

from .. import _device
from .. import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None):
        super().__init__()
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            self.bias = Parameter(np.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            # fill_: the statistics may live on the GPU, whose arrays take no [...] assignment
            _device.fill_(self.running_mean, 0)
            _device.fill_(self.running_var, 1)
            self.num_batches_tracked[...] = 0  # always on the host (see Module.to)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            _device.fill_(self.weight.array, 1)
            _device.fill_(self.bias.array, 0)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def forward(self, input):
        return self._forward(input, F.batch_norm)

    def forward_relu(self, input):
        """relu(self(input)) in one fused op (F.batch_norm_relu): what nn.Sequential calls for
        this module when a ReLU module comes right after it."""
        return self._forward(input, F.batch_norm_relu)

    def _forward(self, input, batch_norm):
        self._check_input_dim(input)
        # NOTE: the registries are read directly; Module.__getattr__ costs ~0.4 us a name, and
        # BatchNorm1d on (60, 100) runs in ~10 us.
        buffers, params = self._buffers, self._parameters
        momentum = self.momentum
        factor = 0.0 if momentum is None else momentum
        if self.training and self.track_running_stats:
            tracked = buffers["num_batches_tracked"]
            if tracked is not None:
                # NOTE: counted before F.batch_norm checks the input, as PyTorch does.
                # in place (a 0-d int64 array); `tracked += 1` is a ufunc call: 0.7 us, not 70 ns
                count = tracked.item() + 1
                tracked[...] = count
                if momentum is None:
                    factor = 1.0 / count
        running_mean, running_var = buffers["running_mean"], buffers["running_var"]
        if self.training:
            batch_stats = True
        else:
            batch_stats = running_mean is None and running_var is None
        if self.training and not self.track_running_stats:
            running_mean = running_var = None
        return batch_norm(input, running_mean, running_var, params["weight"], params["bias"],
                          batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) input: statistics over N (and L)."""

    def _check_input_dim(self, input):
        if input.ndim != 2 and input.ndim != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) input: statistics over N, H and W."""

    def _check_input_dim(self, input):
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")
