"""Combinational ready paths: does a module's ``data_in*_ready`` depend on ``data_out_ready`` in
the same cycle? (Issue 8: no ready path may cross more than one component.)

Yosys elaborates the module (``read_slang``, ``proc``, ``flatten``, ``memory``) and selects the
forward cone of ``data_out_ready`` that does not pass through a flip-flop; any input-ready wire in
it is a combinational ready path.

    python -m mapper.library_cli ready-paths stream_join OUT_REG=0   # -> data_in_ready depends on data_out_ready
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eda.toolchain import BUILD_ROOT
from eda.yosys import run_yosys

#: Cell types that end a combinational cone (every Yosys flip-flop after ``proc`` and ``memory``).
_FLOPS = "$dff,$dffe,$sdff,$sdffe,$sdffce,$adff,$adffe,$aldff,$aldffe,$dffsr,$dffsre"


def combinational_ready_paths(
    top: str, parameters: dict[str, Any], sources: list[Path], out_dir: Path | None = None
) -> list[str]:
    """The input-ready wires of ``top`` that ``data_out_ready`` reaches without a register."""
    tag = "-".join(f"{k}{v}" for k, v in parameters.items() if not isinstance(v, str))[:80]
    out_dir = Path(out_dir or BUILD_ROOT / "ready_paths" / (f"{top}-{tag}" if tag else top)).resolve()
    run_yosys(
        top,
        parameters,
        sources,
        out_dir,
        [
            "proc",
            "flatten",
            "memory",
            "opt_clean",
            f"tee -q -o /out/ready.txt select -list w:data_out_ready %co*:-{_FLOPS} w:data_in*ready %i",
        ],
        expect="ready.txt",
        log_name="ready.log",
    )
    return [ln.split("/", 1)[-1].strip() for ln in (out_dir / "ready.txt").read_text().splitlines() if ln.strip()]
