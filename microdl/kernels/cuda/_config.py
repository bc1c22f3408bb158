"""Launch settings, read at every launch so tests can shrink them.

Kernels whose shared memory depends on a setting are compiled once per value (see
``_launch.specialized``), so changing one at run time never reuses a kernel built for another.
"""

# Threads of a 1-D block: grid-stride loops and the shared-memory trees of the reductions
# (a power of two: the trees halve it).
THREADS_PER_BLOCK = 256
# Most blocks a grid-stride launch asks for; the loop covers the rest of the array.
MAX_BLOCKS = 4096
# GEMM tile: blocks of TILE x TILE threads, each computing one output of a TILE x TILE tile.
TILE = 16
# CUDA's limit on a grid's y dimension: the GEMM's block rows. Taller outputs (over
# MAX_GRID_Y * TILE rows, ~1M with the defaults) run as several launches of row bands.
MAX_GRID_Y = 65535
# BatchNorm statistics: one block per channel up to this many values per channel; above it a
# channel is split over ceil(m / BN_VALUES_PER_BLOCK) blocks whose partial sums a second kernel
# merges in a fixed order (the "two-level" reduction).
BN_VALUES_PER_BLOCK = 1 << 16
