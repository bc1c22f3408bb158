"""torch.utils.data's samplers, splits and collation; microdl.Generator; backends flags,
determinism, thread count, finfo/iinfo and the tensor predicates (compared with torch)."""

import collections
import pickle
import re

import numpy as np
import pytest

import microdl
from microdl.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                IterableDataset, RandomSampler, SequentialSampler, Subset,
                                SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
                                default_collate, random_split)

torch = pytest.importorskip("torch")
tdata = torch.utils.data


class Items(Dataset):
    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.full(2, i, dtype=np.float32), i

    def __len__(self):
        return self.n


class Stream(IterableDataset):
    def __iter__(self):
        return iter(range(7))


# ---- Generator and the global stream --------------------------------------------------------

def test_generator_seeds_like_torch_and_repeats():
    g = microdl.Generator()
    assert g.initial_seed() == torch.Generator().initial_seed()
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    first = microdl.rand(4, generator=g).array
    g.manual_seed(5)
    np.testing.assert_array_equal(microdl.rand(4, generator=g).array, first)
    state = g.get_state()
    a = microdl.randperm(10, generator=g).array
    g.set_state(state)
    np.testing.assert_array_equal(microdl.randperm(10, generator=g).array, a)
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s
    clone = pickle.loads(pickle.dumps(g))
    assert type(clone) is microdl.Generator and clone.initial_seed() == s
    assert clone.random() == g.random()


def test_global_seed_state_and_default_generator():
    assert microdl.manual_seed(3) is microdl.default_generator
    assert microdl.initial_seed() == 3
    state = microdl.get_rng_state()
    a = microdl.randn(5).array
    microdl.set_rng_state(state)
    np.testing.assert_array_equal(microdl.randn(5).array, a)
    s = microdl.seed()
    assert microdl.initial_seed() == s and microdl.random.initial_seed() == s
    with pytest.raises(ValueError, match="non-negative integer"):
        microdl.Generator().manual_seed(-1)
    with pytest.raises(ValueError, match="state from get_rng_state"):
        microdl.Generator().set_state({"bit_generator": "MT19937"})


# ---- datasets and random_split --------------------------------------------------------------

@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.33, 0.33, 0.34]])
def test_random_split_lengths_match_torch(lengths):
    ours = random_split(Items(11 if isinstance(lengths[0], float) else 10), lengths,
                        generator=microdl.Generator().manual_seed(0))
    theirs = tdata.random_split(range(11 if isinstance(lengths[0], float) else 10), lengths,
                                generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s.indices) == list(range(sum(len(s) for s in ours)))


def test_random_split_errors_match_torch():
    for bad, pattern in (([3, 3], "Sum of input lengths"), ([1.5, -0.5], "not between 0 and 1")):
        with pytest.raises(ValueError, match=pattern):
            tdata.random_split(range(10), bad)
        with pytest.raises(ValueError, match=pattern):
            random_split(Items(10), bad)


def test_subset_and_concat_index_like_torch():
    a, b = list(range(3)), list(range(10, 15))
    ours, theirs = ConcatDataset([a, b]), tdata.ConcatDataset([a, b])
    assert len(ours) == len(theirs) == 8 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-8, 8)] == [theirs[i] for i in range(-8, 8)]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        ours[-9]
    sub = Subset(Items(6), [4, 1])
    assert len(sub) == 2 and sub[0][1] == 4
    assert len(Items(2) + Items(3)) == 5


# ---- samplers -------------------------------------------------------------------------------

def test_sampler_lengths_and_contents_match_torch():
    assert list(SequentialSampler(range(4))) == list(tdata.SequentialSampler(range(4)))
    for kwargs in ({}, {"num_samples": 9}, {"replacement": True, "num_samples": 20}):
        ours = list(RandomSampler(range(4), generator=microdl.Generator(), **kwargs))
        theirs = list(tdata.RandomSampler(range(4), **kwargs))
        assert len(ours) == len(theirs) and set(ours) <= set(range(4))
        if not kwargs.get("replacement"):  # whole permutations, then part of one
            assert sorted(collections.Counter(ours).values()) == \
                sorted(collections.Counter(theirs).values())
    assert sorted(SubsetRandomSampler([5, 7, 9])) == [5, 7, 9]
    drawn = list(WeightedRandomSampler([0.0, 1.0, 0.0, 2.0], 50))
    assert len(drawn) == 50 and set(drawn) <= {1, 3}
    assert sorted(WeightedRandomSampler([1.0, 1.0, 0.0], 2, replacement=False)) == [0, 1]
    for drop_last in (False, True):
        assert list(BatchSampler(range(7), 3, drop_last)) == \
            list(tdata.BatchSampler(range(7), 3, drop_last))
        assert len(BatchSampler(range(7), 3, drop_last)) == \
            len(tdata.BatchSampler(range(7), 3, drop_last))


def test_sampler_errors_match_torch():
    cases = [(lambda m: m.RandomSampler(range(3), replacement=1), TypeError),
             (lambda m: m.RandomSampler(range(3), num_samples=0), ValueError),
             (lambda m: m.WeightedRandomSampler([[1.0]], 2), ValueError),
             (lambda m: m.BatchSampler(range(3), 0, False), ValueError),
             (lambda m: m.BatchSampler(range(3), 2, 1), ValueError)]
    import microdl.utils.data as ours
    for make, error in cases:
        with pytest.raises(error) as theirs:
            make(tdata)
        with pytest.raises(error, match=re.escape(str(theirs.value).split(",")[0])):
            make(ours)


# ---- collation and DataLoader ----------------------------------------------------------------

Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("batch", [
    [(np.ones(2, np.float32), 1), (np.zeros(2, np.float32), 2)],
    [{"a": 1.5, "b": True}, {"a": 2.5, "b": False}],
    [Point(1, np.int32(2)), Point(3, np.int32(4))],
    [[1, 2], [3, 4]],
    [np.float32(1), np.float32(2)],
])
def test_default_collate_matches_torch(batch):
    def flat(value):
        if isinstance(value, dict):
            return {k: flat(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value).__name__, [flat(v) for v in value]
        arr = value.array if isinstance(value, microdl.Tensor) else value.numpy()
        return str(arr.dtype), arr.tolist()
    assert flat(default_collate(batch)) == flat(tdata.default_collate(batch))


def test_default_collate_errors_match_torch():
    for bad, error in (([[1, 2], [3]], RuntimeError), ([object(), object()], TypeError)):
        with pytest.raises(error):
            tdata.default_collate(bad)
        with pytest.raises(error):
            default_collate(bad)


def test_dataloader_takes_torchs_arguments():
    loader = DataLoader(Items(7), batch_size=3, num_workers=4, pin_memory=True,
                        worker_init_fn=print, persistent_workers=True, prefetch_factor=2,
                        timeout=5, collate_fn=lambda samples: [s[1] for s in samples])
    assert list(loader) == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    loader = DataLoader(Items(7), batch_sampler=BatchSampler(SequentialSampler(range(7)), 2,
                                                             True))
    assert [b[1].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]] and len(loader) == 3
    loader = DataLoader(Items(5), sampler=[4, 0], batch_size=2)
    assert [b[1].tolist() for b in loader] == [[4, 0]]
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]


def test_tensor_dataset_batches_are_lists_like_torch():
    x, y = np.arange(8.0).reshape(4, 2), np.arange(4)
    ours = next(iter(DataLoader(TensorDataset(x, y), batch_size=2)))
    theirs = next(iter(tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                        batch_size=2)))
    assert type(ours) is type(theirs) is list
    order = list(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True,
                            generator=microdl.Generator().manual_seed(2)))[0][1].tolist()
    assert sorted(order) == [0, 1, 2, 3]


@pytest.mark.parametrize("kwargs", [
    {"sampler": [0], "shuffle": True}, {"batch_sampler": [[0]], "batch_size": 2},
    {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2},
    {"persistent_workers": True}])
def test_dataloader_argument_errors_match_torch(kwargs):
    with pytest.raises(ValueError) as theirs:
        tdata.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(ValueError) as ours:
        DataLoader(Items(4), **kwargs)
    assert str(ours.value) == str(theirs.value)


# ---- knobs ----------------------------------------------------------------------------------

def test_backend_flags_and_determinism_are_settable():
    microdl.backends.cudnn.deterministic = True
    microdl.backends.cudnn.benchmark = False
    assert microdl.backends.cudnn.enabled and not microdl.backends.mps.is_available()
    assert microdl.are_deterministic_algorithms_enabled() is False
    microdl.use_deterministic_algorithms(True, warn_only=True)
    try:
        assert microdl.are_deterministic_algorithms_enabled()
        assert microdl.is_deterministic_algorithms_warn_only_enabled()
    finally:
        microdl.use_deterministic_algorithms(False)
    with pytest.raises(TypeError, match="must be bool, not str"):
        microdl.use_deterministic_algorithms("x")


def test_num_threads_round_trips_and_rejects_like_torch():
    before = microdl.get_num_threads()
    try:
        microdl.set_num_threads(1)
        assert microdl.get_num_threads() == 1
    finally:
        microdl.set_num_threads(before)
    assert microdl.get_num_threads() == before
    for bad in (0, 1.5):
        with pytest.raises(RuntimeError) as theirs:
            torch.set_num_threads(bad)
        with pytest.raises(RuntimeError, match=re.escape(str(theirs.value))):
            microdl.set_num_threads(bad)


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    ours, theirs = microdl.finfo(getattr(microdl, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    ours, theirs = microdl.iinfo(getattr(microdl, name)), torch.iinfo(getattr(torch, name))
    assert (ours.bits, ours.min, ours.max, ours.dtype) == \
        (theirs.bits, theirs.min, theirs.max, theirs.dtype)
    assert repr(ours) == repr(theirs)


def test_type_info_errors_match_torch():
    assert microdl.finfo().dtype == "float32"
    for ours, theirs in ((lambda: microdl.finfo(microdl.int32), lambda: torch.finfo(torch.int32)),
                         (lambda: microdl.iinfo(microdl.float32),
                          lambda: torch.iinfo(torch.float32)),
                         (lambda: microdl.iinfo(microdl.bool), lambda: torch.iinfo(torch.bool))):
        with pytest.raises(TypeError) as expected:
            theirs()
        with pytest.raises(TypeError, match=re.escape(str(expected.value))):
            ours()


def test_predicates_match_torch():
    for values in ([1.5], [0.0], [float("nan")], [True], [0]):
        assert microdl.is_nonzero(microdl.tensor(values)) == torch.is_nonzero(torch.tensor(values))
    for values in ([], [1, 2]):
        with pytest.raises(RuntimeError) as expected:
            torch.is_nonzero(torch.tensor(values))
        with pytest.raises(RuntimeError, match=re.escape(str(expected.value))):
            microdl.is_nonzero(microdl.tensor(values))
    assert microdl.is_floating_point(microdl.ones(2))
    assert not microdl.is_floating_point(microdl.tensor([1]))
    for function in (microdl.is_nonzero, microdl.is_floating_point):
        with pytest.raises(TypeError, match="must be Tensor, not int"):
            function(3)
