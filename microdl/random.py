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
    """The global generator's state: a dict of plain values (``fit`` checkpoints it)."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Put back a state from ``get_rng_state``: the draws that follow repeat those after it."""
    if not isinstance(state, dict) or state.get("bit_generator") != \
            type(_generator.bit_generator).__name__:
        found = state.get("bit_generator") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"set_rng_state expects a state from get_rng_state() of a "
                         f"{type(_generator.bit_generator).__name__} generator (got {found!r})")
    _generator.bit_generator.state = state
