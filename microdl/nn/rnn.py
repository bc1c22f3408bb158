"""Recurrent layers with PyTorch's arguments, parameter names, shapes, gate order and errors
(so a PyTorch state_dict loads and the numbers agree): RNN, LSTM, GRU and their cells.

Built from existing ops (linear, sigmoid, tanh, relu, slicing, stack, cat), so autograd needs
nothing new. The loop over time steps is a plain Python loop: exact, not fast (one small
graph per step; no fused or cuDNN-style kernel). The input projection x W_ih^T + b_ih is done
for the whole sequence at once before the loop, as PyTorch's CPU path does.

Cell equations (x input, h hidden state, c cell state; gate order of the stacked weights):

    RNN:   h' = act(W_ih x + b_ih + W_hh h + b_hh),   act = tanh or relu
    LSTM:  i, f, g, o = split(W_ih x + b_ih + W_hh h + b_hh)      (i, f, g, o order)
           c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
           h' = sigmoid(o) * tanh(c')            (then h' = W_hr h' with proj_size > 0)
    GRU:   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)               (r, z, n order)
           z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
           n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
           h' = (1 - z) * n + z * h
"""

import math
import numbers
import warnings

import numpy as np

from .. import functional as F
from ..creation import zeros
from ..tensor import Tensor
from ..tensor_methods.shape import cat, stack
from . import init
from .module import Module, Parameter


def _refuse_packed(input, name):
    if not isinstance(input, Tensor) and type(input).__name__ == "PackedSequence":
        raise NotImplementedError(f"{name}: PackedSequence input is not supported in microdl "
                                  f"(pad the batch and pass a Tensor)")


# ---- one time step: x_proj = W_ih x + b_ih is precomputed for the whole sequence ------------
def _rnn_step(x_proj, h, w_hh, b_hh, nonlinearity):
    """h' = act(x_proj + W_hh h + b_hh)."""
    pre = x_proj + F.linear(h, w_hh, b_hh)
    return F.tanh(pre) if nonlinearity == "tanh" else F.relu(pre)


def _lstm_step(x_proj, h, c, w_hh, b_hh, w_hr=None):
    """(h', c') of the LSTM equations above; gates stacked i, f, g, o."""
    gates = x_proj + F.linear(h, w_hh, b_hh)
    size = c.shape[-1]
    i, f, g, o = (gates[..., k * size:(k + 1) * size] for k in range(4))
    c_next = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
    h_next = F.sigmoid(o) * F.tanh(c_next)
    if w_hr is not None:
        h_next = F.linear(h_next, w_hr)
    return h_next, c_next


def _gru_step(x_proj, h, w_hh, b_hh):
    """h' of the GRU equations above; gates stacked r, z, n (b_hn stays inside r * (...))."""
    size = h.shape[-1]
    h_proj = F.linear(h, w_hh, b_hh)
    x_r, x_z, x_n = (x_proj[..., k * size:(k + 1) * size] for k in range(3))
    h_r, h_z, h_n = (h_proj[..., k * size:(k + 1) * size] for k in range(3))
    r = F.sigmoid(x_r + h_r)
    z = F.sigmoid(x_z + h_z)
    n = F.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def _check_type(value, kind, name):
    if not isinstance(value, kind):
        raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                        f"{type(value).__name__}")


class RNNBase(Module):
    """Shared construction and forward of RNN, LSTM and GRU (mode "RNN_TANH", "RNN_RELU",
    "LSTM", "GRU"). Parameters per layer k and direction (suffix "" or "_reverse"):
    weight_ih_l{k} (G, in), weight_hh_l{k} (G, H_out), bias_ih_l{k} (G,), bias_hh_l{k} (G,),
    and weight_hr_l{k} (proj_size, H) for an LSTM with proj_size > 0; G = gates * hidden_size,
    in = input_size for layer 0, else H_out * num_directions. All initialised from
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) with microdl's generator."""

    _gates = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or \
                not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        _check_type(bias, bool, "bias")
        _check_type(batch_first, bool, "batch_first")
        _check_type(input_size, int, "input_size")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        _check_type(hidden_size, int, "hidden_size")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in self._gates:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        gate_size = self._gates[mode] * hidden_size
        out_size = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else out_size * directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                names = []
                for stem, shape in shapes:
                    setattr(self, stem + suffix, Parameter(np.empty(shape, dtype)))
                    names.append(stem + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's init, in place: every parameter ~ U(-1/sqrt(hidden_size),
        1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    @property
    def all_weights(self):
        """The parameters, one list per (layer, direction), in PyTorch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    def flatten_parameters(self):
        """No-op (cuDNN's contiguous weight buffer; microdl has none)."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- checks, as RNNBase.check_input / check_hidden_size ---------------------------------
    def _check_input(self, input):
        weight_dtype = self._flat_weights[0].dtype
        if input.dtype != weight_dtype:
            raise ValueError(f"RNN input dtype (microdl.{input.dtype}) does not match weight "
                             f"dtype (microdl.{weight_dtype}). Convert input: "
                             f"input.to(microdl.{weight_dtype}), or convert model: "
                             f"model.to(microdl.{input.dtype})")
        if input.dim() != 3:
            raise RuntimeError(f"input must have 3 dimensions, got {input.dim()}")
        if self.input_size != input.shape[-1]:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")

    def _expected_hidden(self, batch, size):
        return (self.num_layers * (2 if self.bidirectional else 1), batch, size)

    @staticmethod
    def _check_hidden(hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(expected, list(hx.shape)))

    # ---- the recurrence -------------------------------------------------------------------
    def _prepare(self, input):
        """(batched input, unbatched?, batch size), after PyTorch's dimension check."""
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        _refuse_packed(input, name)
        if input.dim() not in (2, 3):
            tail = "D tensor instead" if name == "RNN" else "D instead"
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}{tail}")
        unbatched = input.dim() == 2
        if unbatched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        batch = input.shape[0] if self.batch_first else input.shape[1]
        return input, unbatched, batch

    def _run(self, input, states):
        """input (N, L, H_in) if batch_first else (L, N, H_in); states: a list (one entry per
        state: h, or h and c) of (layers * directions, N, size) tensors. Returns (output,
        final states as the same list layout)."""
        if self.batch_first:
            input = input.transpose(0, 1)
        directions = 2 if self.bidirectional else 1
        finals = [[] for _ in states]
        layer_input = input
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = self._all_weights[index]
                params = {name.split("_l")[0]: getattr(self, name) for name in weights}
                state = [s[index] for s in states]
                out, state = self._direction(layer_input, state, params, reverse=direction == 1)
                outputs.append(out)
                for kept, value in zip(finals, state):
                    kept.append(value)
            layer_input = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, [stack(kept, dim=0) for kept in finals]

    def _direction(self, input, state, params, reverse):
        """One layer in one direction over the time-major input: (outputs (L, N, H_out),
        final state list)."""
        x_proj = F.linear(input, params["weight_ih"], params.get("bias_ih"))
        w_hh, b_hh = params["weight_hh"], params.get("bias_hh")
        steps = range(input.shape[0] - 1, -1, -1) if reverse else range(input.shape[0])
        outputs = [None] * input.shape[0]
        for t in steps:
            if self.mode == "LSTM":
                state = list(_lstm_step(x_proj[t], state[0], state[1], w_hh, b_hh,
                                        params.get("weight_hr")))
            elif self.mode == "GRU":
                state = [_gru_step(x_proj[t], state[0], w_hh, b_hh)]
            else:
                state = [_rnn_step(x_proj[t], state[0], w_hh, b_hh,
                                   "tanh" if self.mode == "RNN_TANH" else "relu")]
            outputs[t] = state[0]
        return stack(outputs, dim=0), state


class _SingleStateRNN(RNNBase):
    """RNN and GRU: one state tensor h."""

    def forward(self, input, hx=None):
        input, unbatched, batch = self._prepare(input)
        if hx is not None:
            if unbatched:
                if hx.dim() != 2:
                    raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got "
                                       f"{hx.dim()}-D tensor")
                hx = hx.unsqueeze(1)
            elif hx.dim() != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                                   f"{hx.dim()}-D tensor")
        else:
            hx = zeros(*self._expected_hidden(batch, self.hidden_size), dtype=input.dtype,
                       device=input.device)
        self._check_input(input)
        self._check_hidden(hx, self._expected_hidden(batch, self.hidden_size))
        output, (h_n,) = self._run(input, [hx])
        if unbatched:
            output = output.squeeze(0 if self.batch_first else 1)
            h_n = h_n.squeeze(1)
        return output, h_n


class RNN(_SingleStateRNN):
    """Elman RNN, as torch.nn.RNN: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), act tanh
    or relu, stacked num_layers deep (layer k > 0 reads layer k-1's output, with dropout
    between layers in training), optionally bidirectional (the reverse direction runs from the
    last step to the first; its outputs are concatenated after the forward ones).

    Args: input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None.
    Shapes: input (L, N, H_in) ((N, L, H_in) batch_first, (L, H_in) unbatched), hx
    (D * num_layers, N, H) ((D * num_layers, H) unbatched) -> (output (L, N, D * H), h_n)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:   # positional order: input_size, hidden_size, num_layers, nonlinearity
            nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             f"'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", *args, **kwargs)
        self.nonlinearity = nonlinearity


class GRU(_SingleStateRNN):
    """Gated recurrent unit, as torch.nn.GRU (equations in the module docstring; gates r, z, n),
    stacked and optionally bidirectional like RNN.

    Args: input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, device=None, dtype=None. Shapes as RNN."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


class LSTM(RNNBase):
    """Long short-term memory, as torch.nn.LSTM (equations in the module docstring; gates i, f,
    g, o), stacked and optionally bidirectional like RNN. With proj_size > 0 the hidden state
    is projected, h_t = W_hr (o_t * tanh(c_t)), and h has size proj_size.

    Args: input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, device=None, dtype=None. forward(input, (h_0, c_0)=None)
    -> (output (L, N, D * H_out), (h_n, c_n)), H_out = proj_size or hidden_size."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def forward(self, input, hx=None):
        input, unbatched, batch = self._prepare(input)
        h_size = self.proj_size if self.proj_size > 0 else self.hidden_size
        h_shape = self._expected_hidden(batch, h_size)
        c_shape = self._expected_hidden(batch, self.hidden_size)
        if hx is None:
            hx = (zeros(*h_shape, dtype=input.dtype, device=input.device),
                  zeros(*c_shape, dtype=input.dtype, device=input.device))
        else:
            want, shape = (2, "unbatched 2-D") if unbatched else (3, "batched 3-D")
            if hx[0].dim() != want or hx[1].dim() != want:
                raise RuntimeError(f"For {shape} input, hx and cx should also be {want}-D but "
                                   f"got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            if unbatched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self._check_input(input)
        self._check_hidden(hx[0], h_shape, "Expected hidden[0] size {}, got {}")
        self._check_hidden(hx[1], c_shape, "Expected hidden[1] size {}, got {}")
        output, (h_n, c_n) = self._run(input, list(hx))
        if unbatched:
            output = output.squeeze(0 if self.batch_first else 1)
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return output, (h_n, c_n)


# ---- cells: one time step ----------------------------------------------------------------------
class RNNCellBase(Module):
    """weight_ih (G, input_size), weight_hh (G, hidden_size), bias_ih, bias_hh (G,),
    G = gates * hidden_size, all ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = np.dtype(np.float32 if dtype is None else dtype)
        gate_size = num_chunks * hidden_size
        self.weight_ih = Parameter(np.empty((gate_size, input_size), dtype))
        self.weight_hh = Parameter(np.empty((gate_size, hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(gate_size, dtype))
            self.bias_hh = Parameter(np.empty(gate_size, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        """PyTorch's init, in place: every parameter ~ U(-1/sqrt(hidden_size),
        1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _batched(self, input, hidden, label):
        """(input, hidden states as 2-D, unbatched?) after PyTorch's cell checks; hidden is a
        list of tensors or None."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             f"instead")
        if hidden is not None:
            for idx, value in enumerate(hidden):
                if value.dim() not in (1, 2):
                    which = f"hx[{idx}]" if label == "hx" else "hidden"
                    raise ValueError(f"{name}: Expected {which} to be 1D or 2D, got "
                                     f"{value.dim()}D instead")
        unbatched = input.dim() == 1
        if unbatched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        if hidden is None:
            return input, None, unbatched
        if unbatched:
            hidden = [h.unsqueeze(0) for h in hidden]
        for idx, h in enumerate(hidden):
            if input.shape[0] != h.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match "
                                   f"hidden{idx} batch size {h.shape[0]}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{idx} has inconsistent hidden_size: got "
                                   f"{h.shape[1]}, expected {self.hidden_size}")
        return input, hidden, unbatched

    def _zeros(self, input):
        return zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    """One Elman RNN step, as torch.nn.RNNCell: h' = act(W_ih x + b_ih + W_hh h + b_hh), act
    tanh or relu. forward(input (N, H_in) or (H_in,), hx=None (zeros)) -> h' (N, H)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, hidden, unbatched = self._batched(input, None if hx is None else [hx], "hidden")
        h = self._zeros(input) if hidden is None else hidden[0]
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        x_proj = F.linear(input, self.weight_ih, self.bias_ih)
        out = _rnn_step(x_proj, h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return out.squeeze(0) if unbatched else out


class LSTMCell(RNNCellBase):
    """One LSTM step, as torch.nn.LSTMCell (equations in the module docstring; gates i, f, g,
    o). forward(input, (h, c)=None (zeros)) -> (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        input, hidden, unbatched = self._batched(input, None if hx is None else list(hx), "hx")
        if hidden is None:
            hidden = [self._zeros(input), self._zeros(input)]
        x_proj = F.linear(input, self.weight_ih, self.bias_ih)
        h, c = _lstm_step(x_proj, hidden[0], hidden[1], self.weight_hh, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step, as torch.nn.GRUCell (equations in the module docstring; gates r, z, n).
    forward(input, hx=None (zeros)) -> h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        input, hidden, unbatched = self._batched(input, None if hx is None else [hx], "hidden")
        h = self._zeros(input) if hidden is None else hidden[0]
        out = _gru_step(F.linear(input, self.weight_ih, self.bias_ih), h, self.weight_hh,
                        self.bias_hh)
        return out.squeeze(0) if unbatched else out
