"""The pass registry: a pass is a function ``(graph, ctx) -> graph`` registered by name.

:class:`FlowContext` carries the inputs a pass list needs (the model, the target, the output
folder, the samples) and what passes produce besides the graph (the emitted design, simulation and
synthesis results). The pass lists and the runner are in :mod:`mapper.flow`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from mapper.graph import Graph

if TYPE_CHECKING:
    from mapper.emit import Design
    from mapper.simulate import SimulationResult

Pass = Callable[[Graph, "FlowContext"], Graph]

#: pass name -> function, in registration order.
PASSES: dict[str, Pass] = {}


def flow_pass(name: str) -> Callable[[Pass], Pass]:
    """Register a pass under ``name``."""

    def add(fn: Pass) -> Pass:
        if name in PASSES:
            raise ValueError(f"pass {name!r} registered twice")
        PASSES[name] = fn
        return fn

    return add


@dataclass
class FlowContext:
    """Inputs of a pass list and what its passes produce besides the graph.

    Attributes:
        model: the quantized PyTorch model (``quant`` modules).
        example: a float input batch for tracing shapes (``capture``).
        target_cycles: cycles per inference to fold for (``fold``).
        max_dsp: the estimated DSP48E1 budget of ``fold`` (None: none): when the plan for
            ``target_cycles`` needs more, the fastest slower plan that fits is taken.
        out_dir: the design folder (``emit``).
        top: top module name.
        samples, labels: float inputs ``(B, ...)`` to simulate and their classes (optional).
        seed, gap_prob, stall_prob: the random input gaps and output stalls of the checking run.
        bench: the simulate pass's bench, ``harness`` (SystemVerilog, default) or ``pyuvm``.
        waves: on a failure, repeat the checking run with an VCD wave dump of the failing window.
        dump_graph: pass names after which to write the graph (``"all"``: after every pass).
        dump_dir: where the graph dumps go (default ``out_dir / "graphs"``).
        clock_mhz: the clock ``place_and_route`` asks nextpnr for (MHz).
        synth_mode: ``auto`` (by size), ``ooc`` (per instance, cached, parallel) or ``flat``
            (:mod:`mapper.synthesize`).
        synth_jobs: Yosys runs at once in ``ooc`` mode (None: one per core).
        design, simulation, synthesis, timing: results of ``emit``, ``simulate``, ``synthesize``,
            ``place_and_route``.
    """

    model: nn.Module | None = None
    example: torch.Tensor | None = None
    target_cycles: int = 64
    max_dsp: int | None = None
    out_dir: Path | None = None
    top: str = "accel_top"
    samples: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    seed: int = 1
    gap_prob: float = 0.3
    stall_prob: float = 0.3
    bench: str = "harness"
    waves: bool = False
    dump_graph: frozenset[str] = frozenset()
    dump_dir: Path | None = None
    clock_mhz: float = 200.0
    synth_mode: str = "auto"
    synth_jobs: int | None = None
    design: Design | None = None
    simulation: SimulationResult | None = None
    synthesis: dict[str, Any] | None = field(default=None)
    timing: dict[str, Any] | None = field(default=None)
