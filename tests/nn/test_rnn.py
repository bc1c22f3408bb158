"""RNN, LSTM, GRU and their cells against PyTorch: parameter names and shapes, outputs, final
states and gradients (input, initial state, every parameter) after loading torch's
state_dict; a float64 finite-difference gradcheck; errors with torch's types and messages."""

import warnings

import numpy as np
import pytest

import microdl
from microdl import nn

torch = pytest.importorskip("torch")

# torch says it falls back from oneDNN for proj_size > 0: its own notice, not ours
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")

DTYPES = {np.float32: (torch.float32, 2e-5), np.float64: (torch.float64, 1e-10)}

# (class name, extra constructor keywords)
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}), ("LSTM", {}),
         ("LSTM", {"proj_size": 2})]

# (num_layers, bidirectional, batch_first, unbatched, with h0, bias)
CONFIGS = [
    (1, False, False, False, False, True),
    (1, False, True, False, True, True),
    (2, False, False, False, True, False),
    (2, True, False, False, True, True),
    (2, True, True, False, False, True),
    (1, True, False, True, True, True),
    (2, False, True, True, False, False),
]


def _pair(cls_name, dtype, **kwargs):
    """A torch module and a microdl one holding torch's parameters."""
    torch.manual_seed(0)
    theirs = getattr(torch.nn, cls_name)(**kwargs).to(DTYPES[dtype][0])
    ours = getattr(nn, cls_name)(**kwargs).to(dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def _leaf(array):
    return microdl.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def _close(ours, theirs, tol, what):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol,
                               atol=tol, err_msg=what)


def _loss(outputs, cotangents):
    return sum((o * c).sum() for o, c in zip(outputs, cotangents))


def _compare_run(theirs, ours, t_inputs, m_inputs, outputs_of, dtype, leaves):
    """Forward both, compare every output; backward a random weighting, compare the gradients
    of the leaves (pairs) and of every parameter."""
    tol = DTYPES[dtype][1]
    rng = np.random.default_rng(1)
    t_out, m_out = outputs_of(theirs(*t_inputs)), outputs_of(ours(*m_inputs))
    assert len(t_out) == len(m_out)
    weights = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in t_out]
    for index, (m, t) in enumerate(zip(m_out, t_out)):
        assert tuple(m.shape) == tuple(t.shape) and m.dtype == dtype
        _close(m, t, tol, f"output {index}")
    _loss(t_out, [torch.tensor(w) for w in weights]).backward()
    _loss(m_out, [microdl.tensor(w) for w in weights]).backward()
    for index, (m, t) in enumerate(leaves):
        _close(m.grad, t.grad, tol * 10, f"gradient of input {index}")
    t_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        _close(param.grad, t_params[name].grad, tol * 10, f"gradient of {name}")


def _flatten(result):
    output, state = result
    return [output, *state] if isinstance(state, tuple) else [output, state]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("layers, bidirectional, batch_first, unbatched, with_h0, bias", CONFIGS)
@pytest.mark.parametrize("kind, extra", KINDS, ids=["rnn_tanh", "rnn_relu", "gru", "lstm",
                                                    "lstm_proj"])
def test_recurrent_layer_matches_torch(kind, extra, layers, bidirectional, batch_first,
                                       unbatched, with_h0, bias, dtype):
    hidden, length, batch, features = 3, 4, 2, 5
    theirs, ours = _pair(kind, dtype, input_size=features, hidden_size=hidden, num_layers=layers,
                         bias=bias, batch_first=batch_first, bidirectional=bidirectional, **extra)
    rng = np.random.default_rng(0)
    shape = (length, features) if unbatched else \
        ((batch, length, features) if batch_first else (length, batch, features))
    mx, tx = _leaf(rng.standard_normal(shape).astype(dtype))
    leaves, m_inputs, t_inputs = [(mx, tx)], [mx], [tx]
    if with_h0:
        lead = (layers * (2 if bidirectional else 1),) + (() if unbatched else (batch,))
        sizes = [extra.get("proj_size", hidden)] + ([hidden] if kind == "LSTM" else [])
        states = [_leaf(rng.standard_normal(lead + (size,)).astype(dtype)) for size in sizes]
        leaves += states
        if kind == "LSTM":
            m_inputs.append(tuple(m for m, _ in states))
            t_inputs.append(tuple(t for _, t in states))
        else:
            m_inputs.append(states[0][0])
            t_inputs.append(states[0][1])
    _compare_run(theirs, ours, t_inputs, m_inputs, _flatten, dtype, leaves)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("unbatched, with_h0, bias", [(False, True, True), (False, False, True),
                                                      (True, True, False), (True, False, True)])
@pytest.mark.parametrize("kind, extra", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                         ("GRUCell", {}), ("LSTMCell", {})],
                         ids=["rnn_tanh", "rnn_relu", "gru", "lstm"])
def test_cell_matches_torch(kind, extra, unbatched, with_h0, bias, dtype):
    hidden, batch, features = 4, 3, 5
    theirs, ours = _pair(kind, dtype, input_size=features, hidden_size=hidden, bias=bias,
                         **extra)
    rng = np.random.default_rng(0)
    lead = () if unbatched else (batch,)
    mx, tx = _leaf(rng.standard_normal(lead + (features,)).astype(dtype))
    leaves, m_inputs, t_inputs = [(mx, tx)], [mx], [tx]
    if with_h0:
        states = [_leaf(rng.standard_normal(lead + (hidden,)).astype(dtype))
                  for _ in range(2 if kind == "LSTMCell" else 1)]
        leaves += states
        if kind == "LSTMCell":
            m_inputs.append(tuple(m for m, _ in states))
            t_inputs.append(tuple(t for _, t in states))
        else:
            m_inputs.append(states[0][0])
            t_inputs.append(states[0][1])
    outputs_of = (lambda r: list(r)) if kind == "LSTMCell" else (lambda r: [r])
    _compare_run(theirs, ours, t_inputs, m_inputs, outputs_of, dtype, leaves)


@pytest.mark.parametrize("kind, extra", [("RNN", {}), ("GRU", {}), ("LSTM", {}),
                                         ("LSTM", {"proj_size": 2}), ("RNNCell", {}),
                                         ("GRUCell", {}), ("LSTMCell", {})])
def test_parameter_names_shapes_and_init(kind, extra):
    layered = not kind.endswith("Cell")
    kwargs = dict(input_size=5, hidden_size=4, **extra)
    if layered:
        kwargs.update(num_layers=2, bidirectional=True)
    theirs = getattr(torch.nn, kind)(**kwargs)
    microdl.manual_seed(3)
    ours = getattr(nn, kind)(**kwargs)
    t_state, m_state = theirs.state_dict(), ours.state_dict()
    assert list(m_state) == list(t_state)
    for name, value in t_state.items():
        assert tuple(np.shape(m_state[name])) == tuple(value.shape), name
        assert np.asarray(m_state[name]).dtype == np.float32
        assert np.abs(np.asarray(m_state[name])).max() <= 0.5  # U(-1/sqrt(4), 1/sqrt(4))
    microdl.manual_seed(3)   # drawn from microdl's generator: the seed reproduces it
    again = getattr(nn, kind)(**kwargs).state_dict()
    for name in m_state:
        np.testing.assert_array_equal(np.asarray(again[name]), np.asarray(m_state[name]))


def test_lstm_gradcheck_float64():
    rng = np.random.default_rng(0)
    microdl.manual_seed(0)
    lstm = nn.LSTM(3, 2, num_layers=2, bidirectional=True, dtype=np.float64)
    x = microdl.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    h0 = microdl.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    c0 = microdl.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    weight = lstm.weight_hh_l1_reverse

    def run(x, h0, c0, weight):
        output, (h_n, c_n) = lstm(x, (h0, c0))
        return microdl.cat([output.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])
    assert microdl.gradcheck(run, [x, h0, c0, weight])


def test_gru_gradcheck_float64():
    rng = np.random.default_rng(1)
    microdl.manual_seed(0)
    gru = nn.GRU(3, 2, batch_first=True, dtype=np.float64)
    x = microdl.tensor(rng.standard_normal((2, 3, 3)), requires_grad=True)
    h0 = microdl.tensor(rng.standard_normal((1, 2, 2)), requires_grad=True)

    def run(x, h0, bias):
        return gru(x, h0)[0]
    assert microdl.gradcheck(run, [x, h0, gru.bias_hh_l0])


def test_dropout_between_layers_only_in_training():
    theirs, ours = _pair("GRU", np.float64, input_size=3, hidden_size=4, num_layers=2,
                         dropout=0.5)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    ours.eval()
    theirs.eval()
    _close(ours(microdl.tensor(x))[0], theirs(torch.tensor(x))[0], 1e-10, "eval output")
    ours.train()
    microdl.manual_seed(0)
    trained, h_n = (t.detach().numpy() for t in ours(microdl.tensor(x)))
    assert not np.allclose(trained, theirs(torch.tensor(x))[0].detach().numpy())
    # the last layer's output is not dropped: it is h_n of the last layer at the last step
    np.testing.assert_array_equal(trained[-1], h_n[-1])


def _error(call):
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value)


def _same_error(torch_call, microdl_call, replace=()):
    expected, ours = _error(torch_call), _error(microdl_call)
    message = expected[1]
    for old, new in replace:
        message = message.replace(old, new)
    assert ours == (expected[0], message)


LAYER_ERRORS = [  # (class, constructor args, forward input shape, hx shapes or None)
    ("LSTM", (3, 5, 2), (4, 2, 4), None),                      # wrong input size
    ("LSTM", (3, 5, 2), (4, 2, 3), [(2, 2, 5), (2, 3, 5)]),    # c0 batch
    ("LSTM", (3, 5, 2), (4, 2, 3), [(2, 5), (2, 5)]),          # 2-D hx for batched input
    ("LSTM", (3, 5, 2), (4, 3), [(2, 2, 5), (2, 2, 5)]),       # 3-D hx for unbatched input
    ("GRU", (3, 5, 2), (4, 2, 3), (3, 2, 5)),                  # h0 layers
    ("GRU", (3, 5), (4, 2, 3), (1, 2, 6)),                     # h0 hidden size
    ("RNN", (3, 5), (4, 2, 3), (2, 5)),                        # 2-D hx for batched input
    ("RNN", (3, 5), (4, 3), (1, 1, 5)),                        # 3-D hx for unbatched input
    ("RNN", (3, 5), (1, 4, 2, 3), None),                       # 4-D input
    ("GRU", (3, 5), (3,), None),                               # 1-D input
    ("LSTM", (3, 5), (1, 4, 2, 3), None),
]


@pytest.mark.parametrize("kind, args, x_shape, hx_shapes", LAYER_ERRORS)
def test_forward_errors_match_torch(kind, args, x_shape, hx_shapes):
    def make(lib, shapes):
        if shapes is None:
            return ()
        if isinstance(shapes, list):
            return (tuple(lib.zeros(*s) for s in shapes),)
        return (lib.zeros(*shapes),)
    t_module, m_module = getattr(torch.nn, kind)(*args), getattr(nn, kind)(*args)
    _same_error(lambda: t_module(torch.zeros(*x_shape), *make(torch, hx_shapes)),
                lambda: m_module(microdl.zeros(*x_shape), *make(microdl, hx_shapes)))


CELL_ERRORS = [  # (class, input shape, hx shapes)
    ("RNNCell", (3, 11), [(3, 20)]),
    ("RNNCell", (3, 10), [(3, 21)]),
    ("GRUCell", (3, 10), [(5, 20)]),
    ("GRUCell", (3, 10), [(3, 1, 1, 20)]),
    ("GRUCell", (2, 3, 10), None),
    ("LSTMCell", (3, 10), [(3, 20), (3, 21)]),
    ("LSTMCell", (3, 10), [(3, 20), (5, 20)]),
    ("LSTMCell", (3, 10), [(3, 20), (3, 1, 20)]),
]


@pytest.mark.parametrize("kind, x_shape, hx_shapes", CELL_ERRORS)
def test_cell_errors_match_torch(kind, x_shape, hx_shapes):
    def make(lib):
        if hx_shapes is None:
            return ()
        states = [lib.zeros(*s) for s in hx_shapes]
        return (tuple(states),) if kind == "LSTMCell" else (states[0],)
    t_module, m_module = getattr(torch.nn, kind)(10, 20), getattr(nn, kind)(10, 20)
    _same_error(lambda: t_module(torch.zeros(*x_shape), *make(torch)),
                lambda: m_module(microdl.zeros(*x_shape), *make(microdl)))


@pytest.mark.parametrize("kind, args, kwargs", [
    ("RNN", (3, 5), {"nonlinearity": "sigmoid"}),
    ("RNN", (3, 5), {"proj_size": 2}),
    ("GRU", (3, 5), {"proj_size": 2}),
    ("LSTM", (3, 5), {"proj_size": 5}),
    ("LSTM", (3, 5), {"proj_size": -1}),
    ("LSTM", (3, 0), {}),
    ("LSTM", (0, 5), {}),
    ("GRU", (3, 5, 0), {}),
    ("GRU", (3.0, 5), {}),
    ("GRU", (3, 5), {"bias": 1}),
    ("RNN", (3, 5), {"batch_first": "False"}),
    ("RNN", (3, 5), {"dropout": 1.5}),
])
def test_construction_errors_match_torch(kind, args, kwargs):
    _same_error(lambda: getattr(torch.nn, kind)(*args, **kwargs),
                lambda: getattr(nn, kind)(*args, **kwargs))


def test_dtype_mismatch_and_dropout_warning():
    _same_error(lambda: torch.nn.GRU(3, 5)(torch.zeros(2, 4, 3, dtype=torch.float64)),
                lambda: nn.GRU(3, 5)(microdl.zeros(2, 4, 3, dtype=microdl.float64)),
                replace=[("torch.", "microdl.")])
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 5, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(3, 5, num_layers=2, dropout=0.2)


def test_packed_sequence_is_refused_by_name():
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.zeros(4, 2, 3), torch.tensor([4, 2]))
    for module in (nn.RNN(3, 5), nn.GRU(3, 5), nn.LSTM(3, 5)):
        with pytest.raises(NotImplementedError, match="PackedSequence"):
            module(packed)


def test_repr_matches_torch():
    kwargs = dict(num_layers=2, bias=False, batch_first=True, dropout=0.1, bidirectional=True)
    for kind, extra in [("RNN", {"nonlinearity": "relu"}), ("GRU", {}),
                        ("LSTM", {"proj_size": 2})]:
        assert repr(getattr(nn, kind)(3, 5, **kwargs, **extra)) == \
            repr(getattr(torch.nn, kind)(3, 5, **kwargs, **extra))
    assert repr(nn.RNNCell(3, 5, bias=False, nonlinearity="relu")) == \
        repr(torch.nn.RNNCell(3, 5, bias=False, nonlinearity="relu"))
    assert repr(nn.LSTMCell(3, 5)) == repr(torch.nn.LSTMCell(3, 5))
