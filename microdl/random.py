"""The global random generator behind initialisation, dropout and shuffling (``manual_seed``)."""

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reseed microdl's global generator so runs repeat exactly."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer (got {seed!r})")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator():
    return _generator


def get_rng_state():
    return _generator.bit_generator.state


def set_rng_state(state):
    _generator.bit_generator.state = state
