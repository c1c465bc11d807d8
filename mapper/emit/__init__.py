"""The ``emit`` and ``report`` passes: a folded graph becomes a self-contained design folder.

``emit`` writes (every file atomically)::

    out_dir/
      rtl/<top>.sv            top level: one instance per node, ready/valid streams between them
      rtl/lib/<kind>/*.sv     copies of the library files the top uses
      mem/<node>_*.memh       $readmemh weight, bias and table images (sim/memimage.py layouts)
      <top>.core              FuseSoC CAPI2 core: lint / sim / synth targets
      report.md, report.json  per node: component, parameters, lanes, predicted cycles, resources

The top's ports follow docs/contracts.md: ``clk``, ``rst``, ``data_in`` / ``data_out`` packed
``[LANES-1:0][WIDTH-1:0]`` beats with ``_valid`` / ``_ready``. Each memory image is a top-level
string parameter ``<NODE>_WEIGHTS_FILE`` / ``<NODE>_BIAS_FILE`` / ``<NODE>_TABLE_FILE`` whose
default is the image's absolute path (``$readmemh`` resolves relative paths against the tool's
working folder); override them to use the images elsewhere (the synthesis flow does, to mount
them into Yosys). ``report`` rewrites the reports with what ``simulate`` and ``synthesize`` measured.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from common.atomic import write_text
from eda.fusesoc_core import capi2_core
from golden.fixed import FixedType
from mapper import components
from mapper.components.base import RTL_ROOT
from mapper.emit.report import write_report
from mapper.emit.top import GENERATED, memory_parameter, render_top
from mapper.graph import INPUT, OUTPUT, Graph
from mapper.passes.base import FlowContext, flow_pass


@dataclass
class Design:
    """An emitted accelerator.

    Attributes:
        top: top module name.
        out_dir: the design folder.
        top_file: the top-level SystemVerilog file.
        sources: every RTL file of the design, dependencies first, the top last.
        core_file: the FuseSoC core.
        in_lanes, in_format, out_lanes, out_format: the ports' beats.
        in_beats, out_beats: beats per inference on the input and output ports.
        memories: node -> memory parameter -> image path.
    """

    top: str
    out_dir: Path
    top_file: Path
    sources: list[Path]
    core_file: Path
    in_lanes: int
    in_format: FixedType
    out_lanes: int
    out_format: FixedType
    in_beats: int
    out_beats: int
    memories: dict[str, dict[str, str]] = field(default_factory=dict)

    def memory_parameters(self) -> dict[str, str]:
        """The top's parameters that name memory images, with their (absolute) paths."""
        return {memory_parameter(n, k): p for n, files in self.memories.items() for k, p in files.items()}

    def files(self) -> dict[str, object]:
        """What the report records so that the design can be re-simulated and re-synthesized."""
        return {"sources": [str(p) for p in self.sources], "memory_parameters": self.memory_parameters()}


def render_core(top: str, files: list[str], out_dir: Path) -> str:
    """FuseSoC CAPI2 core of the design; ``files`` are relative to the core's folder."""
    return capi2_core(
        name=f"chop:generated:{top}:0.1.0",
        description=f"Dataflow accelerator {top} emitted by the chop-hw mapper",
        comment=GENERATED,
        files=files,
        top=top,
        sim_cmd=["python3", "-m", "mapper.flow", "sim", str(out_dir)],
        synth_cmd=["python3", "-m", "mapper.flow", "synth", str(out_dir)],
    )


def emit(g: Graph, out_dir: Path, top: str = "accel_top") -> Design:
    """Write the design folder for the folded, annotated graph ``g`` (see the module docstring)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", top):
        raise ValueError(f"top module name {top!r} is not a SystemVerilog identifier")
    out_dir = Path(out_dir).resolve()
    ops = [n for n in g.operations()]
    mem_dir = out_dir / "mem"
    if mem_dir.exists():
        shutil.rmtree(mem_dir)
    memories = {n.name: components.get(n.component).memories(n, n.fold, mem_dir) for n in ops}
    lib_dir = out_dir / "rtl" / "lib"
    if lib_dir.exists():
        shutil.rmtree(lib_dir)
    copies = []
    for src in components.sources(list(dict.fromkeys(n.component for n in ops))):
        copies.append(write_text(lib_dir / src.relative_to(RTL_ROOT), src.read_text()))
    top_file = write_text(out_dir / "rtl" / f"{top}.sv", render_top(g, top, memories))
    sources = [*copies, top_file]
    rel = [p.relative_to(out_dir).as_posix() for p in sources]
    core_file = write_text(out_dir / f"{top}.core", render_core(top, rel, out_dir))
    inp, out = g[INPUT], g[OUTPUT]
    return Design(
        top=top,
        out_dir=out_dir,
        top_file=top_file,
        sources=sources,
        core_file=core_file,
        in_lanes=inp.fold.out_lanes,
        in_format=inp.formats.data_out,
        out_lanes=out.fold.in_lanes,
        out_format=out.formats.data_in,
        in_beats=int(inp.cycles),
        out_beats=int(out.cycles),
        memories=memories,
    )


@flow_pass("emit")
def emit_pass(g: Graph, ctx: FlowContext) -> Graph:
    """Emit the design into ``ctx.out_dir`` (``ctx.design``)."""
    if ctx.out_dir is None:
        raise ValueError("the emit pass needs ctx.out_dir")
    ctx.design = emit(g, ctx.out_dir, ctx.top)
    return g


@flow_pass("report")
def report_pass(g: Graph, ctx: FlowContext) -> Graph:
    """Write report.json / report.md with the predictions and whatever was measured."""
    if ctx.design is None:
        raise ValueError("the report pass needs an emitted design (run emit first)")
    sim = ctx.simulation
    write_report(
        ctx.design.out_dir,
        g,
        ctx.design.top,
        ctx.design.files(),
        simulation=None if sim is None else sim.summary(g),
        synthesis=ctx.synthesis,
        accuracy=None if sim is None else sim.accuracy,
    )
    return g
