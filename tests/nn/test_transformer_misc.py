"""Legacy tensor types, Bilinear, gumbel_softmax, max_unpool2d and the Transformer modules,
against PyTorch."""

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn

LEGACY = {"FloatTensor": np.float32, "DoubleTensor": np.float64, "HalfTensor": np.float16,
          "LongTensor": np.int64, "IntTensor": np.int32, "ShortTensor": np.int16,
          "ByteTensor": np.uint8, "CharTensor": np.int8, "BoolTensor": np.bool_}


def torch_or_skip():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def t(torch_tensor, requires_grad=False):
    return microdl.tensor(torch_tensor.detach().numpy(), requires_grad=requires_grad)


# ---- legacy tensor types ---------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(LEGACY))
def test_legacy_type_constructors_match_torch(name):
    torch = torch_or_skip()
    ours, theirs = getattr(microdl, name), getattr(torch, name)
    data = [1, 0, 2]
    made = ours(data)
    assert made.dtype == np.dtype(LEGACY[name]) and type(made) is microdl.Tensor
    np.testing.assert_array_equal(made.numpy(), theirs(data).numpy())
    assert tuple(ours(2, 3).shape) == (2, 3) and ours(2, 3).dtype == LEGACY[name]
    assert tuple(ours(microdl.Size([4])).shape) == (4,)
    assert tuple(ours().shape) == (0,) and ours().dtype == LEGACY[name]
    assert made.type() == f"torch.{name}" == theirs(data).type()
    assert isinstance(made, ours) and isinstance(theirs(data), theirs)
    others = [n for n in LEGACY if n != name]
    assert not any(isinstance(made, getattr(microdl, n)) for n in others)
    assert ours.dtype == np.dtype(LEGACY[name]) and repr(ours) == repr(theirs)


def test_legacy_type_casts_and_errors():
    x = microdl.tensor([1.5, 2.5])
    assert x.type(microdl.LongTensor).dtype == np.int64
    assert x.type(microdl.DoubleTensor).dtype == np.float64
    np.testing.assert_array_equal(x.type(microdl.LongTensor).numpy(), [1, 2])
    assert not isinstance(1.0, microdl.FloatTensor)
    assert microdl.FloatTensor(x).array is x.array  # same dtype: shares the memory
    with pytest.raises(TypeError):
        microdl.FloatTensor(x.double())
    with pytest.raises(TypeError, match="invalid data type 'str'"):
        microdl.FloatTensor("a")
    with pytest.raises(TypeError, match="data must be a sequence"):
        microdl.FloatTensor(2.5)
    with pytest.raises(TypeError):
        microdl.FloatTensor([1], dtype=microdl.float64)


# ---- Bilinear --------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(bias):
    torch = torch_or_skip()
    ref = torch.nn.Bilinear(3, 4, 5, bias=bias)
    ours = nn.Bilinear(3, 4, 5, bias=bias)
    ours.load_state_dict({k: t(v) for k, v in ref.state_dict().items()})
    a, b = torch.randn(2, 6, 3, requires_grad=True), torch.randn(2, 6, 4, requires_grad=True)
    ma, mb = t(a, True), t(b, True)
    expected, got = ref(a, b), ours(ma, mb)
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    expected.pow(2).sum().backward()
    got.pow(2).sum().backward()
    np.testing.assert_allclose(ma.grad.numpy(), a.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mb.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    assert repr(ours) == repr(ref)


def test_bilinear_init_gradcheck_and_errors():
    microdl.manual_seed(0)
    layer = nn.Bilinear(16, 2, 300)
    bound = 1 / np.sqrt(16)
    weight = layer.weight.detach().numpy()
    assert np.abs(weight).max() <= bound and weight.std() > bound / 3
    assert np.abs(layer.bias.detach().numpy()).max() <= bound
    rng = np.random.default_rng(0)
    inputs = [microdl.tensor(rng.standard_normal(s), requires_grad=True)
              for s in [(2, 3), (2, 4), (5, 3, 4), (5,)]]
    assert microdl.gradcheck(F.bilinear, inputs)
    x1, x2, w, _ = inputs
    with pytest.raises(RuntimeError, match="input batch dimensions do not match at dim 0"):
        F.bilinear(x1, microdl.randn(3, 4, dtype=microdl.float64), w)
    with pytest.raises(RuntimeError, match="input2 size does not match weight size: got 5"):
        F.bilinear(x1, microdl.randn(2, 5, dtype=microdl.float64), w)
    with pytest.raises(RuntimeError, match="bias size does not match weight size: got 4 but"):
        F.bilinear(x1, x2, w, microdl.randn(4, dtype=microdl.float64))
    with pytest.raises(RuntimeError, match="input dimensions do not match: got 2 and 3"):
        F.bilinear(x1, x2.unsqueeze(1), w)
    with pytest.raises(RuntimeError, match="All tensors must have the same dtype"):
        F.bilinear(x1.float(), x2, w)


# ---- gumbel_softmax --------------------------------------------------------------------------
def test_gumbel_softmax_soft_and_hard():
    microdl.manual_seed(0)
    logits = microdl.randn(4, 6, requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    assert soft.shape == logits.shape and soft.dtype == logits.dtype
    np.testing.assert_allclose(soft.sum(-1).detach().numpy(), 1, rtol=1e-5)
    assert (soft.detach().numpy() >= 0).all()
    microdl.manual_seed(3)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True, dim=0)
    values = hard.detach().numpy()
    assert set(np.unique(values)) <= {0.0, 1.0} and (values.sum(0) == 1).all()
    # straight through: hard's gradient is that of the soft sample drawn with the same noise
    weights = microdl.randn(4, 6)
    (hard * weights).sum().backward()
    grad_hard = logits.grad.numpy().copy()
    logits.grad = None
    microdl.manual_seed(3)
    (F.gumbel_softmax(logits, tau=0.5, dim=0) * weights).sum().backward()
    np.testing.assert_allclose(grad_hard, logits.grad.numpy(), rtol=1e-5, atol=1e-7)
    microdl.manual_seed(3)
    again = F.gumbel_softmax(logits, tau=0.5, hard=True, dim=0)
    np.testing.assert_array_equal(again.detach().numpy(), values)  # the generator's draws


def test_gumbel_softmax_follows_the_argmax_of_large_logits():
    torch = torch_or_skip()
    logits = torch.tensor([[0.0, 50.0, 0.0], [60.0, 0.0, 0.0]])
    expected = torch.nn.functional.gumbel_softmax(logits, hard=True)
    got = F.gumbel_softmax(t(logits), hard=True)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


# ---- max_unpool2d ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, kernel, stride, padding, output_size", [
    ((2, 3, 6, 6), 2, None, 0, None), ((3, 5, 7), 3, 2, 1, None),
    ((1, 2, 5, 5), 2, 2, 0, (1, 2, 5, 5))])
def test_max_unpool2d_matches_torch(shape, kernel, stride, padding, output_size):
    torch = torch_or_skip()
    x = torch.randn(*shape)
    pooled, indices = torch.nn.functional.max_pool2d(x, kernel, stride, padding,
                                                     return_indices=True)
    pooled.requires_grad_(True)
    expected = torch.nn.MaxUnpool2d(kernel, stride, padding)(pooled, indices, output_size)
    ours_in = t(pooled, True)
    got = nn.MaxUnpool2d(kernel, stride, padding)(ours_in, t(indices), output_size)
    np.testing.assert_array_equal(got.detach().numpy(), expected.detach().numpy())
    weights = torch.randn(*expected.shape)
    (expected * weights).sum().backward()
    (got * t(weights)).sum().backward()
    np.testing.assert_allclose(ours_in.grad.numpy(), pooled.grad.numpy(), rtol=1e-6)
    assert repr(nn.MaxUnpool2d(kernel, stride, padding)) == repr(
        torch.nn.MaxUnpool2d(kernel, stride, padding))


def test_max_unpool2d_pairs_with_our_max_pool_and_gradchecks():
    x = microdl.randn(1, 2, 4, 4, dtype=microdl.float64)
    pooled, indices = F.max_pool2d(x, 2, return_indices=True)
    pooled = pooled.detach().requires_grad_()
    assert microdl.gradcheck(lambda p: F.max_unpool2d(p, indices, 2), [pooled])
    back = F.max_unpool2d(pooled, indices, 2).detach().numpy()
    assert (back != 0).sum() == 8 and np.isin(pooled.detach().numpy(), back).all()


def test_max_unpool2d_errors():
    x = microdl.randn(1, 2, 4, 4)
    pooled, indices = F.max_pool2d(x, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="indices should be type int64 but got: Int"):
        F.max_unpool2d(pooled, indices.int(), 2)
    with pytest.raises(RuntimeError, match="Expected shape of indices to be same"):
        F.max_unpool2d(pooled, indices[:, :1], 2)
    with pytest.raises(RuntimeError, match="Found an invalid max index: .* of size 4x4"):
        F.max_unpool2d(pooled, indices * 5, 2)
    with pytest.raises(ValueError, match=r"invalid output_size \"\(9, 9\)\" \(dim 0 must be"):
        F.max_unpool2d(pooled, indices, 2, output_size=(9, 9))
    with pytest.raises(ValueError, match="should be a sequence containing 2 or 4 elements"):
        F.max_unpool2d(pooled, indices, 2, output_size=(5,))
    with pytest.raises(NotImplementedError, match="not implemented for 'Int'"):
        F.max_unpool2d(pooled.int(), indices, 2)


# ---- Transformer -----------------------------------------------------------------------------
def load_from(ours, ref):
    """ref's state_dict into ours; the key lists must agree in order."""
    state = ref.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: t(v) for k, v in state.items()})


def compare(ours, ref, torch_inputs, ours_kwargs=None, ref_kwargs=None, atol=1e-5):
    """Outputs and input/parameter gradients of ours and ref on the same inputs."""
    mine = [t(x, True) for x in torch_inputs]
    theirs = [x.detach().clone().requires_grad_() for x in torch_inputs]
    expected = ref(*theirs, **(ref_kwargs or {}))
    got = ours(*mine, **(ours_kwargs or {}))
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), atol=atol,
                               rtol=1e-4)
    weights = np.random.default_rng(0).standard_normal(tuple(expected.shape)).astype(np.float32)
    import torch
    (expected * torch.from_numpy(weights)).sum().backward()
    (got * microdl.tensor(weights)).sum().backward()
    for m, r in zip(mine, theirs):
        np.testing.assert_allclose(m.grad.numpy(), r.grad.numpy(), atol=atol, rtol=1e-3)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), ref_params[name].grad.numpy(), atol=atol,
                                   rtol=1e-3, err_msg=name)


@pytest.mark.parametrize("norm_first, batch_first, activation", [
    (False, False, "relu"), (True, True, "gelu"), (False, True, "gelu_fn")])
def test_encoder_matches_torch_with_masks(norm_first, batch_first, activation):
    torch = torch_or_skip()
    act = (lambda m: m.functional.gelu) if activation == "gelu_fn" else (lambda m: activation)
    torch.manual_seed(0)
    kw = dict(dim_feedforward=16, dropout=0.0, norm_first=norm_first, batch_first=batch_first)
    ref = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(
        8, 2, activation=act(torch.nn), **kw), 2, norm=torch.nn.LayerNorm(8),
        enable_nested_tensor=False)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, activation=act(microdl.nn),
                                                            **kw), 2, norm=nn.LayerNorm(8),
                                 enable_nested_tensor=False)
    load_from(ours, ref)
    src = torch.randn(3, 5, 8) if batch_first else torch.randn(5, 3, 8)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(nn.Transformer.generate_square_subsequent_mask(5).numpy(),
                                  causal.numpy())
    padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])
    compare(ours, ref, [src], dict(mask=t(causal), src_key_padding_mask=t(padding)),
            dict(mask=causal, src_key_padding_mask=padding))
    bool_causal = causal.isinf()
    compare(ours, ref, [src], dict(mask=t(bool_causal), is_causal=True),
            dict(mask=bool_causal, is_causal=True))
    ref.eval()
    ours.eval()
    compare(ours, ref, [src])


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(norm_first):
    torch = torch_or_skip()
    torch.manual_seed(1)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0, norm_first=norm_first)
    ref = torch.nn.Transformer(**kw)
    ours = nn.Transformer(**kw)
    load_from(ours, ref)
    src, tgt = torch.randn(6, 2, 8), torch.randn(4, 2, 8)
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    memory_padding = torch.tensor([[False] * 6, [False] * 5 + [True]])
    compare(ours, ref, [src, tgt],
            dict(tgt_mask=t(tgt_mask), memory_key_padding_mask=t(memory_padding)),
            dict(tgt_mask=tgt_mask, memory_key_padding_mask=memory_padding))
    unbatched = dict(tgt_mask=t(tgt_mask)), dict(tgt_mask=tgt_mask)
    compare(ours, ref, [src[:, 0], tgt[:, 0]], *unbatched)


def test_decoder_layer_alone_and_init():
    torch = torch_or_skip()
    ref = torch.nn.TransformerDecoderLayer(8, 4, 16, 0.0, batch_first=True, bias=False)
    ours = nn.TransformerDecoderLayer(8, 4, 16, 0.0, batch_first=True, bias=False)
    load_from(ours, ref)
    compare(ours, ref, [torch.randn(2, 3, 8), torch.randn(2, 5, 8)])
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=32)
    bound = np.sqrt(6 / (16 + 32))  # xavier_uniform_ of linear1's (32, 16) weight
    w = model.encoder.layers[0].linear1.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > bound * 0.8
    first, second = (model.decoder.layers[0], nn.TransformerDecoder(
        model.decoder.layers[0], 2).layers)
    assert second[0] is not first and second[0].linear1.weight is not first.linear1.weight


def test_transformer_errors_and_warnings():
    with pytest.warns(UserWarning, match="enable_nested_tensor is True, but self.use_nested_"
                                         "tensor is False because encoder_layer.self_attn.batch"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 1)
    with pytest.warns(UserWarning, match="because encoder_layer.norm_first was True"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, norm_first=True), 1)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, batch_first=True), 1)
    assert encoder.use_nested_tensor  # (the flag only: microdl has no nested tensors)
    with pytest.warns(UserWarning, match="Support for mismatched src_key_padding_mask and mask"):
        encoder(microdl.randn(1, 3, 8), mask=microdl.zeros(3, 3),
                src_key_padding_mask=microdl.zeros(1, 3, dtype=microdl.bool))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    layer = nn.TransformerEncoderLayer(8, 2, dropout=0.0)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        layer(microdl.randn(3, 1, 8), is_causal=True)
    with pytest.raises(AssertionError, match="only bool and floating types of src_mask"):
        layer(microdl.randn(3, 1, 8), src_mask=microdl.zeros(3, 3, dtype=microdl.int64))
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(microdl.randn(3, 2, 8), microdl.randn(3, 1, 8))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_m"):
        model(microdl.randn(3, 2, 8), microdl.randn(3, 2, 4))


# ---- on the cuda simulator -------------------------------------------------------------------
def _bilinear_and_unpool_run(device):
    rng = np.random.default_rng(5)
    x1, x2 = (microdl.tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (3, 4)])
    w, b = (microdl.tensor(rng.standard_normal(s), requires_grad=True) for s in [(2, 2, 4), (2,)])
    x = microdl.tensor(rng.standard_normal((1, 2, 4, 4)))
    leaves = [x1, x2, w, b]
    moved = [leaf.detach().to(device).requires_grad_() for leaf in leaves]
    pooled, indices = F.max_pool2d(x.to(device), 2, return_indices=True)
    pooled = pooled.detach().requires_grad_()
    y = F.bilinear(*moved)
    z = F.max_unpool2d(pooled, indices, 2)
    (y.pow(2).sum() + z.pow(3).sum()).backward()
    return [y, z] + [leaf.grad for leaf in moved + [pooled]]


def test_bilinear_and_max_unpool_on_cuda(shrunk_cuda):
    on_cuda = _bilinear_and_unpool_run("cuda")
    assert not isinstance(on_cuda[0], microdl.DoubleTensor)  # a cuda tensor is no cpu type
    assert isinstance(on_cuda[0].cpu(), microdl.DoubleTensor)
    for got, expected in zip(on_cuda, _bilinear_and_unpool_run("cpu")):
        np.testing.assert_allclose(got.detach().cpu().numpy(), expected.detach().numpy(),
                                   atol=1e-10)
