"""ModuleList, ModuleDict, Sequential's list methods, Module traversal and buffers, and the
nn.utils helpers, side by side with PyTorch."""

from collections import OrderedDict

import numpy as np
import pytest

import microdl
from microdl import nn, tensor


def _names(module):
    return [n for n, _ in module.named_modules()]


def test_module_list_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])
    theirs = torch.nn.ModuleList([torch.nn.Linear(2, 3), torch.nn.ReLU()])
    for m in (ours, theirs):
        m.append(type(m[1])())
        m.extend([type(m[1])(), type(m[1])()])
        m.insert(1, type(m[1])())
        m[0] = m[0]
        del m[-1]
        assert isinstance(m.pop(2), type(m[1]))
    assert repr(ours) == repr(theirs)
    assert len(ours) == len(theirs) == 4
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours[1:], nn.ModuleList) and len(ours[1:]) == 3
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert len(ours + ours[:2]) == 6
    with pytest.raises(IndexError, match="index 7 is out of range"):
        ours[7]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.ModuleList([3])
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        ours.extend(3)
    with pytest.raises(NotImplementedError):
        ours(tensor(np.zeros(2, np.float32)))


def test_module_dict_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleDict({"fc": nn.Linear(2, 3)})
    theirs = torch.nn.ModuleDict({"fc": torch.nn.Linear(2, 3)})
    ours.update([("act", nn.ReLU())])
    theirs.update([("act", torch.nn.ReLU())])
    ours["out"], theirs["out"] = nn.Linear(3, 1), torch.nn.Linear(3, 1)
    assert repr(ours) == repr(theirs)
    assert list(ours.keys()) == list(theirs.keys()) == ["fc", "act", "out"]
    assert list(ours) == ["fc", "act", "out"] and "act" in ours and len(ours) == 3
    assert [k for k, _ in ours.items()] == ["fc", "act", "out"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours.pop("act"), nn.ReLU) and "act" not in ours
    with pytest.raises(KeyError):
        ours["missing"]
    with pytest.raises(KeyError, match=r'module name can.{1,2}t contain ".", got: a.b'):
        nn.ModuleDict({"a.b": nn.ReLU()})
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.ModuleDict({"a": 3})
    with pytest.raises(ValueError, match="element #0 has length 1; 2 is required"):
        ours.update([("x",)])


def test_sequential_list_methods_match_torch():
    torch = pytest.importorskip("torch")
    built = []
    for lib in (nn, torch.nn):
        seq = lib.Sequential(lib.Linear(2, 3), lib.ReLU())
        seq.append(lib.Linear(3, 4))
        seq.insert(1, lib.Tanh())
        seq.extend([lib.Sigmoid()])
        seq[0] = lib.Linear(2, 3)
        del seq[2]
        popped = seq.pop(-1)
        built.append((seq, popped))
    (ours, our_pop), (theirs, their_pop) = built
    assert repr(ours) == repr(theirs) and repr(our_pop) == repr(their_pop)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours[-2:], nn.Sequential) and len(ours) == 3
    with pytest.raises(IndexError, match="index 5 is out of range"):
        ours[5]
    with pytest.raises(IndexError, match="Index out of range: 9"):
        ours.insert(9, nn.ReLU())
    named = nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", nn.Tanh())]))
    del named[0]
    assert list(named._modules) == ["0"]  # PyTorch renumbers after a deletion


def test_traversal_apply_buffers_and_requires_grad_match_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        shared = lib.Linear(2, 2)
        return lib.Sequential(shared, lib.BatchNorm1d(2), lib.Sequential(shared, lib.ReLU()))

    ours, theirs = build(nn), build(torch.nn)
    assert _names(ours) == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_modules(remove_duplicate=False)]
    assert [n for n, _ in ours.named_modules(prefix="m")] == \
        [n for n, _ in theirs.named_modules(prefix="m")]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_parameters(remove_duplicate=False)]
    seen_ours, seen_theirs = [], []
    ours.apply(lambda m: seen_ours.append(type(m).__name__))
    theirs.apply(lambda m: seen_theirs.append(type(m).__name__))
    assert seen_ours == seen_theirs
    assert ours.apply(lambda m: None) is ours
    assert ours.requires_grad_(False) is ours
    assert not any(p.requires_grad for p in ours.parameters())


def test_register_buffer_matches_torch():
    torch = pytest.importorskip("torch")
    m = nn.Module()
    m.register_buffer("kept", tensor(np.ones(2, np.float32)))
    m.register_buffer("scratch", np.zeros(3, np.float32), persistent=False)
    m.register_buffer("absent", None)
    assert list(m.state_dict()) == ["kept"]
    assert [n for n, _ in m.named_buffers()] == ["kept", "scratch"]
    assert isinstance(m.kept, np.ndarray)
    m.load_state_dict({"kept": np.full(2, 5.0, np.float32)})
    np.testing.assert_array_equal(m.kept, [5, 5])
    t = torch.nn.Module()
    bad = [(lambda mod, v: mod.register_buffer("x", [1]), TypeError),
           (lambda mod, v: mod.register_buffer("x.y", None), KeyError),
           (lambda mod, v: mod.register_buffer("", None), KeyError),
           (lambda mod, v: mod.register_buffer(3, None), TypeError)]
    for call, kind in bad:
        with pytest.raises(kind) as theirs:
            call(t, None)
        with pytest.raises(kind) as mine:
            call(m, None)
        assert str(mine.value) == str(theirs.value)
    linear = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        linear.register_buffer("weight", None)


def test_clip_grad_norm_and_value_match_torch(rng):
    torch = pytest.importorskip("torch")
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in ((3, 4), (5,), (2, 2, 2))]
    for norm_type, max_norm in ((2.0, 1.0), (1.0, 2.5), (float("inf"), 0.5), ("inf", 0.5),
                                (3.0, 100.0)):
        ours = [nn.Parameter(np.zeros(g.shape, np.float32)) for g in grads]
        theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = tensor(g.copy()), torch.tensor(g.copy())
        total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
        expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
        assert total.shape == () and total.dtype == np.float32
        np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)
    p = nn.Parameter(np.zeros(2, np.float32))
    assert nn.utils.clip_grad_norm_(p, 1.0).item() == 0.0  # no gradient: a zero norm
    p.grad = tensor(np.array([np.inf, 1.0], np.float32))
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    q = nn.Parameter(np.zeros(3, np.float32))
    q.grad = tensor(np.array([-5.0, 0.2, np.nan], np.float32))
    assert nn.utils.clip_grad_value_(q, 1.0) is None
    np.testing.assert_array_equal(q.grad.numpy(), np.array([-1.0, 0.2, np.nan], np.float32))


def test_parameters_vector_round_trip_matches_torch(rng):
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    reference.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    vec = nn.utils.parameters_to_vector(model.parameters())
    np.testing.assert_array_equal(
        vec.detach().numpy(),
        torch.nn.utils.parameters_to_vector(reference.parameters()).detach().numpy())
    new = rng.standard_normal(vec.shape).astype(np.float32)
    nn.utils.vector_to_parameters(tensor(new), model.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), reference.parameters())
    for key, value in reference.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value.numpy())
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: list"):
        nn.utils.vector_to_parameters([1.0], model.parameters())
    with pytest.raises(RuntimeError, match=r"shape '\[4, 3\]' is invalid for input of size 1"):
        nn.utils.vector_to_parameters(tensor(np.ones(1, np.float32)), model.parameters())


def test_count_parameters_and_summary():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 14 * 14, 10))
    model[0].requires_grad_(False)
    assert nn.utils.count_parameters(model) == 40 + 8 + 7850
    assert nn.utils.count_parameters(model, trainable_only=True) == 8 + 7850
    before = model.state_dict()
    text = nn.utils.summary(model, (2, 1, 28, 28))
    assert "[2, 4, 14, 14]" in text and "[2, 10]" in text and "7,850" in text
    assert "Total params: 7,898" in text and "Non-trainable params: 40" in text
    lines = [line for line in text.splitlines() if line.startswith("2 ")]
    assert lines and "ReLU" in lines[0] and "[2, 4, 28, 28]" in lines[0]  # fused after the BN
    assert model.training and "forward" not in model[0].__dict__
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert microdl.nn.utils.summary is nn.utils.summary
