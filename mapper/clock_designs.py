"""Fit the clock model's size cap on whole random designs placed and routed.

The ``clock`` pass predicts a design's Fmax as its slowest node's (calibrated per component,
``mapper/components/fmax_ecp5.json``) or :func:`mapper.passes.clock.size_cap` of its largest
node's size, whichever is lower. This module measures that cap: it draws random MLPs and CNNs
(:func:`mapper.held_out.random_design`, seeds 101 on: none of them is a benchmark design), maps
and emits each, places and routes it on the LFE5UM-85F (seed 1, 200 MHz asked), and fits
``Fmax = mhz_at_1000_cells * (cells / 1000) ** -exponent`` by least squares in log space
(``cells``: the estimated LUTs + FFs of the design's largest node, recomputed from the current
resource estimate on every run, so a recalibration carries over without placing again). Designs
and fit are saved in ``fmax_ecp5.json`` (``designs``, ``size_cap``); measured designs are reused
on a re-run unless ``--remeasure`` is given (after an RTL change; ``--remeasure 104 105``: only
those). A design nextpnr does not finish within ``--route-minutes`` is saved with the progress
it reached (``unrouted``), one it cannot place (say, more MULT18X18D than the part has: the
folding's DSP budget counts DSP48E1s) with nextpnr's error (``unplaced``); both are left out of
the fit.

    python -m mapper.clock_designs [--designs 8] [--seeds 117 177 ...]
        [--fit-only | --remeasure [SEED ...]] [--route-minutes 20]

``--seeds`` adds chosen ones; docs/timing.md lists the committed designs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from common.atomic import write_text
from eda.pnr import DSP_BUDGET, PlaceRouteError, PlaceRouteTimeout, place_and_route
from eda.toolchain import BUILD_ROOT
from mapper.flow import emit_design, map_model
from mapper.graph import Graph
from mapper.held_out import random_design
from mapper.passes.clock import DATA, largest_node, reload

#: Seeds of the random designs start here (the held-out resource check uses 1-20).
FIRST_SEED = 101


def mapped(seed: int) -> tuple[Graph, dict[str, Any]]:
    """Random design ``seed`` mapped as the flow folds it for the part (its default DSP budget),
    and its record's description: ``network``, ``cells`` of the largest node (``largest``)."""
    model, example, cycles, kind, text = random_design(seed)
    g = map_model(model, example, cycles=cycles, max_dsp=DSP_BUDGET)
    largest = largest_node(g)
    assert largest is not None
    network = f"{kind} {text} @ {g.info.predicted_cycles} cycles (target {cycles})"
    return g, {"seed": seed, "network": network, "largest": largest[0], "cells": largest[1]}


def measure(seed: int, route_minutes: float, folder: Path | None = None) -> dict[str, Any]:
    """Map, emit, place and route random design ``seed``: its record (:func:`mapped`) with the
    measured Fmax, or (``unrouted``) how far nextpnr got in ``route_minutes``, or (``unplaced``)
    the first line of nextpnr's error. The design goes into ``folder`` (default
    ``build/clock_designs/design<seed>``)."""
    g, record = mapped(seed)
    design = emit_design(g, folder or BUILD_ROOT / "clock_designs" / f"design{seed}")
    try:
        report = place_and_route(
            design.top, design.memory_parameters(), design.sources, design.out_dir / "pnr", timeout_s=route_minutes * 60
        )
    except PlaceRouteTimeout as err:
        return {**record, "unrouted": str(err)}
    except PlaceRouteError as err:
        return {**record, "unplaced": str(err).splitlines()[0]}
    return {
        **record,
        "fmax_mhz": report.fmax_mhz,
        "critical_path": report.summary().split("; critical path ")[-1],
    }


def routed(designs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``designs`` nextpnr finished (those with a measured ``fmax_mhz``): the ones fitted."""
    return [d for d in designs if "fmax_mhz" in d]


def fit(designs: list[dict[str, Any]]) -> dict[str, float]:
    """``mhz_at_1000_cells`` and ``exponent`` of the size cap: least squares of log Fmax against
    log cells over the measured ``designs`` (each with ``fmax_mhz``). A larger node never makes a
    design faster: when the designs show no fall with size (a slope >= 0, as designs of one
    size band may), the cap is flat, their geometric mean."""
    cells = np.log([d["cells"] / 1000 for d in designs])
    fmax = np.log([d["fmax_mhz"] for d in designs])
    slope, intercept = np.polyfit(cells, fmax, 1)
    if slope >= 0:
        slope, intercept = 0.0, float(np.mean(fmax))
    return {
        "mhz_at_1000_cells": round(math.exp(intercept), 2),
        "exponent": round(-float(slope), 4),
        "designs": len(designs),
    }


def _save(**entries: Any) -> None:
    """Set ``entries`` in the calibration file, re-read first (a timing run may have saved points)."""
    doc = json.loads(DATA.read_text())
    doc.update(entries)
    write_text(DATA, json.dumps(doc, indent=1) + "\n")
    reload()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mapper.clock_designs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", type=int, default=8, help="random designs to place and route")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--fit-only", action="store_true", help="refit the saved designs")
    mode.add_argument(
        "--remeasure",
        type=int,
        nargs="*",
        metavar="SEED",
        help="place and route every chosen design again, or only the seeds given (after an RTL change), "
        "replacing their saved figures",
    )
    parser.add_argument(
        "--route-minutes",
        type=float,
        default=20.0,
        help="give up on a design nextpnr has not finished in this time (it is saved as unrouted, not fitted)",
    )
    parser.add_argument(
        "--seeds", type=int, nargs="*", default=[], help="more random designs by seed (>= 101), e.g. larger ones"
    )
    args = parser.parse_args(argv)
    if args.designs < 3:
        parser.error(f"--designs {args.designs}: need at least 3 designs to fit")
    doc = json.loads(DATA.read_text())
    have = {d["seed"]: d for d in doc.get("designs", [])}
    designs = []
    if any(s < FIRST_SEED for s in args.seeds):
        parser.error(f"--seeds: seeds start at {FIRST_SEED} (lower ones are the held-out resource designs)")
    for seed in sorted({*range(FIRST_SEED, FIRST_SEED + args.designs), *args.seeds, *have}):
        again = args.remeasure is not None and (not args.remeasure or seed in args.remeasure)
        if (seed not in have or again) and not args.fit_only:
            print(f"placing and routing random design {seed} ...", flush=True)
            have[seed] = measure(seed, args.route_minutes)
            outcome = have[seed].get("unrouted") or have[seed].get("unplaced") or f"{have[seed]['fmax_mhz']} MHz"
            print(f"  {have[seed]['network']}: {have[seed]['cells']} cells, {outcome}", flush=True)
            _save(designs=sorted(have.values(), key=lambda d: d["seed"]))  # an interruption keeps it
        elif seed in have:
            _, now = mapped(seed)  # a saved design: its largest node's size under the current estimate
            have[seed] = {**have[seed], "largest": now["largest"], "cells": now["cells"]}
        if seed in have:
            designs.append(have[seed])
    finished = routed(designs)
    if len(finished) < 3:
        print(f"only {len(finished)} of {len(designs)} designs routed: need 3 to fit the size cap", file=sys.stderr)
        return 1
    cap = fit(finished)
    _save(designs=designs, size_cap=cap)
    print(f"size cap: {cap}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
