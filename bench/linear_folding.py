"""Benchmark: the area / throughput trade-off of fixed_linear's folding, measured in one run.

For one layer shape and several (IN_PAR, OUT_PAR) choices it simulates (no stalls) to measure
cycles per vector and synthesizes with Yosys for LUT / FF / DSP, then prints a table with the
ratios against the most folded point and saves a plot.

    .venv/bin/python bench/linear_folding.py [--k 32] [--n 16] [--out build/bench]   # or: make bench
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common.atomic import write_text  # noqa: E402
from eda.synth import synthesize  # noqa: E402
from mapper.components import get  # noqa: E402
from sim.runner import RunOptions  # noqa: E402


def measure(k: int, n: int, in_par: int, out_par: int) -> dict[str, float]:
    comp = get("fixed_linear")
    params = comp.parameters_with({"IN_FEATURES": k, "OUT_FEATURES": n, "IN_PAR": in_par, "OUT_PAR": out_par})
    vectors = 8
    result = comp.run(params, RunOptions(seed=5, groups=vectors, gap_prob=0.0, stall_prob=0.0), tag="bench")
    beats = n // out_par
    starts = result["output_cycles"]["data_out"][::beats]
    cycles = (starts[-1] - starts[1]) / (len(starts) - 2)
    full, _ = comp.prepared(params, 5)
    synth = synthesize(comp.name, full, comp.sources)
    return {
        "in_par": in_par,
        "out_par": out_par,
        "cycles": cycles,
        "lut": synth.lut,
        "ff": synth.ff,
        "dsp": synth.dsp,
        "lutram": synth.lutram,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=32, help="input features")
    parser.add_argument("--n", type=int, default=16, help="output features")
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    args = parser.parse_args()
    points = [(1, 1), (2, 1), (4, 2), (8, 2), (8, 4), (16, 8)]
    rows = []
    for in_par, out_par in points:
        if args.k % in_par or args.n % out_par:
            continue
        print(f"measuring IN_PAR={in_par} OUT_PAR={out_par} ...", flush=True)
        rows.append(measure(args.k, args.n, in_par, out_par))
    base = rows[0]
    print(f"\nfixed_linear {args.k}->{args.n}, 8-bit: measured in this run")
    print(
        f"{'IN_PAR':>6} {'OUT_PAR':>7} {'cycles/vec':>10} {'speed-up':>8} {'LUT':>6} {'x LUT':>6} {'DSP':>4} {'FF':>5}"
    )
    for r in rows:
        print(
            f"{r['in_par']:>6} {r['out_par']:>7} {r['cycles']:>10.1f} {base['cycles'] / r['cycles']:>8.1f} "
            f"{r['lut']:>6} {r['lut'] / base['lut']:>6.1f} {r['dsp']:>4} {r['ff']:>5}"
        )
    write_text(args.out / "linear_folding.json", json.dumps(rows, indent=1))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([r["cycles"] for r in rows], [r["lut"] for r in rows], "o-", label="LUT")
    ax.plot([r["cycles"] for r in rows], [r["dsp"] * 100 for r in rows], "s--", label="DSP48E1 x 100")
    for r in rows:
        ax.annotate(f"{r['in_par']}x{r['out_par']}", (r["cycles"], r["lut"]), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("cycles per input vector (measured)")
    ax.set_ylabel("resources (Yosys, xc7)")
    ax.set_title(f"fixed_linear {args.k}->{args.n}: folding trade-off")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "linear_folding.png", dpi=120)
    print(f"\nwritten {args.out / 'linear_folding.json'} and {args.out / 'linear_folding.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
