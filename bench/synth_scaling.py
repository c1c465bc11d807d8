"""Benchmark: Yosys synthesis of a FINN-sized accelerator, out of context (uncached and cached) and flat.

The design is FINN's TFC shape, 784-64-64-64-10 with ReLUs, 2-bit weights (``[2, 1]``) and 2-bit
unsigned activations (``[2, 1, "unsigned"]``: the input pixels and every ReLU output), 8-bit
linear outputs and biases, random (seeded) weights (:func:`mapper.held_out.tfc`), mapped for 16 cycles per inference and
emitted (no simulation: synthesis is the point). Measured in one run:

- ``ooc uncached``: every distinct instance synthesized out of context into a fresh cache folder,
  one Yosys run per core at once (``--jobs`` overrides); instances from
  :data:`eda.ooc.HIER_CELLS` estimated LUT + FF on with the hierarchy kept (mode ``hier``);
- ``ooc cached``: the same again, every instance read from that cache;
- ``flat`` (only with ``--flat``: 20 minutes and more): one ``synth_xilinx`` of the whole top.

With ``--compare`` (about 7 minutes more) every instance that the uncached run synthesized with
the hierarchy kept is synthesized again both ways, one Yosys run at a time: its hierarchical
figures next to the flat ones, and the seconds of each.

The tables (mode, seconds, LUT / FF / DSP / BRAM; the per-instance table of the uncached run,
where the Yosys time goes; the comparison) are printed and written to
``<out>/synth_scaling.md`` and ``.json``.

    .venv/bin/python bench/synth_scaling.py [--out build/bench] [--jobs N] [--flat] [--compare]   # make bench
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
from eda.ooc import Instance, instance_table, synthesize_ooc
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
    parser.add_argument(
        "--compare", action="store_true", help="also each hierarchical instance flat and hierarchical, one at a time"
    )
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
    compared = _compare(instances, runs["ooc uncached"]["instances"], out / "compare") if args.compare else []
    if compared:
        runs["compare"] = compared
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
        *_compare_table(compared),
    ]
    text = "\n".join(lines)
    print(text)
    write_text(out.parent / "synth_scaling.md", text + "\n")
    write_text(out.parent / "synth_scaling.json", json.dumps({"rows": rows, "runs": runs}, indent=1))
    return 0


def _compare(instances: list[Instance], rows: list[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """Each distinct instance that ``rows`` (the uncached run) synthesized with the hierarchy kept,
    synthesized again with it and flat, one Yosys run at a time: figures and seconds of both."""
    result = []
    seen = set()
    for inst, row in zip(instances, rows, strict=True):
        if row["mode"] != "hier" or row["key"] in seen:
            continue
        seen.add(row["key"])
        entry: dict[str, Any] = {"instance": inst.name, "module": inst.module}
        for mode in ("hier", "flat"):
            rep = synthesize(
                inst.module, inst.parameters, list(inst.sources), out / f"{inst.name}-{mode}", False, mode == "hier"
            )
            entry[mode] = {"seconds": rep.seconds, **{k: getattr(rep, k) for k in ("lut", "ff", "dsp", "bram")}}
            print(f"compare {inst.name} {mode}: {rep.seconds:.1f} s", flush=True)
        result.append(entry)
    return result


def _compare_table(compared: list[dict[str, Any]]) -> list[str]:
    if not compared:
        return []
    return [
        "",
        "Instances synthesized with the hierarchy kept, again both ways (one Yosys run at a time):",
        "",
        "| instance | mode | seconds | LUT | FF | DSP | BRAM |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
        *[
            f"| {c['instance']} | {mode} | {c[mode]['seconds']:.1f} | {c[mode]['lut']} | {c[mode]['ff']} | "
            f"{c[mode]['dsp']} | {c[mode]['bram']:g} |"
            for c in compared
            for mode in ("hier", "flat")
        ],
    ]


if __name__ == "__main__":
    raise SystemExit(main())
