"""conv_transpose1d/2d, ConvTranspose1d/2d, scaled_dot_product_attention and
MultiheadAttention against PyTorch (values, dtypes, gradients, errors) and finite differences."""

import numpy as np
import pytest

import microdl
import microdl.nn.functional as F
from microdl import nn
from microdl.ops import conv as conv_ops

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)

TRANSPOSE_CASES = [  # (x shape, weight shape, bias?, keywords)
    ((2, 4, 5, 5), (4, 3, 3, 3), True, {}),
    ((2, 4, 5, 6), (4, 3, 3, 2), True, dict(stride=2, padding=1, output_padding=1)),
    ((2, 4, 5, 6), (4, 1, 3, 2), True, dict(stride=(2, 3), padding=(1, 0), dilation=2,
                                            groups=2, output_padding=(1, 0))),
    ((4, 5, 6), (4, 1, 3, 2), False, dict(stride=(2, 3), groups=4)),
    ((16, 4, 9, 9), (4, 3, 3, 3), True, dict(stride=2)),
    ((2, 4, 7), (4, 3, 3), True, dict(stride=2, padding=1, output_padding=1)),
    ((4, 7), (4, 2, 2), False, dict(dilation=3)),
]


def _pair(shape, requires_grad=True):
    array = RNG.standard_normal(shape)
    return (microdl.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


@pytest.mark.parametrize("x_shape, w_shape, with_bias, kw", TRANSPOSE_CASES)
def test_conv_transpose_matches_torch(x_shape, w_shape, with_bias, kw):
    dims = len(w_shape) - 2
    (mx, tx), (mw, tw) = _pair(x_shape), _pair(w_shape)
    mb, tb = _pair(w_shape[1] * kw.get("groups", 1)) if with_bias else (None, None)
    ours = getattr(F, f"conv_transpose{dims}d")(mx, mw, mb, **kw)
    theirs = getattr(torch.nn.functional, f"conv_transpose{dims}d")(tx, tw, tb, **kw)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == microdl.float64
    np.testing.assert_allclose(ours.array, theirs.detach().numpy(), atol=1e-10)
    grad = RNG.standard_normal(ours.shape)
    ours.backward(microdl.tensor(grad))
    theirs.backward(torch.tensor(grad))
    for m_leaf, t_leaf in ((mx, tx), (mw, tw), (mb, tb)):
        if m_leaf is not None:
            np.testing.assert_allclose(m_leaf.grad.array, t_leaf.grad.numpy(), atol=1e-10)


def test_conv_transpose_gradcheck_and_float32_int64():
    x, w, b = (microdl.tensor(RNG.standard_normal(s), requires_grad=True)
               for s in ((2, 4, 3, 4), (4, 1, 2, 3), (2,)))
    assert microdl.gradcheck(lambda x, w, b: F.conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1, groups=2), (x, w, b))
    x32 = RNG.standard_normal((1, 2, 3, 3)).astype(np.float32)
    w32 = RNG.standard_normal((2, 2, 2, 2)).astype(np.float32)
    ours = F.conv_transpose2d(microdl.tensor(x32), microdl.tensor(w32), stride=2)
    theirs = torch.nn.functional.conv_transpose2d(torch.tensor(x32), torch.tensor(w32), stride=2)
    assert ours.dtype == microdl.float32
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-5, atol=1e-6)
    xi, wi = np.arange(18).reshape(1, 2, 3, 3), np.arange(16).reshape(2, 2, 2, 2)
    ours = F.conv_transpose2d(microdl.tensor(xi), microdl.tensor(wi))
    theirs = torch.nn.functional.conv_transpose2d(torch.tensor(xi), torch.tensor(wi))
    assert ours.dtype == microdl.int64
    np.testing.assert_array_equal(ours.array, theirs.numpy())


ERROR_CASES = [  # (x shape, weight shape, bias shape, keywords, dtype of x)
    ((2, 4, 5, 5), (4, 3, 3, 3), None, dict(stride=2, output_padding=2), None),
    ((2, 4, 5, 5), (3, 3, 3, 3), None, {}, None),
    ((2, 4, 5, 5), (4, 3, 3, 3), None, dict(groups=3), None),
    ((2, 4, 5, 5), (4, 3, 3, 3), (4,), {}, None),
    ((2, 4, 5, 5), (4, 3, 3, 3), None, dict(padding=-1), None),
    ((2, 4, 5, 5), (4, 3, 3, 3), None, dict(stride=0), None),
    ((2, 4, 5, 5), (4, 3, 3, 3), None, {}, np.int32),
    ((5, 5), (4, 3, 3, 3), None, {}, None),
    ((2, 4, 7), (4, 3, 3), None, dict(stride=[1, 1]), None),
]


@pytest.mark.parametrize("x_shape, w_shape, b_shape, kw, dtype", ERROR_CASES)
def test_conv_transpose_errors_as_torch(x_shape, w_shape, b_shape, kw, dtype):
    x = RNG.standard_normal(x_shape).astype(dtype or np.float32)
    w = RNG.standard_normal(w_shape).astype(dtype or np.float32)
    b = None if b_shape is None else RNG.standard_normal(b_shape).astype(np.float32)
    name = f"conv_transpose{len(w_shape) - 2}d"
    with pytest.raises(Exception) as theirs:
        getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(w),
                                           None if b is None else torch.tensor(b), **kw)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(F, name)(microdl.tensor(x), microdl.tensor(w),
                         None if b is None else microdl.tensor(b), **kw)
    assert str(ours.value) == str(theirs.value)


def test_conv_transpose_dtype_mismatch_wording():
    with pytest.raises(RuntimeError, match="Input type .* and weight type .* should be the same"):
        F.conv_transpose2d(microdl.randn(1, 2, 3, 3), microdl.randn(2, 2, 2, 2).double())


@pytest.mark.parametrize("cls, args, kwargs, x_shape", [
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2),
     (2, 4, 5, 5)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(bias=False, dilation=2), (3, 4, 4)),
    ("ConvTranspose1d", (3, 2, 3), dict(stride=3), (2, 3, 5)),
])
def test_conv_transpose_modules_load_torch_state(cls, args, kwargs, x_shape):
    theirs = getattr(torch.nn, cls)(*args, **kwargs).double()
    ours = getattr(nn, cls)(*args, **kwargs, dtype=np.float64)
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: microdl.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    x = RNG.standard_normal(x_shape)
    np.testing.assert_allclose(ours(microdl.tensor(x)).array,
                               theirs(torch.tensor(x)).detach().numpy(), atol=1e-10)


def test_conv_transpose_module_output_size_and_errors():
    theirs, ours = torch.nn.ConvTranspose2d(2, 3, 3, stride=2), nn.ConvTranspose2d(2, 3, 3,
                                                                                    stride=2)
    x = RNG.standard_normal((1, 2, 4, 4)).astype(np.float32)
    assert ours(microdl.tensor(x), output_size=[10, 9]).shape == \
        tuple(theirs(torch.tensor(x), output_size=[10, 9]).shape) == (1, 3, 10, 9)
    with pytest.raises(ValueError, match="requested an output size of"):
        ours(microdl.tensor(x), output_size=[12, 12])
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for '
                                         "ConvTranspose2d"):
        nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")
    # fan_in is read off dimension 1 (out_channels / groups * k), as PyTorch reads it
    bound = 1 / np.sqrt(3 * 9)
    assert np.abs(nn.ConvTranspose2d(200, 3, 3).weight.array).max() <= bound


def _transpose_run(device):
    """conv_transpose2d forward and gradients on ``device`` (the forward runs conv2d_backward
    with no x and no cols; the backward runs conv2d_forward and conv2d_backward)."""
    rng = np.random.default_rng(3)
    x, w, b = (microdl.tensor(rng.standard_normal(s), requires_grad=True, device=device)
               for s in ((2, 4, 3, 3), (4, 1, 2, 2), (2,)))
    y = F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2)
    y.backward(microdl.tensor(np.linspace(-1, 1, y.numel()).reshape(y.shape), device=device))
    return [t.cpu().array for t in (y, x.grad, w.grad, b.grad)]


def test_conv_transpose_kernel_sets_agree(kernel_set):
    previous = microdl.get_kernels()
    microdl.set_kernels("numpy")
    try:
        want = _transpose_run("cpu")
    finally:
        microdl.set_kernels(previous)
    for got, expected in zip(_transpose_run("cpu"), want):
        np.testing.assert_allclose(got, expected, atol=1e-10)


def test_conv_transpose_on_cuda(shrunk_cuda):
    previous = microdl.get_kernels()
    microdl.set_kernels("numpy")
    try:
        want = _transpose_run("cpu")
    finally:
        microdl.set_kernels(previous)
    for got, expected in zip(_transpose_run("cuda"), want):
        np.testing.assert_allclose(got, expected, atol=1e-10)


# ---- scaled_dot_product_attention --------------------------------------------------------------
def _sdpa_pair(q_shape, k_shape, v_shape, mask=None, **kw):
    (mq, tq), (mk, tk), (mv, tv) = _pair(q_shape), _pair(k_shape), _pair(v_shape)
    m_mask = t_mask = None
    if mask is not None:
        m_mask, t_mask = microdl.tensor(mask), torch.tensor(mask)
    ours = F.scaled_dot_product_attention(mq, mk, mv, m_mask, **kw)
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, t_mask, **kw)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.array, theirs.detach().numpy(), atol=1e-10)
    grad = RNG.standard_normal(ours.shape)
    ours.backward(microdl.tensor(grad))
    theirs.backward(torch.tensor(grad))
    for m_leaf, t_leaf in ((mq, tq), (mk, tk), (mv, tv)):
        np.testing.assert_allclose(m_leaf.grad.array, t_leaf.grad.numpy(), atol=1e-10)


def test_sdpa_plain_scale_causal_gqa():
    _sdpa_pair((2, 3, 4), (2, 5, 4), (2, 5, 6))
    _sdpa_pair((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 6), scale=0.3)
    _sdpa_pair((2, 2, 4, 4), (2, 2, 4, 4), (2, 2, 4, 3), is_causal=True)
    _sdpa_pair((1, 4, 3, 2), (1, 2, 5, 2), (1, 2, 5, 3), enable_gqa=True)


def test_sdpa_bool_mask_with_empty_row_and_float_mask():
    keep = RNG.random((3, 5)) > 0.4
    keep[0] = False  # a query that sees no key: zeros, as PyTorch, not NaN
    keep[1, 0] = True
    _sdpa_pair((2, 3, 4), (2, 5, 4), (2, 5, 6), mask=keep)
    _sdpa_pair((2, 3, 4), (2, 5, 4), (2, 5, 6), mask=RNG.standard_normal((2, 3, 5)))


def test_sdpa_gradcheck_and_errors():
    q, k, v = (microdl.tensor(RNG.standard_normal(s), requires_grad=True)
               for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2)))
    mask = microdl.tensor(RNG.standard_normal((3, 5)))
    assert microdl.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask), (q, k, v))
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        F.scaled_dot_product_attention(q, k, v, mask, is_causal=True)
    with pytest.raises(RuntimeError, match="Expected query, key, and value to have the same "
                                           "dtype, but got query.dtype: float key.dtype: double"):
        F.scaled_dot_product_attention(q.float(), k, v)


# ---- MultiheadAttention -------------------------------------------------------------------------
MHA_CASES = [  # (constructor keywords, forward keywords, query, key, value shapes)
    (dict(), dict(), (3, 2, 8), (5, 2, 8), (5, 2, 8)),
    (dict(batch_first=True), dict(average_attn_weights=False), (2, 3, 8), (2, 5, 8), (2, 5, 8)),
    (dict(kdim=3, vdim=5, bias=False), dict(), (3, 2, 8), (4, 2, 3), (4, 2, 5)),
    (dict(add_bias_kv=True, add_zero_attn=True), dict(), (3, 2, 8), (4, 2, 8), (4, 2, 8)),
    (dict(), dict(need_weights=False), (3, 8), (4, 8), (4, 8)),
    (dict(batch_first=True), dict(need_weights=False), (2, 3, 8), (2, 4, 8), (2, 4, 8)),
]


@pytest.mark.parametrize("ctor, fwd, q_shape, k_shape, v_shape", MHA_CASES)
@pytest.mark.parametrize("masks", ["none", "bool", "float"])
def test_multihead_attention_matches_torch(ctor, fwd, q_shape, k_shape, v_shape, masks):
    theirs = torch.nn.MultiheadAttention(8, 2, **ctor).double()
    ours = nn.MultiheadAttention(8, 2, **ctor, dtype=np.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: microdl.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    batched = len(q_shape) == 3
    length, source = (q_shape[1], k_shape[1]) if ctor.get("batch_first") else \
        (q_shape[0], k_shape[0])
    extra_m, extra_t = {}, {}
    if masks != "none":
        if masks == "bool":
            attn = RNG.random((length, source)) < 0.3
            attn[:, 0] = False
            padding = RNG.random(((2, source) if batched else (source,))) < 0.3
            padding[..., 1] = False
        else:
            attn = RNG.standard_normal((length, source))
            padding = RNG.standard_normal(((2, source) if batched else (source,)))
        extra_m = dict(attn_mask=microdl.tensor(attn), key_padding_mask=microdl.tensor(padding))
        extra_t = dict(attn_mask=torch.tensor(attn), key_padding_mask=torch.tensor(padding))
    (mq, tq), (mk, tk), (mv, tv) = _pair(q_shape), _pair(k_shape), _pair(v_shape)
    out, weights = ours(mq, mk, mv, **fwd, **extra_m)
    t_out, t_weights = theirs(tq, tk, tv, **fwd, **extra_t)
    np.testing.assert_allclose(out.array, t_out.detach().numpy(), atol=1e-10)
    if t_weights is None:
        assert weights is None
    else:
        np.testing.assert_allclose(weights.array, t_weights.detach().numpy(), atol=1e-10)
    grad = RNG.standard_normal(out.shape)
    out.backward(microdl.tensor(grad))
    t_out.backward(torch.tensor(grad))
    np.testing.assert_allclose(mq.grad.array, tq.grad.numpy(), atol=1e-10)
    for name, param in theirs.named_parameters():
        np.testing.assert_allclose(dict(ours.named_parameters())[name].grad.array,
                                   param.grad.numpy(), atol=1e-10, err_msg=name)


def test_multihead_attention_init_and_errors():
    mha = nn.MultiheadAttention(6, 3)
    assert mha.in_proj_weight.shape == (18, 6) and mha.in_proj_weight.dtype == microdl.float32
    assert not mha.in_proj_bias.array.any() and not mha.out_proj.bias.array.any()
    bound = np.sqrt(6 / (18 + 6))  # xavier_uniform_ on (3E, E)
    assert np.abs(mha.in_proj_weight.array).max() <= bound
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(5, 2)
    x = microdl.randn(3, 1, 6)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        mha(x, x, x, is_causal=True)
