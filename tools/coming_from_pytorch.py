"""Everyday PyTorch idioms, run with ``torch`` renamed ``microdl`` and compared with PyTorch.

Each idiom is a few lines a PyTorch user writes without thinking (from PyTorch's MNIST example and
its tensor, autograd and "train a classifier" tutorials). It runs twice: in a namespace where
``torch``, ``nn``, ``F``, ``optim`` and ``DataLoader`` come from microdl, and (when PyTorch is
installed) where they come from PyTorch, on the same numpy inputs. An idiom holds when microdl
runs it and its ``result`` equals PyTorch's: same structure, shape, dtype and values (random
draws: shape and dtype only).

    python tools/coming_from_pytorch.py            # print the table
    python tools/coming_from_pytorch.py --readme   # rewrite the README's "Coming from PyTorch" block

tests/test_coming_from_pytorch.py runs every idiom and checks that the README block is current.
"""

import argparse
import re
import sys
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- pytorch-idioms:begin -->", "<!-- pytorch-idioms:end -->"


@dataclass(frozen=True)
class Idiom:
    name: str
    code: str
    random: bool = False  # result drawn at random: compare shape and dtype only


# ``a`` (3, 4) float32, ``b`` (4, 5) float32, ``labels`` (3,) int64 and ``images`` (2, 1, 28, 28)
# float32 are numpy arrays made before each idiom runs.
IDIOMS = [
    Idiom("device object and .to(device)",
          'device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")\n'
          "x = torch.tensor(a).to(device)\n"
          "result = x.sum().item()"),
    Idiom("torch.cuda.device_count()", "result = torch.cuda.device_count() >= 0"),
    Idiom("dtype names", "result = torch.tensor(labels, dtype=torch.long).dtype == torch.int64"),
    Idiom("x.dtype == torch.float32", "result = torch.tensor(a).dtype == torch.float32"),
    Idiom("elementwise ==", "result = torch.tensor(labels) == torch.tensor(labels)"),
    Idiom("(pred == labels).sum().item()",
          "pred = torch.tensor(a).argmax(1)\n"
          "result = (pred == torch.tensor(labels)).sum().item()"),
    Idiom("comparisons < <= > >= !=",
          "x = torch.tensor(a)\nresult = [(x < 0), (x <= 0), (x > 0), (x >= 0), (x != 0)]"),
    Idiom("_, predicted = outputs.max(1)",
          "_, predicted = torch.tensor(a).max(1)\nresult = predicted"),
    Idiom("torch.max(outputs.data, 1)",
          "outputs = torch.tensor(a, requires_grad=True)\n"
          "values, predicted = torch.max(outputs.data, 1)\nresult = (values, predicted)"),
    Idiom("x.max(1)[0]", "result = torch.tensor(a).max(1)[0]"),
    Idiom("labels.size(0)", "result = torch.tensor(labels).size(0)"),
    Idiom("x.size()", "result = tuple(torch.tensor(a).size())"),
    Idiom("pred.eq(target.view_as(pred)).sum().item()",
          "output = torch.tensor(a)\ntarget = torch.tensor(labels)\n"
          "pred = output.argmax(dim=1, keepdim=True)\n"
          "result = pred.eq(target.view_as(pred)).sum().item()"),
    Idiom("torch.flatten(x, 1)", "result = torch.flatten(torch.tensor(images), 1).shape"),
    Idiom("import torch.nn.functional as F",
          "import importlib\nresult = importlib.import_module(torch.__name__ + "
          "'.nn.functional').relu(torch.tensor(a))"),
    Idiom("torch.utils.data.DataLoader",
          "import importlib\n"
          "data = importlib.import_module(torch.__name__ + '.utils.data')\n"
          "loader = data.DataLoader(data.TensorDataset(torch.tensor(a), torch.tensor(labels)), "
          "batch_size=2)\nresult = [x for x, y in loader][-1]"),
    Idiom("F.nll_loss(F.log_softmax(x, dim=1), target)",
          "result = F.nll_loss(F.log_softmax(torch.tensor(a), dim=1), torch.tensor(labels))"),
    Idiom("F.nll_loss(..., reduction='sum').item()",
          "result = F.nll_loss(F.log_softmax(torch.tensor(a), dim=1), torch.tensor(labels), "
          "reduction='sum').item()"),
    Idiom("nn.CrossEntropyLoss()(outputs, labels)",
          "result = nn.CrossEntropyLoss()(torch.tensor(a), torch.tensor(labels))"),
    Idiom("running_loss += loss.item()",
          "running_loss = 0.0\nrunning_loss += nn.MSELoss()(torch.tensor(a), "
          "torch.zeros(3, 4)).item()\nresult = running_loss"),
    Idiom("outputs.data is a tensor", "result = torch.tensor(a).data * 2"),
    Idiom("p.data.mul_(0.9)",
          "p = torch.tensor(a, requires_grad=True)\np.data.mul_(0.9)\nresult = p.detach()"),
    Idiom("with torch.no_grad(): p -= lr * p.grad",
          "p = torch.tensor(a, requires_grad=True)\n(p * p).sum().backward()\n"
          "with torch.no_grad():\n    p -= 0.1 * p.grad\nresult = p.detach()"),
    Idiom("x.grad.zero_()",
          "p = torch.tensor(a, requires_grad=True)\n(p * 3).sum().backward()\n"
          "p.grad.zero_()\nresult = p.grad"),
    Idiom("tensor[:, 1] = 0", "t = torch.ones(4, 4)\nt[:, 1] = 0\nresult = t"),
    Idiom("torch.cat([t, t, t], dim=1)",
          "t = torch.tensor(a)\nresult = torch.cat([t, t, t], dim=1)"),
    Idiom("torch.stack", "t = torch.tensor(a)\nresult = torch.stack([t, t])"),
    Idiom("t.mul(t), t * t, t @ t.T",
          "t = torch.tensor(a)\nresult = (t.mul(t), t * t, t @ t.T, t.matmul(t.T))"),
    Idiom("t.add_(5)", "t = torch.tensor(a)\nt.add_(5)\nresult = t"),
    Idiom("torch.from_numpy shares memory",
          "n = np.ones(5, np.float32)\nt = torch.from_numpy(n)\nnp.add(n, 1, out=n)\n"
          "result = t"),
    Idiom("t.numpy()", "result = torch.ones(5).numpy()"),
    Idiom("torch.ones_like, zeros_like",
          "t = torch.tensor(a)\nresult = (torch.ones_like(t), torch.zeros_like(t))"),
    Idiom("torch.rand / randn / randint",
          "result = (torch.rand(2, 3), torch.randn(2, 3), torch.randint(0, 10, (4,)))",
          random=True),
    Idiom("torch.arange, linspace, full, eye",
          "result = (torch.arange(5), torch.arange(0, 1, 0.25), torch.linspace(0, 1, 5), "
          "torch.full((2, 2), 7.0), torch.eye(3))"),
    Idiom("tensor(1) + 0.5 is float32", "result = torch.tensor(1) + 0.5"),
    Idiom("int tensor / 2 is float32", "result = torch.tensor(labels) / 2"),
    Idiom("torch.tensor(2).exp()", "result = torch.tensor(2).exp()"),
    Idiom("torch.matmul(x, w) + b with BCE-with-logits",
          "x = torch.ones(5)\ny = torch.zeros(3)\n"
          "w = torch.tensor(b[:, :3].repeat(2, axis=0)[:5], requires_grad=True)\n"
          "bias = torch.zeros(3, requires_grad=True)\n"
          "z = torch.matmul(x, w) + bias\n"
          "loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)\n"
          "loss.backward()\nresult = (loss, w.grad, bias.grad, z.requires_grad)"),
    Idiom("z.detach().requires_grad",
          "z = torch.tensor(a, requires_grad=True) * 2\nresult = z.detach().requires_grad"),
    Idiom("torch.sum / mean / argmax / exp as functions",
          "t = torch.tensor(a)\nresult = (torch.sum(t), torch.mean(t, 0), torch.argmax(t, 1), "
          "torch.exp(t))"),
    Idiom("x.view(-1, 16 * 5 * 5)-style reshape",
          "result = torch.tensor(images).view(-1, 28 * 28).shape"),
    Idiom("squeeze / unsqueeze",
          "t = torch.tensor(a)\nresult = (t.unsqueeze(0).shape, t.unsqueeze(1).squeeze(1))"),
    Idiom("torch.where, clamp",
          "t = torch.tensor(a)\nresult = (torch.where(t > 0, t, torch.zeros_like(t)), "
          "t.clamp(min=-0.5, max=0.5))"),
    Idiom("model.to(device); model.eval(); model.train()",
          "model = nn.Sequential(nn.Linear(4, 2), nn.ReLU())\n"
          "model.to(torch.device('cpu')).eval()\nresult = model.training"),
    Idiom("optim.Adam", "p = torch.tensor(a, requires_grad=True)\n"
          "opt = optim.Adam([p], lr=0.1)\n(p * p).sum().backward()\nopt.step()\nresult = p.detach()"),
    Idiom("optim.Adadelta + StepLR",
          "p = torch.tensor(a, requires_grad=True)\nopt = optim.Adadelta([p], lr=1.0)\n"
          "sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)\n"
          "for _ in range(2):\n    opt.zero_grad()\n    (p * p).sum().backward()\n"
          "    opt.step()\n    sched.step()\nresult = p.detach()"),
    Idiom("nn.ModuleList", "layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])\n"
          "result = len(list(layers.parameters()))"),
    Idiom("torch.nn.utils.clip_grad_norm_",
          "p = torch.tensor(a, requires_grad=True)\n(p * 10).sum().backward()\n"
          "norm = torch.nn.utils.clip_grad_norm_([p], 1.0)\nresult = (norm, p.grad)"),
    Idiom("x.float(), x.long(), x.int()",
          "t = torch.tensor(a)\nresult = (t.long(), t.int(), t.long().float(), t.double())"),
    Idiom("DataLoader(num_workers=2, pin_memory=True), drop_last",
          "import importlib\ndata = importlib.import_module(torch.__name__ + '.utils.data')\n"
          "ds = data.TensorDataset(torch.tensor(a), torch.tensor(labels))\n"
          "loader = data.DataLoader(ds, batch_size=2, num_workers=2, pin_memory=True, "
          "drop_last=True)\nresult = [len(loader), [x.shape[0] for x, y in loader]]"),
    Idiom("random_split, Subset",
          "import importlib\ndata = importlib.import_module(torch.__name__ + '.utils.data')\n"
          "ds = data.TensorDataset(torch.tensor(a), torch.tensor(labels))\n"
          "train, val = data.random_split(ds, [2, 1])\n"
          "result = [len(train), len(val), data.Subset(ds, [2])[0][1]]"),
    Idiom("isinstance(m, nn.Conv2d) over model.modules()",
          "model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3))\n"
          "result = [type(m).__name__ for m in model.modules() if isinstance(m, nn.Conv2d)]"),
    Idiom("m.weight.data.normal_(0, 0.02); m.bias.data.fill_(0)",
          "m = nn.Linear(4, 2)\nm.weight.data.normal_(0.0, 0.02)\nm.bias.data.fill_(0)\n"
          "result = [m.weight.shape, m.bias]"),
    Idiom("torch.autograd.grad",
          "p = torch.tensor(a, requires_grad=True)\n"
          "(g,) = torch.autograd.grad((p ** 2).sum(), p)\nresult = [g, p.grad is None]"),
    Idiom("register_forward_hook",
          "seen = []\nm = nn.Linear(4, 2)\n"
          "handle = m.register_forward_hook(lambda mod, inp, out: seen.append(out.shape))\n"
          "m(torch.tensor(a))\nhandle.remove()\nm(torch.tensor(a))\nresult = seen"),
    # (torch.backends.cudnn.deterministic = True is left out: PyTorch's own test utilities,
    # which the conformance suite imports, forbid setting it in the same process)
    Idiom("torch.set_num_threads / get_num_threads",
          "n = torch.get_num_threads()\ntorch.set_num_threads(1)\n"
          "one = torch.get_num_threads()\ntorch.set_num_threads(n)\nresult = one"),
    Idiom("torch.finfo(torch.float32).eps", "result = torch.finfo(torch.float32).eps"),
    Idiom("F.one_hot", "result = F.one_hot(torch.tensor(labels), 4)"),
    Idiom("causal mask: triu, masked_fill(-inf), softmax",
          "scores = torch.tensor(b[:, :4])\n"
          "mask = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)\n"
          "result = F.softmax(scores.masked_fill(mask, float('-inf')), dim=-1)"),
    Idiom("F.cosine_similarity, torch.roll, torch.meshgrid",
          "t = torch.tensor(a)\nresult = (F.cosine_similarity(t, t.flip(0)), torch.roll(t, 1, 0),"
          " torch.meshgrid(torch.arange(2), torch.arange(3), indexing='ij'))"),
    Idiom("nn.ReLU(inplace=True)",
          "t = torch.tensor(a)\nout = nn.ReLU(inplace=True)(t)\nresult = (t, out is t)"),
    Idiom("nn.Sequential slicing and len",
          "model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))\n"
          "result = [len(model), type(model[:2][-1]).__name__]"),
    Idiom("load_state_dict(strict=False) reports the keys",
          "m = nn.Linear(4, 2)\nout = m.load_state_dict({'weight': m.weight.detach()}, "
          "strict=False)\nresult = [list(out.missing_keys), list(out.unexpected_keys)]"),
    Idiom("float(loss), int(t)",
          "result = [float(torch.tensor(2.5)), int(torch.tensor(3)), [10, 20, 30][torch.tensor(1)]]"),
    Idiom("y.backward(torch.ones_like(y))",
          "x = torch.tensor(a, requires_grad=True)\ny = x * 3\ny.backward(torch.ones_like(y))\n"
          "result = x.grad"),
    Idiom("a non-leaf's grad with retain_grad()",
          "x = torch.tensor(a, requires_grad=True)\ny = x * 2\ny.retain_grad()\n"
          "(y ** 2).sum().backward()\nresult = y.grad"),
    Idiom("state_dict round trip through torch.save / torch.load",
          "import tempfile, os\nmodel = nn.Linear(4, 2)\n"
          "path = os.path.join(tempfile.mkdtemp(), 'm.pt')\n"
          "torch.save(model.state_dict(), path)\nmodel.load_state_dict(torch.load(path))\n"
          "result = sorted(model.state_dict())"),
]


def frameworks():
    """{"microdl": namespace, "torch": namespace or None when PyTorch is not installed}."""
    import microdl
    import microdl.functional
    import microdl.nn
    import microdl.optim

    # F as microdl's own path: `import microdl.nn.functional as F` is an idiom of its own
    spaces = {"microdl": dict(torch=microdl, nn=microdl.nn, F=microdl.functional,
                              optim=microdl.optim)}
    try:
        import torch
        import torch.nn.functional
    except ImportError:
        spaces["torch"] = None
    else:
        spaces["torch"] = dict(torch=torch, nn=torch.nn, F=torch.nn.functional,
                               optim=torch.optim)
    return spaces


def inputs():
    rng = np.random.default_rng(0)
    return dict(np=np, a=rng.standard_normal((3, 4)).astype(np.float32),
                b=rng.standard_normal((4, 5)).astype(np.float32),
                labels=np.array([1, 0, 3], np.int64),
                images=rng.standard_normal((2, 1, 28, 28)).astype(np.float32))


def run(idiom, space):
    """The idiom's ``result`` in ``space``, or the exception it raised."""
    namespace = dict(space, **inputs())
    try:
        exec(compile(idiom.code, f"<idiom {idiom.name}>", "exec"), namespace)
        return namespace["result"], None
    except Exception as error:  # noqa: BLE001 - any failure is the finding
        return None, error


def plain(value):
    """A result as nested lists of (numpy array | Python value), framework-free."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return np.asarray(value.detach().numpy())
    if hasattr(value, "shape") and not isinstance(value, (np.ndarray, np.generic)) and \
            not hasattr(value, "dtype"):
        return tuple(value)  # torch.Size
    return value


def differs(ours, theirs, random):
    """None when the two results agree, else a short description of the difference."""
    ours, theirs = plain(ours), plain(theirs)
    if isinstance(theirs, list):
        if not isinstance(ours, list) or len(ours) != len(theirs):
            return f"structure: {type(ours).__name__} vs {type(theirs).__name__}"
        for o, t in zip(ours, theirs):
            found = differs(o, t, random)
            if found:
                return found
        return None
    if isinstance(theirs, np.ndarray):
        if not isinstance(ours, np.ndarray):
            return f"type: {type(ours).__name__} vs an array"
        if ours.shape != theirs.shape:
            return f"shape: {ours.shape} vs {theirs.shape}"
        if ours.dtype != theirs.dtype:
            return f"dtype: {ours.dtype} vs {theirs.dtype}"
        if not random and not np.allclose(ours, theirs, rtol=1e-5, atol=1e-6, equal_nan=True):
            return "values"
        return None
    if isinstance(ours, np.ndarray):
        return f"type: an array vs {type(theirs).__name__}"
    if random:
        return None
    if isinstance(theirs, float) and isinstance(ours, (float, int)):
        return None if np.isclose(ours, theirs, rtol=1e-5) else f"value: {ours} vs {theirs}"
    if type(ours) is not type(theirs) or ours != theirs:
        return f"value: {ours!r} vs {theirs!r}"
    return None


def check(idiom, spaces):
    """(holds, why): why is the error or the difference, empty when the idiom holds."""
    ours, error = run(idiom, spaces["microdl"])
    if error is not None:
        return False, f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    if spaces["torch"] is None:
        return True, "runs (PyTorch not installed: not compared)"
    theirs, their_error = run(idiom, spaces["torch"])
    if their_error is not None:
        raise RuntimeError(f"idiom {idiom.name!r} fails in PyTorch itself: {their_error}")
    found = differs(ours, theirs, idiom.random)
    return found is None, (f"differs from PyTorch ({found})" if found else "")


def table(results):
    holding = [name for name, (ok, _) in results.items() if ok]
    failing = {name: why for name, (ok, why) in results.items() if not ok}
    lines = [f"{len(holding)} of {len(results)} everyday idioms run unchanged and give "
             "PyTorch's results (generated by `python tools/coming_from_pytorch.py --readme`).",
             ""]
    if failing:
        lines += ["Not yet:", ""] + [f"- `{name}`: {why}" for name, why in failing.items()] + [""]
    lines += ["Runs unchanged: " + ", ".join(f"`{name}`" for name in holding) + "."]
    return "\n".join(lines)


def readme_block(results):
    return f"{BEGIN}\n{table(results)}\n{END}"


def results_now():
    spaces = frameworks()
    return {idiom.name: check(idiom, spaces) for idiom in IDIOMS}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true",
                        help="rewrite the README block between the pytorch-idioms markers")
    args = parser.parse_args(argv)
    results = results_now()
    if args.readme:
        if frameworks()["torch"] is None:
            # the block says "give PyTorch's results": without PyTorch nothing was compared
            sys.exit("--readme needs PyTorch installed: the idioms are compared with it")
        text = README.read_text()
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
        if not pattern.search(text):
            sys.exit(f"{README} has no {BEGIN} ... {END} block")
        from microdl.io import replace_atomically  # never a half-written README

        updated = pattern.sub(lambda _: readme_block(results), text).encode()
        replace_atomically(README, lambda f: f.write(updated))
    print(table(results))


if __name__ == "__main__":
    main()
