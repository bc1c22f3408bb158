"""microdl.linalg's inverses, solves, determinants and decompositions (numpy.linalg on the
host): values, dtypes, gradients (finite differences and PyTorch's), errors, and a cuda run."""

import numpy as np
import pytest

import microdl
from microdl import linalg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
SQUARE = RNG.standard_normal((2, 4, 4)) + 4 * np.eye(4)
WIDE, TALL = RNG.standard_normal((2, 3, 5)), RNG.standard_normal((2, 5, 3))
B = RNG.standard_normal((2, 4, 2))


def spd(x):
    """A symmetric positive-definite function of any square x (microdl or torch), for
    cholesky."""
    eye = (torch.eye if isinstance(x, torch.Tensor) else microdl.eye)(x.shape[-1],
                                                                      dtype=x.dtype)
    return x @ x.transpose(-2, -1) + 4 * eye


def sym(x):
    return x + x.transpose(-2, -1)


def sign_free_svd(x, full):
    U, S, Vh = linalg.svd(x, full_matrices=full)
    k = S.shape[-1]
    U, Vh = U[..., :k], Vh[..., :k, :]
    return microdl.cat([((U * S.unsqueeze(-2)) @ Vh).flatten(-2), U.abs().flatten(-2),
                        Vh.abs().flatten(-2), S], -1)


# (name, microdl function, torch function, inputs): each output compared with PyTorch's
CASES = {
    "inv": (linalg.inv, torch.linalg.inv, [SQUARE]),
    "solve": (linalg.solve, torch.linalg.solve, [SQUARE, B]),
    "solve_right": (lambda a, b: linalg.solve(a, b.transpose(-2, -1), left=False),
                    lambda a, b: torch.linalg.solve(a, b.transpose(-2, -1), left=False),
                    [SQUARE, B]),
    "solve_vector": (linalg.solve, torch.linalg.solve, [SQUARE, B[..., 0]]),
    "det": (linalg.det, torch.linalg.det, [SQUARE]),
    "logabsdet": (lambda a: linalg.slogdet(a).logabsdet,
                  lambda a: torch.linalg.slogdet(a).logabsdet, [SQUARE]),
    "logdet": (microdl.logdet, torch.logdet, [SQUARE]),
    "cholesky": (lambda a: linalg.cholesky(spd(a)), lambda a: torch.linalg.cholesky(spd(a)),
                 [SQUARE]),
    "cholesky_upper": (lambda a: linalg.cholesky(spd(a), upper=True),
                       lambda a: torch.linalg.cholesky(spd(a), upper=True), [SQUARE]),
    "qr_tall": (lambda a: microdl.cat([t.flatten(-2) for t in linalg.qr(a)], -1),
                lambda a: torch.cat([t.flatten(-2) for t in torch.linalg.qr(a)], -1), [TALL]),
    "qr_wide": (lambda a: microdl.cat([t.flatten(-2) for t in linalg.qr(a)], -1),
                lambda a: torch.cat([t.flatten(-2) for t in torch.linalg.qr(a)], -1), [WIDE]),
    "eigh": (lambda a: microdl.cat([linalg.eigh(sym(a)).eigenvalues,
                                    linalg.eigh(sym(a)).eigenvectors.abs().flatten(-2)], -1),
             lambda a: torch.cat([torch.linalg.eigh(sym(a)).eigenvalues,
                                  torch.linalg.eigh(sym(a)).eigenvectors.abs().flatten(-2)], -1),
             [SQUARE]),
    "svd_tall": (lambda a: sign_free_svd(a, False), None, [TALL]),
    "svd_wide_full": (lambda a: sign_free_svd(a, True), None, [WIDE]),
    "svdvals": (linalg.svdvals, torch.linalg.svdvals, [WIDE]),
    "pinv": (linalg.pinv, torch.linalg.pinv, [TALL]),
    "nuclear_norm": (lambda a: linalg.matrix_norm(a, "nuc"),
                     lambda a: torch.linalg.matrix_norm(a, "nuc"), [WIDE]),
    "spectral_norm": (lambda a: linalg.matrix_norm(a, 2), lambda a: torch.linalg.matrix_norm(a, 2),
                      [TALL]),
}


def _torch_svd(a, full):
    U, S, Vh = torch.linalg.svd(a, full_matrices=full)
    k = S.shape[-1]
    U, Vh = U[..., :k], Vh[..., :k, :]
    return torch.cat([((U * S.unsqueeze(-2)) @ Vh).flatten(-2), U.abs().flatten(-2),
                      Vh.abs().flatten(-2), S], -1)


TORCH_SVD = {"svd_tall": lambda a: _torch_svd(a, False), "svd_wide_full": lambda a: _torch_svd(a, True)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, _, arrays = CASES[name]
    inputs = [microdl.tensor(a, requires_grad=True) for a in arrays]
    assert microdl.gradcheck(fn, inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, dtype):
    fn, torch_fn, arrays = CASES[name]
    torch_fn = torch_fn or TORCH_SVD[name]
    ours = [microdl.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out, expected = fn(*ours), torch_fn(*theirs)
    assert str(out.dtype) == str(expected.dtype).replace("torch.", "")
    tol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(out.array, expected.detach().numpy(), rtol=tol, atol=tol)
    weights = RNG.standard_normal(out.shape).astype(dtype)
    (out * microdl.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.array, reference.grad.numpy(), rtol=50 * tol,
                                   atol=50 * tol)


def test_tensor_methods_and_module_functions_match_torch():
    a = SQUARE[0]
    t, ta = microdl.tensor(a), torch.tensor(a)
    for name in ("inverse", "det", "logdet", "pinverse"):
        np.testing.assert_allclose(getattr(t, name)().array, getattr(ta, name)().numpy(),
                                   rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(getattr(microdl, name)(t).array,
                                   getattr(torch, name)(ta).numpy(), rtol=1e-10, atol=1e-10)
    sign, logabsdet = microdl.slogdet(t)
    assert float(sign.array) == float(torch.slogdet(ta).sign)
    U, S, V = t.svd()
    np.testing.assert_allclose((U * S.unsqueeze(0)) @ V.t(), a, atol=1e-10)
    assert t.svd(compute_uv=False).U.abs().sum().item() == 0
    c = spd(t)
    np.testing.assert_allclose(microdl.cholesky(c, upper=True).array,
                               torch.linalg.cholesky(torch.tensor(c.array), upper=True).numpy())
    assert microdl.linalg.matrix_rank(microdl.tensor([[1.0, 2.0], [2.0, 4.0]])).item() == 1
    assert microdl.linalg.matrix_rank(t).dtype == np.int64


@pytest.mark.parametrize("call, error, message", [
    (lambda: linalg.inv(microdl.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 1.0, 1.0]])),
     linalg.LinAlgError, "linalg.inv: The diagonal element 3 is zero, the inversion could not "
     "be completed because the input matrix is singular."),
    (lambda: linalg.inv(microdl.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]])),
     linalg.LinAlgError, "linalg.inv: (Batch element 1): The diagonal element 2 is zero"),
    (lambda: linalg.inv(microdl.ones(2, 3)), RuntimeError,
     "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: linalg.inv(microdl.tensor([[1, 2], [3, 4]])), RuntimeError,
     "linalg.inv: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: linalg.cholesky(microdl.tensor([[1.0, 2.0], [2.0, 1.0]])), linalg.LinAlgError,
     "(the leading minor of order 2 is not positive-definite)"),
    (lambda: linalg.solve(microdl.ones(2, 2, 2), microdl.ones(3, 2, 1)), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (2) at non-singleton "
     "dimension 0"),
    (lambda: linalg.solve(microdl.eye(2), microdl.ones(1, 3)), RuntimeError,
     "linalg.solve: Incompatible shapes of A and B for the equation AX = B (2x2 and 1x3)"),
])
def test_errors_as_torch(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert message in str(caught.value)
    assert issubclass(linalg.LinAlgError, RuntimeError)


@pytest.mark.cuda
def test_cuda_inputs_are_computed_on_the_host_and_copied_back(shrunk_cuda):
    a = microdl.tensor(SQUARE, requires_grad=True, device="cuda")
    out = linalg.inv(a)
    assert out.device.type == "cuda"
    out.sum().backward()
    reference = torch.tensor(SQUARE, requires_grad=True)
    torch.linalg.inv(reference).sum().backward()
    np.testing.assert_allclose(out.cpu().array, np.linalg.inv(SQUARE), rtol=1e-10)
    np.testing.assert_allclose(a.grad.cpu().array, reference.grad.numpy(), rtol=1e-8)
    assert linalg.svd(a).S.device.type == "cuda"
