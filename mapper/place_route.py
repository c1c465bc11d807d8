"""The ``place_and_route`` pass: the emitted top on ECP5 (Yosys ``synth_ecp5`` + nextpnr), for the
report's clock figures.

It records nextpnr's Fmax, whether the requested clock (``ctx.clock_mhz``) is met, the critical
path's start and end points, the ECP5 utilisation, and the figures a user compares designs by:
inferences per second (Fmax / cycles per inference) and latency in nanoseconds (cycles / Fmax),
each next to the mapper's prediction (the ``clock`` pass).
"""

from __future__ import annotations

from typing import Any

from eda.pnr import PART, place_and_route
from mapper.graph import Graph
from mapper.passes.base import FlowContext, flow_pass


def clock_figures(fmax_mhz: float | None, cycles: float | None, latency: float | None) -> dict[str, float | None]:
    """Inferences per second and latency in ns at ``fmax_mhz`` (None where a figure is missing)."""
    if not fmax_mhz:
        return {"inferences_per_second": None, "latency_ns": None}
    return {
        "inferences_per_second": round(fmax_mhz * 1e6 / cycles) if cycles else None,
        "latency_ns": round(latency * 1e3 / fmax_mhz, 1) if latency is not None else None,
    }


def timing_summary(
    g: Graph, pnr: dict[str, Any], measured_cycles: float | None, measured_latency: int | None
) -> dict[str, Any]:
    """The report's timing section: nextpnr's report, the derived figures measured (at the measured
    Fmax, with the simulated cycles when there are some) and predicted."""
    info = g.info
    cycles = measured_cycles if measured_cycles else info.predicted_cycles
    latency = measured_latency if measured_latency is not None else info.predicted_latency
    return {
        "part": PART,
        "requested_mhz": pnr["freq_mhz"],
        "fmax_mhz": pnr["fmax_mhz"],
        "met": pnr["met"],
        "summary": pnr["summary"],
        "critical_path": pnr["critical_path"],
        "utilization": pnr["utilization"],
        "luts": pnr["luts"],
        "ffs": pnr["ffs"],
        "dsps": pnr["dsps"],
        "brams": pnr["brams"],
        "seconds": pnr["seconds"],
        "predicted_fmax_mhz": info.predicted_fmax_mhz,
        "fmax_limit": info.fmax_limit,
        "measured": clock_figures(pnr["fmax_mhz"], cycles, latency),
        "predicted": clock_figures(info.predicted_fmax_mhz, info.predicted_cycles, info.predicted_latency),
    }


@flow_pass("place_and_route")
def place_route(g: Graph, ctx: FlowContext) -> Graph:
    """Place and route ``ctx.design`` at ``ctx.clock_mhz``; the summary in ``ctx.timing``."""
    if ctx.design is None:
        raise ValueError("the place_and_route pass needs an emitted design (run emit first)")
    d = ctx.design
    report = place_and_route(d.top, d.memory_parameters(), d.sources, d.out_dir / "pnr", ctx.clock_mhz)
    pnr = {**report.as_dict(), "summary": report.summary()}
    sim = ctx.simulation
    cycles, latency = (None, None) if sim is None else (sim.measured_cycles_per_inference, sim.measured_latency)
    ctx.timing = timing_summary(g, pnr, cycles, latency)
    return g
