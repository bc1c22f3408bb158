"""``torch.backends`` and the determinism switches, for scripts that set them.

microdl has no cuDNN, MKL-DNN, MPS or TF32 paths, so the flags here are plain settable
attributes that change nothing: ``cudnn.deterministic``, ``cudnn.benchmark``,
``cudnn.enabled``, ``cudnn.allow_tf32``, ``mkldnn.enabled``, ``cuda.matmul.allow_tf32``.
``use_deterministic_algorithms`` records the mode and changes nothing either: microdl's results
are already deterministic (its kernels never depend on thread count or timing; see README).
"""

import types

cudnn = types.SimpleNamespace(
    enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
    is_available=lambda: False,  # microdl has no cuDNN
    version=lambda: None,
)
mkldnn = types.SimpleNamespace(enabled=True, is_available=lambda: False)
mps = types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cuda = types.SimpleNamespace(matmul=types.SimpleNamespace(allow_tf32=False,
                                                          allow_fp16_reduced_precision_reduction=True,
                                                          allow_bf16_reduced_precision_reduction=True))
openmp = types.SimpleNamespace(is_available=lambda: True)  # numba's parallel layer

_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Record ``mode`` (and ``warn_only``), as PyTorch does; microdl is deterministic anyway."""
    if not isinstance(mode, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be "
                        f"bool, not {type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'warn_only' must be bool, "
                        f"not {type(warn_only).__name__}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled():
    """The mode use_deterministic_algorithms last recorded (False at start); it changes nothing
    in microdl, which is deterministic."""
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    """The warn_only flag use_deterministic_algorithms last recorded (False at start)."""
    return _deterministic["warn_only"]
