"""The global random generator behind initialisation, dropout and shuffling (``manual_seed``),
and ``microdl.Generator``, PyTorch's ``torch.Generator``.

A Generator *is* a ``numpy.random.Generator`` (a subclass over numpy's PCG64), so every
``generator=`` argument of microdl (rand, randperm, DataLoader, random_split, nn.init, ...)
accepts it and draws from it directly. The streams are numpy's, not PyTorch's: the same seed
repeats microdl's draws, not torch's numbers.
"""

import numpy as np

# PyTorch's default seed of a fresh torch.Generator (torch.Generator().initial_seed()).
DEFAULT_SEED = 67280421310721


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative integer (got {seed!r})")
    return int(seed)


def _fresh_seed():
    """A non-deterministic 64-bit seed (what ``torch.seed()`` draws)."""
    return int(np.random.SeedSequence().entropy) % 2 ** 64


class Generator(np.random.Generator):
    """``torch.Generator``: a seedable random stream (numpy's PCG64 underneath).

    ``Generator()`` starts from PyTorch's default seed 67280421310721; ``manual_seed(s)``
    restarts it from ``s`` (and returns it), ``seed()`` from a fresh non-deterministic seed (and
    returns that seed), ``initial_seed()`` tells the last seed. ``get_state()`` is a dict of
    plain values (numpy's bit-generator state), not PyTorch's ByteTensor; ``set_state`` takes it
    back. ``device`` is kept as given ("cpu" or "cuda"): microdl draws every random number on
    the host.
    """

    def __init__(self, device="cpu"):
        super().__init__(np.random.PCG64(DEFAULT_SEED))
        self.device = str(getattr(device, "type", device))
        self._initial_seed = DEFAULT_SEED

    def manual_seed(self, seed):
        """Restart the stream from ``seed`` (a non-negative int); returns self."""
        self._initial_seed = _check_seed(seed)
        self.bit_generator.state = np.random.PCG64(self._initial_seed).state
        return self

    def seed(self):
        """Restart the stream from a fresh non-deterministic seed; returns that seed."""
        seed = _fresh_seed()
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        """The seed the stream last started from."""
        return self._initial_seed

    def get_state(self):
        """The stream's state: a dict of plain values (numpy's bit-generator state, not PyTorch's
        ByteTensor)."""
        return self.bit_generator.state

    def set_state(self, new_state):
        """Put back a state from get_state(): the draws that follow repeat those after it;
        returns self."""
        name = type(self.bit_generator).__name__
        if not isinstance(new_state, dict) or new_state.get("bit_generator") != name:
            found = new_state.get("bit_generator") if isinstance(new_state, dict) \
                else type(new_state).__name__
            raise ValueError(f"set_rng_state expects a state from get_rng_state() of a "
                             f"{name} generator (got {found!r})")
        self.bit_generator.state = new_state
        return self

    def __reduce__(self):
        # NOTE: numpy's own reduce would come back as a plain numpy Generator
        return _rebuild, (self.device, self._initial_seed, self.get_state())


def _rebuild(device, initial_seed, state):
    generator = Generator(device)
    generator._initial_seed = initial_seed
    return generator.set_state(state)


# The global generator (torch.default_generator): seeded non-deterministically at import, so two
# runs differ unless the script calls manual_seed (microdl's streams cannot match torch's anyway).
_generator = Generator()
_generator.seed()


def manual_seed(seed):
    """Reseed microdl's global generator so runs repeat exactly; returns that Generator."""
    return _generator.manual_seed(seed)


def seed():
    """Reseed the global generator from a fresh non-deterministic seed, and return the seed."""
    return _generator.seed()


def initial_seed():
    """The seed the global generator last started from."""
    return _generator.initial_seed()


def default_generator():
    """microdl's global Generator (the one manual_seed reseeds); init, dropout, shuffling and
    rand/randn draw from it unless given a generator."""
    return _generator


def get_rng_state():
    """The global generator's state: a dict of plain values (``fit`` checkpoints it)."""
    return _generator.get_state()


def set_rng_state(state):
    """Put back a state from ``get_rng_state``: the draws that follow repeat those after it."""
    _generator.set_state(state)
