"""examples/from_pytorch.py is PyTorch's MNIST example with its imports renamed: the same file,
its "# framework" import lines pointed back at torch, must train to the same losses from the
same initial weights."""

import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import microdl

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "from_pytorch.py"


def load_example(framework):
    """The example as a module; with framework "torch", its import lines name torch."""
    source = EXAMPLE.read_text()
    if framework == "torch":
        source = "\n".join(re.sub(r"\bmicrodl\b", "torch", line)
                           if line.endswith("# framework") else line
                           for line in source.splitlines())
    module = types.ModuleType(f"from_pytorch_{framework}")
    module.__file__ = str(EXAMPLE)
    exec(compile(source, str(EXAMPLE), "exec"), module.__dict__)
    return module


def test_only_the_marked_import_lines_name_microdl():
    """In code (not the docstring), microdl appears on the "# framework" import lines and where
    the data is read (microdl.data standing in for torchvision)."""
    tree = ast.parse(EXAMPLE.read_text())
    lines = EXAMPLE.read_text().splitlines()
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any("microdl" in a.name for a in node.names) or \
                isinstance(node, ast.ImportFrom) and "microdl" in (node.module or "") or \
                isinstance(node, ast.Name) and node.id == "microdl":
            named.add(node.lineno)
    unmarked = [lines[n - 1] for n in sorted(named)
                if not lines[n - 1].endswith("# framework") and
                "from microdl.data import" not in lines[n - 1]]
    assert unmarked == []
    assert len(named) == 7


def batches(framework_module, torch_like, images, labels, batch_size):
    dataset = framework_module.TensorDataset(torch_like.from_numpy(images),
                                             torch_like.from_numpy(labels))
    return framework_module.DataLoader(dataset, batch_size=batch_size)


def test_losses_match_pytorch_step_by_step():
    torch = pytest.importorskip("torch")
    ours, theirs = load_example("microdl"), load_example("torch")
    rng = np.random.default_rng(0)
    images = rng.standard_normal((96, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, 96).astype(np.int64)
    args = types.SimpleNamespace(log_interval=1000, dry_run=False)

    microdl.manual_seed(0)
    model_ours = ours.Net()
    model_theirs = theirs.Net()
    model_theirs.load_state_dict({k: torch.tensor(np.asarray(v))
                                  for k, v in model_ours.state_dict().items()})
    for model in (model_ours, model_theirs):  # dropout masks come from different generators
        model.dropout1.p = model.dropout2.p = 0.0
    results = []
    for module, fw, model in ((ours, microdl, model_ours), (theirs, torch, model_theirs)):
        optimizer = module.optim.Adadelta(model.parameters(), lr=1.0)
        scheduler = module.StepLR(optimizer, step_size=1, gamma=0.7)
        losses = []
        for epoch in (1, 2):
            losses += module.train(args, model, fw.device("cpu"),
                                   batches(module, fw, images, labels, 32), optimizer, epoch)
            scheduler.step()
        results.append((losses, module.test(model, fw.device("cpu"),
                                            batches(module, fw, images, labels, 50))))
    (losses_ours, (test_loss_ours, correct_ours)), (losses_theirs, (test_loss_theirs,
                                                                    correct_theirs)) = results
    assert len(losses_ours) == 6
    np.testing.assert_allclose(losses_ours, losses_theirs, rtol=1e-4)
    np.testing.assert_allclose(test_loss_ours, test_loss_theirs, rtol=1e-4)
    assert correct_ours == correct_theirs


def test_the_script_runs_quick(capsys):
    pytest.importorskip("sklearn")
    test_loss, correct = load_example("microdl").main(["--quick", "--log-interval", "5"])
    assert np.isfinite(test_loss) and correct > 0
    assert "quick run: not a measurement" in capsys.readouterr().out
