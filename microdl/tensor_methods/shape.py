"""Tensor methods: shape (reshape/view, flatten, transpose, permute, ``t[index]``, squeeze,
unsqueeze, expand, repeat, flip, contiguous, narrow, movedim, split, chunk, unbind, ...); the
functions ``cat`` and ``stack``."""

import numpy as np

from .. import _device
from .._memory_format import check_memory_format as _check_memory_format
from .._memory_format import contiguous_format as _contiguous_format
from ..ops import shape
from ._common import NONCONTIGUOUS, _dim_index, _torch_type

# NOTE: microdl.Tensor and microdl.tensor, set by tensor.py when it loads (tensor_methods.bind):
# these methods make tensors without importing tensor.py, which imports this module
Tensor = tensor = None


class ShapeMethods:
    """Tensor's shape methods and indexing with ``[]`` (a mixin of microdl.Tensor)."""

    # ---- shape --------------------------------------------------------------------------------
    def reshape(self, *new_shape):
        """The values in a new shape: reshape(2, 3), reshape((2, 3)); one size may be -1
        (inferred);  dx = g reshaped back. Shares the values with self when its array is
        C-contiguous (always, but for from_numpy of a strided array), else copies."""
        if len(new_shape) == 1 and isinstance(new_shape[0], (tuple, list)):
            new_shape = tuple(new_shape[0])
        return shape.Reshape.apply(self, shape=new_shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        """Dimensions start_dim..end_dim merged into one: (2, 3, 4).flatten(1) is (2, 12); a 0-d
        tensor gives shape (1,)."""
        start, end = _dim_index(start_dim, self.ndim), _dim_index(end_dim, self.ndim)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        dims = self.shape
        merged = int(np.prod(dims[start:end + 1], dtype=np.int64))
        return self.reshape(dims[:start] + (merged,) + dims[end + 1:])

    def transpose(self, *dims):
        """No arguments: reverse the axes. Two: swap them (PyTorch). All: permute (numpy)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) == 2:
            # NOTE: two dims always swap, 2-D included (read as a permutation, (0, 1) was the
            # identity and W.transpose(0, 1) silently returned W)
            n = max(self.ndim, 1)  # a 0-d tensor takes dims 0 and -1, as in PyTorch
            for d in dims:
                if not -n <= d < n:
                    raise IndexError(f"Dimension out of range (expected to be in range of "
                                     f"[{-n}, {n - 1}], but got {d})")
            if self.ndim == 0:
                return self  # PyTorch: a 0-d tensor transposed is itself
            axes = list(range(self.ndim))
            a, b = dims[0] % self.ndim, dims[1] % self.ndim
            axes[a], axes[b] = axes[b], axes[a]
            dims = tuple(axes)
        return shape.Transpose.apply(self, axes=dims or None)

    def swapaxes(self, axis0, axis1):
        """PyTorch's alias of ``transpose(axis0, axis1)``."""
        return self.transpose(axis0, axis1)

    def swapdims(self, dim0, dim1):
        """PyTorch's alias of ``transpose(dim0, dim1)``."""
        return self.transpose(dim0, dim1)

    def permute(self, *dims):
        """The dimensions reordered: y.shape[i] = x.shape[dims[i]] (permute(2, 0, 1) or
        permute((2, 0, 1)));  dx = g permuted back. A copy (PyTorch gives a view)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return shape.Transpose.apply(self, axes=dims)

    def __getitem__(self, index):
        """PyTorch's indexing (ops/shape.py torch_index): an integer selects before any
        advanced index applies; index tensors are read on the host."""
        if isinstance(index, Tensor):
            index = _device.host(index.array)
        elif isinstance(index, tuple):
            index = tuple(_device.host(i.array) if isinstance(i, Tensor) else i for i in index)
        return shape.GetItem.apply(self, index=index)


    # ---- shape (more) ---------------------------------------------------------------------------
    def squeeze(self, dim=None):
        """Drop the dimensions of size 1 (all, or those of ``dim``, an int or a tuple: a named
        dimension that is not 1 stays, as in PyTorch)."""
        dims = range(self.ndim) if dim is None else \
            [_dim_index(d, self.ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        drop = {d for d in dims if self.ndim and self.shape[d] == 1}
        return self.reshape(tuple(n for d, n in enumerate(self.shape) if d not in drop))

    def unsqueeze(self, dim):
        """A dimension of size 1 inserted at ``dim`` (in [-ndim - 1, ndim])."""
        d = _dim_index(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def expand(self, *sizes):
        """This tensor broadcast to ``sizes`` (-1 keeps a dimension; new ones go in front),
        written out as a copy (PyTorch gives a view; the values are the same)."""
        sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) \
            else tuple(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand({_torch_type(self)}{{{list(self.shape)}}}, size="
                               f"{list(sizes)}): the number of sizes provided ({len(sizes)}) "
                               "must be greater or equal to the number of dimensions in the "
                               f"tensor ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = list(sizes)
        for d, n in enumerate(self.shape):
            want = sizes[lead + d]
            if want == -1:
                target[lead + d] = n
            elif n != 1 and want != n:
                raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                                   f"existing size ({n}) at non-singleton dimension {lead + d}."
                                   f"  Target sizes: {list(sizes)}.  Tensor sizes: "
                                   f"{list(self.shape)}")
        if min(target[:lead], default=0) < 0:
            raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a leading, "
                               "non-existing dimension 0")
        if tuple(target) == self.shape:
            return self
        return shape.Expand.apply(self, shape=tuple(target))

    def expand_as(self, other):
        """self.expand(other.shape): broadcast to other's shape."""
        return self.expand(other.shape)

    def repeat(self, *repeats):
        """This tensor tiled ``repeats[d]`` times along each dimension d (leading repeats add
        dimensions)."""
        repeats = tuple(repeats[0]) if len(repeats) == 1 and \
            isinstance(repeats[0], (tuple, list)) else tuple(repeats)
        if len(repeats) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        return shape.Repeat.apply(self, repeats=repeats)

    def flip(self, *dims, **keyword):
        """The values in reverse order along each of ``dims`` (flip(0, 1), flip((0, 1)) or
        flip(dims=(0, 1)))."""
        for key in keyword:
            if key != "dims":
                raise TypeError(f"flip() got an unexpected keyword argument '{key}'")
            if dims:
                raise TypeError("flip() got multiple values for argument 'dims'")
            dims = (keyword["dims"],)
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        axes = [_dim_index(d, self.ndim) for d in dims]
        if len(set(axes)) != len(axes):
            repeated = next(d for d in axes if axes.count(d) > 1)
            raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
        return shape.Flip.apply(self, axes=tuple(axes)) if self.ndim else self

    def view_as(self, other):
        """self.reshape(other.shape) (view and reshape are one in microdl). Alias: reshape_as."""
        return self.reshape(other.shape)

    reshape_as = view_as

    def contiguous(self, memory_format=_contiguous_format):
        """Itself when its array is C-contiguous (microdl's ops always make those), else a
        C-contiguous copy on the tape."""
        _check_memory_format("contiguous", memory_format)
        if self._view_copy_of is not None and self._view_copy_of.rstrip("()") in NONCONTIGUOUS:
            # PyTorch copies such a view here: the result is a tensor of its own
            fresh = Tensor._wrap(self.array, self.requires_grad)
            fresh._node = self._node
            return fresh
        if self.array.flags["C_CONTIGUOUS"]:
            return self
        return shape.Reshape.apply(self, shape=self.shape)

    def t(self):
        """The 2-D transpose; a tensor of fewer dimensions is returned as it is."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    def narrow(self, dim, start, length):
        """The ``length`` values from ``start`` along ``dim`` (a copy; PyTorch gives a view).
        ``start``: an int or a 0-d integer tensor."""
        if not self.ndim:
            raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
        if isinstance(start, Tensor):
            if start.ndim or start.dtype.kind not in "iu":
                raise RuntimeError("start must be an 0-dim integral Tensor.")
            start = start.item()
        arguments = (dim, start, length)
        if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in arguments):
            got = ", ".join(type(a).__name__ for a in arguments)
            raise TypeError(f"narrow() received an invalid combination of arguments - got "
                            f"({got}), but expected one of: (int dim, Tensor start, int "
                            "length), (int dim, int start, int length)")
        d = _dim_index(dim, self.ndim)
        size = self.shape[d]
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, "
                             f"{size}], but got {start})")
        start = start % size if start < 0 else start
        if length < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}).")
        offsets = tuple(start if a == d else 0 for a in range(self.ndim))
        block = self.shape[:d] + (length,) + self.shape[d + 1:]
        return shape.ReadBlock.apply(self, offsets=offsets, shape=block)

    def movedim(self, source, destination):
        """Dimensions ``source`` moved to ``destination`` (ints or tuples), the others keeping
        their order."""
        source = list(source) if isinstance(source, (tuple, list)) else [source]
        destination = list(destination) if isinstance(destination, (tuple, list)) \
            else [destination]
        if len(source) != len(destination):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source "
                               f"({source} dims) should contain the same number of dims as "
                               f"destination ({destination} dims)")
        given = {"source": source, "destination": destination}
        source = [_dim_index(d, self.ndim) for d in source]
        destination = [_dim_index(d, self.ndim) for d in destination]
        for name, dims in (("source", source), ("destination", destination)):
            if len(set(dims)) != len(dims):
                raise RuntimeError(f"movedim: repeated dim in `{name}` ({given[name]})")
        if not self.ndim:
            return self
        order = [None] * self.ndim
        for s, d in zip(source, destination):
            order[d] = s
        rest = iter(d for d in range(self.ndim) if d not in source)
        order = [next(rest) if o is None else o for o in order]
        return self.permute(order)

    def split(self, split_size_or_sections, dim=0):
        """Pieces along ``dim``: of ``split_size`` each (the last smaller), or of the listed
        sizes."""
        d = _dim_index(dim, self.ndim)
        size = self.shape[d]
        if isinstance(split_size_or_sections, (tuple, list)):
            sizes = list(split_size_or_sections)
            if sum(sizes) != size or min(sizes, default=0) < 0:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                                   f"{size} (input tensor's size at dimension {d}), but got "
                                   f"split_sizes={sizes}")
        else:
            step = int(split_size_or_sections)
            if step < 0 or (step == 0 and size != 0):
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {size}" if step == 0 else
                                   f"split expects split_size be non-negative, but got "
                                   f"split_size={step}")
            sizes = [min(step, size - s) for s in range(0, size, step)] or [0]
        pieces, start = [], 0
        for n in sizes:
            pieces.append(self.narrow(d, start, n))
            start += n
        return tuple(pieces)

    def chunk(self, chunks, dim=0):
        """At most ``chunks`` pieces along ``dim``, of ceil(size / chunks) each (PyTorch's rule,
        so fewer pieces may come back)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        size = self.shape[_dim_index(dim, self.ndim)]
        return self.split(max(1, -(-size // chunks)), dim)

    def unbind(self, dim=0):
        """The slices along ``dim``, each without that dimension."""
        d = _dim_index(dim, self.ndim)
        if not self.ndim:
            raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        return tuple(self.narrow(d, i, 1).squeeze(d) for i in range(self.shape[d]))


# ---- functions over several tensors (cat, stack; where: math.py) ---------------------------------
def cat(tensors, dim=0):
    """The tensors one after another along ``dim`` (same shapes elsewhere), in PyTorch's promoted
    dtype (a float decides over integers; else the widest)."""
    if isinstance(tensors, Tensor):  # iterating it would cat its rows: PyTorch refuses
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    # NOTE: PyTorch skips 1-D empty tensors (the legacy "torch.cat([torch.ones(0), x])")
    kept = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    first = kept[0]
    d = _dim_index(dim, first.ndim)
    for i, t in enumerate(kept[1:], 1):
        if t.ndim != first.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got "
                               f"{first.ndim} and {t.ndim}")
        for a in range(first.ndim):
            if a != d and t.shape[a] != first.shape[a]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {first.shape[a]} but got size "
                                   f"{t.shape[a]} for tensor number {i} in the list.")
    return shape.Cat.apply(*kept, axis=d, dtype=shape.cat_dtype([t.dtype for t in tensors]))


concat = concatenate = cat


def stack(tensors, dim=0):
    """The tensors (all of one shape) along a new dimension ``dim``."""
    tensors = [t if isinstance(t, Tensor) else tensor(t) for t in tensors]
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(tensors[0].shape)} at entry 0 and {list(t.shape)} at "
                               f"entry {i}")
    d = _dim_index(dim, tensors[0].ndim + 1)
    return cat([t.unsqueeze(d) for t in tensors], d)
