"""bench/cuda.py's GPU rows: without a real GPU they are skipped with a reason; their timed
callables run (once, on tiny shapes) in the simulator, so the next session with a GPU finds
them working."""

import numpy as np

from bench import cuda as bench_cuda


def test_no_rows_without_a_real_gpu(capsys):
    reason = bench_cuda.gpu_missing()
    if reason is None:
        assert bench_cuda.cases(quick=True)
    else:
        assert bench_cuda.cases(quick=True) == []


def test_the_timed_callables_run():
    cases = [bench_cuda._batch_norm_case((2, 3, 2, 2), False),
             bench_cuda._batch_norm_case((2, 3, 2, 2), True),
             bench_cuda._matmul_case(3, 5, 2),
             bench_cuda._step_case("tiny step", "tiny", lambda nn: nn.Sequential(
                 nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2)), (5, 4), 2, 0.1)]
    for case in cases:
        case.make["cuda"]()()
    copy = bench_cuda._device_copy_factory(64)()
    copy()
    assert cases[0].bytes == 2 * 4 * int(np.prod((2, 3, 2, 2)))
