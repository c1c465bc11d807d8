"""The ``emit`` and ``report`` passes: a folded graph becomes a self-contained design folder.

``emit`` writes (every file atomically)::

    out_dir/
      rtl/<top>.sv            top level: one instance per node, ready/valid streams between them
      rtl/<top>_axis.sv       the top behind AXI4-Stream ports (mapper/emit/axis.py)
      rtl/lib/<kind>/*.sv     copies of the library files the top uses
      mem/<node>_*.memh       $readmemh weight, bias and table images (sim/memimage.py layouts)
      <top>.core              FuseSoC CAPI2 core: lint / sim / synth targets
      report.md, report.json  per node: component, parameters, lanes, predicted cycles, resources;
                              report.json also the instances out-of-context synthesis needs

The top's ports follow docs/contracts.md: ``clk``, ``rst``, ``data_in`` / ``data_out`` packed
``[LANES-1:0][WIDTH-1:0]`` beats with ``_valid`` / ``_ready``. Each memory image is a top-level
string parameter ``<NODE>_WEIGHTS_FILE`` / ``<NODE>_BIAS_FILE`` / ``<NODE>_TABLE_FILE`` whose
default is the image's path relative to the design folder (``mem/<node>_weights.memh``);
``$readmemh`` resolves it against the tool's working folder, so a tool run from the design folder
(or a FuseSoC build, whose core copies the images into its work folder) finds them, and the flow's
own tools pass the absolute paths. Nothing in the folder names an absolute path: it can be moved
or copied as a whole (:func:`load_design` reads one back). ``report`` rewrites the reports with
what ``simulate``, ``synthesize`` and ``place_and_route`` measured.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.atomic import write_text
from eda.fusesoc_core import capi2_core
from golden.fixed import FixedType
from mapper import components
from mapper.components.base import RTL_ROOT
from mapper.emit.axis import render_axis_wrapper
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
        axis_file: the AXI4-Stream wrapper (not in ``sources``: the flow simulates and
            synthesizes the top itself; the core lists it).
        in_lanes, in_format, out_lanes, out_format: the ports' beats.
        in_beats, out_beats: beats per inference on the input and output ports.
        memories: node -> memory parameter -> image path.
        instances: per instance of the top (graph order): ``instance`` (node), ``module``,
            ``parameters`` (memory images as paths relative to ``out_dir``), ``sources`` (the
            library copies it needs, relative) and ``cost`` (estimated LUT + FF): what
            out-of-context synthesis (:mod:`mapper.synthesize`) needs, recorded in the report.
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
    axis_file: Path | None = None
    instances: list[dict[str, Any]] = field(default_factory=list)

    def memory_parameters(self) -> dict[str, str]:
        """The top's parameters that name memory images, with their absolute paths."""
        return {memory_parameter(n, k): p for n, files in self.memories.items() for k, p in files.items()}

    def files(self) -> dict[str, object]:
        """What the report records so that the design can be re-simulated and re-synthesized:
        sources and memory images relative to the design folder."""
        rel = lambda p: Path(p).relative_to(self.out_dir).as_posix()  # noqa: E731
        return {
            "sources": [rel(p) for p in self.sources],
            "memory_parameters": {k: rel(v) for k, v in self.memory_parameters().items()},
            "instances": self.instances,
        }


def load_design(folder: Path) -> tuple[str, list[Path], dict[str, str], dict[str, Any]]:
    """(top, sources, memory parameters with absolute paths, the whole report) of the design an
    earlier run emitted into ``folder`` (wherever it has been moved since); a missing or damaged
    report is a ValueError saying so."""
    folder = Path(folder).resolve()
    path = folder / "report.json"
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        top = str(report["top"])
        sources = [folder / s for s in report["sources"]]
        memories = {str(k): str(folder / v) for k, v in report["memory_parameters"].items()}
    except FileNotFoundError:
        raise ValueError(f"no design in {folder}: {path.name} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
        raise ValueError(f"{path} is damaged: emit the design again") from None
    missing = [str(p) for p in [*sources, *map(Path, memories.values())] if not p.is_file()]
    if missing:
        raise ValueError(f"{folder} is incomplete: {missing[0]} is missing (emit the design again)")
    return top, sources, memories, report


def render_core(top: str, files: list[str], data: list[str]) -> str:
    """FuseSoC CAPI2 core of the design; ``files`` (RTL) and ``data`` (memory images, the report and
    the bench description) are relative to the core's folder. FuseSoC exports the core's files
    into ``src/<core>/`` of its work folder, which is where the hooks find the design."""
    name = f"chop:generated:{top}:0.1.0"
    exported = "src/" + re.sub(r"[^A-Za-z0-9_.]", "_", name)
    return capi2_core(
        name=name,
        description=f"Dataflow accelerator {top} emitted by the chop-hw mapper",
        comment=GENERATED,
        files=files,
        top=top,
        sim_cmd=["python3", "-m", "mapper.flow", "sim", exported],
        synth_cmd=["python3", "-m", "mapper.flow", "synth", exported],
        data_files=data,
    )


def write_core(design: Design) -> Path:
    """(Re)write the design's core, listing the data files the folder holds now."""
    rel = lambda p: p.relative_to(design.out_dir).as_posix()  # noqa: E731
    data = [rel(Path(p)) for p in design.memory_parameters().values()]
    data += [name for name in ("report.json", "bench/network.json") if (design.out_dir / name).is_file()]
    rtl = [rel(p) for p in design.sources] + ([rel(design.axis_file)] if design.axis_file else [])
    return write_text(design.core_file, render_core(design.top, rtl, data))


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
    relative = {n: {k: Path(p).relative_to(out_dir).as_posix() for k, p in f.items()} for n, f in memories.items()}
    instances = [
        {
            "instance": n.name,
            "module": n.component,
            "parameters": {
                **{k: (int(v) if isinstance(v, bool) else v) for k, v in n.params.items()},
                **relative[n.name],
            },
            "sources": [
                (lib_dir / s.relative_to(RTL_ROOT)).relative_to(out_dir).as_posix()
                for s in components.sources([n.component])
            ],
            "cost": n.resources.lut + n.resources.ff,
        }
        for n in ops
    ]
    top_file = write_text(out_dir / "rtl" / f"{top}.sv", render_top(g, top, relative))
    inp, out = g[INPUT], g[OUTPUT]
    defaults = {memory_parameter(n, k): p for n, f in relative.items() for k, p in f.items()}
    axis_file = write_text(
        out_dir / "rtl" / f"{top}_axis.sv",
        render_axis_wrapper(
            top,
            inp.fold.out_lanes,
            inp.formats.data_out,
            out.fold.in_lanes,
            out.formats.data_in,
            int(out.cycles),
            defaults,
        ),
    )
    design = Design(
        top=top,
        out_dir=out_dir,
        top_file=top_file,
        sources=[*copies, top_file],
        core_file=out_dir / f"{top}.core",
        in_lanes=inp.fold.out_lanes,
        in_format=inp.formats.data_out,
        out_lanes=out.fold.in_lanes,
        out_format=out.formats.data_in,
        in_beats=int(inp.cycles),
        out_beats=int(out.cycles),
        memories=memories,
        axis_file=axis_file,
        instances=instances,
    )
    write_core(design)
    return design


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
        timing=ctx.timing,
        accuracy=None if sim is None else sim.accuracy,
    )
    write_core(ctx.design)  # now with the report and the bench description
    return g
