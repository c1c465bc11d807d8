"""Fmax of the library's components on the ECP5 flow, next to the two references measured in the
same run (what ``make timing`` prints; ``docs/timing.md`` holds a table made with it).

Each component is placed and routed (:func:`eda.pnr.place_and_route`) at the sweep set its Fmax is
judged at (its descriptor's ``fmax_sweep``), or at every set. A row gives Fmax, its ratio to the
reference that applies (:func:`eda.pnr.applicable_reference`), the design's LUT4 / FF /
MULT18X18D / DP16KD and its critical path. The rows are also written to
``build/pnr/timing_table.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from common.atomic import write_text
from eda.pnr import DEFAULT_FREQ, PnrReport, applicable_reference, measure_references, place_and_route
from eda.toolchain import BUILD_ROOT
from mapper.components import Component
from sim.runner import RunOptions


def _shown(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if not k.endswith("_FILE"))


def measure(comp: Component, index: int, freq: float) -> PnrReport:
    """Place and route ``comp`` at sweep set ``index`` (memory images written first)."""
    params, _ = comp.prepared(comp.sweep()[index], RunOptions().seed)
    out = BUILD_ROOT / "pnr" / "table" / f"{comp.name}-{index}"
    return place_and_route(comp.name, params, comp.sources, out, freq)


def row(name: str, index: int, r: PnrReport, refs: dict[str, PnrReport]) -> dict[str, Any]:
    """One table row: the component's Fmax, the reference it is judged against, its size and path."""
    ref_name, ref_mhz = applicable_reference(r.dsps, r.brams, refs)
    cp = r.critical_path
    return {
        "component": name,
        "sweep": index,
        "parameters": _shown(r.parameters),
        "fmax": r.fmax_mhz,
        "reference": ref_name,
        "reference_mhz": ref_mhz,
        "ratio": round(r.fmax_mhz / ref_mhz, 3),
        "lut": r.luts,
        "ff": r.ffs,
        "dsp": r.dsps,
        "bram": r.brams,
        "path": cp.describe() if cp else "-",
    }


def markdown(rows: list[dict[str, Any]], refs: dict[str, PnrReport]) -> str:
    """The references' table, then the components' one."""
    ref_rows = [
        f"| {n} ({r.top} {_shown(r.parameters)}) | {r.fmax_mhz:.1f} | "
        f"{r.critical_path.describe() if r.critical_path else '-'} |"
        for n, r in refs.items()
    ]
    comp_rows = [
        f"| {x['component']} | {x['sweep']} | {x['fmax']:.1f} | {x['ratio']:.2f} | {x['reference']} | "
        f"{x['lut']} | {x['ff']} | {x['dsp']} | {x['bram']} | {x['path']} |"
        for x in rows
    ]
    return "\n".join(
        [
            "| reference | Fmax (MHz) | critical path |",
            "| --- | ---: | --- |",
            *ref_rows,
            "",
            "| component | set | Fmax (MHz) | ratio | vs | LUT4 | FF | DSP | BRAM | critical path |",
            "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
            *comp_rows,
        ]
    )


def timing_table(
    comps: list[Component], freq: float = DEFAULT_FREQ, every_set: bool = False, progress: Callable[[str], None] = print
) -> tuple[list[dict[str, Any]], dict[str, PnrReport]]:
    """(rows, references) of ``comps`` at their judged set (or every set); progress per design."""
    refs = measure_references(freq)
    rows = []
    for comp in comps:
        for i in range(len(comp.sweep())) if every_set else [comp.fmax_index()]:
            r = measure(comp, i, freq)
            rows.append(row(comp.name, i, r, refs))
            progress(f"{comp.name}[{i}] {rows[-1]['ratio']:.2f} x {rows[-1]['reference']}: {r.summary()}")
    document = {"references": {n: r.as_dict() for n, r in refs.items()}, "rows": rows}
    write_text(BUILD_ROOT / "pnr" / "timing_table.json", json.dumps(document, indent=1))
    return rows, refs
