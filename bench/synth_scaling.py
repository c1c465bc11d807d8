"""Benchmark: Yosys synthesis of a FINN-sized accelerator, out of context (uncached and cached) and flat.

The design is FINN's TFC shape, 784-64-64-64-10 with ReLUs, 2-bit weights (``[2, 1]``) and 2-bit
unsigned activations (``[2, 1, "unsigned"]``: the input pixels and every ReLU output), 8-bit
linear outputs and biases, random (seeded) weights (:func:`mapper.held_out.tfc`), mapped for 16 cycles per inference and
emitted (no simulation: synthesis is the point). Measured in one run:

- ``ooc uncached``: every distinct instance synthesized out of context into a fresh cache folder,
  one Yosys run per core at once (``--jobs`` overrides);
- ``ooc cached``: the same again, every instance read from that cache;
- ``flat`` (only with ``--flat``: 20 minutes and more): one ``synth_xilinx`` of the whole top.

The table (mode, seconds, LUT / FF / DSP / BRAM) and the per-instance table of the uncached run
(where the Yosys time goes) are printed and written to ``<out>/synth_scaling.md`` and ``.json``.

    .venv/bin/python bench/synth_scaling.py [--out build/bench] [--jobs N] [--flat]   # make bench
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from common.atomic import write_text
from eda.ooc import instance_table, synthesize_ooc
from eda.synth import synthesize
from mapper.flow import emit_design, map_model
from mapper.held_out import TFC_WIDTHS, tfc
from mapper.synthesize import design_instances

CYCLES = 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    parser.add_argument("--jobs", type=int, default=None, help="Yosys runs at once (default: one per core)")
    parser.add_argument("--flat", action="store_true", help="also the flat run (20 minutes and more)")
    args = parser.parse_args()
    out = args.out.resolve() / "synth_scaling"
    g = map_model(tfc(2), torch.rand(2, TFC_WIDTHS[0]), cycles=CYCLES)
    design = emit_design(g, out / "design", top="tfc_top")
    instances = design_instances(design.instances, design.out_dir)
    cache = out / "cache"
    shutil.rmtree(cache, ignore_errors=True)  # the uncached run starts from an empty cache
    jobs = args.jobs or os.cpu_count() or 1
    print(f"tfc_top: {len(instances)} instances, {CYCLES} cycles per inference, {jobs} Yosys runs at once", flush=True)
    rows: list[dict[str, Any]] = []
    runs = {}
    for mode in ("ooc uncached", "ooc cached"):
        rep = synthesize_ooc(design.top, instances, out / mode.replace(" ", "_"), jobs=jobs, cache_dir=cache)
        runs[mode] = rep.as_dict()
        rows.append(
            {"mode": mode, "seconds": rep.seconds, **{k: getattr(rep, k) for k in ("lut", "ff", "dsp", "bram")}}
        )
        print(f"{mode}: {rep.seconds:.1f} s", flush=True)
    if args.flat:
        start = time.monotonic()
        flat = synthesize(design.top, design.memory_parameters(), design.sources, out / "flat", netlist=False)
        seconds = round(time.monotonic() - start, 1)
        rows.append({"mode": "flat", "seconds": seconds, **{k: getattr(flat, k) for k in ("lut", "ff", "dsp", "bram")}})
        runs["flat"] = flat.as_dict()
        print(f"flat: {seconds:.1f} s", flush=True)
    lines = [
        f"TFC 784-64-64-64-10, w2a2, {CYCLES} cycles per inference: {len(instances)} instances, {jobs} Yosys "
        f"runs at once ({os.cpu_count()} cores)",
        "",
        "| mode | seconds | LUT | FF | DSP | BRAM |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *[f"| {r['mode']} | {r['seconds']:.2f} | {r['lut']} | {r['ff']} | {r['dsp']} | {r['bram']} |" for r in rows],
        "",
        "Uncached run, per instance:",
        "",
        *instance_table(runs["ooc uncached"]["instances"]),
    ]
    text = "\n".join(lines)
    print(text)
    write_text(out.parent / "synth_scaling.md", text + "\n")
    write_text(out.parent / "synth_scaling.json", json.dumps({"rows": rows, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
