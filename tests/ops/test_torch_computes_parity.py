"""Where PyTorch computes and microdl used to raise, and where the two raised different errors:
0-d softmax, integer relu / tanh / sigmoid / linear / conv / pooling, empty operands of matmul,
empty batches of BatchNorm and pooling, matrix norms of empty matrices, repeated reduction dims,
Embedding's negative sizes. Each case runs through both libraries and compares values, dtypes,
shapes, gradients, or the exception's type and message."""

import math

import numpy as np
import pytest

import microdl
import microdl.nn as nn
import microdl.nn.functional as F
from microdl import tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def outcome(call):
    """What a call gives: ("ok", [(dtype, shape), ...], [values, ...]) or (error type,
    message)."""
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001  (the comparison is the point)
        return type(exc).__name__, str(exc).split("\n")[0]
    results = result if isinstance(result, tuple) else (result,)
    return ("ok", [(str(r.dtype).replace("torch.", ""), tuple(r.shape)) for r in results],
            [np.asarray(r.tolist()) for r in results])


def assert_same(torch_call, microdl_call):
    """The same error, or the same dtypes and shapes and values (floats to a few ulp)."""
    ours, theirs = outcome(microdl_call), outcome(torch_call)
    assert ours[:2] == theirs[:2]
    for got, expected in zip(*(o[2] if len(o) == 3 else () for o in (ours, theirs))):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)


def both(fn, *arrays, **kwargs):
    """fn(torch tensors), fn(microdl tensors) of the same arrays, as two calls."""
    return (lambda: fn(TF, *(torch.tensor(a) for a in arrays), **kwargs),
            lambda: fn(F, *(tensor(a) for a in arrays), **kwargs))


INTS = [np.int64, np.int32, np.int16, np.int8, np.uint8]


# ---- softmax family of a 0-d tensor ------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1, 1])
def test_softmax_of_a_scalar_is_one_and_log_softmax_zero(name, dim):
    x = np.array(-8.5)
    t, m = torch.tensor(x, requires_grad=True), tensor(x, requires_grad=True)
    assert_same(lambda: getattr(TF, name)(t, dim), lambda: getattr(F, name)(m, dim))
    if dim == 1:
        return
    for spell in (lambda v: getattr(v, name)(dim),
                  lambda v: (nn.Softmax if name == "softmax" else nn.LogSoftmax)(dim)(v)
                  if isinstance(v, microdl.Tensor) else
                  (torch.nn.Softmax if name == "softmax" else torch.nn.LogSoftmax)(dim)(v)):
        assert_same(lambda: spell(t).detach(), lambda: spell(m).detach())
    getattr(TF, name)(t, dim).backward()
    getattr(F, name)(m, dim).backward()
    assert m.grad.item() == t.grad.item()


# ---- integer activations -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", INTS + [np.bool_])
@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_integer_activations_as_torch(name, dtype):
    x = np.array([[3, 0], [-2, 1]]).astype(dtype)
    assert_same(*both(lambda lib, v: getattr(lib, name)(v), x))


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.bool_])
def test_integer_activations_in_place_as_torch(dtype):
    x = np.array([3, 0, -2]).astype(dtype)
    for method in ("relu_", "tanh_", "sigmoid_"):
        assert_same(lambda: getattr(torch.tensor(x), method)(),
                    lambda: getattr(tensor(x), method)())


def test_leaky_relu_of_integers_raises_torchs_error():
    assert_same(*both(lambda lib, v: lib.leaky_relu(v), np.array([1, 2])))


# ---- integer linear and convolution ------------------------------------------------------------
LINEAR_DTYPES = [(np.int64, np.int64, np.int64), (np.int32, np.int32, None),
                 (np.uint8, np.uint8, np.uint8), (np.bool_, np.bool_, None),
                 (np.int64, np.float32, None), (np.float32, np.int64, None),
                 (np.int64, np.int64, np.float64), (np.float32, np.float32, np.int64)]


@pytest.mark.parametrize("x_shape", [(2, 3), (3,), (2, 2, 3), (0, 3)])
@pytest.mark.parametrize("dtypes", LINEAR_DTYPES, ids=str)
def test_integer_linear_as_torch(dtypes, x_shape):
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 5, x_shape).astype(dtypes[0])
    w = rng.integers(-5, 5, (4, 3)).astype(dtypes[1])
    arrays = (x, w) if dtypes[2] is None else (x, w, rng.integers(0, 5, 4).astype(dtypes[2]))
    assert_same(*both(lambda lib, *v: lib.linear(*v), *arrays))


CONV_CASES = [((1, 3, 5, 5), (3, 3, 3, 3), {"stride": 2, "padding": 2}),
              ((2, 4, 5, 5), (4, 2, 2, 2), {"groups": 2, "dilation": 2}),
              ((2, 2, 6, 6), (3, 2, 3, 3), {"padding": 1})]


@pytest.mark.parametrize("dtype", INTS + [np.bool_])
@pytest.mark.parametrize("case", range(len(CONV_CASES)))
def test_integer_conv2d_as_torch(case, dtype, kernel_set):
    x_shape, w_shape, kwargs = CONV_CASES[case]
    rng = np.random.default_rng(case)
    x = rng.integers(0, 20, x_shape).astype(dtype)
    w = rng.integers(0, 9, w_shape).astype(dtype)
    b = rng.integers(0, 9, w_shape[:1]).astype(dtype)
    assert_same(*both(lambda lib, *v: lib.conv2d(*v, **kwargs), x, w, b))


@pytest.mark.parametrize("dtypes", [(np.int64, np.float32, None), (np.float32, np.int64, None),
                                    (np.int64, np.int64, np.float64),
                                    (np.float32, np.float32, np.float64),
                                    (np.float32, np.float64, None), (np.bool_, np.float32, None)],
                         ids=str)
@pytest.mark.parametrize("conv", ["conv1d", "conv2d"])
def test_convolution_dtype_errors_as_torch(conv, dtypes):
    rank = 1 if conv == "conv1d" else 2
    x, w = np.ones((1, 1) + (4,) * rank, dtypes[0]), np.ones((1, 1) + (2,) * rank, dtypes[1])
    arrays = (x, w) if dtypes[2] is None else (x, w, np.ones(1, dtypes[2]))
    assert_same(*both(lambda lib, *v: getattr(lib, conv)(*v), *arrays))


def test_conv1d_integers_and_its_weight_rank_errors_as_torch():
    x = np.arange(12).reshape(1, 2, 6)
    assert_same(*both(lambda lib, v, w: lib.conv1d(v, w, stride=2, padding=1), x,
                      np.arange(12).reshape(3, 2, 2) - 5))
    for w_shape in [(1, 2), (2,), (1, 1, 1, 2)]:
        for x_shape in [(1, 1, 4), (1, 4)]:
            assert_same(*both(lambda lib, v, w: lib.conv1d(v, w), np.ones(x_shape, np.float32),
                              np.ones(w_shape, np.float32)))


# ---- matmul with empty operands ----------------------------------------------------------------
EMPTY_OPERANDS = [(5, 5, 0), (0,), (5, 0), (0, 5), (0, 0), (2, 0, 3), (3,), (3, 0), (5, 0, 2),
                  (0, 3), (2, 3, 0), (2, 3)]


@pytest.mark.parametrize("a_shape", EMPTY_OPERANDS, ids=str)
def test_matmul_of_empty_operands_gives_torchs_zeros_and_gradients(a_shape):
    ran = 0
    for b_shape in EMPTY_OPERANDS:
        ta = torch.ones(a_shape, dtype=torch.float64, requires_grad=True)
        tb = torch.ones(b_shape, dtype=torch.float64, requires_grad=True)
        try:
            expected = ta @ tb
        except RuntimeError:
            continue
        ma = tensor(np.ones(a_shape), requires_grad=True)
        mb = tensor(np.ones(b_shape), requires_grad=True)
        got = ma @ mb
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
        assert mb.__rmatmul__(ma).shape == expected.shape
        expected.sum().backward()
        got.sum().backward()
        np.testing.assert_array_equal(ma.grad.numpy(), ta.grad.numpy())
        np.testing.assert_array_equal(mb.grad.numpy(), tb.grad.numpy())
        ran += 1
    assert ran


# ---- pooling: integers, empty batches, PyTorch's errors in its order ---------------------------
POOL_CALLS = [
    ("max_pool2d", (2,), {}), ("max_pool2d", (3, 2, 1), {"ceil_mode": True}),
    ("max_pool2d", (3, 1, 1), {"dilation": 2}), ("max_pool2d", (2,), {"return_indices": True}),
    ("avg_pool2d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}),
    ("avg_pool2d", (2,), {"divisor_override": -3}), ("avg_pool2d", (3, 1, 1), {}),
    ("max_pool1d", (2,), {}), ("max_pool1d", (3, 2, 1), {"return_indices": True}),
    ("avg_pool1d", (3, 2, 1), {"count_include_pad": False}),
    ("adaptive_avg_pool2d", (2,), {}), ("adaptive_avg_pool2d", (1,), {}),
    ("adaptive_max_pool2d", ((2, 3),), {"return_indices": True}),
    # errors, each at its place in PyTorch's order of checks
    ("max_pool2d", (2, 1, -1), {}), ("avg_pool2d", (2, 50, 4), {}), ("max_pool1d", (0,), {}),
    ("max_pool1d", (2, 1, 2), {}), ("max_pool1d", (7,), {}), ("max_pool1d", (2, -1, -1), {}),
    ("max_pool2d", (3, 1, 2), {"dilation": 2}), ("avg_pool2d", (-1, 1), {}),
    ("max_pool2d", (2, -1), {}), ("max_pool2d", (0,), {}),
]
POOL_SHAPES = [(2, 7), (0, 7), (2, 0), (2, 6, 7), (0, 6, 7), (2, 0, 7), (2, 3, 6, 7),
               (0, 3, 6, 7), (2, 0, 6, 7), (2, 3, 0, 7), (1, 1, 1, 4, 4), (4,)]


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("call", range(len(POOL_CALLS)))
def test_pools_as_torch_for_every_dtype_and_rank(call, dtype):
    name, args, kwargs = POOL_CALLS[call]
    rng = np.random.default_rng(call)
    for shape in POOL_SHAPES:
        x = rng.integers(0 if dtype == np.uint8 else -9, 9, shape).astype(dtype)
        assert_same(*both(lambda lib, v: getattr(lib, name)(v, *args, **kwargs), x))


@pytest.mark.parametrize("output_size", [(2, 2), 2, [None, 2], (2, 2, 2), (-1, 0), (-2, -1),
                                         (0, 0)], ids=str)
@pytest.mark.parametrize("name", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pool_size_errors_as_torch(name, output_size):
    for shape in [(2, 2), (2,), (2, 2, 2), (1, 1, 1, 1), (1, 2, 3)]:
        assert_same(*both(lambda lib, v: getattr(lib, name)(v, output_size),
                          np.ones(shape, np.float32)))


@pytest.mark.parametrize("name, args", [("max_pool2d", (2,)), ("avg_pool2d", (3, 1, 1)),
                                        ("adaptive_avg_pool2d", ((2, 3),)),
                                        ("adaptive_max_pool2d", ((3, 2),)),
                                        ("max_pool1d", (2,)), ("avg_pool1d", (3, 2, 1))])
@pytest.mark.parametrize("shape", [(3, 6, 5), (2, 3, 6, 5), (0, 3, 6, 5)], ids=str)
def test_pool_gradients_of_unbatched_and_empty_inputs(name, args, shape, kernel_set):
    if name.endswith("1d"):
        shape = shape[:-2] + (shape[-2] * shape[-1],)
    x = np.random.default_rng(1).standard_normal(shape)
    t, m = torch.tensor(x, requires_grad=True), tensor(x, requires_grad=True)
    expected, got = getattr(TF, name)(t, *args), getattr(F, name)(m, *args)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    weights = np.random.default_rng(2).standard_normal(tuple(expected.shape))
    (expected * torch.tensor(weights)).sum().backward()
    (got * tensor(weights)).sum().backward()
    np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_integer_average_pool_truncates_toward_zero_as_torch():
    x = np.array([[[[1, 2, -1, -2, -3, 3, 7, 7]]]])
    for kwargs in ({"kernel_size": (1, 2)}, {"kernel_size": (1, 2), "divisor_override": -3},
                   {"kernel_size": (1, 3), "stride": 1, "padding": (0, 1)}):
        assert_same(*both(lambda lib, v: lib.avg_pool2d(v, **kwargs), x))


# ---- BatchNorm of an empty batch ---------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.3, None])
@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (0, 5)), ("BatchNorm1d", (0, 5, 9)),
                                        ("BatchNorm2d", (0, 5, 2, 2)),
                                        ("BatchNorm3d", (0, 5, 2, 2, 2)),
                                        ("BatchNorm2d", (2, 5, 0, 2))], ids=str)
def test_batch_norm_of_an_empty_batch_as_torch(cls, shape, momentum):
    theirs, ours = getattr(torch.nn, cls)(5, momentum=momentum), getattr(nn, cls)(5,
                                                                                momentum=momentum)
    with torch.no_grad():
        theirs.running_mean.fill_(0.5)
        theirs.running_var.fill_(2.0)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    t = torch.ones(shape, requires_grad=True)
    m = tensor(np.ones(shape, np.float32), requires_grad=True)
    for training in (True, False):
        theirs.train(training)
        ours.train(training)
        expected, got = theirs(t), ours(m)
        assert got.shape == expected.shape and got.dtype == np.float32
        expected.sum().backward()
        got.sum().backward()
        for name, value in theirs.state_dict().items():
            np.testing.assert_array_equal(np.asarray(ours.state_dict()[name]), value.numpy())
        np.testing.assert_array_equal(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
        np.testing.assert_array_equal(ours.bias.grad.numpy(), theirs.bias.grad.numpy())
        assert m.grad.shape == shape


def test_functional_batch_norm_of_empty_inputs_as_torch():
    for shape, stats in [((0, 3), (None, None)), ((0,), (np.zeros(0, np.float32),) * 2)]:
        for training in (True, False):
            assert_same(
                lambda: TF.batch_norm(torch.ones(shape), *(s if s is None else torch.tensor(s)
                                                           for s in stats), training=training),
                lambda: F.batch_norm(tensor(np.ones(shape, np.float32)), *stats,
                                     training=training))


# ---- matrix norms of empty matrices ------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0), (2, 0, 3), (3, 4)], ids=str)
@pytest.mark.parametrize("ord", [math.inf, -math.inf, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norms_of_empty_matrices_as_torch(shape, ord, keepdim):
    x = np.arange(math.prod(shape), dtype=np.float64).reshape(shape) - 3
    t, m = torch.tensor(x, requires_grad=True), tensor(x, requires_grad=True)
    assert_same(lambda: torch.linalg.matrix_norm(t, ord, keepdim=keepdim).detach(),
                lambda: microdl.linalg.matrix_norm(m, ord, keepdim=keepdim).detach())
    if len(shape) == 2:
        assert_same(lambda: torch.linalg.norm(t, ord, keepdim=keepdim).detach(),
                    lambda: microdl.linalg.norm(m, ord, keepdim=keepdim).detach())
    try:
        expected = torch.linalg.matrix_norm(t, ord, keepdim=keepdim)
    except IndexError:
        return
    got = microdl.linalg.matrix_norm(m, ord, keepdim=keepdim)
    assert got.requires_grad == expected.requires_grad  # PyTorch's 0 of no sums is a constant
    if expected.requires_grad:
        expected.sum().backward()
        got.sum().backward()
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-12)


# ---- reductions over a repeated dim, Embedding's sizes -----------------------------------------
@pytest.mark.parametrize("dims", [(0, 0), (0, -4), (1, 2, -3), [3, 3], (-1, 1)], ids=str)
@pytest.mark.parametrize("name", ["amax", "amin", "sum", "mean"])
def test_a_repeated_reduction_dim_raises_torchs_error(name, dims):
    x = np.ones((2, 3, 4, 5), np.float32)
    assert_same(lambda: getattr(torch, name)(torch.tensor(x), dims),
                lambda: getattr(microdl, name)(tensor(x), dims))


@pytest.mark.parametrize("args, kwargs", [((-1, 3), {}), ((3, -2), {}), ((-1, -2), {}),
                                          ((-1, 3), {"padding_idx": 0}),
                                          ((3, 2), {"padding_idx": 3}),
                                          ((3, 2), {"padding_idx": -3}),
                                          ((3, 2), {"padding_idx": -4})], ids=str)
def test_embedding_sizes_and_padding_idx_checked_as_torch(args, kwargs):
    assert_same(lambda: torch.nn.Embedding(*args, **kwargs).weight.detach()[:0],
                lambda: nn.Embedding(*args, **kwargs).weight.detach()[:0])


@pytest.mark.parametrize("weight_shape", [(), (1, 1, 1), (3,)], ids=str)
def test_embedding_of_a_weight_that_is_not_2d_as_torch(weight_shape):
    indices, weight = np.zeros((2, 2), np.int64), np.ones(weight_shape, np.float32)
    assert_same(lambda: TF.embedding(torch.tensor(indices), torch.tensor(weight)),
                lambda: F.embedding(tensor(indices), tensor(weight)))


# ---- the same paths on the CUDA simulator ------------------------------------------------------
def test_integer_and_empty_paths_on_the_cuda_simulator(shrunk_cuda):
    ints = np.arange(-8, 8).reshape(1, 1, 4, 4)
    floats = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    calls = [(lambda v: F.max_pool2d(v, 2), ints), (lambda v: F.avg_pool2d(v, 3, 1, 1), ints),
             (lambda v: F.max_pool2d(v, 2, return_indices=True)[1], ints),
             (lambda v: F.relu(v), ints), (lambda v: F.sigmoid(v), ints),
             (lambda v: F.softmax(v[0, 0, 0, 0], 0), floats),
             (lambda v: F.max_pool2d(v[:0], 2), floats), (lambda v: F.avg_pool2d(v[0], 2), floats),
             (lambda v: v[0, 0, :, :0] @ v[0, 0, :0, :], floats),
             (lambda v: F.linear(v[0, 0], v[0, 0, :2]), ints)]
    for call, x in calls:
        host, device = call(tensor(x)), call(tensor(x, device="cuda"))
        assert device.dtype == host.dtype and device.shape == host.shape
        np.testing.assert_allclose(device.to("cpu").numpy(), host.numpy(), rtol=1e-6)
