"""Dataset, TensorDataset and DataLoader, with PyTorch's names and batching rules.

A DataLoader over n samples with batch size b yields ceil(n / b) batches (n // b with
``drop_last``), each a tuple of Tensors whose first axis is the batch. With ``shuffle`` the
sample order is a fresh permutation every epoch, drawn from ``generator`` when one is given and
otherwise seeded from microdl's global generator, so ``microdl.manual_seed(s)`` repeats it.

A TensorDataset is batched whole: each batch is one slice (in order) or one fancy index (shuffled)
of every stored array, not a stack of per-sample items, so a batch costs a few microseconds.
"""

import numpy as np

from .. import random
from ..tensor import Tensor


class Dataset:
    """A map-style dataset: ``dataset[i]`` is sample i, ``len(dataset)`` the number of samples."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are rows (first-axis entries) of arrays or tensors that share their first dimension.

    Integer arrays of rank 1 (class labels) are stored as int64, the dtype ``cross_entropy``
    and PyTorch use for labels; every other array keeps its dtype. No other copy is made.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array or tensor")
        arrays = []
        for position, t in enumerate(tensors):
            array = t.array if isinstance(t, Tensor) else np.asarray(t)
            if array.ndim == 0:
                raise ValueError(f"TensorDataset: argument {position} is a scalar; every "
                                 "argument needs a first (sample) dimension")
            if array.ndim == 1 and array.dtype.kind in "iu":
                array = array.astype(np.int64, copy=False)
            arrays.append(array)
        sizes = [len(a) for a in arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"Size mismatch between tensors: TensorDataset needs the same first "
                             f"dimension in every argument (got shapes {shapes})")
        self.arrays = tuple(arrays)

    @property
    def tensors(self):
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __getitem__(self, index):
        return tuple(Tensor._wrap(a[index]) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])


class DataLoader:
    """Mini-batches of a dataset: ``for x, y in DataLoader(ds, batch_size=60, shuffle=True)``.

    generator: a ``numpy.random.Generator`` (or an int seed for one) that draws each epoch's
    permutation; None seeds each epoch's permutation from microdl's global generator.
    Unshuffled batches of a TensorDataset are views of its arrays (no copy): do not write
    into them.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if len(dataset) == 0:
            raise ValueError("DataLoader got an empty dataset (0 samples): there is nothing to "
                             "batch")
        if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
            generator = np.random.default_rng(int(generator))
        elif generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"generator must be a numpy.random.Generator, an int seed or None "
                            f"(got {type(generator).__name__})")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        # NOTE: a subclass that overrides __getitem__ (a transform) must go through it
        self._whole_batches = (isinstance(dataset, TensorDataset)
                               and type(dataset).__getitem__ is TensorDataset.__getitem__)

    def __len__(self):
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def _order(self):
        """This epoch's sample order: None (0..n-1) or a permutation."""
        if not self.shuffle:
            return None
        n = len(self.dataset)
        if self.generator is not None:
            return self.generator.permutation(n)
        # NOTE: one draw from the global generator per epoch, whatever n is (as PyTorch's
        # RandomSampler does), so other users of the global stream see the same state.
        seed = random.default_generator().integers(0, 2 ** 63 - 1)
        return np.random.default_rng(seed).permutation(n)

    def __iter__(self):
        # The permutation is drawn here, when iteration starts, not at the first next().
        order = self._order()
        if self._whole_batches:
            return self._array_batches(order)
        return self._collated_batches(order)

    def _stops(self):
        n, b = len(self.dataset), self.batch_size
        return range(0, n - n % b if self.drop_last else n, b)

    def _array_batches(self, order):
        arrays, b, wrap = self.dataset.arrays, self.batch_size, Tensor._wrap
        if order is None:
            for lo in self._stops():
                yield tuple([wrap(a[lo:lo + b]) for a in arrays])
        else:
            for lo in self._stops():
                index = order[lo:lo + b]
                yield tuple([wrap(a[index]) for a in arrays])

    def _collated_batches(self, order):
        b = self.batch_size
        for lo in self._stops():
            indices = range(lo, min(lo + b, len(self.dataset))) if order is None \
                else order[lo:lo + b].tolist()
            yield collate([self.dataset[i] for i in indices])


def collate(samples):
    """Stack samples field by field: a list of (x, y) tuples becomes (X, Y) Tensors.

    Integer fields become int64 (class labels); others keep the dtype numpy stacks them to.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(collate([s[k] for s in samples]) for k in range(len(first)))
    stacked = np.stack([s.array if isinstance(s, Tensor) else np.asarray(s) for s in samples])
    if stacked.dtype.kind in "iu":
        stacked = stacked.astype(np.int64, copy=False)
    return Tensor._wrap(stacked)
