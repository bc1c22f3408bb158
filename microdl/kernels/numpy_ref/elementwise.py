"""Elementwise arithmetic, the specification: numpy's own operators writing into ``out``.

``a`` and ``b`` broadcast as numpy does; either may be a Python number. The caller chose
``out``'s shape and dtype (the op states the dtype rule); results are cast into it.
"""

import numpy as np

_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}


def fill(out, value):
    """out[...] = value."""
    out[...] = value


def copy(x, out):
    """out = x, converted to out's dtype (a copy or a cast)."""
    np.copyto(out, x, casting="unsafe")


def unary(x, out, op, scalar=0.0):
    """out = f(x) for op in "neg" (-x), "exp", "log", "abs", "sign", "pow" (x ** scalar),
    "scale" (x * scalar)."""
    if op == "pow":
        x = x.astype(out.dtype, copy=False)
        np.power(x, np.asarray(scalar, out.dtype), out=out)
    elif op == "scale":
        np.multiply(x, np.asarray(scalar, out.dtype), out=out, casting="unsafe")
    else:
        ufunc = {"neg": np.negative, "exp": np.exp, "log": np.log, "abs": np.abs,
                 "sign": np.sign}[op]
        ufunc(x, out=out, casting="unsafe")


def binary(a, b, out, op):
    """out = a op b with numpy broadcasting, for op in "add", "sub", "mul", "div" and "eq"
    (1 where a == b, else 0); a or b may be a Python number."""
    if op == "eq":
        np.copyto(out, np.equal(a, b), casting="unsafe")
    else:
        _BINARY[op](a, b, out=out, casting="unsafe")


def broadcast_to(x, out):
    """out = x broadcast to out's shape (numpy's rules)."""
    np.copyto(out, x, casting="unsafe")  # copyto broadcasts x to out's shape


def take(x, index, out):
    """out = x[index] for a numpy index (ints, slices, None, Ellipsis, integer or boolean
    arrays: numpy's rules)."""
    np.copyto(out, x[index], casting="unsafe")


def put_add(values, index, out):
    """out[index] += values, where repeated positions of the index add up (np.add.at)."""
    np.add.at(out, index, values)


def permute(x, out, axes):
    """out = x.transpose(axes)."""
    np.copyto(out, x.transpose(axes), casting="unsafe")
