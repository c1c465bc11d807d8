"""Fmax of every library component on the ECP5 flow, next to the two references measured in the
same run: ``python -m eda.timing_table [COMPONENT ...] [--freq=MHz] [--all-sweeps]``.

By default each component is placed and routed at the largest parameter set of its sweep
(``sim/catalogue.py``; "largest": :func:`largest_sweep`), with ``--all-sweeps`` at every set. The
table (markdown) gives Fmax, the ratio to the reference that applies (``eda.pnr.applicable_reference``),
LUT4 / FF / MULT18X18D / DP16KD of the design (harness excluded) and the critical path. The rows
are also written to ``build/pnr/timing_table.json``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from eda.pnr import DEFAULT_FREQ, PnrReport, applicable_reference, measure_references, place_and_route
from eda.toolchain import BUILD_ROOT

#: The sweep set (index) each component is judged at: the largest of its sweep in logic and
#: arithmetic width (most lanes x bits, deepest memories).
LARGEST = {
    "skid_buffer": 2, "stream_fifo": 1, "stream_fork": 2, "stream_join": 2, "stream_resize": 1,
    "fixed_linear": 4, "fixed_cast": 1, "fixed_relu": 1, "fixed_add": 1, "conv_window": 3,
    "fixed_conv2d": 1, "pool_max": 2, "fixed_lut": 2, "fixed_affine": 2, "pool_avg": 2,
    "fixed_mul": 1,
}


def largest_sweep(name: str) -> int:
    """Index of the sweep set a component is judged at (the last one when not listed)."""
    from sim import catalogue  # noqa: PLC0415

    return LARGEST.get(name, len(catalogue.get(name).sweep()) - 1)


def _short(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if not k.endswith("_FILE"))


def measure(name: str, index: int, freq: float) -> PnrReport:
    from sim import catalogue  # noqa: PLC0415
    from sim.runner import RunOptions  # noqa: PLC0415

    comp = catalogue.get(name)
    params, _ = comp.prepared(comp.sweep()[index], RunOptions().seed)
    out = BUILD_ROOT / "pnr" / "table" / f"{name}-{index}"
    return place_and_route(comp.toplevel, params, comp.sources, out, freq)


def row(name: str, index: int, r: PnrReport, refs: dict[str, PnrReport]) -> dict[str, Any]:
    ref_name, ref_mhz = applicable_reference(r, refs)
    cp = r.critical_path
    return {
        "component": name, "sweep": index, "parameters": _short(r.parameters), "fmax": r.fmax_mhz,
        "reference": ref_name, "reference_mhz": ref_mhz, "ratio": round(r.fmax_mhz / ref_mhz, 3),
        "lut": r.luts, "ff": r.ffs, "dsp": r.dsps, "bram": r.brams,
        "path": cp.describe() if cp else "-",
    }


def markdown(rows: list[dict[str, Any]], refs: dict[str, PnrReport]) -> str:
    lines = [
        "| reference | Fmax (MHz) | critical path |",
        "| --- | ---: | --- |",
        *[f"| {n} ({r.top} {_short(r.parameters)}) | {r.fmax_mhz:.1f} | "
          f"{r.critical_path.describe() if r.critical_path else '-'} |" for n, r in refs.items()],
        "",
        "| component | set | Fmax (MHz) | ratio | vs | LUT4 | FF | DSP | BRAM | critical path |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
        *[f"| {x['component']} | {x['sweep']} | {x['fmax']:.1f} | {x['ratio']:.2f} | {x['reference']} | "
          f"{x['lut']} | {x['ff']} | {x['dsp']} | {x['bram']} | {x['path']} |" for x in rows],
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from sim import catalogue  # noqa: PLC0415

    args = list(sys.argv[1:] if argv is None else argv)
    freq, every = DEFAULT_FREQ, "--all-sweeps" in args
    for a in [a for a in args if a.startswith("--")]:
        if a.startswith("--freq="):
            freq = float(a.split("=", 1)[1])
        args.remove(a)
    names = args or list(catalogue.COMPONENTS)
    refs = measure_references(freq)
    rows = []
    for name in names:
        indices = range(len(catalogue.get(name).sweep())) if every else [largest_sweep(name)]
        for i in indices:
            r = measure(name, i, freq)
            rows.append(row(name, i, r, refs))
            print(f"{name}[{i}] {rows[-1]['ratio']:.2f} x {rows[-1]['reference']}: {r.summary()}", flush=True)
    text = markdown(rows, refs)
    print(text)
    out = BUILD_ROOT / "pnr" / "timing_table.json"
    out.write_text(json.dumps({"references": {n: r.as_dict() for n, r in refs.items()}, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
