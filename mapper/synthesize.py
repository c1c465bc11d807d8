"""The ``synthesize`` pass: Yosys ``synth_xilinx`` resources of the emitted top, in one of two modes.

* ``auto`` (default): ``flat`` for a design whose estimated LUT + FF count is below
  :data:`AUTO_OOC_CELLS` (one Yosys start-up instead of one per instance, and the exact figure),
  ``ooc`` above it (where one flat run takes many minutes).
* ``ooc``: every distinct instance of the top out of context, cached on disk and run in
  parallel (:func:`eda.ooc.synthesize_ooc`); the top's figures are the sum over its instances
  (the top itself is only wires). A second run of the same design, or a design sharing
  instances with an earlier one, reads them from the cache.
* ``flat``: one ``synth_xilinx`` of the whole top (:func:`eda.synth.synthesize`), which lets
  Yosys optimise across instance boundaries: the figure for a final report.

Both write ``<design>/synth/report.json`` and ``report.md``; the returned dict carries ``mode``
and the keys lut, ff, dsp, bram, lutram, cells, seconds (and, for ``ooc``, ``instances``: the
per-instance table).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.errors import ConfigError
from eda.ooc import Instance, synthesize_ooc
from eda.synth import synthesize as yosys
from mapper.graph import Graph
from mapper.passes.base import FlowContext, flow_pass

#: The synthesis modes, the default first.
SYNTH_MODES = ("auto", "ooc", "flat")

#: ``auto`` synthesizes out of context from this many estimated LUTs + FFs on (a flat run of such
#: a design takes minutes; below it, the per-instance Yosys start-ups cost more than they save).
AUTO_OOC_CELLS = 20_000


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`SYNTH_MODES`, else a one-line ConfigError."""
    if mode not in SYNTH_MODES:
        raise ConfigError(f"synthesis mode {mode!r} is not known; use one of {', '.join(SYNTH_MODES)}")
    return mode


def design_instances(records: Any, folder: Path) -> list[Instance]:
    """The instances of the design in ``folder`` from its report's ``instances`` records (paths
    relative to the folder, :class:`mapper.emit.Design`); missing or damaged records are a
    ValueError saying to emit the design again."""
    folder = Path(folder).resolve()
    try:
        return [
            Instance(
                name=str(r["instance"]),
                module=str(r["module"]),
                parameters={
                    k: (str(folder / v) if k.endswith("_FILE") and v else v) for k, v in r["parameters"].items()
                },
                sources=tuple(folder / s for s in r["sources"]),
                cost=float(r["cost"]),
            )
            for r in records
        ]
    except (KeyError, TypeError, AttributeError, ValueError):
        raise ValueError(f"{folder / 'report.json'} lists no instances to synthesize: emit the design again") from None


def synthesize_design(
    folder: Path,
    top: str,
    sources: list[Path],
    memories: dict[str, str],
    records: Any,
    mode: str = "auto",
    jobs: int | None = None,
    progress: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Synthesize the design emitted into ``folder`` in ``mode``; reports into ``folder/synth``.

    ``auto``: by its size (:data:`AUTO_OOC_CELLS`); ``ooc``: the instances ``records`` of its
    report, ``jobs`` Yosys runs at once; ``flat``: ``top`` from ``sources`` with the memory
    parameters ``memories`` (absolute paths)."""
    out = Path(folder) / "synth"
    instances = design_instances(records, folder)
    if check_mode(mode) == "auto":
        mode = "ooc" if sum(i.cost for i in instances) >= AUTO_OOC_CELLS else "flat"
    if mode == "flat":
        return {"mode": "flat", **yosys(top, memories, sources, out).as_dict()}
    return synthesize_ooc(top, instances, out, jobs=jobs, progress=progress).as_dict()


@flow_pass("synthesize")
def synthesize(g: Graph, ctx: FlowContext) -> Graph:
    """Synthesize ``ctx.design`` in ``ctx.synth_mode``; its report as a dict in ``ctx.synthesis``."""
    if ctx.design is None:
        raise ValueError("the synthesize pass needs an emitted design (run emit first)")
    d = ctx.design
    ctx.synthesis = synthesize_design(
        d.out_dir, d.top, d.sources, d.memory_parameters(), d.instances, ctx.synth_mode, ctx.synth_jobs
    )
    return g
