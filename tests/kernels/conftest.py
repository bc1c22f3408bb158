"""The kernel harness: a ``twin`` fixture that runs a kernel of the "numba" set or the "cuda"
set (numba's simulator unless a GPU is asked for) and compares it with the "numpy" reference.

Kernels write into their array arguments, so both sides get their own copies of every argument
(device copies for cuda) and every array argument is compared afterwards: outputs and in-place
updates (running statistics, SGD state, put_add's target) are all checked.
"""

import pytest

from kernel_harness import KernelSet


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def twin(request):
    """Each kernel set that must match the numpy reference; cuda with the launches shrunk
    (tests/conftest.py's shrunk_cuda), skipped where numba.cuda is unavailable."""
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return KernelSet(request.param)
