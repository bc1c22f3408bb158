"""microdl against PyTorch's own test databases: one test per entry microdl has.

The entries are found at collection time (``names.targets``): every OpInfo whose name, alias or
variant microdl spells, every ModuleInfo whose class is in ``microdl.nn``, every OptimizerInfo
whose class is in ``microdl.optim``. A test fails on a silent difference (wrong value, dtype,
shape, structure, gradient or buffer; bad input accepted) and on an unsupported argument
(``check.GATED``) unless a row of SKIPS covers it: an argument at its default is always accepted,
and each value microdl refuses on purpose (NotImplementedError) has its row and reason. The other
loud differences (crashed, different error) do not fail: microdl refused, and
``python -m tests.conformance.report`` lists them in docs/conformance.md.
"""

import re
from collections import namedtuple

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("expecttest", reason="torch.testing._internal needs expecttest")

import torch  # noqa: E402

import microdl  # noqa: E402

from . import check, names  # noqa: E402

# Samples per (entry, dtype, phase): the bound that keeps the run near a minute of CPU time
# (max_pool2d alone has about a thousand samples per dtype). docs/conformance.md states it.
MAX_SAMPLES = 64

# Known, accepted differences: (regex on the entry key, class, regex searched in the outcome's
# reproducer line, which ends with what differed; reason). One reason a row.
Skip = namedtuple("Skip", "key klass repro reason")
SKIPS = [
    Skip(".*", "bad input accepted",
         r"must be Tensor, not (int|float|bool)|invalid combination of arguments - got "
         r"\((int|float|bool)",
         "a Python number where PyTorch's binding demands a Tensor (microdl.eq(2, t), "
         "microdl.maximum(t, 2)): microdl's functions wrap a number with tensor() on purpose "
         "(microdl/__init__.py, _function_of); the answer is PyTorch's for tensor(number)"),
    Skip("kthvalue|topk|mode|sort|argsort|median", "value",
         r"\b(int64|int32|bool)\[.*-> output(\[1\])?: \d+ of \d+ values differ",
         "the index reported for tied values: PyTorch leaves it unspecified (these ops are not "
         "stable), and integer and bool samples are full of ties; where there are values, "
         "output[0], they matched"),
    # ---- arguments microdl refuses on purpose (NotImplementedError naming the value) ----------
    Skip(".*", "unsupported argument",
         r"memory_format=torch\.channels_last(_3d)?\b.*-> NotImplementedError",
         "memory_format=channels_last: microdl's arrays are C-contiguous (contiguous_format) "
         "only; it has no NHWC-strided layout to hand back"),
    Skip(r"nn\.functional\.interpolate\.(nearest|nearest-exact|area)", "unsupported argument",
         r"NotImplementedError: interpolate: mode '[a-z-]+' for 5D input",
         "5-D (volumetric) nearest, nearest-exact and area interpolation: microdl's interpolate "
         "covers 3-D and 4-D input for these modes"),
    Skip(r"nn\.functional\.interpolate\.(bicubic|trilinear)", "unsupported argument",
         r"NotImplementedError: interpolate: mode '(bicubic|trilinear)'",
         "bicubic and trilinear interpolation: not implemented in microdl (its smooth modes are "
         "linear, 3-D, and bilinear, 4-D)"),
    Skip(r"svd|linalg\.svd", "value", r"-> output\[[02]\]: \d+ of \d+ values differ",
         "singular vectors: each is defined up to its sign, and the sign LAPACK picks differs "
         "between builds (numpy's and PyTorch's); S matched, and the gradients (through "
         "PyTorch's sign-invariant output_process_fn_grad) are checked"),
    Skip(r"linalg\.eigh", "value", r"-> output\[1\]: \d+ of \d+ values differ",
         "eigenvectors: each is defined up to its sign, and the sign LAPACK picks differs "
         "between builds (numpy's and PyTorch's); the eigenvalues matched, and the gradients "
         "(through PyTorch's sign-invariant output_process_fn_grad) are checked"),
    Skip("scatter", "unsupported argument", r"reduce='multiply'.*-> NotImplementedError",
         "scatter(reduce='multiply'): the scatter kernels (numpy, numba, cuda) write or add; a "
         "product mode is not written"),
    Skip(r"module:InstanceNorm[123]d", "unsupported argument",
         r"NotImplementedError: InstanceNorm[123]d: (affine|track_running_stats)=True",
         "InstanceNorm with affine=True or track_running_stats=True: microdl's InstanceNorm "
         "normalizes only (no weight, bias or running statistics)"),
    Skip(r"nn\.functional\.embedding|module:Embedding", "unsupported argument",
         r"NotImplementedError: [Ee]mbedding.*max_norm",
         "embedding with max_norm: PyTorch renormalizes the looked-up rows of the weight in "
         "place during the forward pass, a write microdl's embedding op (a gather) does not do"),
    Skip(r"nn\.functional\.embedding|module:Embedding", "unsupported argument",
         r"NotImplementedError: [Ee]mbedding.*sparse=True",
         "embedding with sparse=True: the gradient would be a sparse tensor, and microdl has "
         "dense tensors only"),
]


def skip_reason(outcome):
    """The reason of the first SKIPS row covering a failing outcome, else None."""
    for row in SKIPS:
        if re.fullmatch(row.key, outcome.key) and outcome.klass == row.klass and \
                re.search(row.repro, outcome.repro):
            return row.reason
    return None


def silent_failures(outcomes):
    """The failing outcomes the test fails on: a gated class no SKIPS row covers."""
    return [o for o in outcomes if o.klass in check.GATED and skip_reason(o) is None]


OPS, MODULES, OPTIMIZERS, TOTALS = names.targets()
TARGETS = OPS + MODULES + OPTIMIZERS


@pytest.mark.parametrize("target", TARGETS, ids=[t.key for t in TARGETS])
def test_entry_conforms(target):
    outcomes = check.run_target(target, MAX_SAMPLES)
    failures = silent_failures(outcomes)
    shown = "\n".join(f"  [{o.klass}] {o.repro}" for o in failures[:12])
    assert not failures, (f"{len(failures)} difference(s) from PyTorch in {target.key} that "
                          f"no skip row accepts (of {len(outcomes)} checks):\n{shown}")


def test_databases_cover_the_core_api():
    """The lookup itself works: names microdl has had from the start are found as entries."""
    keys = {t.key for t in TARGETS}
    assert {"sum", "nn.functional.relu", "module:Linear", "module:BatchNorm2d",
            "optim:SGD"} <= keys


# ---- the harness classifies what it is shown (a wrong microdl stand-in for abs) ------------------
def _abs_target(microdl_fn):
    op = next(op for op in names.load_databases()[0] if op.name == "abs")
    variant = names.Variant("function", "fake.abs", microdl_fn, torch.abs)
    return names.OpTarget("abs", op, [variant]), variant


def _first_sample(op, dtype, requires_grad=False):
    return next(s for s in op.sample_inputs("cpu", dtype, requires_grad=requires_grad)
                if s.input.numel() > 1)


def _abs_array(x):
    return np.abs(check.host(x))


@pytest.mark.parametrize("fake, klass", [
    (lambda x: microdl.tensor(_abs_array(x)), check.PASSED),
    (lambda x: microdl.tensor(_abs_array(x) + 1), "value"),
    (lambda x: microdl.tensor(_abs_array(x).astype(np.float64)), "dtype"),
    (lambda x: microdl.tensor(_abs_array(x)[None]), "shape"),
    (lambda x: (microdl.tensor(_abs_array(x)),), "structure"),
    (lambda x: _abs_array(x), "structure"),
    (lambda x: (_ for _ in ()).throw(ValueError("boom")), "crashed"),
    (lambda x: (_ for _ in ()).throw(NotImplementedError("abs: out= is not supported")),
     "unsupported argument"),
])
def test_samples_are_classified(fake, klass):
    target, variant = _abs_target(fake)
    sample = _first_sample(target.entry, torch.float32)
    outcome = check.run_op_sample(target, variant, sample, torch.float32, 0, grad=False)
    assert outcome.klass == klass, outcome.repro


def test_a_gradient_off_the_tape_is_a_gradient_failure():
    target, variant = _abs_target(lambda x: microdl.tensor(_abs_array(x)))
    sample = _first_sample(target.entry, torch.float64, requires_grad=True)
    outcome = check.run_op_sample(target, variant, sample, torch.float64, 0, grad=True)
    assert outcome.klass == "gradient", outcome.repro


@pytest.mark.parametrize("fake, klass", [
    (lambda x, dim: None, "bad input accepted"),
    (lambda x, dim: (_ for _ in ()).throw(IndexError("Dimension out of range (got 5)")),
     check.PASSED),
    (lambda x, dim: (_ for _ in ()).throw(IndexError("index 5 is too large")),
     "different error"),
    (lambda x, dim: (_ for _ in ()).throw(ValueError("Dimension out of range (got 5)")),
     "different error"),
])
def test_error_inputs_are_classified(fake, klass):
    from torch.testing._internal.opinfo.core import ErrorInput, SampleInput
    error = ErrorInput(SampleInput(torch.ones(3), args=(5,)), error_type=IndexError,
                       error_regex="Dimension out of range")
    target, _ = _abs_target(fake)
    variant = names.Variant("function", "fake.sum", fake, torch.sum)
    assert check.run_op_error(target, variant, error, 0).klass == klass


@pytest.mark.parametrize("regex, message, agree", [
    ("Dimension out of range", "IndexError: Dimension out of range (expected ...)", True),
    (r"narrow\(\) cannot be applied to a 0-dim tensor\.", "narrow(): a 0-dim tensor cannot be "
     "narrowed (applied)", True),
    ("rtol must be greater than or equal to zero", "tuple index out of range", False),
    ("", "anything", True),
])
def test_messages_agree_on_key_words(regex, message, agree):
    assert check.messages_agree(regex, message) is agree


def test_skip_rows_have_one_reason_each():
    for row in SKIPS:
        assert row.klass in check.GATED and row.reason.strip()
        assert re.compile(row.key) and re.compile(row.repro)


def test_an_unsupported_argument_fails_unless_a_skip_row_gives_the_reason():
    def outcome(repro):
        return check.Outcome("to", "Tensor.to", "float32", 0, "sample", "unsupported argument",
                             "", repro)
    refused = outcome("Tensor.to(t(float32[2, 3, 2, 3]), memory_format=torch.channels_last) -> "
                      "NotImplementedError: to(memory_format=microdl.channels_last): ...")
    unexpected = outcome("Tensor.to(t(float32[2]), pin_memory=True) -> TypeError: to() got an "
                         "unexpected keyword argument 'pin_memory'")
    assert silent_failures([refused, unexpected]) == [unexpected]


def test_error_inputs_whose_out_overlaps_in_a_way_a_copy_loses_are_unrepresentable():
    from torch.testing._internal.opinfo.core import SampleInput
    src = torch.rand(6)
    expanded = SampleInput(src, args=(torch.tensor([2, 1, 0]),),
                           kwargs={"out": torch.rand(1).expand(3)})
    view = SampleInput(src, args=(torch.tensor([2, 1, 0]),), kwargs={"out": src[:3]})
    itself = SampleInput(src, args=(torch.tensor([2, 1, 0]),), kwargs={"out": src})
    for sample in (expanded, view):
        with pytest.raises(check.Unrepresentable):
            check.check_out_representable(sample)
    check.check_out_representable(itself)   # the same tensor stays the same microdl tensor


def test_memory_formats_convert_to_microdl_names():
    convert = check.ToMicrodl()
    assert convert(torch.channels_last) is microdl.channels_last
    assert convert({"memory_format": torch.preserve_format}) == {
        "memory_format": microdl.preserve_format}
