"""Long run: 20,000 SGD steps of an MLP with BatchNorm, and its memory footprint along the way.

A framework whose tape kept anything past its step would grow with every step; this run records,
every 500 steps, the resident set size (RSS, from /proc) and the number of memory blocks Python
has allocated (``sys.getallocatedblocks``), and reports their growth after a warm-up. The
test suite checks the same thing over a few thousand steps with tracemalloc
(tests/robustness/test_long_run.py). Writes long_run_memory.json and long_run_memory.png; the
plot draws both measures from 0 with plain tick labels (RSS in MiB, blocks in thousands), so
that a flat line looks flat and a single 4 KiB page does not look like a climb.

    python examples/long_run_memory.py [--steps 20000] [--lr 0.05] [--seed 0]   # ~15 s, one core
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
    plot(samples, figures, out)
    print(f"{steps} steps in {elapsed:.1f} s; after step {WARMUP}: Python blocks "
          f"{figures['python_blocks_growth_after_warmup']:+d}, RSS "
          f"{figures['rss_growth_after_warmup_mib']} MiB; final loss {samples['loss'][-1]:.4f}")


def plot(samples, figures, out):
    """Both measures from 0 with plain tick labels: a flat line must look flat, and a few KiB
    (one page is 4 KiB) or a few dozen blocks must not look like a climb."""
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    fig, (ax_rss, ax_blocks) = plt.subplots(1, 2, figsize=(11, 4.2))
    thousands = [s / 1000 for s in samples["step"]]
    rss_growth = figures["rss_growth_after_warmup_mib"]
    if samples["rss_mib"][0] is not None:
        ax_rss.plot(thousands, samples["rss_mib"], marker="o", ms=3)
        rss_title = f"RSS, MiB (y from 0)\n{rss_growth:+.2f} MiB after the warm-up"
    else:
        rss_title = "RSS: not available on this system (/proc)"
    ax_rss.set(ylabel="resident set size (MiB)", title=rss_title)
    blocks = [b / 1000 for b in samples["python_blocks"]]
    growth = figures["python_blocks_growth_after_warmup"]
    ax_blocks.plot(thousands, blocks, marker="o", ms=3)
    ax_blocks.set(ylabel="allocated blocks (thousands)",
                  title=f"Python's allocated blocks, thousands (y from 0)\n{growth:+,d} "
                        f"blocks after the warm-up, of {samples['python_blocks'][-1]:,}")
    for ax in (ax_rss, ax_blocks):
        ax.axvspan(0, figures["warmup_steps"] / 1000, color="gray", alpha=0.15,
                   label=f"warm-up ({figures['warmup_steps']:,} steps, not counted)")
        ax.set_ylim(bottom=0, top=max(ax.get_ylim()[1], 1) * 1.1)
        ax.set_xlim(0, thousands[-1])
        ax.set_xlabel("training step (thousands)")
        ax.xaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.title.set_fontsize(10)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Memory over {figures['steps']:,} SGD steps of an MLP with BatchNorm "
                 f"(sampled every {SAMPLE_EVERY} steps, after gc.collect())", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "long_run_memory.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
