"""Large scratch and output arrays, reused across training steps instead of allocated fresh.

Why: on these machines a freshly allocated multi-MiB array comes back as unmapped pages, and the
first write into it page-faults: writing 49 MiB into a new array took ~10 ms against ~0.9 ms into
a reused one, and a ReLU over a 6 MiB activation ran at a third of the copy bandwidth. A training
step makes the same shapes every time, so ops ask this pool for every array of ``MIN_BYTES`` or
more and small ones still come from ``np.empty``. ``MIN_BYTES`` is glibc's default mmap threshold
(128 KiB): below it malloc recycles freed heap memory without faults; at 1 MiB the CNN step
still took ~650 page faults a step (maxpool outputs and indices, the flattened activations), at
128 KiB about one.

Safety rule: a pooled array is handed out again only when the pool's own reference is the last
one. numpy views keep their base array alive (``view.base`` is the array that owns the memory,
however many reshapes deep), so an output held by a tensor, a saved context, a gradient, a user
variable or any view of those is never overwritten.

``stats()`` counts fresh large allocations and reuses; tests use it to show that a training step
allocates nothing large after the first steps.
"""

import math
import sys
from collections import OrderedDict

import numpy as np

MIN_BYTES = 1 << 17
MAX_PER_SHAPE = 8
MAX_SHAPES = 64

_pool = OrderedDict()  # (shape, dtype) -> list of arrays, most recently used key last
_counts = {"fresh": 0, "reused": 0}


def empty(shape, dtype):
    """An uninitialised C-contiguous array, like ``np.empty``; large ones are reused when free."""
    if type(dtype) is not np.dtype:
        dtype = np.dtype(dtype)
    if type(shape) is not tuple:
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    # NOTE: math.prod, not np.prod: this runs for every op output (0.1 us against 3 us)
    if dtype.itemsize * math.prod(shape) < MIN_BYTES:
        return np.empty(shape, dtype)
    shape = tuple(int(n) for n in shape)
    key = (shape, dtype.str)
    arrays = _pool.get(key)
    if arrays is None:
        arrays = _pool[key] = []
        if len(_pool) > MAX_SHAPES:
            _pool.popitem(last=False)
    else:
        _pool.move_to_end(key)
    for i in range(len(arrays)):
        # NOTE: indexing, not a loop variable: 2 = the list's slot + getrefcount's argument
        if sys.getrefcount(arrays[i]) == 2:
            _counts["reused"] += 1
            return arrays[i]
    array = np.empty(shape, dtype)
    _counts["fresh"] += 1
    if len(arrays) < MAX_PER_SHAPE:
        arrays.append(array)
    return array


def empty_like(array):
    return empty(array.shape, array.dtype)


def zeros(shape, dtype):
    out = empty(shape, dtype)
    out.fill(0)
    return out


def is_pooled(array):
    """Whether ``array`` is one of the pool's own arrays (a view of one is not)."""
    arrays = _pool.get((array.shape, array.dtype.str))
    return arrays is not None and any(a is array for a in arrays)


def adoptable(g):
    """Whether gradient g may become a leaf's .grad without a copy: a numpy array that owns its
    memory, and that no input, saved context, other gradient or view holds (only the caller's
    one local variable, and maybe this pool, which never hands out an array someone holds)."""
    if type(g) is not np.ndarray or g.base is not None or not g.flags.writeable:
        return False
    # NOTE: only arrays of MIN_BYTES or more can be the pool's (the lookup costs ~0.4 us)
    return sys.getrefcount(g) <= _OWNED_REFS + (g.nbytes >= MIN_BYTES and is_pooled(g))


def _probe_refs():
    g = np.empty(1)
    return _refs_as_adoptable_sees_them(g)


def _refs_as_adoptable_sees_them(g):
    return sys.getrefcount(g)


# NOTE: the count when only the caller's one local variable holds an array, measured through the
# same frames as adoptable's (interpreters differ in which references they count).
_OWNED_REFS = _probe_refs()


def stats():
    """{"fresh": large arrays allocated, "reused": handed out again, "pooled": held by the pool}."""
    return dict(_counts, pooled=sum(len(a) for a in _pool.values()))


def clear():
    """Drop the pool's references (arrays still in use stay alive with their users)."""
    _pool.clear()
