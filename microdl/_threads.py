"""Thread defaults, applied when microdl is imported (before numba starts its OpenMP pool).

On a 2-core machine numba's OpenMP worker keeps spinning after each parallel region, OpenBLAS's
worker keeps spinning after each matmul, and with the main thread that is three busy threads on
two cores: an MLP training step measured 7.3 ms median instead of 0.58 ms. Capping libgomp's
spin (GOMP_SPINCOUNT=1000) removes the contention while keeping a parallel region cheap
(OMP_WAIT_POLICY=PASSIVE costs 60-140 us per region). A value the user set is never touched.
"""

import os

DEFAULTS = {"GOMP_SPINCOUNT": "1000"}

# What microdl set itself (so the bench can leave PyTorch's worker process out of it).
applied = {}


def apply_defaults():
    for name, value in DEFAULTS.items():
        if name not in os.environ:
            os.environ[name] = value
            applied[name] = value
