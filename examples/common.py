"""What every example shares: its command line, its output folder, JSON written atomically."""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

# Examples run as scripts (python examples/x.py); make the checkout importable without install.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def example_parser(doc, *, steps=None, epochs=None, lr=None, dataset=None, datasets=(),
                   seed=True):
    """argparse for an example: its whole docstring as --help's description, and the flags it
    asks for (--steps, --epochs, --lr, --dataset only when given a default; --seed unless
    seed=False, as in the claim examples, which take --seeds; --out, --quick, --no-progress
    always). An example must use every flag it accepts."""
    parser = argparse.ArgumentParser(description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    if steps is not None:
        parser.add_argument("--steps", type=int, default=steps,
                            help=f"training steps per run (default {steps})")
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs,
                            help=f"training epochs per run (default {epochs})")
    if lr is not None:
        parser.add_argument("--lr", type=float, default=lr,
                            help=f"learning rate (default {lr})")
    if seed:
        parser.add_argument("--seed", type=int, default=0,
                            help="random seed (initial weights and data order; default 0)")
    if dataset is not None:
        parser.add_argument("--dataset", default=dataset, choices=list(datasets) or [dataset],
                            help=f"data set (default {dataset})")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for plots and figures (default examples/out/<name>)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test of a few seconds: tiny budgets, not a measurement")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def output_dir(args, name):
    """The example's output folder (created). Every example calls this first, so this is also
    where a first run (nothing in Numba's cache yet) says that kernels are being compiled."""
    from microdl import warmup

    warmup.announce_first_run()
    out = args.out or Path(__file__).resolve().parent / "out" / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path, figures):
    """Write figures as JSON, atomically (see write_text)."""
    return write_text(path, json.dumps(figures, indent=2, sort_keys=True))


def write_text(path, text):
    """Write text through a temp file and a rename: never a half-written file. The file gets
    the mode a plain open() gives (0644 under the usual umask 022), as the PNGs beside it do:
    mkstemp makes its temp file 0600, readable by its owner only."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


def _umask():
    """The process's umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
