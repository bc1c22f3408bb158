"""What every example shares: its command line, its output folder, JSON written atomically."""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

# Examples run as scripts (python examples/x.py); make the checkout importable without install.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def example_parser(description, *, steps=None, epochs=None, lr=0.1, dataset=None,
                   datasets=()):
    """argparse with --steps/--epochs, --lr, --seed, --dataset, --out, --quick, --no-progress."""
    parser = argparse.ArgumentParser(description=description)
    if steps is not None:
        parser.add_argument("--steps", type=int, default=steps, help="training steps")
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs, help="training epochs")
    parser.add_argument("--lr", type=float, default=lr, help="learning rate")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    if dataset is not None:
        parser.add_argument("--dataset", default=dataset, choices=list(datasets) or [dataset])
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for plots and figures (default examples/out/<name>)")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def output_dir(args, name):
    out = args.out or Path(__file__).resolve().parent / "out" / name
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_json(path, figures):
    """Write figures as JSON through a temp file and a rename: never a half-written file. The
    file gets the mode a plain open() gives (0644 under the usual umask 022), as the PNGs beside
    it do: mkstemp makes its temp file 0600, readable by its owner only."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(figures, f, indent=2, sort_keys=True)
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
