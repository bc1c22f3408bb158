"""Linear-algebra ops: Einstein sums (the gradient of each operand is the einsum of the output
gradient with the others), cumulative products (a gradient exact with zeros) and vector norms
(PyTorch's masked formulas at 0). Matrix products are ops/matmul.py's."""

import math
import string
import warnings

import numpy as np

from .. import backend
from ..autograd import Function
from ._arrays import binary, broadcast_to, contiguous, reduce_sum, select, unary
from .reduce import _normalized_axes, sum_dtype

_LETTERS = set(string.ascii_letters)


# ---- einsum ------------------------------------------------------------------------------------
def _parse_term(term, position, equation):
    """The labels of one term, with "..." kept as one "." entry."""
    labels, i = [], 0
    while i < len(term):
        if term.startswith("...", i):
            if "." in labels:
                raise RuntimeError("einsum(): found '.' for operand "
                                   f"{position} that is not part of any ellipsis")
            labels.append(".")
            i += 3
        elif term[i] in _LETTERS:
            labels.append(term[i])
            i += 1
        else:
            raise RuntimeError(f"einsum(): invalid subscript given at index "
                               f"{equation.index(term[i])} in the equation string, subscripts "
                               "must be in [a-zA-Z]")
    return labels


def einsum_plan(equation, shapes):
    """(an explicit equation of letters only, the shape each operand broadcasts to) for numpy-
    style ``equation`` over operands of ``shapes``: "..." becomes unused letters (right-aligned,
    broadcast), an implicit output is the ellipsis then the labels seen once, sorted; a label of
    size 1 broadcasts against the others, as in PyTorch."""
    equation = equation.replace(" ", "")
    left, arrow, right = equation.partition("->")
    terms = left.split(",")
    if len(terms) != len(shapes):
        more = "more" if len(shapes) > len(terms) else "fewer"
        raise RuntimeError(f"einsum(): {more} operands were provided than specified in the "
                           "equation")
    parsed = [_parse_term(t, k, equation) for k, t in enumerate(terms)]
    spare = iter(sorted(_LETTERS - set(equation), reverse=True))
    ellipsis_dims = max([len(s) - len(p) + 1 for p, s in zip(parsed, shapes) if "." in p],
                        default=0)
    ellipsis = "".join(next(spare) for _ in range(ellipsis_dims))[::-1]
    inputs, sizes, targets = [], {}, []
    for k, (labels, shape) in enumerate(zip(parsed, shapes)):
        named = len(labels) - ("." in labels)
        if ("." not in labels and named != len(shape)) or named > len(shape):
            unless = "" if "." in labels else " and no ellipsis was given"
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({len(shape)}) for "
                               f"operand {k}{unless}")
        own = "".join(ellipsis[ellipsis_dims - (len(shape) - named):] if label == "." else label
                      for label in labels)
        seen = {}
        for label, n in zip(own, shape):
            if label in seen and seen[label] != n:
                raise RuntimeError(f"einsum(): subscript {label} is repeated for operand {k} "
                                   f"but the sizes don't match, {n} != {seen[label]}")
            seen[label] = n
            known = sizes.get(label, 1)
            if n != 1 and known != 1 and n != known:
                raise RuntimeError(f"einsum(): subscript {label} has size {n} for operand {k} "
                                   f"which does not broadcast with previously seen size {known}")
            sizes[label] = max(known, n) if n != 1 else known
        inputs.append(own)
    for own, shape in zip(inputs, shapes):
        targets.append(tuple(sizes[label] if n == 1 else n for label, n in zip(own, shape)))
    if arrow:
        output = right.replace("...", ellipsis)
        for label in output:
            if label not in _LETTERS:
                raise RuntimeError("einsum(): invalid subscript given at index "
                                   f"{equation.index(label)} in the equation string, "
                                   "subscripts must be in [a-zA-Z]")
            if output.count(label) > 1:
                raise RuntimeError(f"einsum(): output subscript {label} appears more than once "
                                   "in the output")
            if label not in sizes:
                raise RuntimeError(f"einsum(): output subscript {label} does not appear in the "
                                   "equation for any input operand")
    else:
        counts = "".join(inputs)
        output = ellipsis + "".join(sorted(label for label in set(counts)
                                           if counts.count(label) == 1 and label not in ellipsis))
    return ",".join(inputs) + "->" + output, targets


def einsum_arrays(arrays, equation, dtype):
    """The einsum kernel's result as a new array (equation explicit, letters only)."""
    inputs, output = equation.split("->")
    sizes = {label: n for labels, a in zip(inputs.split(","), arrays)
             for label, n in zip(labels, a.shape)}
    dev = backend.for_arrays(*arrays)
    out = dev.empty(tuple(sizes[label] for label in output), dtype)
    dev.kernels("linalg").einsum(tuple(contiguous(a) for a in arrays), out, equation)
    return out


def _diagonal_positions(labels, shape):
    """The flat positions in an array of ``shape`` (labelled ``labels``, some repeated) of each
    combination of its distinct labels: where a gradient over the distinct labels lands."""
    strides = np.cumprod((1,) + tuple(shape[::-1]))[:-1][::-1]
    distinct = list(dict.fromkeys(labels))
    steps = [sum(int(s) for l, s in zip(labels, strides) if l == d) for d in distinct]
    grid = np.indices([shape[labels.index(d)] for d in distinct])
    return np.tensordot(np.array(steps, np.int64), grid, axes=1).astype(np.int64)


class Einsum(Function):
    """y = einsum(equation, *operands) (explicit, letters only: see einsum_plan);
    d operand_k = einsum of g and the other operands onto operand_k's labels, broadcast along
    labels only it has, and put on the diagonal where a label repeats in it."""

    @staticmethod
    def forward(ctx, *operands, equation):
        dtypes = {a.dtype for a in operands}
        if len(dtypes) > 1:
            first, other = operands[0].dtype, next(a.dtype for a in operands
                                                   if a.dtype != operands[0].dtype)
            raise RuntimeError(f"expected scalar type {_torch_name(first)} but found "
                               f"{_torch_name(other)}")
        ctx.equation = equation
        ctx.save_for_backward(*operands)
        return einsum_arrays(operands, equation, operands[0].dtype)

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved
        inputs, output = ctx.equation.split("->")
        inputs = inputs.split(",")
        grads = []
        for k, (labels, x) in enumerate(zip(inputs, operands)):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [a for j, a in enumerate(operands) if j != k]
            other_labels = [t for j, t in enumerate(inputs) if j != k]
            distinct = "".join(dict.fromkeys(labels))
            reached = "".join(l for l in distinct if l in output + "".join(other_labels))
            grad = einsum_arrays([g] + others, ",".join([output] + other_labels) + "->"
                                 + reached, g.dtype)
            distinct_shape = tuple(x.shape[labels.index(l)] for l in distinct)
            if reached != distinct:  # labels only this operand has: summed, so broadcast back
                grad = broadcast_to(grad.reshape(tuple(n if l in reached else 1 for l, n in
                                                       zip(distinct, distinct_shape))),
                                    distinct_shape)
            if distinct != labels:  # a repeated label: the gradient lies on that diagonal
                dev = backend.for_arrays(g)
                dx = dev.zeros(x.size, g.dtype)
                dev.kernels("elementwise").put_add(
                    contiguous(grad), _diagonal_positions(labels, x.shape), dx)
                grad = dx.reshape(x.shape)
            grads.append(grad)
        return tuple(grads)


_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _torch_name(dtype):
    return _TORCH_NAMES.get(str(dtype), str(dtype))


# ---- cumulative product --------------------------------------------------------------------------
class Cumprod(Function):
    """y_i = x_0 * ... * x_i along ``axis`` (int64 for integer and bool x);
    dx_k = (x_0 ... x_(k-1)) * sum_(i >= k) g_i x_(k+1) ... x_i (exact with zeros)."""

    @staticmethod
    def forward(ctx, x, axis=0):
        axes = _normalized_axes(axis, x.ndim)
        ctx.axis = axes[0] if axes else 0
        dev = backend.for_arrays(x)
        line = contiguous(x if x.ndim else x.reshape(1))
        y = dev.empty(line.shape, sum_dtype(x.dtype))
        dev.kernels("linalg").cumprod_axis(line, y, ctx.axis)
        ctx.save_for_backward(line)
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        dev = backend.for_arrays(g)
        dx = dev.empty(x.shape, g.dtype)
        dev.kernels("linalg").cumprod_backward(x, contiguous(g).reshape(x.shape), dx, ctx.axis)
        return dx.reshape(g.shape)


# ---- vector norms ------------------------------------------------------------------------------
class VectorNorm(Function):
    """y = (sum |x|^p)^(1/p) over ``axes`` (all when None); p = inf: max |x|, -inf: min |x|,
    0: the count of nonzeros. The gradient is PyTorch's: p = +-inf: g sgn(x) [|x| = y] / (ties);
    p < 1: g sgn(x) |x|^(p-1) y^(1-p) (0 where x = 0); p < 2: g sgn(x) |x|^(p-1) / y^(p-1);
    else g x |x|^(p-2) / y^(p-1) (both 0 where y = 0); p = 0: none."""

    @staticmethod
    def forward(ctx, x, ord=2.0, axis=None, keepdims=False):
        if x.dtype.kind != "f":
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                               f"as input. Got {_torch_name(x.dtype)}")
        axes = _normalized_axes(axis, x.ndim)
        ctx.ord, ctx.axes = float(ord), axes
        dev = backend.for_arrays(x)
        size = unary(x, "abs")
        kept = tuple(1 if d in axes else n for d, n in enumerate(x.shape))
        if math.isinf(ctx.ord):
            y = dev.empty(kept, x.dtype)
            reducer = "max_axes" if ctx.ord > 0 else "min_axes"
            getattr(dev.kernels("reduce"), reducer)(size, y, axes)
        elif ctx.ord == 0:
            y = reduce_sum(binary(size, 0, "ne", x.dtype), axes, True)
        elif ctx.ord == 1:
            y = reduce_sum(size, axes, True)
        elif ctx.ord == 2:
            y = unary(reduce_sum(binary(x, x, "mul", x.dtype), axes, True), "sqrt")
        else:
            y = unary(reduce_sum(unary(size, "pow", scalar=ctx.ord), axes, True), "pow",
                      scalar=1.0 / ctx.ord)
        ctx.save_for_backward(x, size, y)
        return y if keepdims else y.reshape(tuple(n for d, n in enumerate(x.shape)
                                                  if d not in axes))

    @staticmethod
    def backward(ctx, g):
        if ctx.ord == 0:
            return None
        x, size, y = ctx.saved
        p, dtype = ctx.ord, x.dtype
        g = g.reshape(y.shape)
        sign = unary(x, "sign")
        if math.isinf(p):
            winners = binary(size, y, "eq", dtype)
            ties = reduce_sum(winners, ctx.axes, True)
            scaled = binary(sign, winners, "mul", dtype)
            scale = binary(g, ties, "div", dtype)
        elif p < 1:
            power = unary(size, "pow", scalar=p - 1)
            scaled = select(binary(x, 0, "eq", np.dtype(np.bool_)), np.zeros((), dtype),
                            binary(sign, power, "mul", dtype), dtype)
            scale = binary(g, unary(y, "pow", scalar=1 - p), "mul", dtype)
        else:
            if p < 2:
                scaled = binary(sign, unary(size, "pow", scalar=p - 1), "mul", dtype)
            else:
                scaled = x if p == 2 else binary(x, unary(size, "pow", scalar=p - 2), "mul",
                                                 dtype)
            ratio = binary(g, y if p == 2 else unary(y, "pow", scalar=p - 1), "div", dtype)
            zero = np.zeros((), dtype)
            scale = select(binary(y, 0, "eq", np.dtype(np.bool_)), zero, ratio, dtype)
        return binary(scaled, scale, "mul", dtype)


# ---- decompositions and inverses (LAPACK through numpy.linalg, on the host) ----------------------
# These are LAPACK calls, not loops, so they have no kernels: a cuda array is copied to the host,
# numpy.linalg computes, and the result is copied back (dev.to_host / dev.to_here). Backwards
# are PyTorch's formulas (derivatives.yaml, FunctionsManual.cpp) for real matrices, on the host.
class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a matrix the decomposition cannot handle (singular, not
    positive-definite)."""


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _host(dev, *arrays):
    return [None if a is None else np.asarray(dev.to_host(a)) for a in arrays]


def _here(dev, array, dtype):
    return dev.to_here(np.array(array, dtype=dtype, order="C"))


def check_square(A, name, what="A"):
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {what} must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{name}: {what} must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")


def check_float(A, name):
    if A.dtype.kind != "f":
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. "
                           f"Got {_torch_name(A.dtype)}")


def _batch_prefix(shape, flat_index):
    return "" if len(shape) == 2 else f"(Batch element {flat_index}): "


def _singular_error(name, a):
    """PyTorch's message: the first zero pivot of the LU factorization (1-based)."""
    import scipy.linalg  # noqa: PLC0415 (only on this error path)
    flat = a.reshape((-1,) + a.shape[-2:])
    for index, matrix in enumerate(flat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy's LinAlgWarning: the error below says it
            lu, _ = scipy.linalg.lu_factor(matrix, check_finite=False)
        zeros = np.flatnonzero(np.diagonal(lu) == 0)
        if zeros.size:
            return LinAlgError(f"{name}: {_batch_prefix(a.shape, index)}The diagonal element "
                               f"{zeros[0] + 1} is zero, the inversion could not be completed "
                               "because the input matrix is singular.")
    return LinAlgError(f"{name}: The input matrix is singular.")


def _inverse(a, name):
    try:
        with np.errstate(all="ignore"):
            inv = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise _singular_error(name, a) from None
    if not np.all(np.isfinite(inv)) and np.all(np.isfinite(a)):
        raise _singular_error(name, a)
    return inv


class Inverse(Function):
    """X = A^-1 over the batch; gA = -X^T g X^T."""

    @staticmethod
    def forward(ctx, A, name="linalg.inv"):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        x = _inverse(a, name).astype(a.dtype)
        ctx.x = x
        return _here(dev, x, a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        xt = _mT(ctx.x)
        return _here(dev, -xt @ g @ xt, g.dtype)


class Solve(Function):
    """X = A^-1 B (B a batch of matrices, already broadcast against A); gB = A^-T g,
    gA = -gB X^T. left=False is solved as A^T X^T = B^T by the caller."""

    @staticmethod
    def forward(ctx, A, B):
        dev = backend.for_arrays(A, B)
        a, b = _host(dev, A, B)
        try:
            x = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is "
                              "singular.") from None
        ctx.a, ctx.x = a, x
        return _here(dev, x, a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        gb = np.linalg.solve(_mT(ctx.a), g)
        return _here(dev, -gb @ _mT(ctx.x), g.dtype), _here(dev, gb, g.dtype)


def _adjugate_T(a):
    """cof(A) = adj(A)^T, the gradient of det, through the SVD so a singular A works too:
    A = U S Vh, cof(A) = det(U) det(Vh) U diag(prod_{j != i} s_j) Vh."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], -1) \
        if n else s
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * (u * others[..., None, :]) @ vh


class Det(Function):
    """d = det A (LU); gA = g cof(A), = g d A^-T where A is invertible."""

    @staticmethod
    def forward(ctx, A):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        ctx.a = a
        return _here(dev, np.linalg.det(a), a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        return _here(dev, g[..., None, None] * _adjugate_T(ctx.a), g.dtype)


class SlogdetSign(Function):
    """The sign (-1, 0, 1) of det A: on the tape as PyTorch's, with a zero gradient (constant
    almost everywhere)."""

    @staticmethod
    def forward(ctx, A):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        ctx.a = a
        return _here(dev, np.linalg.slogdet(a)[0], a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        return _here(dev, np.zeros(ctx.a.shape, ctx.a.dtype), ctx.a.dtype)


class LogAbsDet(Function):
    """l = log|det A| (the logabsdet of slogdet); gA = g A^-T. logdet = this where det > 0
    (the caller puts NaN where det < 0)."""

    @staticmethod
    def forward(ctx, A):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        _, logabsdet = np.linalg.slogdet(a)
        ctx.a = a
        return _here(dev, logabsdet, a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        with np.errstate(all="ignore"):
            try:
                inv_t = _mT(np.linalg.inv(ctx.a))
            except np.linalg.LinAlgError:
                inv_t = _mT(np.linalg.pinv(ctx.a))
        return _here(dev, g[..., None, None] * inv_t, g.dtype)


def _not_positive_definite(a, name):
    flat = a.reshape((-1,) + a.shape[-2:])
    for index, matrix in enumerate(flat):
        for order in range(1, matrix.shape[-1] + 1):
            try:
                np.linalg.cholesky(matrix[:order, :order])
            except np.linalg.LinAlgError:
                return LinAlgError(
                    f"{name}: {_batch_prefix(a.shape, index)}The factorization could not be "
                    "completed because the input is not positive-definite (the leading minor "
                    f"of order {order} is not positive-definite).")
    return LinAlgError(f"{name}: The factorization could not be completed because the input "
                       "is not positive-definite.")


class Cholesky(Function):
    """A = L L^T from the lower triangle of A (upper: returns L^T). PyTorch's backward:
    S = tril(L^T tril(gL)), S = (S + tril(S, -1)^T) / 2, gA = L^-T S L^-1."""

    @staticmethod
    def forward(ctx, A, upper=False, name="linalg.cholesky"):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        try:
            lower = np.linalg.cholesky(np.tril(a) + _mT(np.tril(a, -1)))
        except np.linalg.LinAlgError:
            raise _not_positive_definite(a, name) from None
        ctx.lower, ctx.upper = lower, upper
        return _here(dev, _mT(lower) if upper else lower, a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        L = ctx.lower
        gL = _mT(g) if ctx.upper else g
        S = np.tril(_mT(L) @ np.tril(gL))
        S = 0.5 * (S + _mT(np.tril(S, -1)))
        S = np.linalg.solve(_mT(L), S)               # L^-T S
        S = _mT(np.linalg.solve(_mT(L), _mT(S)))     # (L^-T S) L^-1 = (L^-T (L^-T S)^T)^T
        return _here(dev, S, g.dtype)


def _pack(lead, *parts):
    """Several outputs of one decomposition as one array (*lead, total): ops have one output,
    and the caller slices the parts back out (slicing's backward fills unused gradients with
    0)."""
    return np.concatenate([p.reshape(lead + (-1,)) for p in parts], axis=-1)


def _unpack(packed, shapes):
    parts, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(packed[..., start:start + size].reshape(packed.shape[:-1] + shape))
        start += size
    return parts


def decomposition_shapes(kind, m, n, hyper):
    """The trailing shapes of the packed parts of Eigh, QR and SVD."""
    k = min(m, n)
    if kind == "eigh":
        return [(n,), (n, n)]
    if kind == "qr":
        return [(m, m), (m, n)] if hyper == "complete" else [(m, k), (k, n)]
    return [(m, m), (k,), (n, n)] if hyper else [(m, k), (k,), (k, n)]


def _qr_backward(gQ, gR, Q, R):
    """PyTorch's linalg_qr_backward (real): m >= n: M = R gR^T - gQ^T Q,
    gA = (gQ + Q copyltu(M)) R^-T, copyltu(M) = tril(M, -1) + tril(M)^T; m < n: A = Q [X Y],
    R = [U V]: gX from the square case with gQ + Y gV^T, gY = Q gV."""
    m, n = Q.shape[-2], R.shape[-1]
    if m < n:
        Y, U, gU, gV = R[..., m:], R[..., :, :m], gR[..., :, :m], gR[..., m:]
        gX = _qr_backward(gQ + (Q @ Y) @ _mT(gV), gU, Q, U)
        return np.concatenate([gX, Q @ gV], axis=-1)
    M = R @ _mT(gR) - _mT(gQ) @ Q
    copyltu = np.tril(M, -1) + _mT(np.tril(M))
    return _mT(np.linalg.solve(R, _mT(gQ + Q @ copyltu)))


class QR(Function):
    """A = Q R, packed (Q, R); mode "reduced" or "complete" (differentiable only where m <= n
    or reduced, as PyTorch)."""

    @staticmethod
    def forward(ctx, A, mode="reduced"):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        q, r = np.linalg.qr(a, mode=mode)
        ctx.q, ctx.r, ctx.mode = q, r, mode
        return _here(dev, _pack(a.shape[:-2], q, r), a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        q, r = ctx.q, ctx.r
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        gq, gr = _unpack(g, [q.shape[-2:], r.shape[-2:]])
        return _here(dev, _qr_backward(gq, gr, q, r), g.dtype)


class Eigh(Function):
    """A = V diag(L) V^T (ascending L) from the triangle UPLO, packed (L, V). PyTorch's
    backward: gA = V (diag(gL) + skew(V^T gV)/2 / E) V^T, E_ij = L_j - L_i."""

    @staticmethod
    def forward(ctx, A, UPLO="L"):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        L, V = np.linalg.eigh(a, UPLO=UPLO)
        ctx.L, ctx.V = L, V
        return _here(dev, _pack(a.shape[:-2], L, V), a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        L, V = ctx.L, ctx.V
        n = L.shape[-1]
        gL, gV = _unpack(g, [(n,), (n, n)])
        VhgV = _mT(V) @ gV
        VhgV = 0.5 * (VhgV - _mT(VhgV))
        E = L[..., None, :] - L[..., :, None]
        idx = np.arange(n)
        E[..., idx, idx] = 1.0
        with np.errstate(all="ignore"):
            inner = VhgV / E
        inner[..., idx, idx] = gL
        return _here(dev, V @ inner @ _mT(V), g.dtype)


def _svd_backward(gU, gS, gVh, U, S, Vh):
    """PyTorch's svd_backward (real, reduced U (m, k), Vh (k, n))."""
    m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
    idx = np.arange(k)
    V, gV = _mT(Vh), _mT(gVh)
    UhgU = _mT(U) @ gU
    UhgU = UhgU - _mT(UhgU)
    VhgV = _mT(V) @ gV
    VhgV = VhgV - _mT(VhgV)
    S2 = S * S
    E = S2[..., None, :] - S2[..., :, None]
    E[..., idx, idx] = 1.0
    with np.errstate(all="ignore"):
        gA = (UhgU * S[..., None, :] + S[..., :, None] * VhgV) / E
        gA[..., idx, idx] += gS
        if m > k:
            gUSinv = gU / S[..., None, :]
            return (U @ gA + gUSinv - U @ (_mT(U) @ gUSinv)) @ Vh
        if n > k:
            gVSinv = gV / S[..., None, :]
            return U @ (gA @ Vh + _mT(gVSinv) - (_mT(gVSinv) @ V) @ Vh)
    return U @ gA @ Vh


class SVD(Function):
    """A = U diag(S) Vh (descending S), packed (U, S, Vh); full_matrices as numpy. The backward
    narrows full U, Vh to their first k = min(m, n) vectors, as PyTorch's derivatives.yaml."""

    @staticmethod
    def forward(ctx, A, full_matrices=True):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        ctx.parts = (u, s, vh)
        return _here(dev, _pack(a.shape[:-2], u, s, vh), a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        u, s, vh = ctx.parts
        gu, gs, gvh = _unpack(g, [u.shape[-2:], s.shape[-1:], vh.shape[-2:]])
        k = s.shape[-1]
        u, gu, vh, gvh = u[..., :k], gu[..., :k], vh[..., :k, :], gvh[..., :k, :]
        if not gu.any() and not gvh.any():
            return _here(dev, (u * gs[..., None, :]) @ vh, g.dtype)
        return _here(dev, _svd_backward(gu, gs, gvh, u, s, vh), g.dtype)


class SVDvals(Function):
    """S of A = U diag(S) Vh; gA = U diag(gS) Vh."""

    @staticmethod
    def forward(ctx, A):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        ctx.u, ctx.vh = u, vh
        return _here(dev, s, a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        return _here(dev, (ctx.u * g[..., None, :]) @ ctx.vh, g.dtype)


def pinv_array(a, atol, rtol, hermitian):
    """A^+ through the SVD (eigh when hermitian), singular values <= max(atol, rtol * s_max)
    dropped, as torch.linalg.pinv."""
    if hermitian:
        w, v = np.linalg.eigh(a)
        s, u, vh = np.abs(w), v * np.sign(w)[..., None, :], _mT(v)
    else:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
    smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    keep = s > np.maximum(atol, rtol * smax)
    with np.errstate(all="ignore"):
        inv_s = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return (_mT(vh) * inv_s[..., None, :]) @ _mT(u)


class Pinv(Function):
    """A^+ (pinv_array); PyTorch's pinv_backward."""

    @staticmethod
    def forward(ctx, A, atol=0.0, rtol=0.0, hermitian=False):
        dev = backend.for_arrays(A)
        (a,) = _host(dev, A)
        if a.size == 0:  # PyTorch: A^+'s shape, the tolerances not broadcast in
            ctx.a, ctx.p = a, np.zeros(_mT(a).shape, a.dtype)
            return _here(dev, ctx.p, a.dtype)
        p = pinv_array(a, np.asarray(atol)[..., None], np.asarray(rtol)[..., None], hermitian)
        ctx.a, ctx.p = a, p          # p's batch may be A's broadcast against atol and rtol
        return _here(dev, p, a.dtype)

    @staticmethod
    def backward(ctx, g):
        dev = backend.for_arrays(g)
        (g,) = _host(dev, g)
        A, P = ctx.a, ctx.p
        m, n = A.shape[-2], A.shape[-1]
        Ph, gh = _mT(P), _mT(g)
        if m <= n:
            K = gh @ P
            KPh = K @ Ph
            gA = -_mT(P @ K) + KPh - (A @ P) @ KPh + (Ph @ P) @ (gh - K @ A)
        else:
            K = P @ gh
            PhK = Ph @ K
            gA = -_mT(K @ P) + (gh - A @ K) @ P @ Ph + PhK - (PhK @ P) @ A
        extra = gA.ndim - A.ndim
        gA = gA.sum(axis=tuple(range(extra))) if extra else gA
        broadcast = tuple(d for d in range(A.ndim - 2) if A.shape[d] == 1 and gA.shape[d] != 1)
        gA = gA.sum(axis=broadcast, keepdims=True) if broadcast else gA
        return _here(dev, gA, g.dtype)
