"""Benchmark: a whole CIFAR-sized test set through a CNN accelerator, bit-exact, with wall times.

The front end's SmallCNN (two 3x3 convolutions with ReLU and 2x2 max pooling, a linear layer) for
3 x 32 x 32 images, quantized to 8 bits with its initial weights (the point is the simulation, not
the accuracy), mapped at its pace, emitted, and run on ``--images`` CIFAR-shaped images (random,
seeded: no data set is downloaded) in the SystemVerilog harness under 30 % input gaps and 30 %
output stalls. Every output integer is compared with the golden network's; the wall time of each
step and the simulator's cycles per second are printed and saved.

    .venv/bin/python bench/cnn_test_set.py [--images 10000] [--out build/bench]   # make bench runs it
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common.atomic import write_text
from mapper.flow import MAP, FlowContext, run_passes
from mapper.network import golden_network, quantize_inputs
from mapper.simulate import deadlock_timeout, first_mismatch, harness_spec, run_harness, write_bench
from quant.config import QuantConfig
from quant.transform import quantize_model
from sim.runner import RunOptions
from sw_frontend.models import SmallCNN

QUANT = {
    "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
    "by_type": {"relu": {"data_out": [8, 4, "unsigned"]}},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=10_000, help="CIFAR-shaped images to simulate")
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    args = parser.parse_args()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    torch.manual_seed(0)
    model = quantize_model(SmallCNN((3, 32, 32), 10).eval(), QuantConfig.from_dict(QUANT))
    images = torch.randn(args.images, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    ctx = FlowContext(model=model, example=images[:2], target_cycles=1, out_dir=args.out / "cnn_test_set")
    g = run_passes((*MAP, "emit"), ctx)
    assert ctx.design is not None
    timings["map and emit"] = time.perf_counter() - start
    t = time.perf_counter()
    inputs = quantize_inputs(g, images)
    expected = golden_network(g, inputs)
    timings["golden network"] = time.perf_counter() - t
    t = time.perf_counter()
    doc = json.loads(write_bench(ctx.design, inputs, expected, ctx.out_dir / "bench" / "outputs.json").read_text())
    spec = harness_spec(ctx.design.top, ctx.design.sources, doc, ctx.design.memory_parameters())
    timeout = deadlock_timeout(g.info.predicted_cycles, g.info.predicted_latency)
    run = run_harness(spec, inputs, RunOptions(1, len(inputs), 0.3, 0.3, timeout), "test-set")
    timings["harness (build + simulation)"] = time.perf_counter() - t
    found = first_mismatch(expected, run.outputs, ctx.design.out_lanes)
    total = time.perf_counter() - start
    result = {
        "images": args.images,
        "cycles_per_inference_predicted": g.info.predicted_cycles,
        "simulated_cycles": run.cycles,
        "simulator_seconds": round(run.seconds, 2),
        "cycles_per_second": round(run.cycles / run.seconds) if run.seconds else 0,
        "output_integers_compared": int(expected.size),
        "mismatches": int(np.count_nonzero(expected[: len(run.outputs)] != run.outputs)),
        "first_mismatch": found[0] if found else None,
        "error": run.error,
        "seconds": {k: round(v, 1) for k, v in {**timings, "total": total}.items()},
    }
    write_text(args.out / "cnn_test_set.json", json.dumps(result, indent=1))
    print(f"SmallCNN on {args.images} images of 3x32x32 ({g.info.predicted_cycles} cycles per inference predicted)")
    for k, v in result["seconds"].items():
        print(f"  {k:<30} {v:8.1f} s")
    print(f"  simulated {run.cycles:,} cycles at {result['cycles_per_second']:,} cycles/s (simulator alone)")
    print(
        f"  {result['output_integers_compared']:,} output integers compared, {result['mismatches']} mismatches"
        + (f" ({found[0]})" if found else "")
        + (f"; {run.error}" if run.error else "")
    )
    return 1 if run.error or found else 0


if __name__ == "__main__":
    sys.exit(main())
