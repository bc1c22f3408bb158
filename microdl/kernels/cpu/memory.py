"""Host memory for the fast CPU set: large arrays come from microdl's buffer pool
(``microdl._buffers``: a reused array skips the page faults of a fresh one); copies as in the
reference."""

from ... import _buffers
from ..numpy_ref.memory import to_here, to_host  # noqa: F401


# empty(shape, dtype): an uninitialised C-contiguous array of ``shape`` (an int or a tuple) and
# ``dtype``; large ones are reused from the pool when nothing else holds them. NOTE: the pool's
# own function, not a wrapper: every op output comes from here (~45 calls an MLP step).
empty = _buffers.empty
