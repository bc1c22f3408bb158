"""Conv kernels: the numpy reference against naive loops, every other set against the reference.

The numba set runs its four layouts (per sample, Winograd, blocked, whole cols), the cuda set
runs in numba's simulator (tests/conftest.py sets NUMBA_ENABLE_CUDASIM=1) with shrunk launches,
on tiny shapes."""

import sys

import numpy as np
import pytest

from microdl.backend import kernel_module
from microdl.kernels.cpu import _blas
from microdl.kernels.cpu import conv as cpu
from microdl.kernels.cpu._jit import PARALLEL_MIN_ELEMENTS

ref = kernel_module("numpy", "conv")

# (N, C, H, W), kernel, stride, padding, dilation: odd and even kernels, strides, dilation,
# padding wider than the dilated half-kernel, and one shape above the parallel threshold.
GEOMETRIES = [
    ((2, 3, 7, 6), (3, 2), (1, 1), (1, 0), (1, 1)),
    ((2, 3, 9, 8), (3, 3), (2, 3), (2, 1), (2, 1)),
    ((1, 2, 5, 5), (1, 1), (2, 2), (0, 0), (1, 1)),
    ((3, 1, 6, 7), (2, 3), (1, 2), (3, 2), (1, 2)),
    ((16, 8, 12, 12), (3, 3), (1, 1), (1, 1), (1, 1)),
]


@pytest.fixture
def kernels(request, monkeypatch):
    """The conv module of the set named by the test's ``set_name`` parameter; "cuda" with
    launches shrunk as tests/cuda/conftest.py shrinks them."""
    name = request.getfixturevalue("set_name")
    if name == "cuda":
        from numba import cuda

        if not cuda.is_available():
            pytest.skip("no CUDA GPU or driver and NUMBA_ENABLE_CUDASIM is not set")
        from microdl.kernels.cuda import _config as config

        for setting, value in dict(THREADS_PER_BLOCK=8, MAX_BLOCKS=3, TILE=4).items():
            monkeypatch.setattr(config, setting, value)
        # the simulator's threads meet at every syncthreads: switch between them quickly
        previous = sys.getswitchinterval()
        sys.setswitchinterval(1e-4)
        request.addfinalizer(lambda: sys.setswitchinterval(previous))
    return kernel_module(name, "conv")


def call(kernels, name, *args):
    """kernels.name(*args) on copies of the array arguments (device copies for cuda); returns the
    copies, read back, so outputs are checked after the call."""
    if kernels.__name__.endswith("cuda.conv"):
        from numba import cuda

        device = [cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args]
        getattr(kernels, name)(*device)
        return [d.copy_to_host() if isinstance(a, np.ndarray) else a
                for a, d in zip(args, device)]
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    getattr(kernels, name)(*copies)
    return copies


def out_hw(shape, kernel, stride, padding, dilation):
    return tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                 for s, k, st, p, d in zip(shape[2:], kernel, stride, padding, dilation))


def naive_im2col(x, kernel, stride, padding, dilation):
    n_, c_, h, w = x.shape
    oh_, ow_ = out_hw(x.shape, kernel, stride, padding, dilation)
    cols = np.zeros((c_ * kernel[0] * kernel[1], n_, oh_, ow_), x.dtype)
    for c in range(c_):
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                for n in range(n_):
                    for oh in range(oh_):
                        for ow in range(ow_):
                            ih = oh * stride[0] - padding[0] + i * dilation[0]
                            iw = ow * stride[1] - padding[1] + j * dilation[1]
                            if 0 <= ih < h and 0 <= iw < w:
                                cols[(c * kernel[0] + i) * kernel[1] + j, n, oh, ow] = \
                                    x[n, c, ih, iw]
    return cols


def naive_conv2d(x, weight, bias, stride, padding, dilation, groups):
    """The definition, one output value at a time (float64)."""
    n_, c_ = x.shape[:2]
    cout, cg, kh, kw = weight.shape
    oh_, ow_ = out_hw(x.shape, (kh, kw), stride, padding, dilation)
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    out = np.zeros((n_, cout, oh_, ow_))
    for co in range(cout):
        g = co // (cout // groups)
        for oh in range(oh_):
            for ow in range(ow_):
                h0, w0 = oh * stride[0], ow * stride[1]
                window = padded[:, g * cg:(g + 1) * cg, h0:h0 + dilation[0] * (kh - 1) + 1:
                                dilation[0], w0:w0 + dilation[1] * (kw - 1) + 1:dilation[1]]
                out[:, co, oh, ow] = np.sum(window * weight[co], axis=(1, 2, 3))
    return out + (0 if bias is None else bias[None, :, None, None])


def test_geometries_cover_both_compiled_paths():
    sizes = [np.prod(g[0]) * np.prod(g[1]) for g in GEOMETRIES]
    assert min(sizes) < PARALLEL_MIN_ELEMENTS <= max(sizes)


@pytest.mark.parametrize("geometry", GEOMETRIES[:4])
def test_reference_im2col_matches_naive_loops_and_col2im_is_its_adjoint(geometry):
    shape, *hyper = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    cols = np.empty((shape[1] * hyper[0][0] * hyper[0][1], shape[0])
                    + out_hw(shape, *hyper))
    ref.im2col(x, cols, *hyper)
    np.testing.assert_array_equal(cols, naive_im2col(x, *hyper))
    # <im2col(x), c> == <x, col2im(c)> for any c: col2im is exactly im2col's transpose.
    c = rng.standard_normal(cols.shape)
    back = np.empty_like(x)
    ref.col2im(c, back, *hyper)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=1e-12)


def on_sets(cases):
    """(set name, case) pairs: numba on every case, cuda on those of at most 500 values (the
    simulator runs a Python thread per CUDA thread)."""
    return [("numba", case) for case in cases] + [
        pytest.param("cuda", case, marks=pytest.mark.cuda) for case in cases
        if np.prod(case[0] if isinstance(case[0], tuple) else case) <= 500]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("set_name, geometry", on_sets(GEOMETRIES))
def test_im2col_col2im_match_reference(kernels, set_name, geometry, dtype):
    shape, *hyper = geometry
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    cols_shape = (shape[1] * hyper[0][0] * hyper[0][1], shape[0]) + out_hw(shape, *hyper)
    expected = np.empty(cols_shape, dtype)
    ref.im2col(x, expected, *hyper)
    got = call(kernels, "im2col", x, np.full(cols_shape, np.nan, dtype), *hyper)[1]
    np.testing.assert_array_equal(got, expected)
    c = rng.standard_normal(cols_shape).astype(dtype)
    expected_dx = np.empty_like(x)
    ref.col2im(c, expected_dx, *hyper)
    got_dx = call(kernels, "col2im", c, np.full_like(x, np.nan), *hyper)[1]
    np.testing.assert_allclose(got_dx, expected_dx, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("set_name, shape", on_sets([(2, 3, 4, 5), (32, 16, 12, 12)]))
def test_reorders_match_reference(kernels, set_name, shape, dtype):
    n, cout, oh, ow = shape
    rng = np.random.default_rng(2)
    y_cols = rng.standard_normal((cout, n, oh, ow)).astype(dtype)
    bias = rng.standard_normal(cout).astype(dtype)
    expected = np.empty(shape, dtype)
    ref.cols_to_output(y_cols, bias, expected)
    got = call(kernels, "cols_to_output", y_cols, bias, np.full(shape, np.nan, dtype))[2]
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(expected[1, 2], y_cols[2, 1] + bias[2])
    g = rng.standard_normal(shape).astype(dtype)
    grads, sums = np.empty_like(y_cols), np.empty(cout, dtype)
    ref.output_grad_to_cols(g, grads, sums)
    got_grads, got_sums = call(kernels, "output_grad_to_cols", g, np.full_like(y_cols, np.nan),
                               np.full(cout, np.nan, dtype))[1:]
    np.testing.assert_array_equal(got_grads, grads)
    np.testing.assert_array_equal(grads, g.transpose(1, 0, 2, 3))
    np.testing.assert_allclose(got_sums, sums, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(sums, g.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-6)


# ---- conv2d_forward / conv2d_backward ------------------------------------------------------------
# (N, C, H, W), Cout, kernel, stride, padding, dilation, groups
CONVS = [
    ((2, 4, 5, 4), 4, (3, 2), (1, 1), (1, 0), (1, 1), 1),
    ((2, 4, 6, 5), 6, (3, 3), (2, 1), (1, 2), (2, 1), 2),
    ((2, 2, 4, 4), 3, (1, 1), (2, 2), (0, 0), (1, 1), 1),
    ((3, 4, 4, 3), 4, (2, 2), (1, 1), (1, 1), (1, 1), 4),
    # 3x3, stride 1 (Winograd's): odd and even sizes, padding 0, 1, 2 and (2, 0), a 1x1 output
    ((2, 4, 5, 6), 3, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((2, 5, 7, 7), 6, (3, 3), (1, 1), (0, 0), (1, 1), 1),
    ((3, 4, 3, 4), 5, (3, 3), (1, 1), (2, 2), (1, 1), 1),
    ((2, 4, 3, 3), 2, (3, 3), (1, 1), (0, 0), (1, 1), 1),
    ((2, 3, 6, 5), 4, (3, 3), (1, 1), (2, 0), (1, 1), 1),
]
LAYOUTS = ["per_sample", "winograd", "blocked", "whole"]
SETS_AND_LAYOUTS = [("numba", layout) for layout in LAYOUTS] + [
    pytest.param("cuda", None, marks=pytest.mark.cuda)]


def take_layout(monkeypatch, layout):
    """Make the numba kernels choose ``layout`` for small test batches (two sample blocks);
    groups > 1 always take the whole layout, and Winograd only 3x3 convolutions of stride 1
    (the others take the blocked layout then)."""
    monkeypatch.setattr(cpu, "SAMPLE_BLOCKS", 2)
    monkeypatch.setattr(cpu, "PER_SAMPLE_MAX_TAPS", 10 ** 9 if layout == "per_sample" else 0)
    monkeypatch.setattr(cpu, "WINOGRAD", layout == "winograd")
    monkeypatch.setattr(cpu, "BLOCKED_MIN_COLUMNS", 1 if layout in ("blocked", "winograd")
                        else 10 ** 9)
    monkeypatch.setattr(_blas, "manages_blas", lambda: True)


def conv_case(rng, conv, dtype, with_bias=True):
    shape, cout, kernel, stride, padding, dilation, groups = conv
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((cout, shape[1] // groups) + kernel).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if with_bias else None
    hw = out_hw(shape, kernel, stride, padding, dilation)
    g = rng.standard_normal((shape[0], cout) + hw).astype(dtype)
    cols = np.empty((shape[1] * kernel[0] * kernel[1], shape[0]) + hw, dtype)
    return x, w, b, g, cols, (stride, padding, dilation, groups)


def forward_and_backward(kernels, x, w, b, g, cols, hyper, needs=(True, True, True)):
    """out, grad_x, grad_weight, grad_bias of one set (None where not asked for); backward
    gets the cols its own forward left."""
    out = np.full(g.shape, np.nan, x.dtype)
    out, cols = call(kernels, "conv2d_forward", x, w, b, out, cols, *hyper)[3:5]
    outputs = [np.full(a.shape, np.nan, x.dtype) if need and a is not None else None
               for a, need in zip((x, w, b), needs)]
    grads = call(kernels, "conv2d_backward", x, cols, w, g, *outputs, *hyper)[4:7]
    return [out] + grads


@pytest.mark.parametrize("conv", CONVS)
def test_reference_conv2d_forward_matches_the_definition(conv):
    x, w, b, g, cols, hyper = conv_case(np.random.default_rng(3), conv, np.float64)
    out = np.empty(g.shape)
    ref.conv2d_forward(x, w, b, out, cols, *hyper)
    np.testing.assert_allclose(out, naive_conv2d(x, w, b, *hyper), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("conv", CONVS)
def test_reference_conv2d_backward_is_forwards_adjoint(conv):
    """<dy, conv(x, w)> is linear in x and in w: its gradients are backward's, so
    <dy, conv(x + e, w)> - <dy, conv(x, w)> = <grad_x, e> exactly, and likewise for w and b."""
    rng = np.random.default_rng(4)
    x, w, b, g, cols, hyper = conv_case(rng, conv, np.float64)
    out, dx, dw, db = forward_and_backward(ref, x, w, b, g, cols, hyper)

    def inner(x_, w_, b_):
        return np.sum(g * naive_conv2d(x_, w_, b_, *hyper))

    for i, grad in enumerate((dx, dw, db)):
        e = rng.standard_normal(grad.shape)
        moved = [x, w, b]
        moved[i] = moved[i] + e
        np.testing.assert_allclose(inner(*moved) - inner(x, w, b), np.sum(grad * e), rtol=1e-9)


@pytest.mark.parametrize("set_name, layout", SETS_AND_LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv", CONVS)
def test_conv2d_matches_reference(kernels, set_name, layout, conv, dtype, monkeypatch):
    if set_name == "numba":
        take_layout(monkeypatch, layout)
    rng = np.random.default_rng(5)
    case = conv_case(rng, conv, dtype)
    expected = forward_and_backward(ref, *case)
    got = forward_and_backward(kernels, *case)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)
    for name, e, a in zip(("out", "grad_x", "grad_weight", "grad_bias"), expected, got):
        np.testing.assert_allclose(a, e, err_msg=name, **tol)


@pytest.mark.parametrize("set_name, layout", SETS_AND_LAYOUTS)
@pytest.mark.parametrize("needs", [(True, False, False), (False, True, True),
                                   (False, True, False)])
def test_conv2d_computes_only_the_gradients_asked_for(kernels, set_name, layout, needs,
                                                      monkeypatch):
    """None outputs are skipped; without dW, backward gets no cols (nor x), as the op passes."""
    if set_name == "numba":
        take_layout(monkeypatch, layout)
    rng = np.random.default_rng(6)
    x, w, b, g, cols, hyper = conv_case(rng, CONVS[0], np.float32, with_bias=needs[2])
    expected = forward_and_backward(ref, x, w, b, g, cols, hyper, needs)
    cols = call(kernels, "conv2d_forward", x, w, b, np.empty(g.shape, np.float32), cols,
                *hyper)[4]
    outputs = [np.full(a.shape, np.nan, np.float32) if need else None
               for a, need in zip((x, w, b), needs)]
    saved = (x, cols) if needs[1] else (None, None)
    got = call(kernels, "conv2d_backward", *saved, w, g, *outputs, *hyper)[4:7]
    for e, a in zip(expected[1:], got):
        assert (e is None) == (a is None)
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_numba_kernels_take_non_contiguous_inputs(layout, monkeypatch):
    """x and grad_out may come in any memory order (a transposed input, a gradient view)."""
    take_layout(monkeypatch, layout)
    rng = np.random.default_rng(7)
    x, w, b, g, cols, hyper = conv_case(rng, CONVS[0], np.float32)
    expected = forward_and_backward(ref, x, w, b, g, cols, hyper)
    x_view, g_view = np.asfortranarray(x), np.asfortranarray(g)
    out = np.empty(g.shape, np.float32)
    cpu.conv2d_forward(x_view, w, b, out, cols, *hyper)
    grads = [np.empty_like(a) for a in (x, w, b)]
    cpu.conv2d_backward(x_view, cols, w, g_view, *grads, *hyper)
    for e, a in zip(expected, [out] + grads):
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4)



def test_winograd_cases_take_the_winograd_layout(monkeypatch):
    """The 3x3 stride-1 cases above do run Winograd's passes (and nothing else does)."""
    take_layout(monkeypatch, "winograd")
    chosen = [cpu._layout(conv[0][0], conv[0][1] * 9, out_hw(conv[0], *conv[2:3], *conv[3:6]),
                          conv[6], conv[2:6], np.float32) for conv in CONVS]
    winograd = [conv[2] == (3, 3) and conv[3] == (1, 1) and conv[5] == (1, 1) and conv[6] == 1
                for conv in CONVS]
    assert [c == "winograd" for c in chosen] == winograd and sum(winograd) == 5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_passes_match_the_matrix_definitions(dtype):
    """Each pass against its definition with B^T, G, A^T as matrices (numpy einsum on
    explicit 4x4 windows and 2x2 blocks), at an odd output size and padding 2."""
    from microdl.kernels.cpu import _winograd as wg

    bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype)
    at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype)
    rng = np.random.default_rng(8)
    n, c, h, w, pad = 3, 2, 4, 5, 2
    oh, ow = h + 2 * pad - 2, w + 2 * pad - 2
    th, tw = wg.tiles((oh, ow))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    padded = np.zeros((n, c, 2 * th + 2, 2 * tw + 2), dtype)
    padded[:, :, pad:pad + h, pad:pad + w] = x
    windows = np.stack([np.stack([padded[:, :, 2 * i:2 * i + 4, 2 * j:2 * j + 4]
                                  for j in range(tw)], 2) for i in range(th)], 2)
    expected_v = np.einsum("ab,ncijbd,ed->aecinj", bt, windows, bt).reshape(16, c, th, n * tw)
    k = 3
    maps = wg.maps(n, c, k, (h, w), (oh, ow), (pad, pad))
    v = np.full(wg.tile_rows(c, n, (oh, ow)), np.nan, dtype)
    wg.input_tiles(x.reshape(-1), x.shape, v, *wg.scratch(n, (oh, ow), dtype), maps.spread)
    np.testing.assert_allclose(wg.as_matrices(v, c).reshape(expected_v.shape), expected_v,
                               rtol=1e-6, atol=1e-6)
    # output: y = A^T m A per tile, cut to (OH, OW), plus the bias
    m = np.full(wg.tile_rows(k, n, (oh, ow)), np.nan, dtype)
    tiles16 = rng.standard_normal((4, 4, k, th, n, tw)).astype(dtype)
    wg.as_matrices(m, k)[...] = tiles16.reshape(16, k, -1)
    bias = rng.standard_normal(k).astype(dtype)
    blocks = np.einsum("ai,ijkrnt,bj->nkratb", at, tiles16, at).reshape(n, k, 2 * th, 2 * tw)
    out = np.full((n, k, oh, ow), np.nan, dtype)
    wg.output_tiles(m, bias, out.reshape(-1), out.shape, *wg.scratch(n, (oh, ow), dtype),
                    maps.scatter)
    np.testing.assert_allclose(out, blocks[:, :, :oh, :ow] + bias[:, None, None], rtol=1e-6,
                               atol=1e-6)
    # the backward passes are the adjoints: <dm, output pass^T(g)> = <output pass(dm), g>
    g = rng.standard_normal((n, k, oh, ow)).astype(dtype)
    dm = np.full_like(m, np.nan)
    wg.output_grad_tiles(g.reshape(-1), g.shape, dm, *wg.scratch(n, (oh, ow), dtype),
                         maps.scatter)
    np.testing.assert_allclose(np.sum(wg.as_matrices(dm, k) * wg.as_matrices(m, k)),
                               np.sum((out - bias[:, None, None]) * g), rtol=1e-5)
    dv = rng.standard_normal(v.shape).astype(dtype)
    gx = np.full_like(x, np.nan)
    wg.input_grad_tiles(dv, gx.reshape(-1), gx.shape, *wg.scratch(n, (oh, ow), dtype),
                        maps.gather)
    np.testing.assert_allclose(np.sum(gx * x), np.sum(wg.as_matrices(dv, c) *
                                                      wg.as_matrices(v, c)), rtol=1e-5)
    # weight_grad is weight_transform's adjoint
    wt = rng.standard_normal((k, c, 3, 3)).astype(dtype)
    du = rng.standard_normal((16, k, c)).astype(dtype)
    np.testing.assert_allclose(np.sum(wg.weight_transform(wt) * du),
                               np.sum(wt * wg.weight_grad(du)), rtol=1e-5)
