"""Finite-difference gradient check in float64."""

import numpy as np

from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def _scalar_of(fn, inputs, weights):
    out = fn(*inputs)
    return out, float(np.sum(np.asarray(out.array, np.float64) * weights))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare autograd's gradients of ``fn(*inputs)`` with central differences.

    The output is reduced to a scalar with fixed random weights w (so every output element
    matters): L = sum(w * fn(*inputs)). For every input that requires grad and every element i,
    the numerical derivative (L(x + eps e_i) - L(x - eps e_i)) / (2 eps) must match the
    analytical one within atol + rtol * |numerical|. Inputs must be float64. Returns True or
    raises GradcheckError naming the worst element.
    """
    inputs = list(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; finite differences need "
                            "float64")
    out = fn(*inputs)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    for t in inputs:
        if isinstance(t, Tensor):
            t.grad = None
    (out * Tensor._wrap(weights.astype(out.dtype))).sum().backward()
    for index, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytical = np.zeros(t.shape) if t.grad is None else np.asarray(t.grad.array)
        numerical = np.zeros(t.shape)
        flat = t.array.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            _, up = _scalar_of(fn, inputs, weights)
            flat[i] = saved - eps
            _, down = _scalar_of(fn, inputs, weights)
            flat[i] = saved
            numerical.reshape(-1)[i] = (up - down) / (2 * eps)
        error = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
        if error.max(initial=-1.0) > 0:
            worst = np.unravel_index(np.argmax(error), t.shape)
            raise GradcheckError(
                f"gradcheck failed for input {index} (shape {t.shape}) at element {worst}: "
                f"analytical {analytical[worst]:.8g}, numerical {numerical[worst]:.8g}"
            )
    return True
