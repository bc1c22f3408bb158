"""Shape ops and indexing against PyTorch (values, dtypes, shapes, gradients), finite-difference
gradchecks in float64, the ``shape`` kernels of every set against the numpy reference, and the
ops on the CUDA simulator against the CPU."""

import pathlib
import sys

import numpy as np
import pytest

import microdl
import microdl.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "kernels"))  # the kernel harness
from kernel_harness import KernelSet  # noqa: E402

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture(params=["numba", pytest.param("cuda", marks=pytest.mark.cuda)])
def twin(request):
    """tests/kernels/conftest.py's twin: each kernel set that must match the numpy reference."""
    if request.param == "cuda":
        request.getfixturevalue("shrunk_cuda")
    return KernelSet(request.param)


def _lib(x):
    return torch if isinstance(x, torch.Tensor) else microdl


def _pad(x, *args, **kwargs):
    return (TF if isinstance(x, torch.Tensor) else F).pad(x, *args, **kwargs)


# name -> expression of one (2, 3, 4) float64 tensor, the same code for microdl and torch
CASES = {
    "cat": lambda a: _lib(a).cat([a, a[:, :2] * 2], 1),
    "cat negative dim": lambda a: _lib(a).cat([a * 3, a], -1),
    "concat": lambda a: _lib(a).concat([a, a], 0),
    "stack": lambda a: _lib(a).stack([a, a * 2, a * 3], 0),
    "stack last": lambda a: _lib(a).stack([a, a * 2], -1),
    "split": lambda a: a.split(3, 2)[1] * a.split(3, 2)[0][..., :1],
    "split sizes": lambda a: a.split([1, 2], 1)[1],
    "chunk": lambda a: a.chunk(3, 2)[0],
    "unbind": lambda a: a.unbind(1)[2] * a.unbind(1)[0],
    "squeeze": lambda a: a[:, :1].squeeze(),
    "squeeze dims": lambda a: a[:1, :, :1].squeeze((0, 2)),
    "squeeze not 1": lambda a: a.squeeze(1),
    "unsqueeze": lambda a: a.unsqueeze(-1).unsqueeze(0),
    "expand": lambda a: a[:, :1].expand(5, -1, 3, -1),
    "expand_as": lambda a: a[:1].expand_as(a),
    "repeat": lambda a: a.repeat(2, 1, 1, 3),
    "flip": lambda a: a.flip(0, 2),
    "flip tuple": lambda a: a.flip((1,)),
    "view_as": lambda a: a.view_as(a.reshape(4, 6)),
    "reshape_as": lambda a: a.reshape_as(a.reshape(3, 8)),
    "contiguous": lambda a: a.contiguous() * 2,
    "t": lambda a: a[0].t(),
    "t 1-D": lambda a: a[0, 0].t(),
    "narrow": lambda a: a.narrow(2, 1, 2),
    "narrow negative start": lambda a: a.narrow(1, -2, 2),
    "movedim": lambda a: a.movedim(0, -1),
    "movedim tuples": lambda a: a.movedim((0, 1), (2, 0)),
    "pad constant": lambda a: _pad(a, (1, 2, 0, 1), value=0.5),
    "pad crop": lambda a: _pad(a, (-1, 2, 1, -1)),
    "pad 3 dims": lambda a: _pad(a, (1, 1, 1, 1, 1, 1)),
    "pad reflect": lambda a: _pad(a, (2, 1, 1, 2), mode="reflect"),
    "pad replicate": lambda a: _pad(a, (2, 3), mode="replicate"),
    "pad circular": lambda a: _pad(a, (3, 1, 2, 1), mode="circular"),
    "pad reflect crop": lambda a: _pad(a, (-1, 2), mode="reflect"),
    "pad circular crop": lambda a: _pad(a, (-1, 2), mode="circular"),
    "index int slice list": lambda a: a[0, :, [0, 1]],
    "index list slice list": lambda a: a[[0, 1], :, [0, 1]],
    "index slice int list": lambda a: a[:, 1, [0, 2, 2]],
    "index list int": lambda a: a[[1, 0], 2],
    "index ellipsis int list": lambda a: a[..., 0, [1, 1]],
    "index none int list": lambda a: a[None, 0, :, [1, 3]],
    "index int list list": lambda a: a[1, [0, 2], [3, 3]],
    "index int mask": lambda a: a[1, [True, False, True]],
    "index mask slice int": lambda a: a[[True, False], :, 2],
    "index 2-D list": lambda a: a[:, [[0, 1], [2, 2]]],
    "index basic": lambda a: a[1:, ::2, None, -1],
}


def _input(seed=0, shape=(2, 3, 4)):
    return np.random.default_rng(seed).uniform(-1.5, 1.5, shape)


def _compare(expression, x):
    a = microdl.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    got, want = expression(a), expression(t)
    assert got.shape == tuple(want.shape)
    assert str(got.dtype) == str(want.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    w = np.random.default_rng(9).standard_normal(tuple(want.shape))
    (got * microdl.tensor(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    _compare(CASES[name], _input())


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    assert microdl.gradcheck(CASES[name], [microdl.tensor(_input(1), requires_grad=True)])


def _tensor_index_cases(lib):
    mask = lib.tensor([[True, False, True], [False, False, True]])
    return {
        "0-d tensor": lambda a: a[lib.tensor(1)],
        "1-element tensor": lambda a: a[lib.tensor([1])],
        "0-d tensor with a list": lambda a: a[0, lib.tensor(1), [0, 1]],
        "0-d bool tensor": lambda a: a[lib.tensor(True)],
        "mask": lambda a: a[mask],
        "mask and int": lambda a: a[mask, 2],
        "int tensor and int": lambda a: a[lib.tensor([1, 0, 1]), 1, 1:],
    }


@pytest.mark.parametrize("name", sorted(_tensor_index_cases(microdl)))
def test_tensor_indices_match_torch(name):
    x = _input(2)
    a, t = microdl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got = _tensor_index_cases(microdl)[name](a)
    want = _tensor_index_cases(torch)[name](t)
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), t.grad.numpy())


def test_cat_promotes_dtypes_as_torch():
    pairs = [(np.float32, np.int64), (np.int8, np.uint8), (np.bool_, np.int32),
             (np.float32, np.float64), (np.int64, np.bool_)]
    for first, second in pairs:
        x, y = np.ones((2, 2), first), np.zeros((1, 2), second)
        got = microdl.cat([microdl.tensor(x), microdl.tensor(y)])
        want = torch.cat([torch.tensor(x), torch.tensor(y)])
        assert str(got.dtype) == str(want.dtype).replace("torch.", "")
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    legacy = microdl.cat([microdl.ones(0), microdl.ones(2, 3)])  # torch skips 1-D empties
    assert legacy.shape == (2, 3)


def test_cat_gradient_reaches_only_the_inputs_that_need_it():
    a = microdl.tensor(np.ones((2, 2)), requires_grad=True)
    b = microdl.tensor(np.ones((1, 2)))
    (microdl.cat([a, b]) * microdl.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[0, 1], [2, 3]])
    assert b.grad is None


def test_split_chunk_unbind_give_torch_pieces():
    x = np.arange(10.0).reshape(5, 2)
    for f in (lambda v: v.split(2), lambda v: v.chunk(4), lambda v: v.chunk(2, 1),
              lambda v: v.unbind(1), lambda v: v[:0].split(2), lambda v: v.split([0, 5])):
        got, want = f(microdl.tensor(x)), f(torch.tensor(x))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    got = microdl.split(microdl.tensor(x), 3, dim=0)
    assert [p.shape for p in got] == [(3, 2), (2, 2)]


def test_0d_tensors_as_torch():
    a = microdl.tensor(2.0, requires_grad=True)
    assert a.transpose(0, 0) is a and a.transpose(-1, 0) is a and a.t() is a
    out = microdl.tensor(2.0).numpy()
    assert isinstance(out, np.ndarray) and out.shape == ()
    assert isinstance(microdl.tensor([1.0, 2.0])[0].numpy(), np.ndarray)
    assert microdl.tensor(2.0).unsqueeze(0).shape == (1,)
    assert microdl.tensor(2.0).squeeze().shape == ()


def test_contiguous_copies_only_what_is_not():
    a = microdl.tensor(np.ones((2, 3)))
    assert a.contiguous() is a
    strided = microdl.from_numpy(np.ones((3, 2)).T)
    made = strided.contiguous()
    assert made is not strided and made.array.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(made.numpy(), np.ones((2, 3)))


ERRORS = [
    (lambda m: m.ones(2, 3).expand(3, 3), RuntimeError,
     "The expanded size of the tensor (3) must match the existing size (2) at non-singleton "
     "dimension 0.  Target sizes: [3, 3].  Tensor sizes: [2, 3]"),
    (lambda m: m.ones(2, 3).expand(3), RuntimeError,
     "expand(torch.FloatTensor{[2, 3]}, size=[3]): the number of sizes provided (1) must be "
     "greater or equal to the number of dimensions in the tensor (2)"),
    (lambda m: m.ones(2, 3, 4).t(), RuntimeError,
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda m: m.cat([m.ones(2, 3), m.ones(2, 4)]), RuntimeError,
     "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 4 for "
     "tensor number 1 in the list."),
    (lambda m: m.cat([m.ones(2, 3), m.ones(2)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda m: m.cat([m.tensor(1.0), m.ones(2)]), RuntimeError,
     "zero-dimensional tensor (at position 0) cannot be concatenated"),
    (lambda m: m.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda m: m.cat([m.ones(2, 3)], dim=2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
    (lambda m: m.stack([m.ones(2, 3), m.ones(2, 4)]), RuntimeError,
     "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at "
     "entry 1"),
    (lambda m: m.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda m: m.ones(5, 2).split([2, 2]), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 5 (input tensor's size at "
     "dimension 0), but got split_sizes=[2, 2]"),
    (lambda m: m.ones(5, 2).chunk(0), RuntimeError,
     "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda m: m.ones(1, 2, 1).squeeze(3), IndexError,
     "Dimension out of range (expected to be in range of [-3, 2], but got 3)"),
    (lambda m: m.ones(1, 2, 1).unsqueeze(4), IndexError,
     "Dimension out of range (expected to be in range of [-4, 3], but got 4)"),
    (lambda m: m.ones(2, 3).repeat(2), RuntimeError,
     "Number of dimensions of repeat dims can not be smaller than number of dimensions of "
     "tensor"),
    (lambda m: m.ones(2, 3).narrow(1, 2, 2), RuntimeError,
     "start (2) + length (2) exceeds dimension size (3)."),
    (lambda m: m.ones(2, 3).flip(0, 0), RuntimeError,
     "dim 0 appears multiple times in the list of dims"),
    (lambda m: m.ones(2, 3)[5], IndexError, "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda m: m.ones(2, 3)[:, 5], IndexError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    (lambda m: m.ones(2, 3)[[0, 5]], IndexError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda m: m.ones(2, 3)[0.5], IndexError, "only integers, slices (`:`), ellipsis (`...`), "
     "None and long or byte Variables are valid indices (got float)"),
    (lambda m: m.ones(2, 3)[m.tensor([0.0])], IndexError,
     "tensors used as indices must be long, int, byte or bool tensors"),
    (lambda m: m.ones(2, 3)[::-1], ValueError, "step must be greater than zero"),
]
PAD_ERRORS = [
    (lambda f, m: f.pad(m.ones(2, 3), (1, 2, 3)), RuntimeError,
     "Padding length must be divisible by 2"),
    (lambda f, m: f.pad(m.ones(2, 3), (3, 3), mode="reflect"), RuntimeError,
     "Padding size should be less than the corresponding input dimension, but got: padding "
     "(3, 3) at dimension 1 of input [2, 3]"),
    (lambda f, m: f.pad(m.ones(2, 3), (1, 1, 1, 1, 1, 1)), RuntimeError,
     "Padding length should be less than or equal to two times the input dimension but got "
     "padding length 6 and input of dimension 2"),
    (lambda f, m: f.pad(m.ones(2, 3), (1, 1), mode="bogus"), NotImplementedError,
     "Unrecognised padding mode bogus"),
    (lambda f, m: f.pad(m.ones(3), (1, 1), mode="replicate"), NotImplementedError,
     "Padding size 2 is not supported for 1D input tensor."),
    (lambda f, m: f.pad(m.ones(1, 2, 3), (4, 1), mode="circular"), RuntimeError,
     "Padding value causes wrapping around more than once."),
    (lambda f, m: f.pad(m.ones(2, 3), (1, 1), mode="reflect", value=1.0), RuntimeError,
     'Padding mode "reflect" doesn\'t take in value argument'),
    (lambda f, m: f.pad(m.ones(2, 3), (-4, 0)), RuntimeError,
     "narrow(): length must be non-negative."),
]


@pytest.mark.parametrize("case", range(len(ERRORS) + len(PAD_ERRORS)))
def test_errors_as_torch(case):
    if case < len(ERRORS):
        expression, kind, message = ERRORS[case]
        runs = [lambda: expression(torch), lambda: expression(microdl)]
    else:
        expression, kind, message = PAD_ERRORS[case - len(ERRORS)]
        runs = [lambda: expression(TF, torch), lambda: expression(F, microdl)]
    for run in runs:
        with pytest.raises(kind) as raised:
            run()
        assert message in str(raised.value)


def test_pad_keeps_the_dtype_and_casts_the_value():
    x = np.ones((2, 3), np.int64)
    got = F.pad(microdl.tensor(x), (1, 0), value=2.5)
    want = TF.pad(torch.tensor(x), (1, 0), value=2.5)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


# ---- kernels: every set against numpy_ref ----------------------------------------------------
BLOCKS = {  # name -> (source shape, destination shape, offsets into the larger one)
    "1-D": ((3,), (7,), (2,)),
    "middle axis": ((2, 2, 4), (2, 5, 4), (0, 3, 0)),
    "all axes": ((2, 3, 2), (4, 5, 6), (1, 2, 3)),
    "0-d": ((), (), ()),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_block_kernels_match_the_reference(name, dtype, twin):
    small, large, offsets = BLOCKS[name]
    rng = np.random.default_rng(3)
    big = rng.integers(-9, 9, large).astype(dtype)
    twin.check("shape", "read_block", [big, np.zeros(small, dtype), offsets], rtol=0)
    piece = rng.integers(-9, 9, small).astype(np.int64)  # written into (and cast to) dtype
    twin.check("shape", "write_block", [piece, big, offsets], rtol=0)


# ---- ops on the CUDA simulator against the CPU -----------------------------------------------
CUDA_CASES = ["cat", "stack last", "split sizes", "unbind", "expand", "repeat", "flip", "narrow",
              "pad constant", "pad crop", "pad reflect", "index int slice list", "index int mask"]


@pytest.mark.cuda
@pytest.mark.parametrize("name", CUDA_CASES)
def test_op_on_cuda_matches_cpu(name, shrunk_cuda):
    x = _input(4)
    results = []
    for device in ("cpu", "cuda"):
        a = microdl.tensor(x, requires_grad=True, device=device)
        out = CASES[name](a)
        w = np.random.default_rng(2).standard_normal(out.shape)
        (out * microdl.tensor(w, device=device)).sum().backward()
        results.append((out.detach().numpy(), a.grad.numpy()))
    (value, grad), (cuda_value, cuda_grad) = results
    np.testing.assert_array_equal(cuda_value, value)
    np.testing.assert_allclose(cuda_grad, grad, rtol=1e-12, atol=1e-12)


@pytest.mark.cuda
def test_cuda_index_with_a_cuda_tensor(shrunk_cuda):
    x = _input(5)
    index = microdl.tensor([2, 0], device="cuda")
    got = microdl.tensor(x, device="cuda")[1, :, index]
    np.testing.assert_array_equal(got.numpy(), torch.tensor(x)[1, :, torch.tensor([2, 0])])
