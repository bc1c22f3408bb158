"""Long run: 20,000 SGD steps of an MLP with BatchNorm, and its memory footprint along the way.

A framework whose tape kept anything past its step would grow with every step; this run records,
every 500 steps, the resident set size (RSS, from /proc) and the number of memory blocks Python
has allocated (``sys.getallocatedblocks``), and reports their growth after a warm-up. The
test suite checks the same thing over a few thousand steps with tracemalloc
(tests/robustness/test_long_run.py). Writes long_run_memory.json and long_run_memory.png.

    python examples/long_run_memory.py            # 20,000 steps, ~10 s on 2 cores
    python examples/long_run_memory.py --quick    # 2,000 steps, for smoke tests
"""

import gc
import os
import sys
import time

from common import example_parser, output_dir, pyplot, write_json

import microdl
import microdl.functional as F
import microdl.nn as nn
from microdl.data import DataLoader, TensorDataset, digits
from microdl.optim import SGD

SAMPLE_EVERY = 500
WARMUP = 1000


def rss_bytes():
    """The resident set size of this process (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def batches(loader):
    while True:
        yield from loader


def main():
    args = example_parser(__doc__, steps=20_000, lr=0.05).parse_args()
    steps = 2_000 if args.quick else args.steps
    out = output_dir(args, "long_run_memory")
    microdl.manual_seed(args.seed)
    (x_train, y_train), _ = digits(seed=args.seed)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=60, shuffle=True,
                        generator=args.seed)
    model = nn.Sequential(nn.Linear(64, 100), nn.BatchNorm1d(100), nn.ReLU(),
                          nn.Linear(100, 10))
    opt = SGD(model.parameters(), lr=args.lr, momentum=0.9)
    samples = {"step": [], "rss_mib": [], "python_blocks": [], "loss": []}
    started = time.perf_counter()
    for step, (x, y) in zip(range(1, steps + 1), batches(loader)):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if step % SAMPLE_EVERY == 0:
            gc.collect()
            rss = rss_bytes()
            samples["step"].append(step)
            samples["rss_mib"].append(None if rss is None else rss / 2 ** 20)
            samples["python_blocks"].append(sys.getallocatedblocks())
            samples["loss"].append(loss.item())
            if not args.no_progress:
                print(f"step {step:6d}  loss {loss.item():.4f}  RSS {samples['rss_mib'][-1]} MiB"
                      f"  Python blocks {samples['python_blocks'][-1]}")
    elapsed = time.perf_counter() - started
    after = [i for i, s in enumerate(samples["step"]) if s >= WARMUP]
    first, last = after[0], after[-1]
    figures = {
        "steps": steps, "seconds": elapsed, "samples": samples,
        "python_blocks_growth_after_warmup":
            samples["python_blocks"][last] - samples["python_blocks"][first],
        "rss_growth_after_warmup_mib": (None if samples["rss_mib"][first] is None else
                                        samples["rss_mib"][last] - samples["rss_mib"][first]),
        "warmup_steps": WARMUP,
    }
    write_json(out / "long_run_memory.json", figures)
    plt = pyplot()
    fig, (ax_rss, ax_blocks) = plt.subplots(1, 2, figsize=(10, 4))
    if samples["rss_mib"][0] is not None:
        ax_rss.plot(samples["step"], samples["rss_mib"])
    ax_rss.set(xlabel="step", ylabel="MiB", title="resident set size")
    ax_blocks.plot(samples["step"], samples["python_blocks"])
    ax_blocks.set(xlabel="step", ylabel="blocks", title="Python's allocated blocks")
    fig.tight_layout()
    fig.savefig(out / "long_run_memory.png", dpi=100)
    print(f"{steps} steps in {elapsed:.1f} s; after step {WARMUP}: Python blocks "
          f"{figures['python_blocks_growth_after_warmup']:+d}, RSS "
          f"{figures['rss_growth_after_warmup_mib']} MiB; final loss {samples['loss'][-1]:.4f}")


if __name__ == "__main__":
    main()
