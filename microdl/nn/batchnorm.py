"""BatchNorm1d, BatchNorm2d and BatchNorm3d, as PyTorch's ``nn/modules/batchnorm.py`` defines them.

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
from ..tensor import Tensor

_DOC = """Batch Normalization over {shape} input (Ioffe & Szegedy, 2015): per channel c
    (axis 1), with statistics over {over},

        y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]

    Training: mean and var are the batch's (var biased, divided by m, the values per channel),
    and when track_running_stats the buffers move towards them:
        running_mean = (1 - f) * running_mean + f * mean
        running_var  = (1 - f) * running_var  + f * var * m / (m - 1)   (unbiased)
    with f = momentum, or 1 / num_batches_tracked when momentum is None (a cumulative
    average); num_batches_tracked counts the training calls. Eval: mean and var are
    running_mean and running_var, or the batch's when track_running_stats=False.

    Args:
        num_features: C, the channel count of the input.
        eps: added to the variance (default 1e-5); must be > 0 in training, >= 0 in eval
            (ValueError at forward, as PyTorch).
        momentum: f above (default 0.1), or None for a cumulative average.
        affine: learn weight (ones) and bias (zeros) (default True).
        track_running_stats: keep running_mean (zeros), running_var (ones) and
            num_batches_tracked (int64 0) as buffers (default True); without them the
            batch's statistics are used in eval too.
        device: "cpu" (default) or "cuda". dtype: of parameters and buffers (float32).
        bias (keyword only): with affine, learn bias too (default True), as PyTorch 2.13.

    Shape: input {shape}, output the same. Gradients (m values per channel,
    xhat = (x - mean) / sqrt(var + eps)): dbias = sum dy, dweight = sum dy * xhat,
    dx = weight / sqrt(var + eps) * (dy - dbias / m - xhat * dweight / m) in training,
    dx = dy * weight / sqrt(var + eps) in eval.
    """


class _BatchNorm(Module):
    """The shared BatchNorm module; BatchNorm1d/2d/3d differ only in the ranks they take."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype))
            else:
                self.register_parameter("bias", None)
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
        if device is not None:
            self.to(device)

    def reset_running_stats(self):
        """running_mean = 0, running_var = 1 and num_batches_tracked = 0, in place (when
        track_running_stats)."""
        if self.track_running_stats:
            # fill_: the statistics may live on the GPU, whose arrays take no [...] assignment
            _device.fill_(self.running_mean, 0)
            _device.fill_(self.running_var, 1)
            self.num_batches_tracked[...] = 0  # always on the host (see Module.to)

    def reset_parameters(self):
        """reset_running_stats(), then weight = 1 and bias = 0 (when affine), in place."""
        self.reset_running_stats()
        if self.affine:
            _device.fill_(self.weight.array, 1)
            if self.bias is not None:
                _device.fill_(self.bias.array, 0)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def forward(self, input):
        return self._forward(input, F.batch_norm)

    def forward_relu(self, input):
        """relu(self(input)) in one fused op (F.batch_norm_relu): what nn.Sequential calls for
        this module when a ReLU module comes right after it."""
        return self._forward(input, F.batch_norm_relu)

    def forward_sigmoid(self, input):
        """sigmoid(self(input)) as one op (F.batch_norm_sigmoid): what nn.Sequential calls for
        this module when a Sigmoid module comes right after it."""
        return self._forward(input, F.batch_norm_sigmoid)

    def _forward(self, input, batch_norm):
        if not isinstance(input, Tensor):  # (the check is a call: only when it can fail)
            F._check_input_tensor(input, "batch_norm", arrays_ok=False)
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
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    __doc__ = _DOC.format(shape="(N, C) or (N, C, L)", over="N (and L)")

    def _check_input_dim(self, input):
        if input.ndim != 2 and input.ndim != 3:
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    __doc__ = _DOC.format(shape="(N, C, H, W)", over="N, H and W")

    def _check_input_dim(self, input):
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class BatchNorm3d(_BatchNorm):
    __doc__ = _DOC.format(shape="(N, C, D, H, W)", over="N, D, H and W")

    def _check_input_dim(self, input):
        if input.ndim != 5:
            raise ValueError(f"expected 5D input (got {input.ndim}D input)")
