"""Property-based tests (hypothesis): gradients on random shapes, BatchNorm's invariants, and
fuzzing of the two file readers (``read_idx``, ``load``) with random and damaged bytes.

Binary elementwise broadcasts already have their random-shape gradcheck in
tests/ops/test_gradcheck_ops.py; these cover reductions, the softmax family, matmul, linear and
batch_norm on random shapes.
"""

import gzip
import json
import struct
import zipfile

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import microdl
import microdl.functional as F
from microdl import gradcheck, tensor
from microdl.data import IDXError, read_idx
from microdl.io import CheckpointError

FAST = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def random_input(shape, seed, spread=1.0):
    data = np.random.default_rng(seed).standard_normal(shape) * spread
    return tensor(data, requires_grad=True)


@FAST
@given(shapes, st.data(), st.sampled_from(["sum", "mean", "amax"]), st.booleans(),
       st.integers(0, 2 ** 16))
def test_reductions_gradcheck_over_random_axes(shape, data, name, keepdims, seed):
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=len(shape),
                              unique_by=lambda a: a % len(shape)))
    axis = None if not axes else tuple(axes)
    x = random_input(shape, seed)
    assert gradcheck(lambda a: getattr(a, name)(axis if axis else (), keepdim=keepdims) if name == "amax"
                     else getattr(a, name)(axis=axis, keepdims=keepdims), [x])


@FAST
@given(shapes, st.data(), st.sampled_from(["softmax", "log_softmax"]), st.integers(0, 2 ** 16))
def test_softmax_family_gradcheck_along_a_random_dim(shape, data, name, seed):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = random_input(shape, seed, spread=3.0)
    assert gradcheck(lambda a: getattr(F, name)(a, dim=dim), [x])


@FAST
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.lists(st.integers(1, 3), max_size=2), st.booleans(), st.integers(0, 2 ** 16))
def test_matmul_gradcheck_with_broadcast_batch_axes(n, k, m, batch, batch_on_left, seed):
    a_shape = (*batch, n, k) if batch_on_left else (n, k)
    b_shape = (k, m) if batch_on_left else (*batch, k, m)
    a, b = random_input(a_shape, seed), random_input(b_shape, seed + 1)
    assert gradcheck(lambda x, y: x @ y, [a, b])


@FAST
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.integers(1, 4), st.integers(1, 4),
       st.booleans(), st.integers(0, 2 ** 16))
def test_linear_gradcheck_on_random_leading_axes(lead, n_in, n_out, bias, seed):
    x = random_input((*lead, n_in), seed)
    w = random_input((n_out, n_in), seed + 1)
    b = random_input((n_out,), seed + 2) if bias else None
    inputs = [x, w] + ([b] if bias else [])
    assert gradcheck(lambda *t: F.linear(*t) if bias else F.linear(t[0], t[1]), inputs)


@FAST
@given(st.integers(2, 5), st.integers(1, 3), st.lists(st.integers(1, 3), max_size=2),
       st.booleans(), st.integers(0, 2 ** 16))
def test_batch_norm_gradcheck_on_random_shapes(n, c, spatial, affine, seed):
    x = random_input((n, c, *spatial), seed, spread=2.0)
    weight = random_input((c,), seed + 1) if affine else None
    bias = random_input((c,), seed + 2) if affine else None
    inputs = [x] + ([weight, bias] if affine else [])

    def fn(a, w=None, b=None):
        return F.batch_norm(a, None, None, w, b, training=True)

    assert gradcheck(fn, inputs, rtol=2e-3)


# ---- BatchNorm invariants ------------------------------------------------------------------------

@FAST
@given(st.integers(2, 16), st.integers(1, 6), st.lists(st.integers(1, 5), max_size=2),
       st.floats(1e-2, 1e3), st.floats(-1e4, 1e4), st.sampled_from([np.float32, np.float64]),
       st.sampled_from(["numba", "numpy"]), st.integers(0, 2 ** 16))
def test_batch_norm_output_has_zero_mean_and_unit_variance_per_channel(
        n, c, spatial, scale, mean_over_std, dtype, kernels, seed):
    # Training without affine: y = (x - mean) / sqrt(var + eps), so per channel mean(y) = 0 and
    # var(y) = var / (var + eps), for channels whose mean is up to 1e4 standard deviations.
    # The tolerance is what the dtype allows: x - mean runs in x's dtype with mean rounded to
    # it (as in PyTorch), an error of ~eps_dtype * |mean| / std in each output.
    shape = (n, c, *spatial)
    axes = tuple(i for i in range(len(shape)) if i != 1)
    assume(int(np.prod(shape)) // c > 1)
    x = np.random.default_rng(seed).standard_normal(shape)
    x = (x * scale + mean_over_std * scale).astype(dtype)
    var = x.var(axis=axes, dtype=np.float64)
    assume(np.all(var > 0))
    previous = microdl.get_kernels()
    microdl.set_kernels(kernels)
    try:
        y = F.batch_norm(tensor(x), None, None, training=True).array
    finally:
        microdl.set_kernels(previous)
    # per channel: rounding of |y| <= sqrt(m) values, and of the mean, |mu| / sqrt(var + eps)
    m = x.size // c
    mu = x.mean(axis=axes, dtype=np.float64)
    tol = 16 * np.finfo(dtype).eps * (np.sqrt(m) + np.abs(mu) / np.sqrt(var + 1e-5))
    assert y.dtype == dtype
    assert np.all(np.abs(y.mean(axis=axes, dtype=np.float64)) <= tol)
    expected_var = var / (var + 1e-5)
    assert np.all(np.abs(y.var(axis=axes, dtype=np.float64) - expected_var) <= 4 * tol * (
        1 + expected_var))


@FAST
@given(st.integers(3, 12), st.integers(1, 5), st.integers(1, 5), st.floats(1e-3, 1e3),
       st.integers(0, 2 ** 16))
def test_batch_norm_is_invariant_to_scaling_the_weights_before_it(n, n_in, n_out, a, seed):
    # BN(x (aW)^T) = BN(x W^T) for a > 0 (up to eps, made negligible here: the invariance
    # breaks by eps / (a^2 var)); so dL/dx is the
    # same and dL/d(aW) = dL/dW / a: the property behind BN's claim of scale-free training.
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((n, n_in))
    w0 = rng.standard_normal((n_out, n_in))
    g = rng.standard_normal((n, n_out))
    assume(np.all((x0 @ w0.T).std(axis=0) > 1e-3))
    results = []
    for factor in (1.0, a):
        x = tensor(x0, requires_grad=True)
        w = tensor(w0 * factor, requires_grad=True)
        y = F.batch_norm(F.linear(x, w), None, None, training=True, eps=1e-30)
        y.backward(g)
        results.append((y.array, x.grad.array, w.grad.array * factor))
    (y1, dx1, dw1), (ya, dxa, dwa) = results
    np.testing.assert_allclose(ya, y1, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(dxa, dx1, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dwa, dw1, rtol=1e-5, atol=1e-9)


# ---- fuzzing the readers ---------------------------------------------------------------------

def idx_bytes(array, code):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


GOOD_IDX = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=40).map(lambda b: b"\x00\x00" + b),  # past the magic check
    st.binary(max_size=40).map(lambda b: gzip.compress(b"\x00\x00" + b)),
    st.tuples(st.integers(0, len(GOOD_IDX) - 1), st.integers(1, 255)).map(
        lambda t: GOOD_IDX[:t[0]] + bytes([GOOD_IDX[t[0]] ^ t[1]]) + GOOD_IDX[t[0] + 1:]),
    st.integers(0, len(GOOD_IDX) - 1).map(lambda n: GOOD_IDX[:n]),
    st.integers(0, len(GOOD_IDX) - 1).map(lambda n: gzip.compress(GOOD_IDX)[:n]),
))
def test_read_idx_turns_any_bytes_into_an_array_or_an_idx_error(tmp_path, data):
    path = tmp_path / "fuzz.idx"
    path.write_bytes(data)
    try:
        array = read_idx(path)
    except IDXError as error:
        assert "fuzz.idx" in str(error)
        return
    # A file it accepts is consistent with its own header.
    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    assert raw[2] in (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E) and array.ndim == raw[3]
    assert array.dtype.isnative and array.flags.writeable


def checkpoint_bytes(tmp_path):
    state = {"model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, "epoch": 2,
             "rng": microdl.random.get_rng_state(), (1, 2): [None, "x"]}
    return microdl.save(state, tmp_path / "good.npz").read_bytes()


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_load_turns_any_bytes_into_a_state_or_a_checkpoint_error(tmp_path, data):
    good = checkpoint_bytes(tmp_path)
    damaged = data.draw(st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b),
        st.integers(0, len(good) - 1).map(lambda n: good[:n]),
        st.lists(st.tuples(st.integers(0, len(good) - 1), st.integers(1, 255)), min_size=1,
                 max_size=4).map(lambda flips: _flipped(good, flips)),
    ))
    path = tmp_path / "fuzz.npz"
    path.write_bytes(damaged)
    try:
        state = microdl.load(path)
    except CheckpointError as error:
        assert "fuzz.npz" in str(error)
        return
    assert isinstance(state, dict)  # a flip in zip metadata that changes no content


def _flipped(data, flips):
    out = bytearray(data)
    for position, mask in flips:
        out[position] ^= mask
    return bytes(out)


json_trees = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3),
              st.fixed_dictionaries({"__array__": st.integers(-2, 3)})),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.fixed_dictionaries({"__tuple__": children}),
        st.fixed_dictionaries({"__dict__": st.lists(st.lists(children, max_size=3),
                                                    max_size=3)}),
        st.dictionaries(st.text(max_size=3), children, max_size=2)),
    max_leaves=10)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(json_trees, st.integers(0, 2))
def test_load_rejects_any_malformed_manifest_tree_clearly(tmp_path, tree, arrays):
    # A well-formed zip whose manifest is valid JSON but an arbitrary tree: references to
    # arrays that are not there, dict entries that are not pairs, unhashable keys, ...
    path = tmp_path / "tree.npz"
    manifest = json.dumps({"format": "microdl-state-v1", "tree": tree}).encode()
    with zipfile.ZipFile(path, "w") as archive:
        _write_npy(archive, "__microdl__", np.frombuffer(manifest, np.uint8))
        for i in range(arrays):
            _write_npy(archive, f"a{i}", np.full(3, i, np.float32))
    try:
        microdl.load(path)
    except CheckpointError as error:
        assert "tree.npz" in str(error)


def _write_npy(archive, name, array):
    with archive.open(name + ".npy", "w") as f:
        np.lib.format.write_array(f, array, allow_pickle=False)
