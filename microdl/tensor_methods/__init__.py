"""The Tensor methods by topic: one mixin class per module, which microdl.Tensor inherits.

  math.py         MathMethods: add, mul, div, ... by name, comparisons, exp, log, clamp,
                  masked_fill, casts (long, int, bool, type); the function where
  activations.py  ActivationMethods: relu, sigmoid, tanh, softmax, log_softmax
  reductions.py   ReductionMethods: sum, mean, max, min, var, std, prod, cumsum, all, any, ...
  shape.py        ShapeMethods: reshape, transpose, permute, t[index], squeeze, expand, split, ...;
                  the functions cat and stack
  indexing.py     IndexingMethods: gather, scatter, index_select, sort, topk, unique, mm, bmm,
                  diag, tril, norm, multinomial, ...; the functions einsum and cdist
  _common.py      what tensor.py and these modules share (type names for messages, _dim_index)

tensor.py keeps the core: construction, properties, conversion, autograd, the operators
(``a + b``, ...) and the in-place machinery. These modules name ``Tensor`` and ``tensor`` in
their methods as tensor.py does, but cannot import it (it imports them): ``bind`` hands them
over when tensor.py loads, as tensor.py hands autograd the class.
"""

import functools
from types import FunctionType

from . import indexing, math, reductions, shape
from .activations import ActivationMethods
from .indexing import IndexingMethods
from .math import MathMethods
from .reductions import ReductionMethods
from .shape import ShapeMethods

MIXINS = (MathMethods, ActivationMethods, ReductionMethods, ShapeMethods, IndexingMethods)

from ._common import SHARING_VIEWS, VIEWS_MADE_AS_COPIES

def _marking(method, name):
    """``method`` whose Tensor results carry the mark ``name`` (or the input's mark)."""
    @functools.wraps(method)
    def marked(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        mark = name or self._view_copy_of
        if mark is not None:
            for t in (result if isinstance(result, (tuple, list)) else (result,)):
                if getattr(t, "array", None) is not self.array:
                    t._view_copy_of = mark
        return result
    return marked


def bind(tensor_class, tensor_function):
    """Give the modules the Tensor class and ``tensor()`` (tensor.py calls this once both exist),
    and name each method as one of the class (``Tensor.add``), so that Python's messages read
    "Tensor.add() got an unexpected keyword argument ..."."""
    for module in (math, reductions, shape, indexing):
        module.Tensor, module.tensor = tensor_class, tensor_function
    for mixin in MIXINS:
        for value in vars(mixin).values():
            if isinstance(value, FunctionType):
                value.__qualname__ = f"{tensor_class.__name__}.{value.__name__}"
        for name in VIEWS_MADE_AS_COPIES + SHARING_VIEWS:
            if isinstance(vars(mixin).get(name), FunctionType):
                mark = name.strip("_") + ("()" if name != "__getitem__" else "")
                setattr(mixin, name, _marking(vars(mixin)[name],
                                              None if name in SHARING_VIEWS else
                                              ("indexing" if name == "__getitem__" else mark)))
