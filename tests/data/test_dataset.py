"""Dataset, TensorDataset and DataLoader: batching, shuffling, lengths, errors."""

import numpy as np
import pytest

import microdl
from microdl import Tensor
from microdl.data import DataLoader, Dataset, TensorDataset


def make_data(n=10, features=3):
    x = np.arange(n * features, dtype=np.float32).reshape(n, features)
    y = np.arange(n, dtype=np.int32) % 4
    return x, y


def batches(loader):
    return [(xb.array.copy(), yb.array.copy()) for xb, yb in loader]


class SquaresDataset(Dataset):
    """A map-style dataset that is not a TensorDataset: goes through per-item collation."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i % 3

    def __len__(self):
        return self.n


# ---- TensorDataset --------------------------------------------------------------------------

def test_tensor_dataset_items_and_length():
    x, y = make_data()
    ds = TensorDataset(x, microdl.tensor(y))
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.array, x[3])
    assert yi.item() == y[3]


def test_tensor_dataset_stores_integer_labels_as_int64_and_keeps_float_dtype():
    x, y = make_data()
    ds = TensorDataset(x.astype(np.float64), y.astype(np.uint8))
    assert ds.arrays[0].dtype == np.float64
    assert ds.arrays[1].dtype == np.int64


def test_tensor_dataset_rejects_mismatched_first_dimension():
    with pytest.raises(ValueError, match=r"Size mismatch.*\(5, 2\).*\(4,\)"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))


def test_tensor_dataset_rejects_no_arguments_and_scalars():
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="scalar"):
        TensorDataset(np.zeros(3), np.float32(1.0))


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


# ---- DataLoader: batching -------------------------------------------------------------------

@pytest.mark.parametrize("n, batch, drop_last, expected", [
    (10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3), (9, 3, True, 3), (2, 5, False, 1),
    (2, 5, True, 0), (10, 1, False, 10),
])
def test_len_matches_pytorch_and_the_batches_yielded(n, batch, drop_last, expected):
    loader = DataLoader(TensorDataset(*make_data(n)), batch_size=batch, drop_last=drop_last)
    assert len(loader) == expected
    assert len(list(loader)) == expected


def test_unshuffled_batches_are_in_order_with_a_short_last_batch():
    x, y = make_data(10)
    got = batches(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [len(b[1]) for b in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), y)


def test_drop_last_drops_only_the_incomplete_batch():
    x, y = make_data(10)
    got = batches(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, drop_last=True,
                             generator=np.random.default_rng(0)))
    assert [len(b[1]) for b in got] == [4, 4]
    rows = np.concatenate([b[0] for b in got])
    assert len(np.unique(rows[:, 0])) == 8


def test_shuffled_batches_cover_the_dataset_exactly_once_per_epoch():
    x, y = make_data(23)
    loader = DataLoader(TensorDataset(x, y), batch_size=5, shuffle=True,
                        generator=np.random.default_rng(1))
    for _ in range(3):
        got = batches(loader)
        rows = np.concatenate([b[0] for b in got])
        order = (rows[:, 0] // 3).astype(int)
        assert sorted(order) == list(range(23))
        # features and labels stay paired
        np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), y[order])


def test_batches_are_tensors_with_float_features_and_int64_labels():
    x, y = make_data()
    xb, yb = next(iter(DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True)))
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    assert xb.shape == (4, 3) and yb.shape == (4,)
    assert not xb.requires_grad


# ---- DataLoader: shuffling reproducibility --------------------------------------------------

def test_an_explicit_generator_repeats_the_order_with_the_same_seed():
    x, y = make_data(50)

    def epochs(seed):
        loader = DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True,
                            generator=np.random.default_rng(seed))
        return [np.concatenate([b[0][:, 0] for b in batches(loader)]) for _ in range(2)]

    first, again, other = epochs(3), epochs(3), epochs(4)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1]), "each epoch must draw a new permutation"
    assert not np.array_equal(first[0], other[0])


def test_an_int_generator_is_a_seed():
    x, y = make_data(50)
    a = batches(DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True, generator=7))
    b = batches(DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True,
                           generator=np.random.default_rng(7)))
    np.testing.assert_array_equal(a[0][0], b[0][0])


def test_manual_seed_makes_the_default_shuffle_repeatable():
    x, y = make_data(50)
    loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True)
    microdl.manual_seed(11)
    first = [batches(loader)[0][0] for _ in range(2)]
    microdl.manual_seed(11)
    again = [batches(loader)[0][0] for _ in range(2)]
    microdl.manual_seed(12)
    other = batches(loader)[0][0]
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])
    assert not np.array_equal(first[0], other)


def test_an_explicit_generator_wins_over_the_global_seed():
    x, y = make_data(50)
    orders = []
    for global_seed in (1, 2):
        microdl.manual_seed(global_seed)
        loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True, generator=5)
        orders.append(batches(loader)[0][0])
    np.testing.assert_array_equal(orders[0], orders[1])


def test_the_permutation_is_drawn_when_iteration_starts():
    x, y = make_data(30)
    loader = DataLoader(TensorDataset(x, y), batch_size=30, shuffle=True)
    microdl.manual_seed(0)
    it = iter(loader)
    microdl.manual_seed(99)  # reseeding after iter() must not change this epoch's order
    first = next(it)[0].array.copy()
    microdl.manual_seed(0)
    np.testing.assert_array_equal(next(iter(loader))[0].array, first)


# ---- DataLoader: generic datasets and errors ------------------------------------------------

def test_a_generic_dataset_is_collated_item_by_item():
    loader = DataLoader(SquaresDataset(7), batch_size=3, shuffle=True, generator=0)
    got = batches(loader)
    assert [len(b[1]) for b in got] == [3, 3, 1]
    xs = np.concatenate([b[0] for b in got])
    ys = np.concatenate([b[1] for b in got])
    assert sorted(xs[:, 0].astype(int)) == list(range(7))
    np.testing.assert_array_equal(xs[:, 1], xs[:, 0] ** 2)
    np.testing.assert_array_equal(ys, xs[:, 0].astype(int) % 3)
    assert got[0][0].dtype == np.float32 and got[0][1].dtype == np.int64


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, None])
def test_bad_batch_size_is_an_error(batch_size):
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(TensorDataset(*make_data()), batch_size=batch_size)


def test_empty_dataset_is_an_error():
    with pytest.raises(ValueError, match="empty dataset"):
        DataLoader(TensorDataset(np.zeros((0, 3)), np.zeros(0)), batch_size=2)


def test_bad_generator_is_an_error():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(TensorDataset(*make_data()), shuffle=True, generator=np.random.RandomState(0))
