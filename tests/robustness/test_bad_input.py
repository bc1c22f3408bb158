"""Bad input to the public API, as tables of cases.

ERRORS: input that must fail, with the error type and a pattern naming the problem (the shape,
rank, dtype, value or key at fault; PyTorch's wording where PyTorch has one). NON_FINITE: NaN and
Inf must propagate through every op (never crash a kernel) exactly as in the numpy reference.
NON_CONTIGUOUS: transposed, reversed, sliced and Fortran-ordered views must give the same bits as
a contiguous copy. PROMOTION: the mixed-dtype rule stated in the README (PyTorch's).
"""

import json
import zipfile

import numpy as np
import pytest

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl import tensor
from microdl.data import DataLoader, TensorDataset, min_max_scale
from microdl.io import CheckpointError
from microdl.optim import SGD, lr_scheduler
from microdl.train import fit

f32, f64, i64 = np.float32, np.float64, np.int64


def t(*shape, dtype=f32, value=None):
    data = np.random.default_rng(0).standard_normal(shape) if value is None else \
        np.full(shape, value)
    return tensor(data.astype(dtype))


def linear_model():
    microdl.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def load_into(model, state):
    return lambda: model.load_state_dict(state)


def state_without(key):
    state = linear_model().state_dict()
    del state[key]
    return state


def state_with(key, value):
    state = linear_model().state_dict()
    state[key] = value
    return state


def optimizer_state_with_fewer_params():
    model = linear_model()
    return SGD(list(model.parameters())[:-1], lr=0.1).state_dict()


def bad_momentum_state():
    model = linear_model()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    state = opt.state_dict()
    state["state"][0] = {"momentum_buffer": np.zeros((7, 7), f32)}
    return opt, state


def crafted_checkpoint(tmp, name, members, compress_type=zipfile.ZIP_STORED):
    """A zip written by hand: members maps a name to raw .npy bytes or an array."""
    path = tmp / name
    with zipfile.ZipFile(path, "w", compression=compress_type) as archive:
        for member, value in members.items():
            with archive.open(member + ".npy", "w") as f:
                if isinstance(value, bytes):
                    f.write(value)
                else:
                    np.lib.format.write_array(f, value, allow_pickle=False)
    return path


def manifest(tree):
    text = json.dumps({"format": "microdl-state-v1", "tree": tree})
    return np.frombuffer(text.encode(), np.uint8)


def unknown_compression(tmp):
    path = microdl.save({"w": np.arange(10.0)}, tmp / "method.npz")
    data = bytearray(path.read_bytes())
    for offset in (8, data.rfind(b"PK\x01\x02") + 10):  # local header, central directory
        data[offset:offset + 2] = (99).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def huge_array_header():
    header = {"descr": "<f8", "fortran_order": False, "shape": (2 ** 40, 2 ** 20)}
    out = bytearray()

    class Sink:
        def write(self, b):
            out.extend(b)

    np.lib.format.write_array_header_1_0(Sink(), header)
    return bytes(out)


def deep_manifest():
    text = '{"format": "microdl-state-v1", "tree": ' + "[" * 100000 + "]" * 100000 + "}"
    return np.frombuffer(text.encode(), np.uint8)


def empty_batch_fit():
    model = nn.Linear(2, 2)
    fit(model, F.cross_entropy, SGD(model.parameters(), lr=0.1),
        [(np.zeros((0, 2), f32), np.zeros(0, i64))], progress=False)


# (name, call(tmp_path), error type, pattern the message must match)
ERRORS = [
    # tensors and autograd
    ("tensor of strings", lambda tmp: tensor(["a", "b"]), TypeError, r"dtype <U1"),
    ("tensor of objects", lambda tmp: tensor([object()]), TypeError, r"dtype object"),
    ("integer tensor requiring grad", lambda tmp: tensor([1, 2], requires_grad=True),
     RuntimeError, r"floating point dtype can require gradients \(got dtype int64\)"),
    ("backward of a non-scalar", lambda tmp: (t(3) * tensor(np.ones(3, f32),
                                                            requires_grad=True)).backward(),
     RuntimeError, r"only for scalar outputs \(got shape \(3,\)\)"),
    ("backward with a mis-shaped gradient",
     lambda tmp: (tensor(np.ones(3, f32), requires_grad=True) * 2).backward(np.ones(4, f32)),
     RuntimeError, r"grad_output\[0\] has a shape of \(4,\).*shape of \(3,\)"),
    ("reshape to a wrong size", lambda tmp: t(2, 3).reshape(4, 2), RuntimeError,
     r"shape '\[4, 2\]' is invalid for input of size 6"),
    ("sum over a missing axis", lambda tmp: t(2, 3).sum(axis=2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
    ("permute with a repeated axis", lambda tmp: t(2, 3).permute(0, 0), RuntimeError,
     r"not a permutation of the 2 dimensions"),
    ("max of an empty tensor", lambda tmp: t(0, 3).max(), RuntimeError, r"numel\(\) == 0"),
    ("add with shapes that do not broadcast", lambda tmp: t(2, 3) + t(4), RuntimeError,
     r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton "
     r"dimension 1"),
    ("gradcheck on float32", lambda tmp: microdl.gradcheck(lambda a: a * 2, [
        tensor(np.ones(2, f32), requires_grad=True)]), TypeError, r"input 0 is float32"),
    # matmul and linear
    ("matmul of mismatched shapes", lambda tmp: t(3, 4) @ t(5, 2), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(3x4 and 5x2\)"),
    ("matmul of a 0-d tensor", lambda tmp: t() @ t(3), RuntimeError,
     r"at least 1D, but they are 0D and 1D"),
    ("Linear with the wrong feature count", lambda tmp: nn.Linear(3, 2)(t(5, 4)), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(5x4 and 3x2\)"),
    ("Linear on int64 data", lambda tmp: nn.Linear(3, 2)(t(5, 3, dtype=i64)), RuntimeError,
     r"expected m1 and m2 to have the same dtype, but got: long int != float"),
    ("Linear on uint8 images", lambda tmp: nn.Linear(3, 2)(t(5, 3, dtype=np.uint8)),
     RuntimeError, r"but got: unsigned char != float"),
    ("Linear on booleans", lambda tmp: nn.Linear(3, 2)(t(5, 3, dtype=bool)), RuntimeError,
     r"but got: bool != float"),
    ("linear with a mis-shaped bias", lambda tmp: F.linear(t(5, 3), t(2, 3), t(3)), RuntimeError,
     r"bias of shape \(3,\) does not match weight of shape \(2, 3\)"),
    ("Linear with a negative size", lambda tmp: nn.Linear(-1, 2), ValueError,
     r"in_features=-1"),
    # activations, dropout
    ("relu on booleans", lambda tmp: F.relu(t(3, dtype=bool)), RuntimeError,
     r"Boolean inputs not supported for relu"),
    ("leaky_relu on int64", lambda tmp: F.leaky_relu(t(3, dtype=i64)), NotImplementedError,
     r"\"leaky_relu_cpu\" not implemented for 'Long'"),
    ("softmax on int64", lambda tmp: F.softmax(t(2, 3, dtype=i64)), TypeError, r"softmax: .*int64"),
    ("log_softmax along a missing dim", lambda tmp: F.log_softmax(t(2, 3), dim=2), IndexError,
     r"Dimension out of range .*but got 2"),
    ("softmax of a 0-d tensor along dim 1", lambda tmp: F.softmax(t(), 1), IndexError,
     r"expected to be in range of \[-1, 0\], but got 1"),
    ("dropout on int64", lambda tmp: F.dropout(t(4, dtype=i64), 0.5), TypeError,
     r"dropout: expected a floating point input \(got dtype int64\)"),
    ("dropout probability 1.5", lambda tmp: F.dropout(t(4), 1.5), ValueError,
     r"between 0 and 1, but got 1.5"),
    ("Dropout probability -0.1", lambda tmp: nn.Dropout(-0.1), ValueError, r"got -0.1"),
    # losses
    ("label above the class count", lambda tmp: F.cross_entropy(t(3, 4), np.array([0, 1, 4])),
     IndexError, r"Target 4 is out of bounds"),
    ("negative label", lambda tmp: F.cross_entropy(t(3, 4), np.array([0, -1, 1])), IndexError,
     r"Target -1 is out of bounds"),
    ("float labels", lambda tmp: F.cross_entropy(t(3, 4), np.array([0.0, 1.0, 2.0])),
     RuntimeError, r"expected target dtype to be Long or Byte, but got Double"),
    ("boolean labels", lambda tmp: F.cross_entropy(t(2, 4), np.array([True, False])),
     RuntimeError, r"expected target dtype to be Long or Byte, but got Bool"),
    ("one-hot (2-D) integer labels", lambda tmp: F.cross_entropy(t(2, 3),
                                                                 np.eye(3, dtype=i64)[:2]),
     RuntimeError, r"Expected floating point type for target with class probabilities, got Long"),
    ("fewer labels than samples", lambda tmp: F.cross_entropy(t(3, 4), np.array([0, 1])),
     ValueError, r"Expected input batch_size \(3\) to match target batch_size \(2\)"),
    ("integer logits", lambda tmp: F.cross_entropy(t(2, 3, dtype=i64), np.array([0, 1])),
     TypeError, r"floating point logits \(got dtype int64\)"),
    ("unknown reduction", lambda tmp: F.cross_entropy(t(2, 3), np.array([0, 1]),
                                                      reduction="avg"),
     ValueError, r"avg is not a valid value for reduction"),
    ("mse of shapes that do not broadcast", lambda tmp: F.mse_loss(t(2, 3), t(3, 2)),
     RuntimeError, r"The size of tensor a \(3\) must match the size of tensor b \(2\)"),
    ("mse of int64 predictions", lambda tmp: F.mse_loss(t(2, dtype=i64), t(2, dtype=i64)),
     NotImplementedError, r'"mse_cpu" not implemented for \'Long\''),
    # batch norm
    ("batch_norm of a 1-D input", lambda tmp: F.batch_norm(t(4), None, None, training=True),
     ValueError, r"at least 2 dimensions .*got 1D input"),
    ("batch_norm of int64", lambda tmp: F.batch_norm(t(4, 3, dtype=i64), None, None,
                                                     training=True),
     TypeError, r"batch_norm: expected a floating point input \(got dtype int64\)"),
    ("running_mean of the wrong size",
     lambda tmp: F.batch_norm(t(4, 3), np.zeros(2, f32), np.ones(3, f32)), RuntimeError,
     r"running_mean should contain 3 elements not 2"),
    ("BatchNorm1d with another channel count", lambda tmp: nn.BatchNorm1d(3)(t(4, 5)),
     RuntimeError, r"should contain 5 elements not 3"),
    ("one value per channel in training", lambda tmp: nn.BatchNorm1d(3)(t(1, 3)), ValueError,
     r"Expected more than 1 value per channel when training, got input size \[1, 3\]"),
    ("eval without running statistics",
     lambda tmp: F.batch_norm(t(4, 3), None, None, training=False), RuntimeError,
     r"running_mean and running_var must be defined in evaluation mode"),
    ("BatchNorm2d on a 2-D input", lambda tmp: nn.BatchNorm2d(3)(t(4, 3)), ValueError,
     r"expected 4D input \(got 2D input\)"),
    ("BatchNorm1d on a 4-D input", lambda tmp: nn.BatchNorm1d(3)(t(2, 3, 2, 2)), ValueError,
     r"expected 2D or 3D input \(got 4D input\)"),
    ("batch_norm with momentum=None",
     lambda tmp: F.batch_norm(t(4, 3), np.zeros(3, f32), np.ones(3, f32), training=True,
                              momentum=None), TypeError, r"momentum must be a number"),
    # convolution and pooling
    ("conv2d of a 2-D input", lambda tmp: F.conv2d(t(5, 5), t(1, 1, 2, 2)), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[5, 5\]"),
    ("conv2d of int64 with float32 weights",
     lambda tmp: F.conv2d(t(1, 1, 4, 4, dtype=i64), t(1, 1, 2, 2)),
     RuntimeError, r"expected scalar type Long but found Float"),
    ("conv2d of float64 with float32 weights",
     lambda tmp: F.conv2d(t(1, 1, 4, 4, dtype=f64), t(1, 1, 2, 2)), RuntimeError,
     r"expected scalar type Double but found Float"),
    ("Conv2d with another channel count", lambda tmp: nn.Conv2d(2, 1, 2)(t(1, 3, 4, 4)),
     RuntimeError, r"expected input\[1, 3, 4, 4\] to have 2 channels, but got 3 channels"),
    ("conv2d kernel larger than the input", lambda tmp: F.conv2d(t(1, 1, 2, 2), t(1, 1, 3, 3)),
     RuntimeError, r"Kernel size can't be greater than actual input size"),
    ("conv2d of an empty batch", lambda tmp: F.conv2d(t(0, 1, 4, 4), t(1, 1, 2, 2)), ValueError,
     r"empty batch \(input of size \[0, 1, 4, 4\]\)"),
    ("conv2d with stride 0", lambda tmp: F.conv2d(t(1, 1, 4, 4), t(1, 1, 2, 2), stride=0),
     RuntimeError, r"non-positive stride"),
    ("conv2d with an unknown padding", lambda tmp: F.conv2d(t(1, 1, 4, 4), t(1, 1, 2, 2),
                                                            padding="full"),
     ValueError, r"Invalid padding string 'full'"),
    ("max_pool2d of booleans", lambda tmp: F.max_pool2d(t(1, 1, 4, 4, dtype=bool), 2),
     NotImplementedError, r"\"max_pool2d\" not implemented for 'Bool'"),
    ("max_pool2d with no channels", lambda tmp: F.max_pool2d(t(1, 0, 4, 4), 2), RuntimeError,
     r"optional 0 dim batch size for input, but got:\[1, 0, 4, 4\]"),
    ("avg_pool2d window larger than the input", lambda tmp: F.avg_pool2d(t(1, 1, 2, 2), 3),
     RuntimeError, r"Output size is too small"),
    ("max_pool2d padding above half the kernel", lambda tmp: F.max_pool2d(t(1, 1, 4, 4), 2,
                                                                          padding=2),
     RuntimeError, r"pad should be at most half of effective kernel size, but got pad=2"),
    # modules and state dicts from another model
    ("state_dict with a missing key", lambda tmp: load_into(linear_model(),
                                                            state_without("1.running_var"))(),
     RuntimeError, r'Missing key\(s\) in state_dict: "1.running_var"'),
    ("state_dict with an unexpected key",
     lambda tmp: load_into(linear_model(), state_with("3.weight", np.zeros(2, f32)))(),
     RuntimeError, r'Unexpected key\(s\) in state_dict: "3.weight"'),
    ("state_dict with a mis-shaped weight",
     lambda tmp: load_into(linear_model(), state_with("0.weight", np.zeros((4, 5), f32)))(),
     RuntimeError, r"size mismatch for 0.weight: copying a param with shape \(4, 5\) from "
                   r"checkpoint, the shape in current model is \(4, 3\)"),
    ("state_dict of another architecture",
     lambda tmp: linear_model().load_state_dict(nn.Sequential(nn.Linear(3, 2)).state_dict()),
     RuntimeError, r'Missing key\(s\) in state_dict: "0.bias"|size mismatch for 0.weight'),
    ("a tensor assigned over a parameter", lambda tmp: setattr(nn.Linear(2, 2), "weight", t(2)),
     TypeError, r"cannot assign Tensor as parameter 'weight'"),
    ("Sequential of a non-module", lambda tmp: nn.Sequential(nn.Linear(2, 2), F.relu),
     TypeError, r"function is not a Module subclass"),
    # optimizers and schedulers
    ("SGD with a negative learning rate",
     lambda tmp: SGD(nn.Linear(2, 2).parameters(), lr=-0.1), ValueError,
     r"Invalid learning rate: -0.1"),
    ("SGD with no parameters", lambda tmp: SGD([], lr=0.1), ValueError, r"empty parameter list"),
    ("SGD over a set of parameters", lambda tmp: SGD(set(nn.Linear(2, 2).parameters()), lr=0.1),
     TypeError, r"ordering of tensors in sets"),
    ("nesterov without momentum",
     lambda tmp: SGD(nn.Linear(2, 2).parameters(), lr=0.1, nesterov=True), ValueError,
     r"Nesterov momentum requires a momentum"),
    ("optimizer state of another parameter layout",
     lambda tmp: SGD(linear_model().parameters(), lr=0.1).load_state_dict(
         optimizer_state_with_fewer_params()), ValueError,
     r"doesn't match the size of optimizer's group \(group 0: 5 saved, 6 here\)"),
    ("mis-shaped momentum buffer", lambda tmp: (lambda o, s: o.load_state_dict(s))(
        *bad_momentum_state()), ValueError,
     r"'momentum_buffer' of shape \(7, 7\) for parameter 0, whose shape is \(4, 3\)"),
    ("StepLR with step_size 0",
     lambda tmp: lr_scheduler.StepLR(SGD(nn.Linear(2, 2).parameters(), lr=0.1), 0), ValueError,
     r"step_size must be a positive integer \(got 0\)"),
    # data and training loop
    ("TensorDataset of mismatched lengths", lambda tmp: TensorDataset(np.ones((3, 2)),
                                                                      np.ones(4)),
     ValueError, r"got shapes \(3, 2\), \(4,\)"),
    ("DataLoader with batch_size 0", lambda tmp: DataLoader(TensorDataset(np.ones(3)), 0),
     ValueError, r"batch_size=0"),
    ("DataLoader over an empty dataset", lambda tmp: DataLoader(TensorDataset(np.ones((0, 2)))),
     ValueError, r"empty dataset \(0 samples\)"),
    ("DataLoader with a bad generator",
     lambda tmp: DataLoader(TensorDataset(np.ones(3)), generator="seed"), TypeError,
     r"numpy.random.Generator, an int seed or None \(got str\)"),
    ("scaling with mismatched features", lambda tmp: min_max_scale(np.ones((3, 2)),
                                                                   np.ones((3, 4))),
     ValueError, r"test samples have shape \(4,\), train samples \(2,\)"),
    ("fit with negative epochs",
     lambda tmp: fit(nn.Linear(2, 2), F.cross_entropy, None, [], epochs=-1), ValueError,
     r"epochs must be a non-negative integer \(got -1\)"),
    ("fit on an empty batch", lambda tmp: empty_batch_fit(), ValueError,
     r"batch 1 of epoch 1 is empty \(0 samples\)"),
    ("manual_seed of a negative number", lambda tmp: microdl.manual_seed(-1), ValueError,
     r"non-negative integer \(got -1\)"),
    ("unknown kernel set", lambda tmp: microdl.set_kernels("fast"), ValueError,
     r"unknown kernel set 'fast'"),
    ("random state of another generator",
     lambda tmp: microdl.random.set_rng_state({"bit_generator": "MT19937", "state": {}}),
     ValueError, r"state from get_rng_state\(\) of a PCG64 generator \(got 'MT19937'\)"),
    # files
    ("save of a Python object", lambda tmp: microdl.save({"x": object()}, tmp / "x.npz"),
     TypeError, r"cannot store a value of type object"),
    ("load of a zip with an unknown compression method",
     lambda tmp: microdl.load(unknown_compression(tmp)), CheckpointError,
     r"method.npz: not a readable microdl checkpoint .*NotImplementedError"),
    ("load of a manifest nested 100000 deep", lambda tmp: microdl.load(crafted_checkpoint(
        tmp, "deep.npz", {"__microdl__": deep_manifest()})), CheckpointError,
     r"deep.npz: not a readable microdl checkpoint .*RecursionError"),
    ("load of an array header claiming 2**60 values",
     lambda tmp: microdl.load(crafted_checkpoint(tmp, "huge.npz", {
         "__microdl__": manifest({"__array__": 0}), "a0": huge_array_header()})),
     CheckpointError, r"huge.npz: not a readable microdl checkpoint"),
    ("load of a manifest naming a missing array",
     lambda tmp: microdl.load(crafted_checkpoint(tmp, "ref.npz", {
         "__microdl__": manifest({"__array__": 3})})),
     CheckpointError, r"ref.npz: not a readable microdl checkpoint .*KeyError"),
    ("load of a manifest with a list as a dict key",
     lambda tmp: microdl.load(crafted_checkpoint(tmp, "key.npz", {
         "__microdl__": manifest({"__dict__": [[[1], 2]]})})),
     CheckpointError, r"key.npz: not a readable microdl checkpoint .*unhashable"),
]


@pytest.mark.parametrize("name, call, error, pattern", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_input_fails_with_an_error_naming_the_problem(name, call, error, pattern, tmp_path):
    with pytest.raises(error, match=pattern):
        call(tmp_path)


def test_the_error_table_has_unique_names():
    names = [case[0] for case in ERRORS]
    assert len(names) == len(set(names))


# ---- NaN and Inf propagate -------------------------------------------------------------------

LABELS = np.array([0, 2, 1, 3])

# name -> (input shape, op); a NaN, +Inf or -Inf is put in the first element of the input
NON_FINITE_OPS = {
    "relu": ((4, 5), F.relu),
    "leaky_relu": ((4, 5), lambda x: F.leaky_relu(x, 0.1)),
    "sigmoid": ((4, 5), F.sigmoid),
    "tanh": ((4, 5), F.tanh),
    "softmax": ((4, 5), lambda x: F.softmax(x, dim=1)),
    "log_softmax": ((4, 5), lambda x: F.log_softmax(x, dim=0)),
    "cross_entropy": ((4, 5), lambda x: F.cross_entropy(x, LABELS, reduction="none")),
    "mse_loss": ((4, 5), lambda x: F.mse_loss(x, np.zeros((4, 5), f32), reduction="none")),
    "linear": ((4, 5), lambda x: F.linear(x, t(3, 5), t(3))),
    "batch_norm train": ((4, 5), lambda x: F.batch_norm(x, np.zeros(5, f32), np.ones(5, f32),
                                                        t(5), t(5), training=True)),
    "batch_norm eval": ((2, 3, 4, 4), lambda x: F.batch_norm(x, np.zeros(3, f32),
                                                             np.ones(3, f32), training=False)),
    "batch_norm 2d train": ((2, 3, 4, 4), lambda x: F.batch_norm(x, None, None, training=True)),
    "conv2d": ((2, 3, 5, 5), lambda x: F.conv2d(x, t(4, 3, 3, 3), t(4), padding=1)),
    "max_pool2d": ((2, 3, 4, 4), lambda x: F.max_pool2d(x, 2)),
    "avg_pool2d": ((2, 3, 4, 4), lambda x: F.avg_pool2d(x, 3, 1, 1)),
    "sum": ((4, 5), lambda x: x.sum(axis=1)),
    "max": ((4, 5), lambda x: x.amax(0)),
    "exp": ((4, 5), lambda x: x.exp()),
    "matmul": ((4, 5), lambda x: x @ t(5, 2)),
}
NON_FINITE = [(op, value) for op in NON_FINITE_OPS for value in ("nan", "inf", "-inf")]


def run_op(op, x, kernels):
    previous = microdl.get_kernels()
    microdl.set_kernels(kernels)
    try:
        xt = tensor(x, requires_grad=True)
        y = NON_FINITE_OPS[op][1](xt)
        y.backward(np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(y.dtype))
        return y.array, xt.grad.array
    finally:
        microdl.set_kernels(previous)


@pytest.mark.parametrize("op, value", NON_FINITE, ids=[f"{o} {v}" for o, v in NON_FINITE])
def test_nan_and_inf_propagate_exactly_as_in_the_reference(op, value):
    shape = NON_FINITE_OPS[op][0]
    x = np.random.default_rng(1).standard_normal(shape).astype(f32)
    x.reshape(-1)[0] = float(value)
    with np.errstate(all="ignore"):
        y, dx = run_op(op, x, "numba")
        y_ref, dx_ref = run_op(op, x, "numpy")
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5, equal_nan=True)
    if value == "nan" and op not in ("relu", "max_pool2d", "max"):
        assert np.isnan(y).any(), "a NaN input must show in the output"


def test_a_nan_channel_leaves_the_other_channels_of_batch_norm_finite():
    x = np.random.default_rng(2).standard_normal((8, 3)).astype(f32)
    x[5, 1] = np.nan
    running_mean, running_var = np.zeros(3, f32), np.ones(3, f32)
    y = F.batch_norm(tensor(x), running_mean, running_var, training=True).array
    assert np.isnan(y[:, 1]).all() and np.isfinite(y[:, [0, 2]]).all()
    assert np.isnan(running_mean[1]) and np.isfinite(running_mean[[0, 2]]).all()


# ---- non-contiguous views ----------------------------------------------------------------------

def strided_views(base):
    """Views whose values equal ``base`` but whose memory layout is not C-contiguous."""
    transposed = np.swapaxes(np.ascontiguousarray(np.swapaxes(base, 0, -1)), 0, -1)
    reversed_ = np.ascontiguousarray(base[::-1])[::-1]
    spaced = np.zeros((2 * base.shape[0],) + base.shape[1:], base.dtype)
    spaced[::2] = base
    return {"transposed": transposed, "negative strides": reversed_,
            "strided slice": spaced[::2], "fortran order": np.asfortranarray(base)}


NON_CONTIGUOUS = [(op, view) for op in NON_FINITE_OPS if op != "batch_norm eval"
                  for view in ("transposed", "negative strides", "strided slice",
                               "fortran order")]


@pytest.mark.parametrize("op, view", NON_CONTIGUOUS, ids=[f"{o}, {v}" for o, v in NON_CONTIGUOUS])
def test_strided_views_give_the_bits_of_a_contiguous_copy(op, view):
    shape, fn = NON_FINITE_OPS[op]
    base = np.random.default_rng(3).standard_normal(shape).astype(f32)
    x = strided_views(base)[view]
    assert not x.flags.c_contiguous and np.array_equal(x, base)
    results = []
    for array in (base, x):
        xt = microdl.from_numpy(array).detach().requires_grad_()
        y = fn(xt)
        g = np.linspace(-1, 1, y.numel()).reshape(y.shape).astype(y.dtype)
        y.backward(np.ascontiguousarray(g[::-1])[::-1] if g.ndim else g)  # a strided gradient
        results.append((y.array, xt.grad.array))
    np.testing.assert_array_equal(results[1][0], results[0][0], strict=True)
    np.testing.assert_array_equal(results[1][1], results[0][1], strict=True)


def test_a_fortran_ordered_parameter_is_stored_c_contiguous_and_trains():
    weight = nn.Parameter(np.asfortranarray(np.ones((4, 3), f32)))
    assert weight.array.flags.c_contiguous
    opt = SGD([weight], lr=0.1, momentum=0.9)
    (t(2, 3) @ weight.T).sum().backward()
    expected = weight.array - 0.1 * weight.grad.array
    opt.step()
    np.testing.assert_allclose(weight.array, expected, rtol=1e-6)


# ---- mixed dtypes: the promotion rule --------------------------------------------------------

def a32(*shape):
    return t(*shape, dtype=f32)


def a64(*shape):
    return t(*shape, dtype=f64)


# name -> (op on fresh inputs, expected result dtype)
PROMOTION = {
    "float32 + float64": (lambda: a32(3) + a64(3), f64),
    "float64 - float32": (lambda: a64(3) - a32(3), f64),
    "float32 + int64": (lambda: a32(3) + t(3, dtype=i64), f32),
    "int64 * float32": (lambda: t(3, dtype=i64) * a32(3), f32),
    "float32 / uint8": (lambda: a32(3) / t(3, dtype=np.uint8, value=2), f32),
    "float32 * bool": (lambda: a32(3) * t(3, dtype=bool, value=1), f32),
    "float32 * 0-d float64": (lambda: a32(3) * tensor(np.float64(2.5)), f32),
    "0-d float32 * float64": (lambda: tensor(np.float32(2.5)) * a64(3), f64),
    "float32 * numpy float64 array": (lambda: a32(3) * np.full(3, 2.5), f64),
    "float32 + Python float": (lambda: a32(3) + 0.1, f32),
    "float32 * Python int": (lambda: a32(3) * 3, f32),
    "float32 * numpy float64 scalar": (lambda: a32(3) * np.float64(0.1), f32),
    "float64 + Python float": (lambda: a64(3) + 0.1, f64),
    "float32 @ float64": (lambda: a32(2, 3) @ a64(3, 2), f64),
    "linear float64 input, float32 weight": (lambda: F.linear(a64(2, 3), a32(4, 3)), f64),
    "batch_norm float32 input, float64 weight":
        (lambda: F.batch_norm(a32(4, 3), None, None, a64(3), a64(3), training=True), f64),
    "batch_norm float64 input, float32 buffers":
        (lambda: F.batch_norm(a64(4, 3), np.zeros(3, f32), np.ones(3, f32), training=True), f64),
    "mse float32 with int64 targets": (lambda: F.mse_loss(a32(3), t(3, dtype=i64)), f32),
    "mse float32 with float64 targets": (lambda: F.mse_loss(a32(3), a64(3)), f64),
    "cross_entropy float64 logits, int32 labels":
        (lambda: F.cross_entropy(a64(2, 3), np.array([0, 2], np.int32)), f64),
}


@pytest.mark.parametrize("name", list(PROMOTION))
def test_mixed_dtypes_follow_the_promotion_rule(name):
    make, expected = PROMOTION[name]
    result = make()
    assert result.dtype == expected, f"{name}: got {result.dtype}, the rule says {expected}"


def test_values_are_computed_in_the_promoted_dtype_and_gradients_keep_the_input_dtypes():
    a = tensor(np.array([0.1, 0.2], f32), requires_grad=True)
    b = tensor(np.array([1e-9, 3.0]), requires_grad=True)
    c = tensor(np.array([3, 4], i64))
    y = a + b
    np.testing.assert_array_equal(y.array, a.array.astype(f64) + b.array)  # not rounded to f32
    (y * c).sum().backward()
    assert a.grad.dtype == f32 and b.grad.dtype == f64
    np.testing.assert_array_equal(a.grad.array, [3, 4])
    z = a * c  # float32, as in PyTorch; numpy alone would give float64
    assert z.dtype == f32
    np.testing.assert_array_equal(z.array, a.array * c.array.astype(f32))


# ---- empty batches that PyTorch accepts --------------------------------------------------------

# name -> (op on an empty input, the input's shape, the expected output: a shape or "nan")
EMPTY = {
    "linear": (lambda x: F.linear(x, t(2, 3), t(2)), (0, 3), (0, 2)),
    "relu": (F.relu, (0, 3), (0, 3)),
    "batch_norm in training": (lambda x: F.batch_norm(x, None, None, training=True), (0, 3),
                               (0, 3)),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2), (0, 1, 4, 4), (0, 1, 2, 2)),
    "sigmoid": (F.sigmoid, (0, 3), (0, 3)),
    "softmax over an empty dim": (lambda x: F.softmax(x, dim=1), (4, 0), (4, 0)),
    "log_softmax over an empty batch": (lambda x: F.log_softmax(x, dim=1), (0, 5), (0, 5)),
    "cross_entropy mean": (lambda x: F.cross_entropy(x, np.zeros(0, i64)), (0, 3), "nan"),
    "cross_entropy sum": (lambda x: F.cross_entropy(x, np.zeros(0, i64), reduction="sum"),
                          (0, 3), ()),
    "mse_loss mean": (lambda x: F.mse_loss(x, np.zeros((0, 3), f32)), (0, 3), "nan"),
}


@pytest.mark.filterwarnings("error")  # no division-by-zero warnings on the way either
@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_batches_give_pytorchs_results(name):
    op, shape, expected = EMPTY[name]
    x = tensor(np.zeros(shape, f32), requires_grad=True)
    y = op(x)
    if expected == "nan":
        assert y.shape == () and np.isnan(y.item())
    else:
        assert y.shape == expected
    y.sum().backward()
    assert x.grad.shape == shape
