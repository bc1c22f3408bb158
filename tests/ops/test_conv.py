"""conv2d: gradients by finite differences, values and gradients against PyTorch, errors, the
column-buffer pool's safety (a buffer saved for backward is never handed out again), and the
numba kernels' layouts (per sample, blocked, whole cols) taken and agreeing."""

import numpy as np
import pytest

import microdl
import microdl.functional as F
from microdl import gradcheck, tensor
from microdl import _buffers
from microdl.kernels.cpu import _blas
from microdl.kernels.cpu import conv as cpu_conv


@pytest.fixture(params=["numpy", "numba-whole", "numba-per_sample", "numba-blocked"])
def conv_kernels(request, monkeypatch):
    """Run a test with the numpy reference, then with the numba kernels in each of their layouts
    (the per-sample and blocked ones in two blocks, so that small test batches qualify); groups
    > 1 always take the whole layout."""
    kernel_set, _, layout = request.param.partition("-")
    previous = microdl.get_kernels()
    microdl.set_kernels(kernel_set)
    if layout:
        monkeypatch.setattr(cpu_conv, "SAMPLE_BLOCKS", 2)
        monkeypatch.setattr(cpu_conv, "PER_SAMPLE_MAX_TAPS", 10 ** 9 if layout == "per_sample"
                            else 0)
        monkeypatch.setattr(cpu_conv, "BLOCKED_MIN_COLUMNS", 1 if layout == "blocked"
                            else 10 ** 9)
        monkeypatch.setattr(_blas, "manages_blas", lambda: True)
    yield request.param
    microdl.set_kernels(previous)


@pytest.fixture
def layouts_taken(monkeypatch):
    """With the numba kernels in use: the layouts their conv kernels choose, one entry per
    forward and per backward call."""
    taken = []
    choose = cpu_conv._layout

    def recorded(*args):
        taken.append(choose(*args))
        return taken[-1]

    monkeypatch.setattr(cpu_conv, "_layout", recorded)
    previous = microdl.get_kernels()
    microdl.set_kernels("numba")
    yield taken
    microdl.set_kernels(previous)


# stride, padding, dilation, groups (input has 4 channels, weight 4 out-channels)
COMBOS = [
    (1, 0, 1, 1),
    (1, 1, 1, 1),
    (2, 1, 1, 1),
    ((1, 2), (2, 0), 1, 1),
    (1, 1, 2, 1),
    (2, (1, 2), (2, 1), 2),
    (1, 1, 1, 4),
]


def conv_inputs(rng, groups, dtype=np.float64, x_shape=(2, 4, 6, 5), kernel=(3, 2)):
    x = tensor(rng.standard_normal(x_shape).astype(dtype), requires_grad=True)
    w = tensor(rng.standard_normal((4, x_shape[1] // groups) + kernel).astype(dtype),
               requires_grad=True)
    b = tensor(rng.standard_normal(4).astype(dtype), requires_grad=True)
    return x, w, b


@pytest.mark.parametrize("stride, padding, dilation, groups", COMBOS)
def test_conv2d_gradcheck(stride, padding, dilation, groups, conv_kernels, rng):
    x, w, b = conv_inputs(rng, groups)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                     [x, w, b])


def test_conv2d_gradcheck_without_bias_and_with_same_padding(conv_kernels, rng):
    x, w, _ = conv_inputs(rng, 1, kernel=(2, 3))
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding="same"), [x, w])
    assert F.conv2d(x, w, padding="same").shape == x.shape[:1] + (4,) + x.shape[2:]


@pytest.mark.parametrize("stride, padding, dilation, groups",
                         COMBOS + [(1, "same", 1, 1), (1, "same", (2, 1), 1), (1, "valid", 1, 2)])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 3)])
@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_matches_torch(stride, padding, dilation, groups, kernel, conv_kernels, rng):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    x, w, b = conv_inputs(rng, groups, np.float32, (3, 4, 9, 8), kernel)
    y = F.conv2d(x, w, b, stride, padding, dilation, groups)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(g)
    tx, tw, tb = (torch.tensor(t.array, requires_grad=True) for t in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation, groups)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.array, ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    for mine, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(mine.grad.array, theirs.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_conv2d_unbatched_input_matches_batched(rng):
    x, w, b = conv_inputs(rng, 1, np.float32)
    single = F.conv2d(x[0], w, b, padding=1)
    # NOTE: float32 products of 30 and of 60 columns may round differently in BLAS (seen: 1.8e-6)
    np.testing.assert_allclose(single.array, F.conv2d(x, w, b, padding=1).array[0], rtol=1e-5,
                               atol=1e-6)


def test_conv2d_only_the_gradients_asked_for(rng):
    x, w, b = conv_inputs(rng, 1, np.float32)
    frozen = tensor(w.array)  # weight without grad: no cols kept, dx still right
    F.conv2d(x, frozen, b).sum().backward()
    data_only = tensor(x.array)
    F.conv2d(data_only, w, None).sum().backward()
    assert x.grad is not None and w.grad is not None and data_only.grad is None


def test_saved_columns_survive_later_forwards(conv_kernels, rng):
    # Two forwards of the same shape, then both backwards: each must use its own columns.
    x1, w, b = conv_inputs(rng, 1, np.float32)
    x2 = tensor(rng.standard_normal(x1.shape).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((2, 4, 4, 4)).astype(np.float32)
    y1, y2 = F.conv2d(x1, w, b), F.conv2d(x2, w, b)
    with microdl.no_grad():
        F.conv2d(tensor(np.ones_like(x1.array)), w, b)  # a third, unrecorded forward
    y2.backward(g)
    dw2 = w.grad.array.copy()
    w.grad = None
    y1.backward(g, retain_graph=True)
    dw1 = w.grad.array.copy()
    F.conv2d(x2, w, b)  # a forward between the two backwards of a retained graph
    w.grad = None
    y1.backward(g)
    np.testing.assert_array_equal(w.grad.array, dw1)
    for x, dw in ((x1, dw1), (x2, dw2)):
        fresh = tensor(w.array, requires_grad=True)
        _buffers.clear()
        F.conv2d(tensor(x.array), fresh, b).backward(g)
        np.testing.assert_allclose(dw, fresh.grad.array, rtol=1e-6)
    assert not np.allclose(dw1, dw2)


@pytest.mark.parametrize("x_shape, w_shape, kwargs, message", [
    ((28, 28), (32, 3, 3, 3), {}, r"Expected 3D \(unbatched\) or 4D \(batched\) input to "
                                     r"conv2d, but got input of size: \[28, 28\]"),
    ((64, 1, 28, 28), (32, 3, 3, 3), {},
     r"Given groups=1, weight of size \[32, 3, 3, 3\], expected input\[64, 1, 28, 28\] to have "
     r"3 channels, but got 1 channels instead"),
    ((1, 3, 2, 2), (4, 3, 3, 3), {}, r"Calculated padded input size per channel: \(2 x 2\). "
                                     r"Kernel size: \(3 x 3\). Kernel size can't be greater "
                                     r"than actual input size"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"stride": 0}, "non-positive stride is not supported"),
    ((1, 3, 5, 5), (4, 3, 3, 3), {"padding": -1}, "negative padding is not supported"),
    ((1, 4, 5, 5), (3, 2, 3, 3), {"groups": 2}, "expected weight to be divisible by 2"),
])
def test_conv2d_errors_name_the_shapes(x_shape, w_shape, kwargs, message):
    x = tensor(np.zeros(x_shape, np.float32))
    with pytest.raises(RuntimeError, match=message):
        F.conv2d(x, tensor(np.zeros(w_shape, np.float32)), **kwargs)


def test_conv2d_padding_strings_are_checked():
    x, w = tensor(np.zeros((1, 1, 5, 5), np.float32)), tensor(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        F.conv2d(x, w, padding="full")
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        F.conv2d(x, w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        F.conv2d(x, tensor(np.zeros((1, 1, 3, 3))))


def test_conv2d_wants_the_inputs_dtype_in_the_weight():
    # PyTorch computes integer convolutions, in the input's dtype only
    w = tensor(np.zeros((1, 1, 3, 3), np.float32))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Float"):
        F.conv2d(tensor(np.zeros((1, 1, 5, 5), np.int64)), w)


def test_per_sample_layout_is_taken_and_agrees_with_the_batched_one(monkeypatch, rng,
                                                                      layouts_taken):
    # a first layer of a CNN: 1 input channel, 9 taps, a batch of 16 in 8 sample blocks
    x = rng.standard_normal((16, 1, 12, 12)).astype(np.float32)
    w = rng.standard_normal((5, 1, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    g = rng.standard_normal((16, 5, 12, 12)).astype(np.float32)
    results = {}
    monkeypatch.setattr(cpu_conv, "WINOGRAD", False)  # the batched layout here: whole cols
    for limit in (32, 0):
        monkeypatch.setattr(cpu_conv, "PER_SAMPLE_MAX_TAPS", limit)
        tx, tw, tb = (tensor(a, requires_grad=True) for a in (x, w, b))
        layouts_taken.clear()
        y = F.conv2d(tx, tw, tb, padding=1)
        y.backward(g)
        assert layouts_taken == ["per_sample" if limit == 32 else "whole"] * 2
        results[limit] = [y.array, tx.grad.array, tw.grad.array, tb.grad.array]
    for per_sample, batched in zip(results[32], results[0]):
        np.testing.assert_allclose(per_sample, batched, rtol=1e-4, atol=1e-4)


def test_per_sample_gradients_do_not_depend_on_the_thread_count(monkeypatch, rng,
                                                                 layouts_taken):
    x = tensor(rng.standard_normal((16, 2, 10, 10)).astype(np.float32), requires_grad=True)
    w = tensor(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), requires_grad=True)
    b = tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
    g = rng.standard_normal((16, 4, 8, 8)).astype(np.float32)
    grads = []
    for pool in ("threads", None):
        if pool is None:
            monkeypatch.setitem(_blas._setup(), "pool", None)  # every block on this thread
        for t in (x, w, b):
            t.grad = None
        F.conv2d(x, w, b).backward(g)
        assert layouts_taken[-2:] == ["per_sample"] * 2
        grads.append([t.grad.array.copy() for t in (x, w, b)])
    for one, other in zip(*grads):
        np.testing.assert_array_equal(one, other)


def _layouts_agree(monkeypatch, layouts_taken, x, w, b, g, need_x=True, layout="blocked"):
    """Outputs and gradients of the blocked (or Winograd) layout next to the one-product one
    (each run asserts that forward and backward took its layout)."""
    monkeypatch.setattr(_blas, "manages_blas", lambda: True)
    results = {}
    for chosen in (layout, "whole"):
        monkeypatch.setattr(cpu_conv, "PER_SAMPLE_MAX_TAPS", 0)
        monkeypatch.setattr(cpu_conv, "WINOGRAD", chosen == "winograd")
        monkeypatch.setattr(cpu_conv, "BLOCKED_MIN_COLUMNS", 1 if chosen == "blocked" else 10 ** 9)
        tx = tensor(x, requires_grad=need_x)
        tw, tb = (None if a is None else tensor(a, requires_grad=True) for a in (w, b))
        layouts_taken.clear()
        y = F.conv2d(tx, tw, tb, padding=1)
        y.backward(g)
        assert layouts_taken == [chosen] * 2
        results[chosen] = [y.array] + [t.grad.array for t in (tx, tw, tb)
                                      if t is not None and t.requires_grad]
    for one, other in zip(results[layout], results["whole"]):
        np.testing.assert_allclose(one, other, rtol=1e-4, atol=1e-4)
    return results[layout]


@pytest.mark.parametrize("layout", ["blocked", "winograd"])
@pytest.mark.parametrize("with_bias, need_x", [(True, True), (False, True), (True, False)])
def test_blocked_layouts_are_taken_and_agree_with_the_batched_one(monkeypatch, rng, with_bias,
                                                                   need_x, layout, layouts_taken):
    # 11 samples in 8 blocks (of one or two), 36 taps: the CNN's second layer, shrunk
    x = rng.standard_normal((11, 4, 9, 7)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32) if with_bias else None
    g = rng.standard_normal((11, 5, 9, 7)).astype(np.float32)
    _layouts_agree(monkeypatch, layouts_taken, x, w, b, g, need_x, layout)


def _geometry(kernel=3, stride=1, padding=1, dilation=1):
    return (kernel, kernel), (stride, stride), (padding, padding), (dilation, dilation)


def test_winograd_is_the_default_for_a_cnns_second_layer_and_blocked_for_other_kernels():
    managed = _blas.manages_blas()

    def layout(n, taps, out_hw, groups=1, geometry=_geometry(), dtype=np.float32):
        return cpu_conv._layout(n, taps, out_hw, groups, geometry, np.dtype(dtype))

    assert layout(64, 32 * 9, (14, 14)) == ("winograd" if managed else "whole")
    assert layout(64, 32 * 9, (14, 14), groups=2) == "whole"  # a product per group
    assert layout(64, 9, (14, 14)) == "per_sample"  # few taps
    assert layout(4, 9, (28, 28)) == "whole"  # fewer samples than blocks
    # not 3x3 of stride 1, or integers: the blocked layout, on wide enough products
    blocked = "blocked" if managed else "whole"
    assert layout(64, 32 * 9, (14, 14), dtype=np.int64) == blocked
    for geometry in (_geometry(stride=2), _geometry(dilation=2), _geometry(kernel=5)):
        taps = 32 * geometry[0][0] ** 2
        assert layout(64, taps, (14, 14), geometry=geometry) == blocked
        assert layout(64, taps, (4, 4), geometry=geometry) == "whole"  # 128 columns a block


def test_integer_convolutions_stay_exact_where_floats_take_winograd(layouts_taken):
    rng = np.random.default_rng(9)
    x = rng.integers(-50, 50, (8, 4, 5, 5))
    w = rng.integers(-50, 50, (3, 4, 3, 3))
    y = F.conv2d(tensor(x), tensor(w), padding=1)
    assert "winograd" not in layouts_taken
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = sum(np.einsum("nchw,kc->nkhw", padded[:, :, i:i + 5, j:j + 5], w[:, :, i, j])
                   for i in range(3) for j in range(3))
    np.testing.assert_array_equal(y.array, expected)


@pytest.fixture
def blas_setup_per_thread_count():
    """set(threads): numba on that many threads and microdl's BLAS setup made anew for it, as
    a new process with NUMBA_NUM_THREADS=threads makes it (one thread: no pool, no split)."""
    import numba

    saved, previous = dict(_blas._state), numba.get_num_threads()

    def drop_made_setup():
        pool = _blas._state.get("pool")
        if pool is not None and pool is not saved.get("pool"):
            pool.shutdown()
        _blas._state.clear()

    def set_threads(threads):
        drop_made_setup()
        numba.set_num_threads(threads)
        _blas._setup()

    yield set_threads
    drop_made_setup()
    numba.set_num_threads(previous)
    _blas._state.update(saved)


@pytest.mark.skipif(__import__("numba").config.NUMBA_NUM_THREADS < 2,
                    reason="numba has a single thread")
@pytest.mark.parametrize("layout", ["blocked", "winograd"])
def test_blocked_results_do_not_depend_on_the_thread_count(monkeypatch, rng, layout,
                                                           blas_setup_per_thread_count,
                                                           layouts_taken):
    """One numba thread (blocks one after another, products whole) and two (blocks on two
    threads, products split): the same layout and the same bits, when microdl manages BLAS."""
    monkeypatch.setattr(cpu_conv, "BLOCKED_MIN_COLUMNS", 1)
    monkeypatch.setattr(cpu_conv, "WINOGRAD", layout == "winograd")
    x = rng.standard_normal((16, 4, 10, 10)).astype(np.float32)
    w = rng.standard_normal((3, 4, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    g = rng.standard_normal((16, 3, 10, 10)).astype(np.float32)
    results = {}
    for threads in (1, 2):
        blas_setup_per_thread_count(threads)
        assert _blas.split_available() == (threads == 2 and _blas.manages_blas())
        tx, tw, tb = (tensor(a, requires_grad=True) for a in (x, w, b))
        layouts_taken.clear()
        y = F.conv2d(tx, tw, tb, padding=1)
        y.backward(g)
        assert layouts_taken == [layout if _blas.manages_blas() else "whole"] * 2
        results[threads] = [y.array.copy()] + [t.grad.array.copy() for t in (tx, tw, tb)]
    for one, two in zip(results[1], results[2]):
        np.testing.assert_array_equal(one, two)
