"""microdl.profiler: counts every op and kernel call, splits self from total time, and costs
nothing (never reads the clock) when no profile is active."""

import numpy as np
import pytest

import microdl
from microdl import backend, nn, optim, profiler, tensor


def _mlp_step(batch_norm=True):
    microdl.manual_seed(0)
    layers = [nn.Linear(8, 6)] + ([nn.BatchNorm1d(6)] if batch_norm else []) + \
        [nn.Sigmoid(), nn.Linear(6, 3)]
    model = nn.Sequential(*layers)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = tensor(np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32))
    y = tensor(np.array([0, 1, 2, 1, 0]))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def _row(prof, name):
    rows = [r for r in prof.rows() if r.name == name]
    assert len(rows) == 1, [r.name for r in prof.rows()]
    return rows[0]


def test_counts_op_and_kernel_calls(kernel_set):
    step = _mlp_step()
    step()
    with profiler.profile() as prof:
        for _ in range(3):
            step()
    assert _row(prof, "Linear.forward").calls == 6
    assert _row(prof, "Linear.backward").calls == 6
    assert _row(prof, "BatchNorm.forward").calls == 3
    assert _row(prof, "normalization.batch_norm_forward_train").calls == 3
    # BatchNorm then Sigmoid in a Sequential is one op: its kernels, no Sigmoid op
    assert _row(prof, "BatchNorm.backward").calls == 3
    assert _row(prof, "activation.sigmoid_backward").calls == 3
    assert not any(r.name.startswith("Sigmoid.") for r in prof.rows())
    assert _row(prof, "CrossEntropy.forward").calls == 3
    assert _row(prof, "optim.sgd_update_").calls == 3 * 6  # 6 parameters, one update each
    assert _row(prof, "autograd.engine").calls == 3
    assert {r.backend for r in prof.rows()} == {kernel_set}


def test_self_times_nest_inside_totals():
    step = _mlp_step()
    step()
    with profiler.profile() as prof:
        step()
    bn = _row(prof, "BatchNorm.forward")
    kernel = _row(prof, "normalization.batch_norm_forward_train")
    assert bn.self_time <= bn.total - kernel.total + 1e-9
    engine = _row(prof, "autograd.engine")
    backwards = sum(r.total for r in prof.rows() if r.name.endswith(".backward"))
    assert engine.total >= backwards and engine.self_time == pytest.approx(
        engine.total - backwards, abs=1e-6)
    assert sum(r.self_time for r in prof.rows()) <= prof.wall + 1e-9


def test_table_lists_rows_costliest_first():
    step = _mlp_step()
    with profiler.profile() as prof:
        step()
    text = prof.table(sort_by="calls", row_limit=3)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["Name", "Backend", "Calls"]
    assert lines[2].startswith("optim.sgd_update_")  # 6 calls, the most in one step
    assert len(lines) == 2 + 3 + 2
    assert "wall time" in lines[-1]
    with pytest.raises(ValueError, match="sort_by must be one of"):
        prof.rows("nonsense")


def test_record_function_adds_a_row():
    with profiler.profile() as prof:
        with profiler.record_function("data loading"):
            np.ones(10).sum()
    assert _row(prof, "data loading").calls == 1
    with profiler.record_function("outside"):  # no profile: nothing recorded, no error
        pass


def test_profiles_do_not_nest():
    with profiler.profile():
        with pytest.raises(RuntimeError, match="already active"):
            with profiler.profile():
                pass


def test_costs_nothing_when_off(monkeypatch):
    reads = []
    monkeypatch.setattr(profiler, "_clock", lambda: reads.append(1) or 0.0)
    step = _mlp_step()
    for _ in range(2):
        step()
    assert reads == []
    with profiler.profile():
        step()
    assert len(reads) > 20  # the same counter sees the clock once a profile is on
    reads.clear()
    step()
    assert reads == []  # and the hooks are gone once it ends


def test_kernels_on_microdls_worker_threads_nest_per_thread(monkeypatch):
    """A blocked convolution spreads its sample blocks over two threads inside its conv kernels,
    and each kernel call is one row; rows recorded on microdl's threads (here a kernel inside
    record_function, in run_blocks) are counted too, and no row's self time goes negative
    (nesting is per thread)."""
    from microdl.kernels.cpu import _blas
    from microdl.kernels.cpu import conv as cpu_conv

    if not _blas.split_available():
        pytest.skip("no OpenBLAS found or one thread only: blocks never leave this thread")
    monkeypatch.setattr(cpu_conv, "BLOCKED_MIN_COLUMNS", 1)
    monkeypatch.setattr(cpu_conv, "WINOGRAD", False)
    assert cpu_conv._layout(16, 4 * 9, (6, 6), 1, ((3, 3), (1, 1), (1, 1), (1, 1)),
                             np.float32) == "blocked"
    rng = np.random.default_rng(0)
    x = tensor(rng.standard_normal((16, 4, 6, 6)).astype(np.float32), requires_grad=True)
    w = tensor(rng.standard_normal((3, 4, 3, 3)).astype(np.float32), requires_grad=True)

    relu_in, relu_out = x.array.reshape(2, -1), np.empty((2, x.array.size // 2), np.float32)

    def block(i):
        with profiler.record_function("block"):
            backend.kernels("activation").relu_forward(relu_in[i], relu_out[i])

    for _ in range(2):
        with profiler.profile() as prof:
            y = microdl.functional.conv2d(x, w, padding=1)
            y.sum().backward()
            _blas.run_blocks(block, 2)
    assert _row(prof, "conv.conv2d_forward").calls == 1
    assert _row(prof, "conv.conv2d_backward").calls == 1
    assert _row(prof, "block").calls == _row(prof, "activation.relu_forward").calls == 2
    assert all(r.self_time >= 0 for r in prof.rows()), prof.table()
    for r in prof.rows():
        if r.name.startswith(("conv.", "activation.")):
            assert r.self_time == pytest.approx(r.total, abs=1e-9)  # kernels nest nothing
