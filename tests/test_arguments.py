"""PyTorch's arguments that microdl takes: out= on the microdl.X functions, memory_format=,
dtype= of softmax / log_softmax / prod, flip(dims=), div_(rounding_mode=); each against torch."""

import warnings

import numpy as np
import pytest

import microdl
from microdl import functional as F

torch = pytest.importorskip("torch")

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64, np.int64: torch.int64,
                np.int32: torch.int32, np.bool_: torch.bool, np.int16: torch.int16,
                np.float16: torch.float16}


def pair(values, dtype=np.float32, requires_grad=False):
    array = np.asarray(values, dtype=dtype)
    return (microdl.tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))


def empty_pair(dtype, shape=(0,)):
    return microdl.tensor(np.zeros(shape, dtype)), torch.zeros(shape, dtype=TORCH_DTYPES[dtype])


def same(m, t):
    assert tuple(m.shape) == tuple(t.shape)
    assert np.dtype(m.dtype) == np.dtype(str(t.dtype).replace("torch.", ""))
    np.testing.assert_allclose(np.asarray(m.array, np.float64), t.detach().double().numpy(),
                               rtol=1e-6, atol=1e-6)


def raises_like(microdl_call, torch_call):
    """Both raise, the same exception type and message."""
    with pytest.raises(Exception) as expected:
        torch_call()
    with pytest.raises(expected.type) as got:
        microdl_call()
    assert str(got.value).strip() == str(expected.value).strip()


X = [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]]


# ---- out= --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, args", [
    ("add", (X, X)), ("mul", (X, 2.0)), ("exp", (X,)), ("maximum", (X, [[0.0] * 3] * 2)),
    ("matmul", (X, np.transpose(X).tolist())), ("amax", (X, 1)), ("cumsum", (X, 1)),
    ("softmax", (X, 1)), ("gather", (X, 1, [[0, 0], [2, 1]])), ("tril", (X,)),
    ("index_select", (X, 1, [2, 0])), ("take", (X, [5, 0])), ("mean", (X, 0)),
])
def test_out_writes_the_result_into_out_and_returns_it(name, args):
    def convert(side, a):
        if not isinstance(a, list):
            return a
        dtype = np.int64 if isinstance(np.asarray(a).flat[0], (int, np.integer)) else np.float32
        return pair(a, dtype)[side]
    m_out, t_out = empty_pair(np.float32)
    got = getattr(microdl, name)(*(convert(0, a) for a in args), out=m_out)
    want = getattr(torch, name)(*(convert(1, a) for a in args), out=t_out)
    assert got is m_out
    same(m_out, want)


def test_out_casts_where_torch_does_and_refuses_where_it_refuses():
    (ma, ta), (mo, to) = pair([1, 2, 3], np.int32), empty_pair(np.float64)
    same(microdl.add(ma, ma, out=mo), torch.add(ta, ta, out=to))
    (mx, tx), (mi, ti) = pair(X), empty_pair(np.int32)
    raises_like(lambda: microdl.exp(mx, out=mi), lambda: torch.exp(tx, out=ti))
    raises_like(lambda: microdl.amax(mx, 0, out=mi), lambda: torch.amax(tx, 0, out=ti))
    md, td = empty_pair(np.float64)
    raises_like(lambda: microdl.mm(mx, mx.t(), out=md), lambda: torch.mm(tx, tx.t(), out=td))
    raises_like(lambda: microdl.floor(mx, out=md), lambda: torch.floor(tx, out=td))
    ml, tl = empty_pair(np.int64)
    raises_like(lambda: microdl.cat([mx, mx], out=ml), lambda: torch.cat([tx, tx], out=tl))


def test_out_of_a_sum_is_the_dtype_summed_in():
    (mx, tx), (mo, to) = pair(X), empty_pair(np.int64)
    same(microdl.sum(mx, 1, out=mo), torch.sum(tx, 1, out=to))
    (mx, tx), (mo, to) = pair(X), empty_pair(np.float64)
    same(microdl.prod(mx, 0, out=mo), torch.prod(tx, 0, out=to))
    mo, to = empty_pair(np.float64)
    same(microdl.arange(5, out=mo), torch.arange(5, out=to))


@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")
def test_out_of_another_shape_is_resized_with_torch_warning():
    (mx, tx), (mo, to) = pair(X), (microdl.zeros(4), torch.zeros(4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        microdl.neg(mx, out=mo)
    assert any("was resized since it had shape [4]" in str(w.message) for w in caught)
    same(mo, torch.neg(tx, out=to))


def test_tuple_out_for_values_and_indices():
    (mx, tx) = pair(X)
    m_out = (microdl.empty(0), microdl.empty(0, dtype=microdl.int64))
    t_out = (torch.empty(0), torch.empty(0, dtype=torch.int64))
    got, want = microdl.kthvalue(mx, 2, 1, out=m_out), torch.kthvalue(tx, 2, 1, out=t_out)
    assert got.values is m_out[0] and got.indices is m_out[1]
    same(m_out[0], want.values)
    same(m_out[1], want.indices)
    m_bad = (microdl.empty(0), microdl.empty(0, dtype=microdl.int32))
    t_bad = (torch.empty(0), torch.empty(0, dtype=torch.int32))
    raises_like(lambda: microdl.max(mx, 1, out=m_bad), lambda: torch.max(tx, 1, out=t_bad))


def test_out_does_not_record_gradients():
    (mx, tx), (mo, to) = pair(X, requires_grad=True), empty_pair(np.float32)
    raises_like(lambda: microdl.exp(mx, out=mo), lambda: torch.exp(tx, out=to))
    with microdl.no_grad(), torch.no_grad():
        same(microdl.exp(mx, out=mo), torch.exp(tx, out=to))
    assert not mo.requires_grad and mo.grad_fn is None


@pytest.mark.filterwarnings("ignore:An output with one or more elements was resized")
def test_out_overlapping_an_input():
    (mx, tx), (my, ty) = pair(X), pair(X)
    same(microdl.add(mx, my, out=mx), torch.add(tx, ty, out=tx))   # x += y
    raises_like(lambda: microdl.cat([mx, my], out=my), lambda: torch.cat([tx, ty], out=ty))
    mi, ti = pair([2, 1, 0], np.int64)
    raises_like(lambda: microdl.take(mi, mi, out=mi), lambda: torch.take(ti, ti, out=ti))


def test_out_only_where_torch_has_it():
    mx, tx = pair(X)
    with pytest.raises(TypeError, match="out"):
        torch.isnan(tx, out=torch.empty(0, dtype=torch.bool))
    with pytest.raises(TypeError, match="out"):
        microdl.isnan(mx, out=microdl.empty(0, dtype=microdl.bool))


def test_cat_of_one_tensor_is_refused_as_torch_refuses_it():
    mx, tx = pair(X)
    raises_like(lambda: microdl.cat(mx), lambda: torch.cat(tx))


# ---- memory_format= -----------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda lib, x, f: x.to(lib.float64, memory_format=f),
    lambda lib, x, f: x.to("cpu", lib.float64, False, True, memory_format=f),
    lambda lib, x, f: x.float(memory_format=f), lambda lib, x, f: x.double(memory_format=f),
    lambda lib, x, f: x.half(memory_format=f), lambda lib, x, f: x.int(memory_format=f),
    lambda lib, x, f: x.long(memory_format=f), lambda lib, x, f: x.short(memory_format=f),
    lambda lib, x, f: x.bool(memory_format=f), lambda lib, x, f: x.clone(memory_format=f),
    lambda lib, x, f: x.cpu(memory_format=f), lambda lib, x, f: lib.zeros_like(x, memory_format=f),
    lambda lib, x, f: lib.ones_like(x, memory_format=f),
    lambda lib, x, f: lib.full_like(x, 2.0, memory_format=f),
])
@pytest.mark.parametrize("layout", ["preserve_format", "contiguous_format"])
def test_memory_format_of_microdl_arrays_is_accepted(call, layout):
    mx, tx = pair(X)
    same(call(microdl, mx, getattr(microdl, layout)), call(torch, tx, getattr(torch, layout)))


def test_contiguous_takes_contiguous_format_and_channels_last_is_refused():
    mx, tx = pair(X)
    same(mx.contiguous(memory_format=microdl.contiguous_format),
         tx.contiguous(memory_format=torch.contiguous_format))
    m4 = microdl.zeros(1, 2, 3, 3)
    for call in (lambda: m4.contiguous(memory_format=microdl.channels_last),
                 lambda: m4.to(microdl.float64, memory_format=microdl.channels_last),
                 lambda: m4.float(memory_format=microdl.channels_last),
                 lambda: microdl.zeros_like(m4, memory_format=microdl.channels_last)):
        with pytest.raises(NotImplementedError, match="channels_last"):
            call()
    with pytest.raises(TypeError, match="memory_format"):
        mx.clone(memory_format="channels_last")


# ---- dtype=, dims=, rounding_mode= --------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("spelling", ["method", "function", "F"])
def test_softmax_dtype_casts_first_values_dtype_and_gradient(name, spelling):
    (mx, tx) = pair(X, requires_grad=True)
    call = {"method": lambda lib, x: getattr(x, name)(1, dtype=lib.float64),
            "function": lambda lib, x: getattr(lib, name)(x, 1, dtype=lib.float64),
            "F": lambda lib, x: getattr(F if lib is microdl else torch.nn.functional,
                                        name)(x, 1, dtype=lib.float64)}[spelling]
    got, want = call(microdl, mx), call(torch, tx)
    same(got, want)
    weights = np.arange(6, dtype=np.float64).reshape(2, 3)
    got.backward(microdl.tensor(weights))
    want.backward(torch.tensor(weights))
    same(mx.grad, tx.grad)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_gradcheck(name):
    x = microdl.tensor(np.array(X, np.float32), requires_grad=False).double().requires_grad_()
    assert microdl.gradcheck(lambda t: getattr(t, name)(0, dtype=microdl.float64), [x])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float64])
def test_prod_dtype(dtype):
    mx, tx = pair([[1, 2, 3], [4, 5, 6]], np.int32)
    same(microdl.prod(mx, 1, dtype=dtype), torch.prod(tx, 1, dtype=TORCH_DTYPES[dtype]))
    same(mx.prod(dtype=dtype), tx.prod(dtype=TORCH_DTYPES[dtype]))


def test_prod_dtype_gradient():
    x = microdl.tensor(np.array(X, np.float64), requires_grad=True)
    assert microdl.gradcheck(lambda t: t.prod(1, dtype=microdl.float64), [x])
    (mx, tx) = pair(X, requires_grad=True)
    got, want = mx.prod(0, dtype=microdl.float64), tx.prod(0, dtype=torch.float64)
    same(got, want)
    got.sum().backward()
    want.sum().backward()
    same(mx.grad, tx.grad)


def test_flip_dims_keyword():
    mx, tx = pair(X)
    same(microdl.flip(mx, dims=(0, 1)), torch.flip(tx, dims=(0, 1)))
    same(mx.flip(dims=[1]), tx.flip(dims=[1]))
    same(mx.flip(0), tx.flip(0))
    with pytest.raises(TypeError, match="dims"):
        mx.flip(0, dims=(1,))


@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_in_place_rounding_mode(mode):
    (ma, ta), (mb, tb) = pair([7.0, -7.0, 5.5]), pair([2.0, 2.0, -2.0])
    got, want = ma.div_(mb, rounding_mode=mode), ta.div_(tb, rounding_mode=mode)
    assert got is ma
    same(ma, want)


def test_type_takes_non_blocking():
    mx, tx = pair(X)
    same(mx.type(microdl.float64, non_blocking=False), tx.type(torch.float64, non_blocking=False))


def test_out_on_cuda(shrunk_cuda):
    """out= on the device (the simulator where there is no GPU): resized there, cast there."""
    x = microdl.tensor(np.array(X, np.float32)).cuda()
    out = microdl.empty(0, dtype=microdl.float64).cuda()
    assert microdl.add(x, x, out=out) is out
    assert out.device == "cuda:0" and out.dtype == microdl.float64
    np.testing.assert_allclose(out.cpu().numpy(), 2 * np.array(X))
    with pytest.raises(RuntimeError, match="same device"):
        microdl.add(x, x, out=microdl.empty(0))
