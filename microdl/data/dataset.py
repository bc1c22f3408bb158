"""Datasets, samplers, DataLoader and collation, with PyTorch's (torch.utils.data) names and rules.

A DataLoader draws indices from a sampler (SequentialSampler, or RandomSampler with
``shuffle``), groups them with a BatchSampler and collates each group's samples. With ``shuffle``
the order is a fresh permutation every epoch, drawn from ``generator`` when one is given and
otherwise seeded by one draw from microdl's global generator, so ``microdl.manual_seed(s)``
repeats it. The order is drawn when iteration starts (``iter(loader)``), not at the first next().

A TensorDataset under the default sampler, batch sampler and collate_fn is batched whole: each
batch is one slice (in order) or one fancy index (shuffled) of every stored array, not a stack of
per-sample items, so a batch costs a few microseconds.

Everything runs in the main process: ``num_workers``, ``pin_memory``, ``prefetch_factor``,
``persistent_workers``, ``timeout`` and ``worker_init_fn`` are checked as PyTorch checks them and
otherwise change nothing (there are no worker processes; ``worker_init_fn`` is never called).
"""

import bisect
import collections.abc
import itertools
import math
import warnings

import numpy as np

from .. import random
from ..tensor import Tensor
from ..tensor_methods.shape import stack


class Dataset:
    """A map-style dataset: ``dataset[i]`` is sample i, ``len(dataset)`` the number of samples."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: ``iter(dataset)`` yields its samples (no indexing)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


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
        """The stored arrays as tensors (PyTorch's attribute), sharing their memory, in the order
        given."""
        return tuple(Tensor._wrap(a) for a in self.arrays)

    def __getitem__(self, index):
        return tuple(Tensor._wrap(a[index]) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i] = dataset[indices[i]]``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several map-style datasets one after another: index i runs through each in turn."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        assert len(self.datasets) > 0, "datasets should not be an empty iterable"
        for d in self.datasets:
            assert not isinstance(d, IterableDataset), \
                "ConcatDataset does not support IterableDataset"
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping Subsets of the given lengths, in a random order.

    ``lengths`` are sample counts summing to len(dataset), or fractions summing to 1: then each
    gets floor(n * fraction) samples and the remainder goes one by one to the subsets in turn
    (round robin), as PyTorch does. Draws one permutation from ``generator`` (microdl's global
    generator when None).
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        subset_lengths = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(subset_lengths)):
            subset_lengths[i % len(subset_lengths)] += 1
        lengths = subset_lengths
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. "
                              f"This might result in an empty dataset.")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = _rng(generator).permutation(sum(lengths)).tolist()
    return [Subset(dataset, indices[offset - length:offset])
            for offset, length in zip(itertools.accumulate(lengths), lengths)]


def _rng(generator):
    return random.default_generator() if generator is None else generator


def _epoch_rng(generator):
    """The stream of one shuffled epoch: ``generator``, or a fresh one seeded by one draw from
    the global generator (as PyTorch's RandomSampler does, so other users of the global stream
    see the same state whatever the dataset size)."""
    if generator is not None:
        return generator
    return np.random.default_rng(random.default_generator().integers(0, 2 ** 63 - 1))


# ---- samplers ---------------------------------------------------------------------------------

class Sampler:
    """An iterable of dataset indices (or of index lists, for a batch sampler)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the indices: without replacement, whole permutations (and part of one
    when num_samples is not a multiple of len(data_source)); with replacement, num_samples
    independent uniform draws. The order is drawn when iteration starts."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, int) \
                or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        """How many indices one pass yields: ``num_samples``, or len(data_source) when it was
        None."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def order(self):
        """This epoch's indices, as an int64 array."""
        n, count = len(self.data_source), self.num_samples
        rng = _epoch_rng(self.generator)
        if self.replacement:
            return rng.integers(0, n, count, dtype=np.int64)
        whole = [rng.permutation(n) for _ in range(count // n)]
        return np.concatenate(whole + [rng.permutation(n)[:count % n]]).astype(np.int64)

    def __iter__(self):
        return iter(self.order().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order (a fresh permutation each epoch)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        order = _rng(self.generator).permutation(len(self.indices)).tolist()
        return iter([self.indices[i] for i in order])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probability weights[i] / sum(weights)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "
                             f"replacement={replacement}")
        array = weights.array if isinstance(weights, Tensor) else np.asarray(weights)
        if array.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(array.shape)}")
        self.weights = Tensor._wrap(np.asarray(array, dtype=np.float64))
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        weights = np.asarray(self.weights.array, dtype=np.float64)
        if (weights < 0).any() or not np.isfinite(weights).all():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        if weights.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and self.num_samples > np.count_nonzero(weights):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        drawn = _rng(self.generator).choice(len(weights), self.num_samples,
                                            replace=self.replacement, p=weights / weights.sum())
        return iter(drawn.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups a sampler's indices into lists of batch_size (the last one shorter unless
    drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        # NOTE: the sampler's order is drawn here, at iter(), not at the first next()
        return self._batches(iter(self.sampler))

    def _batches(self, indices):
        while True:
            batch = list(itertools.islice(indices, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        n, b = len(self.sampler), self.batch_size
        return n // b if self.drop_last else -(-n // b)


# ---- collation --------------------------------------------------------------------------------

_NOT_COLLATABLE = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                   "lists; found {}")


def default_collate(batch):
    """Stack a list of samples field by field, as PyTorch's default_collate does.

    Tensors and numpy arrays are stacked on a new first axis (dtype kept); Python ints become
    one int64 tensor (bools a bool tensor), floats one float64 tensor, numpy scalars one tensor
    of their dtype; strings stay a list; dicts, namedtuples, tuples and lists are collated per
    field (a tuple sample gives a list, as in PyTorch).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OSUV":
            raise TypeError(_NOT_COLLATABLE.format(elem.dtype))
        return Tensor._wrap(np.stack(batch))
    if isinstance(elem, np.generic):
        if elem.dtype.kind in "OSUV":
            raise TypeError(_NOT_COLLATABLE.format(elem.dtype))
        return Tensor._wrap(np.asarray(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor._wrap(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem}) \
            if type(elem) is not dict else {key: default_collate([d[key] for d in batch])
                                            for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(s) != len(elem) for s in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(list(s)) for s in zip(*batch)]
        return transposed if isinstance(elem, tuple) else type(elem)(transposed)
    raise TypeError(_NOT_COLLATABLE.format(type(elem)))


def default_convert(data):
    """PyTorch's default_convert: numpy arrays (also inside dicts and sequences) become tensors;
    everything else is returned as it is."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "OSUV":
        return Tensor._wrap(data)
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(d) for d in data]
    return data


def get_worker_info():
    """None: microdl's DataLoader has no worker processes (this is the main process)."""
    return None


# ---- DataLoader ------------------------------------------------------------------------------

class DataLoader:
    """Mini-batches of a dataset: ``for x, y in DataLoader(ds, batch_size=60, shuffle=True)``.

    Each batch is ``collate_fn`` (default_collate) of batch_size samples: for a dataset of
    (x, y) samples, a list [X, Y]. ``sampler`` chooses the sample order (excludes ``shuffle``),
    ``batch_sampler`` the index lists themselves (excludes batch_size, shuffle, sampler and
    drop_last). generator: a ``microdl.Generator`` or ``numpy.random.Generator`` (or an int seed
    for one) that draws each epoch's permutation; None seeds each epoch's permutation from
    microdl's global generator. Unshuffled batches of a TensorDataset are views of its arrays
    (no copy): do not write into them.

    Loading runs in the main process: num_workers may be any non-negative number (no workers
    start), and pin_memory, timeout, worker_init_fn, multiprocessing_context, prefetch_factor,
    persistent_workers, pin_memory_device and in_order are checked as PyTorch checks them and
    change nothing. ``batch_size=None`` (no batching) and empty datasets are not supported.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
            generator = np.random.default_rng(int(generator))
        elif generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"generator must be a microdl.Generator, a numpy.random.Generator, "
                            f"an int seed or None (got {type(generator).__name__})")

        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            if len(dataset) == 0:
                raise ValueError("DataLoader got an empty dataset (0 samples): there is nothing "
                                 "to batch")
            if sampler is not None and shuffle:
                raise ValueError("sampler option is mutually exclusive with shuffle")
            if batch_sampler is not None:
                if batch_size != 1 or shuffle or sampler is not None or drop_last:
                    raise ValueError("batch_sampler option is mutually exclusive with "
                                     "batch_size, shuffle, sampler, and drop_last")
                batch_size, drop_last = None, False
            if sampler is None:
                sampler = RandomSampler(dataset, generator=generator) if shuffle \
                    else SequentialSampler(dataset)
            if batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, bool(drop_last))

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self.num_workers, self.pin_memory, self.timeout = num_workers, pin_memory, timeout
        self.worker_init_fn, self.multiprocessing_context = worker_init_fn, multiprocessing_context
        self.prefetch_factor, self.persistent_workers = prefetch_factor, persistent_workers
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        # NOTE: a subclass that overrides __getitem__ (a transform) must go through it
        self._whole_batches = (isinstance(dataset, TensorDataset)
                               and type(dataset).__getitem__ is TensorDataset.__getitem__
                               and collate_fn is None and batch_sampler is not None
                               and type(batch_sampler) is BatchSampler
                               and type(batch_sampler.sampler) in (SequentialSampler,
                                                                   RandomSampler))

    def __len__(self):
        if isinstance(self.dataset, IterableDataset):
            n, b = len(self.dataset), self.batch_size
            return n // b if self.drop_last else -(-n // b)
        return len(self.batch_sampler)

    def __iter__(self):
        if isinstance(self.dataset, IterableDataset):
            return self._stream_batches()
        if self._whole_batches:
            sampler = self.batch_sampler.sampler
            # The permutation is drawn here, when iteration starts, not at the first next().
            order = sampler.order() if isinstance(sampler, RandomSampler) else None
            return self._array_batches(order)
        return self._collated_batches(iter(self.batch_sampler))

    def _array_batches(self, order):
        arrays, b, wrap = self.dataset.arrays, self.batch_size, Tensor._wrap
        n = len(self.dataset) if order is None else len(order)
        stops = range(0, n - n % b if self.drop_last else n, b)
        if order is None:
            for lo in stops:
                yield [wrap(a[lo:lo + b]) for a in arrays]
        else:
            for lo in stops:
                index = order[lo:lo + b]
                yield [wrap(a[index]) for a in arrays]

    def _collated_batches(self, index_lists):
        for indices in index_lists:
            yield self.collate_fn([self.dataset[i] for i in indices])

    def _stream_batches(self):
        samples = iter(self.dataset)
        while True:
            batch = list(itertools.islice(samples, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield self.collate_fn(batch)


# The name this module used before default_collate.
collate = default_collate
