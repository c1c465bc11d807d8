"""The mapper's flows as pass lists (:mod:`mapper.passes`), their runner, and the result a user reads.

* :func:`run_passes`: run any list of pass names, writing the graph after the ones asked for;
* :func:`capture_graph`: capture and make the graph consistent (components, formats, casts);
* :func:`map_model`: everything up to the folded, annotated hardware graph (:data:`MAP`);
* :func:`run_flow`: map, emit, simulate bit-exactly, optionally synthesize, write the report.

``python -m mapper.flow sim|synth|pnr <design folder>`` re-runs the bench, Yosys or ECP5 place and
route on an emitted folder, wherever it has been moved (the FuseSoC core's hooks call it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import mapper.capture  # noqa: F401  (each of these modules registers its passes)
import mapper.passes.clock  # noqa: F401
import mapper.passes.folding  # noqa: F401
import mapper.passes.formats  # noqa: F401
import mapper.place_route  # noqa: F401
import mapper.synthesize  # noqa: F401
from eda.pnr import DSP_BUDGET, PART, PART_MULTIPLIERS, place_and_route
from mapper.emit import Design, load_design
from mapper.graph import Graph
from mapper.passes.base import PASSES, FlowContext
from mapper.passes.folding import target_cycles
from mapper.simulate import SimulationResult, deadlock_timeout, first_mismatch, harness_spec, run_harness
from mapper.synthesize import check_mode, synthesize_design
from sim import runner

#: The pass lists of the flows: mapping, then ``ch emit``, ``ch sim`` and ``ch flow``.
MAP = (
    "capture",
    "assign",
    "resolve_formats",
    "insert_casts",
    "insert_forks",
    "check_topology",
    "fold",
    "insert_plumbing",
    "annotate",
    "clock",
)
EMIT = (*MAP, "emit", "report")
SIM = (*MAP, "emit", "simulate", "report")
FLOW = (*MAP, "emit", "simulate", "synthesize", "place_and_route", "report")
#: The passes that turn a captured graph into a consistent one (before folding).
CONSISTENT = MAP[: MAP.index("fold")]


def run_passes(names: Sequence[str], ctx: FlowContext, graph: Graph | None = None) -> Graph:
    """Run the passes ``names`` in order from ``graph`` (an empty graph for ``capture``); after
    each pass named in ``ctx.dump_graph`` (or every pass with ``"all"``) write the graph as JSON
    and PNG into ``ctx.dump_dir`` (default ``ctx.out_dir / "graphs"``)."""
    unknown = [n for n in names if n not in PASSES]
    if unknown:
        raise ValueError(f"unknown pass(es) {', '.join(unknown)}; known: {', '.join(FLOW)}")
    bad_dumps = sorted(set(ctx.dump_graph) - set(PASSES) - {"all"})
    if bad_dumps:
        raise ValueError(f"--dump-graph {', '.join(bad_dumps)}: no such pass; passes: {', '.join(FLOW)} (or all)")
    g = graph if graph is not None else Graph()
    for i, name in enumerate(names):
        g = PASSES[name](g, ctx)
        if name in ctx.dump_graph or "all" in ctx.dump_graph:
            folder = ctx.dump_dir or (ctx.out_dir or Path(".")) / "graphs"
            g.dump(folder, f"{i:02d}_{name}")
    return g


def capture_graph(
    model: nn.Module, example: torch.Tensor, dump_graph: Iterable[str] = (), dump_dir: Path | None = None
) -> Graph:
    """Capture ``model`` and run the passes up to folding: every node has its component and formats."""
    ctx = FlowContext(model=model, example=example, dump_graph=frozenset(dump_graph), dump_dir=dump_dir)
    return run_passes(CONSISTENT, ctx)


def map_model(
    model: nn.Module,
    example: torch.Tensor,
    throughput: float | None = None,
    cycles: int | None = None,
    dump_graph: Iterable[str] = (),
    dump_dir: Path | None = None,
    max_dsp: int | None = None,
) -> Graph:
    """The folded, annotated hardware graph of ``model`` for ``throughput`` (inferences per cycle)
    or ``cycles`` per inference; ``graph.info`` holds the predictions and the resource estimate."""
    ctx = FlowContext(
        model=model,
        example=example,
        target_cycles=target_cycles(throughput, cycles),
        max_dsp=max_dsp,
        dump_graph=frozenset(dump_graph),
        dump_dir=dump_dir,
    )
    return run_passes(MAP, ctx)


def fold_graph(g: Graph, cycles: int, max_dsp: int | None = None) -> Graph:
    """A folded copy of the consistent graph ``g`` (:func:`capture_graph`) for ``cycles`` per
    inference (within ``max_dsp`` estimated DSPs when given): the passes from ``fold`` to
    ``annotate``."""
    ctx = FlowContext(target_cycles=target_cycles(cycles=cycles), max_dsp=max_dsp)
    return run_passes(MAP[len(CONSISTENT) :], ctx, g.copy())


def emit_design(g: Graph, out_dir: Path, top: str = "accel_top") -> Design:
    """Emit a folded graph into ``out_dir`` and write its report (the ``emit`` and ``report`` passes)."""
    ctx = FlowContext(out_dir=Path(out_dir), top=top)
    run_passes(("emit", "report"), ctx, g)
    assert ctx.design is not None
    return ctx.design


@dataclass
class FlowResult:
    """Everything the flow built and measured, next to the mapper's predictions.

    Attributes:
        graph: the hardware graph (``graph.info``: predictions and resource estimate).
        design: the emitted design.
        simulation: what the simulate pass measured (``mismatches``, measured cycles, ...).
        synthesis: the Yosys report as a dict (lut, ff, dsp, bram, ...), or None.
        timing: the place-and-route summary (:func:`mapper.place_route.timing_summary`), or None.
    """

    graph: Graph
    design: Design
    simulation: SimulationResult
    synthesis: dict[str, Any] | None
    timing: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        """The simulation's figures read directly: ``result.mismatches``, ``result.accuracy``, ..."""
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["simulation"], name)

    @property
    def predicted_cycles_per_inference(self) -> int:
        return int(self.graph.info.predicted_cycles)

    @property
    def predicted_latency(self) -> int:
        return int(self.graph.info.predicted_latency)


def run_flow(
    quant_model: nn.Module,
    samples: torch.Tensor,
    out_dir: Path,
    throughput: float | None = None,
    cycles: int | None = None,
    synth: bool = True,
    top: str = "accel_top",
    seed: int = 1,
    gap_prob: float = 0.3,
    stall_prob: float = 0.3,
    labels: torch.Tensor | None = None,
    dump_graph: Iterable[str] = (),
    bench: str = "harness",
    waves: bool = False,
    place_route: bool | None = None,
    clock_mhz: float = 200.0,
    synth_mode: str = "auto",
    synth_jobs: int | None = None,
    max_dsp: int | None = None,
) -> FlowResult:
    """Map, emit, simulate (bit-exact check and timing) and optionally synthesize ``quant_model``.

    Args:
        quant_model: a model of ``quant`` modules.
        samples: float inputs ``(B, ...)``; every one is simulated (B >= 1).
        out_dir: the design folder (created or overwritten).
        throughput / cycles: the target, inferences per cycle or cycles per inference (one of
            them; default one inference per 64 cycles).
        max_dsp: estimated DSP budget; a target whose plan needs more is relaxed to the fastest
            plan that fits (None: the place-and-route part's multipliers when ``place_route``
            runs, so that the design places; else no budget).
        synth: run Yosys for the report totals.
        synth_mode: ``auto`` (by the design's size), ``ooc`` (each distinct instance out of
            context, cached, in parallel; the totals are their sum) or ``flat`` (the whole top
            in one Yosys run), see :mod:`mapper.synthesize`.
        synth_jobs: Yosys runs at once in ``ooc`` mode (default: one per core).
        place_route: place and route on ECP5 for the clock figures (default: when ``synth``).
        clock_mhz: the clock nextpnr is asked for.
        top: top module name.
        seed, gap_prob, stall_prob: the random input gaps and output stalls of the checking run.
        labels: optional class labels ``(B,)``: the result and the report then carry the float,
            quantized and accelerator accuracies.
        dump_graph: pass names after which to write the graph (``"all"``: every pass) into
            ``out_dir/graphs``.
        bench: ``harness`` (the SystemVerilog harness, default) or ``pyuvm``.
        waves: on a failure, repeat the checking run with an VCD wave dump of the failing window
            (``result.simulation.waves`` names the file).
    """
    if throughput is None and cycles is None:
        cycles = 64
    check_mode(synth_mode)  # before hours of simulation
    place_route = synth if place_route is None else place_route
    if max_dsp is None and place_route:
        max_dsp = DSP_BUDGET
        print(
            f"fold: within {DSP_BUDGET} DSPs of the {PART}'s {PART_MULTIPLIERS} multipliers "
            "(--max-dsp sets another budget)",
            flush=True,
        )
    ctx = FlowContext(
        model=quant_model,
        example=samples[:2],
        target_cycles=target_cycles(throughput, cycles),
        max_dsp=max_dsp,
        out_dir=Path(out_dir),
        top=top,
        samples=samples,
        labels=labels,
        seed=seed,
        gap_prob=gap_prob,
        stall_prob=stall_prob,
        dump_graph=frozenset(dump_graph),
        bench=bench,
        waves=waves,
        clock_mhz=clock_mhz,
        synth_mode=synth_mode,
        synth_jobs=synth_jobs,
    )
    names = [n for n in FLOW if (synth or n != "synthesize") and (place_route or n != "place_and_route")]
    g = run_passes(names, ctx)
    assert ctx.design is not None and ctx.simulation is not None
    return FlowResult(g, ctx.design, ctx.simulation, ctx.synthesis, ctx.timing)


def _cli(argv: list[str]) -> int:
    """``sim|synth|pnr <design folder> [--freq MHz] [--flat] [--jobs N]``: re-run the bench (the
    harness, random gaps and stalls), Yosys (out of context per instance, cached; ``--flat``: the
    whole top in one run), or ECP5 place and route on an emitted folder, wherever it is now."""
    parser = argparse.ArgumentParser(prog="python -m mapper.flow", description=_cli.__doc__)
    parser.add_argument("action", choices=("sim", "synth", "pnr"))
    parser.add_argument("folder", type=Path, help="the design folder (holds report.json)")
    parser.add_argument("--freq", type=float, default=200.0, help="pnr: requested clock in MHz")
    parser.add_argument("--flat", action="store_true", help="synth: one Yosys run of the whole top")
    parser.add_argument("--ooc", action="store_true", help="synth: every instance out of context (default: by size)")
    parser.add_argument("--jobs", type=int, default=None, help="synth: Yosys runs at once (default: one per core)")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    try:
        top, sources, memories, report = load_design(folder)
        if args.action == "synth":
            mode = "flat" if args.flat else "ooc" if args.ooc else "auto"
            rep = synthesize_design(folder, top, sources, memories, report.get("instances"), mode, args.jobs)
    except ValueError as err:
        print(f"mapper.flow: {err}", file=sys.stderr)
        return 2
    if args.action == "synth":
        print(f"{top}: LUT {rep['lut']}, FF {rep['ff']}, DSP {rep['dsp']}, BRAM {rep['bram']} ({mode})")
        return 0
    if args.action == "pnr":
        print(place_and_route(top, memories, sources, folder / "pnr", args.freq).summary())
        return 0
    bench_file = folder / "bench" / "network.json"
    if not bench_file.is_file():
        print(f"mapper.flow: {bench_file} is missing: simulate the design once with the flow", file=sys.stderr)
        return 2
    doc = json.loads(bench_file.read_text())
    predicted = report["predicted"]
    timeout = deadlock_timeout(predicted["cycles_per_inference"], predicted["latency_cycles"])
    spec = harness_spec(top, sources, doc, memories)
    samples, expected = np.asarray(doc["samples"], dtype=np.int64), np.asarray(doc["expected"], dtype=np.int64)
    run = run_harness(spec, samples, runner.RunOptions(1, len(samples), 0.3, 0.3, timeout), "cli")
    found = first_mismatch(expected, run.outputs, spec.outputs[0].lanes)
    if run.error or found:
        print(f"{top}: {run.error or found[0]}", file=sys.stderr)
        return 1
    print(f"{top}: {len(samples)} inferences under random stalls, every output integer matches the golden network")
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
