"""The ``synthesize`` pass: Yosys ``synth_xilinx`` of the emitted top, for the report's resources."""

from __future__ import annotations

from eda.synth import synthesize as yosys
from mapper.graph import Graph
from mapper.passes.base import FlowContext, flow_pass


@flow_pass("synthesize")
def synthesize(g: Graph, ctx: FlowContext) -> Graph:
    """Synthesize ``ctx.design``; its report as a dict in ``ctx.synthesis``."""
    if ctx.design is None:
        raise ValueError("the synthesize pass needs an emitted design (run emit first)")
    d = ctx.design
    ctx.synthesis = yosys(d.top, d.memory_parameters(), d.sources, d.out_dir / "synth").as_dict()
    return g
