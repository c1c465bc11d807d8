"""Build and run component benches on Verilator through ``cocotb_tools.runner``.

Each (top module, sources, parameters) triple is built once into ``build/sim/<top>-<hash>``; the
hash covers the source texts, the parameters and the Verilator version, so an edit rebuilds and a
repeated run does not. A file lock makes concurrent pytest-xdist workers share one build.

Every build binds ``sim/hdl/stream_checker.sv`` to every stream port of every module of the
design (:mod:`sim.checkers`) and is made with ``--assert``: a design that breaks a stream rule
(valid dropped before the transfer, data changed while stalled) fails its bench with a message
naming the stream and the cycle, whatever the scoreboard sees. ``RunOptions.x_check`` adds the
two-run X check (valid, ready and data while valid must not change with the values given to X).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eda.toolchain import BUILD_ROOT, REPO_ROOT, apply_tool_env, verilator_root
from sim.checkers import X_CHECK_PLUSARGS, checked_sources

SIM_ROOT = BUILD_ROOT / "sim"
#: Output back-pressure modes of the benches (sim.verif.agents.BackPressure).
SINK_MODES = ("random", "after_valid")


class SimulationError(RuntimeError):
    """A build failed or a bench reported a failure; the message says which and why."""


@dataclass(frozen=True)
class RunOptions:
    """How one simulation drives the design.

    Attributes:
        seed: random seed of stimulus, gaps and stalls.
        groups: number of golden-model groups (vectors, beats) to send.
        gap_prob: probability of an idle cycle before each input beat (0..1).
        stall_prob: probability that an output's ready is low in a cycle (0..1).
        timeout_cycles: cycles without any transfer that count as a deadlock.
        sink_mode: ``"random"``: each output's ready is drawn every cycle, independent of the
            stream; ``"after_valid"``: ready rises only in a cycle after one where valid was high
            and no beat moved (a design whose valid waits for ready deadlocks, and the watchdog
            names the port).
        x_check: run the bench twice, giving X other values in the second run, and fail when a
            stream's valid, ready or data (while valid) change (they depend on an unknown).
    """

    seed: int = 1
    groups: int = 300
    gap_prob: float = 0.3
    stall_prob: float = 0.3
    timeout_cycles: int = 5000
    sink_mode: str = "random"
    x_check: bool = False

    def __post_init__(self) -> None:
        for name in ("gap_prob", "stall_prob"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        if self.groups < 1:
            raise ValueError(f"groups must be >= 1, got {self.groups}")
        if self.sink_mode not in SINK_MODES:
            raise ValueError(f"sink_mode must be one of {SINK_MODES}, got {self.sink_mode!r}")


def _hash(sources: Sequence[Path], toplevel: str, parameters: Mapping[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(toplevel.encode())
    h.update(json.dumps({k: parameters[k] for k in sorted(parameters)}, default=str).encode())
    h.update(str(verilator_root()).encode())
    for src in sources:
        h.update(str(src).encode())
        h.update(Path(src).read_bytes())
    return h.hexdigest()[:16]


def _verilog_value(value: Any) -> Any:
    """Parameters as Verilator's -G expects them: strings quoted, booleans as 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return f'"{value}"'
    return value


def _elaboration_message(log: Path) -> str:
    """The first %Error / $error lines of a failed build log."""
    if not log.exists():
        return "(no build log)"
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines()]
    user = [ln for ln in lines if "USERERROR" in ln or "USERFATAL" in ln]
    errors = user or [ln for ln in lines if "%Error" in ln or "%Fatal" in ln]
    return "\n".join(errors[:6]) or "\n".join(lines[-12:])


def build(toplevel: str, sources: Sequence[Path], parameters: Mapping[str, Any]) -> Path:
    """Build (or reuse) the Verilator model of ``toplevel`` with ``parameters``; return its folder.

    Stream checkers are bound to every stream port of every module in ``sources``.
    """
    apply_tool_env()
    from cocotb_tools.runner import get_runner  # noqa: PLC0415 - needs the tool env first

    sources = checked_sources([Path(s).resolve() for s in sources])
    build_dir = SIM_ROOT / f"{toplevel}-{_hash(sources, toplevel, parameters)}"
    build_dir.mkdir(parents=True, exist_ok=True)
    marker = build_dir / ".built"
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return build_dir
        log = build_dir / "build.log"
        runner = get_runner("verilator")
        try:
            runner.build(
                sources=sources,
                hdl_toplevel=toplevel,
                parameters={k: _verilog_value(v) for k, v in parameters.items()},
                build_dir=build_dir,
                build_args=["-j", "1", "--assert", "--x-assign", "unique", "--x-initial", "unique"],
                log_file=log,
            )
        except Exception as err:  # cocotb raises a bare CalledProcessError on a failed build
            raise SimulationError(
                f"build of {toplevel} with {dict(parameters)} failed:\n{_elaboration_message(log)}"
            ) from err
        marker.write_text("ok\n")
    return build_dir


def _failure_messages(results_xml: Path) -> list[str]:
    root = ET.parse(results_xml).getroot()
    messages = []
    for case in root.iter("testcase"):
        for failure in list(case.iter("failure")) + list(case.iter("error")):
            text = failure.get("message") or failure.text or "failed"
            messages.append(f"{case.get('name')}: {text}")
    return messages


def run(
    toplevel: str,
    sources: Sequence[Path],
    tb_module: str,
    parameters: Mapping[str, Any],
    options: RunOptions,
    tag: str = "",
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build if needed, run the bench once, and return its results (transfer counts and cycles).

    ``context`` reaches the bench (``load_run_config()["context"]``) without touching the build:
    constants such as the weights behind a memory image.

    Raises:
        SimulationError: the build failed, or the bench failed (the message carries the reason:
            a broken stream rule first, naming the stream and the cycle, then the bench's own).
    """
    build_dir = build(toplevel, sources, parameters)
    from cocotb_tools.runner import get_runner  # noqa: PLC0415

    run_name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"run-{tag or 'default'}-s{options.seed}-{os.getpid()}")
    test_dir = build_dir / run_name
    test_dir.mkdir(parents=True, exist_ok=True)
    config_path = test_dir / "config.json"
    results_path = test_dir / "results.json"
    config = {
        "parameters": dict(parameters),
        "seed": options.seed,
        "groups": options.groups,
        "gap_prob": options.gap_prob,
        "stall_prob": options.stall_prob,
        "timeout_cycles": options.timeout_cycles,
        "sink_mode": options.sink_mode,
        "results": str(results_path),
        "context": dict(context or {}),
    }
    config_path.write_text(json.dumps(config, indent=1))
    runner = get_runner("verilator")
    what = f"{tb_module} on {toplevel} {dict(parameters)}"
    if not options.x_check:
        return _one_run(runner, tb_module, toplevel, build_dir, test_dir, config_path, options, [], what)
    # Two passes; the second gives X other values and compares every checked stream with the first.
    xtrace = test_dir / "xtrace"
    xtrace.mkdir(exist_ok=True)
    first_error: SimulationError | None = None
    try:
        _one_run(
            runner,
            tb_module,
            toplevel,
            build_dir,
            test_dir,
            config_path,
            options,
            [*X_CHECK_PLUSARGS[0], f"+stream_xtrace_record={xtrace}"],
            what,
        )
    except SimulationError as err:
        first_error = err  # reported after the X pass, which may explain it
    try:
        second = _one_run(
            runner,
            tb_module,
            toplevel,
            build_dir,
            test_dir,
            config_path,
            options,
            [*X_CHECK_PLUSARGS[1], f"+stream_xtrace_compare={xtrace}"],
            what + " (X given other values)",
        )
    except SimulationError as err:
        rule = "stream rule broken"
        if first_error is not None and (rule in str(first_error) or rule not in str(err)):
            raise first_error from None  # the same failure without X: report the plain run
        raise  # an X, or a failure only the second run shows
    if first_error is not None:
        raise first_error
    return second


def _one_run(
    runner: Any,
    tb_module: str,
    toplevel: str,
    build_dir: Path,
    test_dir: Path,
    config_path: Path,
    options: RunOptions,
    plusargs: list[str],
    what: str,
) -> dict[str, Any]:
    results_path = test_dir / "results.json"
    results_path.unlink(missing_ok=True)
    # cocotb's runner ends the process (sys.exit) on a failed bench when it sees pytest, and on a
    # simulator crash always: hide pytest from it and turn an exit into a SimulationError below.
    hidden = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        xml = _run_bench(runner, tb_module, toplevel, build_dir, test_dir, config_path, options, plusargs)
    finally:
        if hidden is not None:
            os.environ["PYTEST_CURRENT_TEST"] = hidden
    failures = _failure_messages(Path(xml)) if xml and Path(xml).exists() else ["the simulator exited early"]
    log = test_dir / "sim.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    broken = stream_rule_messages(text)
    if broken or failures or not results_path.exists():
        tail = "\n".join(text.splitlines()[-30:])
        head = ("stream rule broken:\n  " + "\n  ".join(broken) + "\n") if broken else ""
        raise SimulationError(
            f"{what} failed:\n{head}"
            + ("\n".join(failures) or "no results written")
            + f"\n--- last lines of {log} ---\n{tail}"
        )
    return json.loads(results_path.read_text())


def stream_rule_messages(log: str) -> list[str]:
    """The stream checkers' messages in a simulator log (``stream_checker: <stream>: <rule> ...``)."""
    out = []
    for line in log.splitlines():
        at = line.find("stream_checker: ")
        if at >= 0 and "Assertion failed" in line:
            out.append(line[at + len("stream_checker: ") :].strip())
    return out


def _run_bench(
    runner: Any,
    tb_module: str,
    toplevel: str,
    build_dir: Path,
    test_dir: Path,
    config_path: Path,
    options: RunOptions,
    plusargs: list[str],
) -> str | None:
    """One cocotb run; the results.xml path, or None when the simulator exited without one."""
    xml = test_dir / "results.xml"
    xml.unlink(missing_ok=True)
    try:
        return runner.test(
            test_module=tb_module,
            hdl_toplevel=toplevel,
            hdl_toplevel_lang="verilog",
            build_dir=build_dir,
            test_dir=test_dir,
            results_xml=str(xml),
            extra_env={"CH_TB_CONFIG": str(config_path), "PYTHONPATH": str(REPO_ROOT)},
            seed=options.seed,
            plusargs=plusargs,
            log_file=test_dir / "sim.log",
        )
    except (SystemExit, RuntimeError):  # a failed bench, or a simulator that stopped (an assertion)
        return str(xml) if xml.exists() else None
