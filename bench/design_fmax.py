"""Benchmark: whole accelerators placed and routed on ECP5, measured Fmax next to the mapper's
prediction and to the reference designs measured in the same run.

Three designs, each mapped, emitted, simulated bit-exactly on 20 random inputs and placed and
routed (LFE5UM-85F, nextpnr seed 1, 200 MHz requested):

- ``mlp-digits``: the front end's MLP (64-32-10) with the 8-bit digits config, 64 cycles per
  inference (the shape of ``make run``'s accelerator);
- ``cnn-digits``: the front end's SmallCNN for 8x8 digits with its 8-bit config, folded for 64
  cycles per inference (the shape of ``ch flow cnn digits``);
- ``hls4ml-jet``: an hls4ml-shaped jet tagger, 16-64-32-32-5 with ReLUs, every format 16 bits with
  10 fraction bits, 64 cycles per inference.

The weights are the models' seeded initial ones (no training: Fmax is the point). The table is
printed and written to ``<out>/design_fmax.md`` and ``.json``.

    .venv/bin/python bench/design_fmax.py [--out build/bench] [--designs cnn-digits ...]  # make bench runs all
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common.atomic import write_text
from eda.pnr import applicable_reference, measure_references
from mapper.flow import run_flow
from quant.config import QuantConfig
from quant.transform import quantize_model
from sw_frontend.hardware import default_quantize
from sw_frontend.models import MLP, SmallCNN

F16 = [16, 10]


def designs() -> dict[str, tuple[nn.Module, torch.Tensor, int]]:
    """name -> (quantized model, 20 inputs, target cycles per inference)."""
    torch.manual_seed(0)
    mlp = quantize_model(MLP(64, 32, 10).eval(), QuantConfig.from_dict(default_quantize("mlp", "digits")))
    cnn = quantize_model(SmallCNN((1, 8, 8), 10).eval(), QuantConfig.from_dict(default_quantize("cnn", "digits")))
    jet = nn.Sequential(
        nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 5)
    ).eval()
    fmt = {"data_in": F16, "weight": F16, "bias": F16, "data_out": F16}
    jet_q = quantize_model(jet, QuantConfig.from_dict({"default": fmt}))
    gen = torch.Generator().manual_seed(1)
    return {
        "mlp-digits": (mlp, torch.rand(20, 64, generator=gen) * 16, 64),
        "cnn-digits": (cnn, torch.rand(20, 1, 8, 8, generator=gen) * 16, 64),
        "hls4ml-jet": (jet_q, torch.randn(20, 16, generator=gen) * 4, 64),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    parser.add_argument("--designs", nargs="+", choices=sorted(designs()), help="only these designs (default: all)")
    args = parser.parse_args()
    out = args.out.resolve()
    refs = measure_references(200.0, out / "design_fmax" / "references")
    rows: list[dict[str, Any]] = []
    for name, (model, x, cycles) in designs().items():
        if args.designs and name not in args.designs:
            continue
        start = time.perf_counter()
        r = run_flow(model, x, out / "design_fmax" / name, cycles=cycles, synth=False, place_route=True, seed=3)
        if r.errors or r.mismatches:
            print(f"{name}: not bit-exact ({r.mismatches} mismatches)", file=sys.stderr)
            return 1
        t = r.timing
        assert t is not None
        ref, ref_mhz = applicable_reference(t["dsps"], t["brams"], refs)
        predicted = t["predicted_fmax_mhz"]
        rows.append(
            {
                "design": name,
                "cycles_per_inference": r.measured_cycles_per_inference,
                "latency_cycles": r.measured_latency,
                "fmax_mhz": t["fmax_mhz"],
                "predicted_fmax_mhz": predicted,
                "error": None if predicted is None else round(predicted / t["fmax_mhz"] - 1, 3),
                "limit": t["fmax_limit"],
                "reference": ref,
                "ratio": round(t["fmax_mhz"] / ref_mhz, 3),
                "inferences_per_second": t["measured"]["inferences_per_second"],
                "latency_ns": t["measured"]["latency_ns"],
                "lut4": t["luts"],
                "ff": t["ffs"],
                "dsp": t["dsps"],
                "bram": t["brams"],
                "critical_path": t["summary"].split("; critical path ")[-1],
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(f"{name}: {t['summary']}", flush=True)
    lines = [
        "| reference | Fmax (MHz) |",
        "| --- | ---: |",
        *[f"| {n} | {r.fmax_mhz:.1f} |" for n, r in refs.items()],
        "",
        "| design | cycles/inf. | Fmax (MHz) | predicted | error | ratio | vs | inferences/s | latency (ns) | "
        "LUT4 | FF | DSP | BRAM | limiting node (model) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for w in rows:
        err = "-" if w["error"] is None else f"{w['error']:+.1%}"
        pred = "-" if w["predicted_fmax_mhz"] is None else f"{w['predicted_fmax_mhz']:.1f}"
        lines.append(
            f"| {w['design']} | {w['cycles_per_inference']:g} | {w['fmax_mhz']:.1f} | {pred} | {err} | "
            f"{w['ratio']:.2f} | {w['reference']} | {w['inferences_per_second']:,} | {w['latency_ns']:,} | "
            f"{w['lut4']} | {w['ff']} | {w['dsp']} | {w['bram']} | {w['limit']} |"
        )
    text = "\n".join(lines)
    print(text)
    write_text(out / "design_fmax.md", text + "\n")
    doc = {"references": {n: r.fmax_mhz for n, r in refs.items()}, "designs": rows}
    write_text(out / "design_fmax.json", json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
