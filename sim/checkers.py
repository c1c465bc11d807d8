"""Stream protocol checkers bound to every stream port of every module of a design.

A stream port is a port ``P`` next to ports ``P_valid`` and ``P_ready`` (``data_in``,
``data_out_1``, ...), in a module that also has ``clk`` and ``rst`` ports. :func:`bind_file` reads
the ANSI port lists of the given SystemVerilog files and writes one ``bind`` statement per stream
port, attaching ``sim/hdl/stream_checker_bus.sv`` to every instance of the module, at any depth of
the hierarchy. A port whose valid and ready are vectors of ``N`` bits is ``N`` streams: sliced
when the data's outermost packed dimension is the valid's (a join's inputs: ``[N-1:0][...]``),
shared otherwise (a fork's consumers all see one data signal).

The checkers are verification only (``sim/hdl/``). Build with ``verilator --assert``;
:data:`CHECKER_SOURCES` lists the files to compile next to the bind file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eda.toolchain import BUILD_ROOT, REPO_ROOT

HDL_ROOT = REPO_ROOT / "sim" / "hdl"
#: Files that define the checkers (compile them with any bind file of this module).
CHECKER_SOURCES = (HDL_ROOT / "stream_checker.sv", HDL_ROOT / "stream_checker_bus.sv")
BIND_ROOT = BUILD_ROOT / "checkers"
#: Verilator plusargs of the two passes of the X check (sim/hdl/stream_checker.sv): uninitialised
#: state all zeros, then all ones; explicit X assignments (--x-assign unique) take values drawn from
#: the seed, so the seeds differ too (a w-bit X assignment then differs between the passes with
#: probability 1 - 2**-w). The first pass adds +stream_xtrace_record=<folder>, the second
#: +stream_xtrace_compare=<folder>.
X_CHECK_PLUSARGS = (
    ("+verilator+rand+reset+0", "+verilator+seed+1"),
    ("+verilator+rand+reset+1", "+verilator+seed+2"),
)

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_MODULE = re.compile(r"\bmodule\s+(\w+)")
_PORT = re.compile(r"\b(input|output|inout)\s+(?:(?:logic|wire|bit|var)\s+)?(?:signed\s+)?((?:\[[^\]]*\]\s*)*)(\w+)")


@dataclass(frozen=True)
class Port:
    """One port of a module header: direction, packed dimensions (text, spaces removed), name."""

    direction: str
    dims: tuple[str, ...]
    name: str


@dataclass(frozen=True)
class StreamPort:
    """A stream port of a module: ``data``, ``<data>_valid``, ``<data>_ready``.

    Attributes:
        module: the module that has the port.
        name: the data port (the stream's name).
        sliced: with vector valid/ready, each stream owns a slice of data (else all share it).
    """

    module: str
    name: str
    sliced: bool


def _balanced(text: str, start: int) -> int:
    """Index just past the parenthesis that closes the one at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError("unbalanced parentheses in a module header")


def module_ports(text: str) -> dict[str, list[Port]]:
    """Module name -> its ANSI header ports, for every module defined in ``text``."""
    text = _COMMENT.sub("", text)
    out: dict[str, list[Port]] = {}
    for match in _MODULE.finditer(text):
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith("#", pos):  # parameter list
            pos = _balanced(text, text.index("(", pos))
            while pos < len(text) and text[pos].isspace():
                pos += 1
        if not text.startswith("(", pos):
            continue
        header = text[pos : _balanced(text, pos)]
        ports = [
            Port(m.group(1), tuple(re.findall(r"\[([^\]]*)\]", re.sub(r"\s+", "", m.group(2)))), m.group(3))
            for m in _PORT.finditer(header)
        ]
        out[match.group(1)] = ports
    return out


def stream_ports(module: str, ports: Sequence[Port]) -> list[StreamPort]:
    """The stream ports of one module (empty when it lacks ``clk`` or ``rst``)."""
    by_name = {p.name: p for p in ports}
    if "clk" not in by_name or "rst" not in by_name:
        return []
    streams = []
    for p in ports:
        valid, ready = by_name.get(f"{p.name}_valid"), by_name.get(f"{p.name}_ready")
        if valid is None or ready is None:
            continue
        sliced = bool(valid.dims) and bool(p.dims) and p.dims[0] == valid.dims[0]
        streams.append(StreamPort(module, p.name, sliced))
    return streams


def bind_statements(sources: Sequence[Path]) -> list[str]:
    """One ``bind`` statement per stream port of every module in ``sources``."""
    lines = []
    for src in sources:
        for module, ports in module_ports(Path(src).read_text()).items():
            for s in stream_ports(module, ports):
                lines.append(
                    f'bind {module} stream_checker_bus #(.NAME("{module}.{s.name}"), '
                    f".WIDTH($bits({s.name})), .N($bits({s.name}_valid)), .SLICED(1'b{int(s.sliced)}), "
                    f".READY_BITS($bits({s.name}_ready))) "
                    f"u_stream_check_{s.name} (.clk(clk), .rst(rst), .data({s.name}), "
                    f".valid({s.name}_valid), .ready({s.name}_ready));"
                )
    return lines


def bind_file(sources: Sequence[Path], folder: Path | None = None) -> Path:
    """Write (or reuse) the bind file of ``sources`` and return its path.

    The file name is a hash of its text, so designs that share modules share the file and an
    edit of a port list makes a new one.
    """
    body = "\n".join(bind_statements(sources))
    text = (
        "// Generated by sim.checkers: stream protocol checkers bound to every stream port.\n"
        "// Verification only; compile with sim/hdl/stream_checker*.sv and verilator --assert.\n" + body + "\n"
    )
    folder = Path(folder or BIND_ROOT)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"binds-{hashlib.sha256(text.encode()).hexdigest()[:16]}.sv"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def checked_sources(sources: Sequence[Path]) -> list[Path]:
    """``sources`` followed by the checker modules and the bind file for them."""
    sources = [Path(s) for s in sources]
    return [*sources, *CHECKER_SOURCES, bind_file(sources)]
