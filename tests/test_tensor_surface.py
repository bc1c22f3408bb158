"""The Tensor's everyday surface, checked against PyTorch: grad_fn, Size, mT, new_*, in-place
forms, random fills, reductions' dtype=, torch.tensor of tensors, as_tensor, grad modes as
decorators, retain_grad and register_hook."""

import pickle
import re
import sys
import warnings

import numpy as np
import pytest

import microdl
from microdl import tensor

tensor_module = sys.modules["microdl.tensor"]  # (microdl.tensor is also the function)

torch = pytest.importorskip("torch")

TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
                np.dtype(np.float16): torch.float16, np.dtype(np.int64): torch.int64,
                np.dtype(np.int32): torch.int32, np.dtype(np.int8): torch.int8,
                np.dtype(np.uint8): torch.uint8, np.dtype(np.bool_): torch.bool}


def same(ours, theirs, rtol=1e-6):
    """Same values, shape and dtype as a torch tensor."""
    assert TORCH_DTYPES[ours.dtype] == theirs.dtype, (ours.dtype, theirs.dtype)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy().astype(np.float64),
                               theirs.detach().numpy().astype(np.float64), rtol=rtol)


def raises_like(torch_call, our_call):
    """Both raise; ours with torch's exception type and message."""
    with pytest.raises(Exception) as theirs:
        torch_call()
    with pytest.raises(theirs.type, match=re.escape(str(theirs.value).split("\n")[0])):
        our_call()


# ---- grad_fn ------------------------------------------------------------------------------------
GRAD_FN_CASES = {
    "mul": lambda x: x * 2, "add": lambda x: x + 1, "sub": lambda x: x - 1,
    "div": lambda x: x / 2, "neg": lambda x: -x, "pow": lambda x: x ** 2,
    "exp": lambda x: x.exp(), "log": lambda x: x.log(), "sqrt": lambda x: x.sqrt(),
    "abs": lambda x: x.abs(), "relu": lambda x: x.relu(), "sigmoid": lambda x: x.sigmoid(),
    "tanh": lambda x: x.tanh(), "sum": lambda x: x.sum(), "sum_dim": lambda x: x.sum(0),
    "mean": lambda x: x.mean(), "mean_dim": lambda x: x.mean(1), "mm": lambda x: x @ x,
    "view": lambda x: x.reshape(4), "clone": lambda x: x.clone(),
    "to": None,  # x.to(float64): each library's own dtype, below
    "clamp": lambda x: x.clamp(0, 1), "max": lambda x: x.max(),
}


@pytest.mark.parametrize("case", GRAD_FN_CASES)
def test_grad_fn_names_and_repr_match_torch(case):
    make = GRAD_FN_CASES[case]
    values = [[1.0, 2.0], [3.0, 4.0]]
    x = tensor(values, requires_grad=True)
    xt = torch.tensor(values, requires_grad=True)
    if case == "to":
        ours, theirs = x.to(microdl.float64), xt.to(torch.float64)
    else:
        ours, theirs = make(x), make(xt)
    assert ours.grad_fn.name() == theirs.grad_fn.name()
    assert re.fullmatch(rf"<{theirs.grad_fn.name()} object at 0x[0-9a-f]+>", repr(ours.grad_fn))
    assert f"grad_fn=<{theirs.grad_fn.name()}>" in repr(ours)


def test_grad_fn_is_none_for_leaves_and_next_functions_follow_torch():
    x = tensor([1.0, 2.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    assert x.grad_fn is None and tensor([1.0]).grad_fn is None
    y, yt = (x * 2).sum(), (xt * 2).sum()
    (mul, index), = y.grad_fn.next_functions
    (mul_t, index_t), = yt.grad_fn.next_functions
    assert mul.name() == mul_t.name() == "MulBackward0" and index == index_t == 0
    ours = [(type(f).__name__ if f is not None else None, i) for f, i in mul.next_functions]
    theirs = [(type(f).__name__ if f is not None else None, i) for f, i in mul_t.next_functions]
    assert ours == theirs == [("AccumulateGrad", 0), (None, 0)]
    assert mul.next_functions[0][0].variable is x
    with microdl.no_grad():
        assert (x * 2).grad_fn is None


# ---- properties -----------------------------------------------------------------------------
def test_size_is_a_tuple_that_prints_as_torch():
    x, xt = microdl.zeros(2, 3), torch.zeros(2, 3)
    for ours, theirs in [(x.shape, xt.shape), (x.size(), xt.size()),
                         (x.shape[1:], xt.shape[1:]), (x.shape + (4,), xt.shape + (4,)),
                         ((4,) + x.shape, (4,) + xt.shape), (x.shape * 2, xt.shape * 2),
                         (microdl.Size([2, 3]), torch.Size([2, 3])),
                         (microdl.Size(), torch.Size())]:
        assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
        assert type(ours) is microdl.Size and ours == tuple(theirs)
        assert ours.numel() == theirs.numel() and hash(ours) == hash(tuple(theirs))
    assert x.shape == (2, 3) and x.shape[0] == 2 and isinstance(x.shape, tuple)
    assert x.size(1) == 3 and type(x.size(1)) is int
    assert pickle.loads(pickle.dumps(x.shape)) == x.shape
    raises_like(lambda: torch.Size([2.5]), lambda: microdl.Size([2.5]))
    assert microdl.zeros(x.shape).shape == x.shape  # a Size goes back in as a shape


def test_simple_properties_match_torch():
    for dtype in ("float32", "float64", "float16", "int64", "int8", "uint8", "bool"):
        x = microdl.zeros(2, 3, dtype=getattr(microdl, dtype))
        xt = torch.zeros(2, 3, dtype=getattr(torch, dtype))
        assert x.element_size() == xt.element_size()
        assert x.is_floating_point() == xt.is_floating_point()
        assert x.nelement() == xt.nelement() == 6 and x.ndimension() == xt.ndimension() == 2
        assert x.is_cuda is xt.is_cuda is False
        assert x.is_contiguous() is True
    assert microdl.from_numpy(np.zeros((2, 3)).T).is_contiguous() is False
    leaf = tensor([1.0], requires_grad=True)
    assert leaf.is_leaf and not (leaf * 2).is_leaf


def test_mT_matches_torch():
    values = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    same(tensor(values).mT, torch.tensor(values).mT)
    same(tensor(values[0]).mT, torch.tensor(values[0]).mT)
    raises_like(lambda: torch.zeros(3).mT, lambda: microdl.zeros(3).mT)
    x = tensor(values, requires_grad=True)
    x.mT.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(values))


# ---- new_* ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_new_methods_keep_dtype_and_device(dtype):
    x = microdl.ones(2, dtype=getattr(microdl, dtype))
    xt = torch.ones(2, dtype=getattr(torch, dtype))
    same(x.new_tensor([1, 2]), xt.new_tensor([1, 2]))
    same(x.new_tensor([1.7, -2.2]), xt.new_tensor([1.7, -2.2]))
    same(x.new_zeros(2, 3), xt.new_zeros(2, 3))
    same(x.new_zeros((2, 3)), xt.new_zeros((2, 3)))
    same(x.new_zeros([]), xt.new_zeros([]))
    same(x.new_ones(3), xt.new_ones(3))
    same(x.new_ones(3, dtype=microdl.float32), xt.new_ones(3, dtype=torch.float32))
    same(x.new_full((2,), 3), xt.new_full((2,), 3))
    assert x.new_empty(4, 1).shape == (4, 1) and x.new_empty(4).dtype == x.dtype
    assert x.new_zeros(2, requires_grad=dtype == "float64").requires_grad == (dtype == "float64")
    raises_like(lambda: xt.new_full(2, 3), lambda: x.new_full(2, 3))
    raises_like(lambda: xt.new_zeros(-1), lambda: x.new_zeros(-1))


# ---- in place ---------------------------------------------------------------------------------
UNARY_IN_PLACE = ["exp_", "log_", "sqrt_", "rsqrt_", "abs_", "relu_", "sigmoid_", "tanh_",
                  "sin_", "cos_", "log1p_", "expm1_", "floor_", "ceil_", "trunc_", "round_",
                  "sign_", "square_", "reciprocal_"]


@pytest.mark.parametrize("name", UNARY_IN_PLACE)
def test_unary_in_place_matches_torch(name):
    values = [0.3, 1.5, 2.5, 4.0]  # positive: every op is defined
    x, xt = tensor(values), torch.tensor(values)
    out = getattr(x, name)()
    assert out is x
    same(x, getattr(xt, name)(), rtol=1e-6)
    # on integers: PyTorch refuses to write a float result into them, keeps integer results
    ints, ints_t = tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    try:
        expected = getattr(ints_t, name)()
    except RuntimeError:
        raises_like(lambda: getattr(torch.tensor([1, 2, 3]), name)(),
                    lambda: getattr(ints, name)())
    else:
        same(getattr(ints, name)(), expected)


@pytest.mark.parametrize("name", ["exp_", "relu_", "clamp_min_", "round_"])
def test_in_place_on_the_tape_gives_torch_gradients(name):
    args = (0.7,) if name == "clamp_min_" else ()
    values = [0.3, 1.2, -0.4]
    x = tensor(values, dtype=microdl.float64, requires_grad=True)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    y, yt = x * 3, xt * 3
    getattr(y, name)(*args)
    getattr(yt, name)(*args)
    same(y, yt)
    assert y.grad_fn.name() == yt.grad_fn.name() or name in ("clamp_min_", "round_")
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    same(x.grad, xt.grad)
    raises_like(lambda: getattr(torch.tensor(values, requires_grad=True), name)(*args),
                lambda: getattr(tensor(values, requires_grad=True), name)(*args))


def test_in_place_refuses_what_torch_refuses():
    raises_like(lambda: torch.tensor([1, 2]).add_(1.5), lambda: tensor([1, 2]).add_(1.5))
    raises_like(lambda: torch.zeros(2, dtype=torch.bool).add_(1),
                lambda: microdl.zeros(2, dtype=microdl.bool).add_(1))
    raises_like(lambda: torch.zeros(1).add_(torch.ones(3)),
                lambda: microdl.zeros(1).add_(microdl.ones(3)))
    # a wider float result is cast back (float32 stays float32), on the tape too
    same(microdl.zeros(2).add_(microdl.ones(2, dtype=microdl.float64)),
         torch.zeros(2).add_(torch.ones(2, dtype=torch.float64)))
    x = tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.mul_(tensor([2.0, 3.0], dtype=microdl.float64))
    assert y.dtype == microdl.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 3.0])


def test_clamp_min_max_match_torch():
    values = [1.0, 3.0, -2.0]
    same(tensor(values).clamp_min(2), torch.tensor(values).clamp_min(2))
    same(tensor(values).clamp_max(0.5), torch.tensor(values).clamp_max(0.5))
    same(tensor([1, 3]).clamp_max(2.5), torch.tensor([1, 3]).clamp_max(2.5))
    same(tensor(values).clamp_max_(1), torch.tensor(values).clamp_max_(1))
    same(tensor(values).clamp_min_(tensor(0.0)), torch.tensor(values).clamp_min_(torch.tensor(0.)))


@pytest.mark.parametrize("shape, wrap", [((3, 3), False), ((7, 3), False), ((7, 3), True),
                                         ((2, 4), False), ((2, 2, 2), False), ((5, 2), True)])
def test_fill_diagonal_matches_torch(shape, wrap):
    ours = microdl.zeros(*shape).fill_diagonal_(5, wrap=wrap)
    theirs = torch.zeros(*shape).fill_diagonal_(5, wrap=wrap)
    same(ours, theirs)
    same(microdl.ones(*shape, dtype=microdl.int64).fill_diagonal_(2.7),
         torch.ones(*shape, dtype=torch.int64).fill_diagonal_(2.7))


def test_fill_diagonal_errors_match_torch():
    raises_like(lambda: torch.zeros(3).fill_diagonal_(1),
                lambda: microdl.zeros(3).fill_diagonal_(1))
    raises_like(lambda: torch.zeros(2, 3, 2).fill_diagonal_(1),
                lambda: microdl.zeros(2, 3, 2).fill_diagonal_(1))


# ---- random fills -----------------------------------------------------------------------------
def test_random_fills_draw_from_microdls_generator():
    def draws():
        microdl.manual_seed(3)
        x = microdl.zeros(1000)
        return [x.uniform_(2, 5).numpy().copy(), x.normal_(1, 2).numpy().copy(),
                x.bernoulli_(0.25).numpy().copy(), x.random_(7).numpy().copy(),
                x.random_(-3, 4).numpy().copy(), x.exponential_(2.0).numpy().copy()]

    first, second = draws(), draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # manual_seed repeats them
    uniform, normal, bernoulli, below7, between, exponential = first
    assert uniform.dtype == np.float32 and 2 <= uniform.min() and uniform.max() < 5
    assert abs(uniform.mean() - 3.5) < 0.15
    assert abs(normal.mean() - 1) < 0.25 and abs(normal.std() - 2) < 0.25
    assert set(np.unique(bernoulli)) == {0.0, 1.0} and abs(bernoulli.mean() - 0.25) < 0.06
    assert set(np.unique(below7)) == set(range(7))
    assert set(np.unique(between)) == set(range(-3, 4))
    assert exponential.min() >= 0 and abs(exponential.mean() - 0.5) < 0.08


def test_random_fill_dtypes_and_ranges_match_torch():
    for dtype in ("float32", "float64", "int8", "int64", "uint8", "bool"):
        ours = microdl.zeros(2000, dtype=getattr(microdl, dtype)).random_()
        theirs = torch.zeros(2000, dtype=getattr(torch, dtype)).random_()
        assert TORCH_DTYPES[ours.dtype] == theirs.dtype
        top = {"float32": 2 ** 24, "float64": 2 ** 53, "int8": 127, "int64": 2 ** 63 - 1,
               "uint8": 255, "bool": 1}[dtype]
        assert 0 <= ours.numpy().min() and ours.numpy().max() <= top
        assert ours.numpy().astype(np.float64).max() > top / 4  # the range is used
    bern = microdl.zeros(4, dtype=microdl.int64).bernoulli_(tensor([0.0, 1.0, 0.0, 1.0]))
    same(bern, torch.zeros(4, dtype=torch.int64).bernoulli_(torch.tensor([0.0, 1, 0, 1])))


@pytest.mark.parametrize("call", [
    lambda m, x: x.uniform_(2, 1), lambda m, x: x.normal_(0, -1),
    lambda m, x: x.bernoulli_(1.5), lambda m, x: x.exponential_(-1),
    lambda m, x: x.exponential_(0), lambda m, x: x.random_(5, 2), lambda m, x: x.random_(0),
    lambda m, x: m.zeros(3, dtype=m.int64).uniform_(),
    lambda m, x: m.zeros(3, dtype=m.int64).normal_(),
    lambda m, x: m.zeros(3, dtype=m.int64).exponential_(),
    lambda m, x: m.zeros(3, dtype=m.int8).random_(300),
    lambda m, x: m.tensor([1.0], requires_grad=True).uniform_(),
    lambda m, x: m.tensor([1.0], requires_grad=True).normal_(),
])
def test_random_fill_errors_match_torch(call):
    raises_like(lambda: call(torch, torch.zeros(3)), lambda: call(microdl, microdl.zeros(3)))


def test_random_fill_inside_no_grad_initialises_a_parameter():
    w = tensor([0.0, 0.0], requires_grad=True)
    with microdl.no_grad():
        w.uniform_(-1, 1)
    assert w.requires_grad and w.is_leaf and not np.all(w.detach().numpy() == 0)


# ---- reductions' dtype= ------------------------------------------------------------------------
def test_reduction_dtype_arguments_match_torch():
    f, ft = tensor([[1.5, 2.5], [3.5, -1.0]]), torch.tensor([[1.5, 2.5], [3.5, -1.0]])
    i, it = tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    same(f.sum(dtype=microdl.int64), ft.sum(dtype=torch.int64))
    same(f.sum(0, dtype=microdl.float64), ft.sum(0, dtype=torch.float64))
    same(f.sum(dim=1, keepdim=True, dtype=microdl.float64),
         ft.sum(dim=1, keepdim=True, dtype=torch.float64))
    same(i.sum(dtype=microdl.float32), it.sum(dtype=torch.float32))
    same(i.sum(dtype=microdl.int32), it.sum(dtype=torch.int32))
    same(i.mean(dtype=microdl.float64), it.mean(dtype=torch.float64))
    same(f.mean(0, dtype=microdl.float64), ft.mean(0, dtype=torch.float64))
    same(f.cumsum(1, dtype=microdl.int32), ft.cumsum(1, dtype=torch.int32))
    same(tensor([True, True]).cumsum(0, dtype=microdl.float32),
         torch.tensor([True, True]).cumsum(0, dtype=torch.float32))
    raises_like(lambda: ft.mean(dtype=torch.int64), lambda: f.mean(dtype=microdl.int64))
    # the gradient comes back in the input's dtype
    x = tensor([1.0, 2.0], requires_grad=True)
    x.sum(dtype=microdl.float64).backward()
    assert x.grad.dtype == microdl.float32 and x.grad.tolist() == [1.0, 1.0]


# ---- tensor(), as_tensor() ------------------------------------------------------------------
def test_tensor_of_tensors_matches_torch():
    cases = [lambda m: [m.tensor(1.0), m.tensor(2.0)],
             lambda m: [m.tensor(1.0, dtype=m.float64)],
             lambda m: [m.tensor(1), m.tensor(2)],
             lambda m: [m.tensor([1.0]), m.tensor([3.0])],
             lambda m: [m.tensor(1), 2.5],
             lambda m: [[m.tensor(1.0), m.tensor(2.0)], [m.tensor(3.0), m.tensor(4.0)]],
             lambda m: [m.tensor(1.0, requires_grad=True), m.tensor(2.0)]]
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns on a tensor that requires grad
            expected = torch.tensor(case(torch))
        same(microdl.tensor(case(microdl)), expected)
    raises_like(lambda: torch.tensor([torch.tensor([1.0, 2]), torch.tensor([3.0, 4])]),
                lambda: microdl.tensor([tensor([1.0, 2]), tensor([3.0, 4])]))


def test_as_tensor_shares_when_it_can_as_torch():
    array = np.array([1.0, 2.0])
    shared, shared_t = microdl.as_tensor(array), torch.as_tensor(array)
    array[0] = 7.0
    same(shared, shared_t)  # both see the write, both float64
    copied = microdl.as_tensor(array, dtype=microdl.float32)
    array[1] = 9.0
    same(copied, torch.as_tensor(np.array([7.0, 2.0]), dtype=torch.float32))
    t = tensor([1.0, 2.0])
    assert microdl.as_tensor(t) is t and microdl.as_tensor(t, dtype=microdl.float64) is not t
    same(microdl.as_tensor([1, 2.0]), torch.as_tensor([1, 2.0]))
    same(microdl.as_tensor(3), torch.as_tensor(3))
    transposed = np.arange(6.0).reshape(2, 3).T
    assert microdl.as_tensor(transposed).is_contiguous()  # copied into C order


# ---- grad modes ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["no_grad", "enable_grad", "inference_mode"])
def test_grad_modes_decorate_with_and_without_parentheses(name):
    for lib in (torch, microdl):
        mode = getattr(lib, name)

        @mode
        def bare():
            return lib.is_grad_enabled()

        @mode()
        def called():
            return lib.is_grad_enabled()

        with lib.no_grad():
            inside_no_grad = (bare(), called())
        outside = (bare(), called())
        results = (inside_no_grad, outside, lib.is_grad_enabled())
        if lib is torch:
            expected = results
        else:
            assert results == expected, name
        assert lib.is_grad_enabled()


def test_inference_mode_and_set_grad_enabled_match_torch():
    for lib in (torch, microdl):
        seen = []
        with lib.inference_mode():
            seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
            with lib.inference_mode(False):
                seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        lib.set_grad_enabled(False)
        seen.append(lib.is_grad_enabled())
        lib.set_grad_enabled(True)
        with lib.set_grad_enabled(False):
            seen.append(lib.is_grad_enabled())
        seen.append(lib.is_grad_enabled())

        @lib.set_grad_enabled(False)
        def decorated():
            return lib.is_grad_enabled()
        seen += [lib.is_grad_enabled(), decorated(), lib.is_grad_enabled()]
        x = lib.ones(2, requires_grad=True)
        with lib.inference_mode():
            seen.append((x * 2).requires_grad)
        if lib is torch:
            expected = seen
        else:
            assert seen == expected


# ---- retain_grad, register_hook -----------------------------------------------------------------
def _hook_run(lib):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(("x", g.tolist())))
    y = x * 2
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 10)
    z = (y * y).sum() + (x * x).sum()  # x reaches z twice: its hook sees the sum
    z.backward(retain_graph=True)
    first = (x.grad.tolist(), y.grad.tolist(), y.retains_grad, x.retains_grad)
    handle.remove()
    z.backward()
    return seen, first, x.grad.tolist(), y.grad.tolist()


def test_retain_grad_and_hooks_match_torch():
    assert _hook_run(microdl) == _hook_run(torch)


def test_hook_errors_and_leaf_cases_match_torch():
    raises_like(lambda: torch.ones(2).register_hook(lambda g: g),
                lambda: microdl.ones(2).register_hook(lambda g: g))
    raises_like(lambda: torch.ones(2).retain_grad(), lambda: microdl.ones(2).retain_grad())
    for lib in (torch, microdl):  # a leaf root: its hook replaces the gradient
        x = lib.tensor(3.0, requires_grad=True)
        x.retain_grad()
        x.register_hook(lambda g: g * 4)
        x.backward()
        assert x.grad.item() == 4.0 and not x.retains_grad


# ---- set_printoptions ------------------------------------------------------------------------
def test_set_printoptions_precision_and_profile():
    try:
        microdl.set_printoptions(precision=2)
        assert repr(tensor([1.23456, 2.0])) == "tensor([1.23, 2.  ])"
        microdl.set_printoptions(sci_mode=True)
        assert "e+00" in repr(tensor([1.5]))
        microdl.set_printoptions(profile="short", threshold=5)
        assert "..." in repr(microdl.zeros(100))
        with pytest.raises(ValueError, match="profile"):
            microdl.set_printoptions(profile="long")
    finally:
        tensor_module._PRINT_OPTIONS.clear()  # back to numpy's defaults for the other tests
    assert repr(tensor([1.5, 2.0])) == "tensor([1.5, 2. ])"


# ---- cuda (the simulator in CI) ------------------------------------------------------------------
def test_surface_on_cuda(shrunk_cuda):
    x = microdl.zeros(2, 3, device="cuda")
    assert x.is_cuda and x.new_zeros(2).is_cuda and x.new_tensor([1, 2]).is_cuda
    assert x.new_full((2,), 3.0).device == "cuda:0" and x.new_empty(4).device == "cuda:0"
    microdl.manual_seed(0)
    drawn = x.uniform_(1, 2).cpu().numpy()
    microdl.manual_seed(0)
    np.testing.assert_array_equal(drawn, microdl.zeros(2, 3).uniform_(1, 2).numpy())
    assert x.fill_diagonal_(7.0).cpu().numpy()[1, 1] == 7.0
    y = tensor([1.0, 4.0], device="cuda").sqrt_()
    assert y.is_cuda and y.cpu().tolist() == [1.0, 2.0]
    assert microdl.tensor([tensor(1.0, device="cuda"), tensor(2.0, device="cuda")]).tolist() \
        == [1.0, 2.0]


def _in_place_chain(lib):
    x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    y = x * 1
    y.add_(y * 2)  # reads y's old value twice
    y.mul_(x).round_(decimals=1)
    y.relu_()
    total = lib.zeros((), dtype=lib.float64)  # a constant that becomes part of the graph
    total += (y * y).sum()
    total += (x * x).sum()
    total += y.sum()
    total.backward()
    return y.tolist(), total.item(), x.grad.tolist()


def test_in_place_chains_on_the_tape_match_torch():
    ours, theirs = _in_place_chain(microdl), _in_place_chain(torch)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose([ours[1]] + ours[2], [theirs[1]] + theirs[2], rtol=1e-12)
