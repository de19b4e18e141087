#!/usr/bin/env python3
"""Draws a benchmark table as a PNG: TFLOP/s per shape, flashc and each peer.

bench/bench.py calls write_chart() with every table it prints; run alone, it
redraws a chart from bench.py's JSON:

  bench/chart.py bench.json bench.png
"""
import json
import sys

# The peers in the order of the table, with the labels the chart shows.
SERIES = [("flashc", "flashc"), ("flash", "SDPA flash (FA2)"),
          ("cudnn", "SDPA cuDNN"), ("triton", "Triton (shared/peers)")]


def write_chart(rows, device, path, title_extra=""):
    """One bar group per row (dtype, mask, shape), one bar per series that
    the rows have. Returns False (and draws nothing) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"chart: matplotlib not installed, {path} not written",
              file=sys.stderr)
        return False
    series = [(key, label) for key, label in SERIES
              if any(r.get(f"{key}_tflops") for r in rows)]
    labels = [f"{r['dtype']} {'causal' if r['causal'] else 'full'}\n"
              f"{'x'.join(map(str, r['shape']))}" for r in rows]
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(min(16, max(8, 0.55 * len(rows))), 5.2))
    for i, (key, label) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(rows))]
        ys = [r.get(f"{key}_tflops") or 0 for r in rows]
        ax.bar(xs, ys, width, label=label)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=7, rotation=90)
    ax.set_ylabel("TFLOP/s (higher is better)")
    ax.set_title(f"Attention forward on {device}{title_extra}", fontsize=10)
    top = max((r.get(f"{key}_tflops") or 0) for r in rows for key, _ in series)
    ax.set_ylim(0, 1.18 * top)  # room for the legend above the bars
    ax.legend(fontsize=8, ncol=len(series), loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench/chart.py BENCH.json OUT.png")
    data = json.load(open(sys.argv[1]))
    if not write_chart(data["rows"], data["device"], sys.argv[2]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
