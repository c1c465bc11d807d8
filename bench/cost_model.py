"""Benchmark: the resource model on FINN's TFC shape, estimate next to Yosys.

The three designs of the cost-model issue, 784-64-64-64-10 with ReLUs (:func:`mapper.held_out.tfc`):
2-bit weights and activations at 784 cycles per inference, 8-bit at 784, and 2-bit at 16 (fully
parallel inner layers: narrow products and weight ROMs in LUTs). Each is mapped, emitted and
synthesized (``synth_xilinx -family xc7``; out of context for the large one, see
:mod:`mapper.synthesize`), and its estimate is put next to the Yosys figures with the relative
error (LUT, FF) or the difference (DSP, BRAM in 36 kb tiles). Written to ``<out>/cost_model.md``
and ``.json``.

    .venv/bin/python bench/cost_model.py [--out build/bench]      # make bench runs it
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from common.atomic import write_text
from mapper.flow import emit_design, map_model
from mapper.held_out import TFC_WIDTHS, tfc
from mapper.synthesize import synthesize_design

#: (bits, cycles per inference) of the three designs.
DESIGNS = ((2, 784), (8, 784), (2, 16))
KEYS = ("lut", "ff", "dsp", "bram")


def measure(bits: int, cycles: int, out: Path) -> dict[str, Any]:
    """Estimate and Yosys figures of one TFC design."""
    g = map_model(tfc(bits), torch.rand(2, TFC_WIDTHS[0]), cycles=cycles)
    assert g.info.resources is not None
    design = emit_design(g, out / f"tfc_w{bits}a{bits}_{cycles}", top="tfc_top")
    start = time.monotonic()
    rep = synthesize_design(design.out_dir, design.top, design.sources, design.memory_parameters(), design.instances)
    return {
        "design": f"TFC w{bits}a{bits}, {cycles} cycles",
        "mode": rep["mode"],
        "seconds": round(time.monotonic() - start, 1),
        "estimate": g.info.resources.as_dict(),
        "yosys": {k: rep[k] for k in KEYS},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/bench"))
    args = parser.parse_args()
    out = args.out.resolve()
    rows = []
    for bits, cycles in DESIGNS:
        rows.append(measure(bits, cycles, out / "cost_model"))
        print(f"{rows[-1]['design']}: {rows[-1]['seconds']} s of Yosys ({rows[-1]['mode']})", flush=True)
    lines = [
        "| design | LUT est. / Yosys | FF est. / Yosys | DSP est. / Yosys | BRAM est. / Yosys | Yosys |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        e, m = r["estimate"], r["yosys"]
        cells = [f"{e[k]:g} / {m[k]:g} ({(e[k] - m[k]) / max(m[k], 1):+.0%})" for k in ("lut", "ff")]
        cells += [f"{e[k]:g} / {m[k]:g}" for k in ("dsp", "bram")]
        lines.append(f"| {r['design']} | " + " | ".join(cells) + f" | {r['mode']}, {r['seconds']} s |")
    text = "\n".join(lines)
    print(text)
    write_text(out / "cost_model.md", text + "\n")
    write_text(out / "cost_model.json", json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
