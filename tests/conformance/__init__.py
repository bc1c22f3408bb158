"""Conformance of microdl against PyTorch's own test databases (OpInfo, ModuleInfo, OptimizerInfo).

PyTorch describes every op, module and optimizer of its API with sample inputs, error inputs and
tolerances (``torch.testing._internal``: ``op_db``, ``module_db``, ``optim_db``); out-of-tree
backends test themselves against those. This package does the same for microdl:

- ``names``    the databases, imported at run time, and the map from an entry to microdl's
               callables (looked up by name on every run, so ops added later are covered);
- ``check``    conversion torch <-> microdl, comparison, and the classification of a failure;
- ``test_conformance``  the pytest test: one per covered entry, failing on silent differences;
- ``report``   ``python -m tests.conformance.report`` writes ``docs/conformance.md``.

Nothing is copied from PyTorch: without torch (or its test-only dependency expecttest) the whole
suite is skipped.
"""
