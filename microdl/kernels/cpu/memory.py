"""Host memory for the fast CPU set: large arrays come from microdl's buffer pool
(``microdl._buffers``: a reused array skips the page faults of a fresh one); copies as in the
reference."""

from ... import _buffers
from ..numpy_ref.memory import to_here, to_host  # noqa: F401


def empty(shape, dtype):
    """An uninitialised C-contiguous array of ``shape`` (an int or a tuple) and ``dtype``; large
    ones are reused from the pool when nothing else holds them."""
    return _buffers.empty(shape, dtype)
