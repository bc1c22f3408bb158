"""numba.cuda twins of ``numpy_ref``: ``_name_kernel`` (``@cuda.jit``) plus a launcher ``name(...)``
with the reference's signature, taking device arrays (C-contiguous, as every array the CUDA ops
make is).

Importing this package touches the CUDA driver (or numba's simulator when
``NUMBA_ENABLE_CUDASIM=1``), so nothing imports it until a CUDA tensor exists. Modules private
to this set start with an underscore (``_config``: launch sizes; ``_launch``: grids and builds).
"""

from . import _simulator

_simulator.guard()
