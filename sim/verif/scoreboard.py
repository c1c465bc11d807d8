"""Golden-model prediction and in-order comparison of every output beat, as integers."""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Sequence

from pyuvm import ConfigDB, uvm_component, uvm_subscriber

from sim.verif.agents import ProtocolLog, Transfer
from sim.verif.ports import Beat, BenchSpec


class Predictor(uvm_subscriber):
    """Collects input transfers into groups and turns each group into expected output beats.

    Every group's input beats are kept (``groups_in``) so that a failure can show them.
    """

    def build_phase(self) -> None:
        self.spec: BenchSpec = ConfigDB().get(self, "", "bench")
        self.buffers: dict[str, list[Beat]] = {p.name: [] for p in self.spec.inputs}
        self.expected_port = None  # set by the env: a callable taking (port, beat, group)
        self.groups = 0
        self.groups_in: list[dict[str, list[Beat]]] = []

    def write(self, tt: Transfer) -> None:
        self.buffers[tt.port].append(tt.beat)
        while all(len(self.buffers[p]) >= self.spec.beats_per_group(p) for p in self.buffers):
            group = {}
            for p in self.buffers:
                n = self.spec.beats_per_group(p)
                group[p], self.buffers[p] = self.buffers[p][:n], self.buffers[p][n:]
            self.groups_in.append(group)
            outputs = self.spec.model(group)
            for port, beats in outputs.items():
                for beat in beats:
                    self.expected_port(port, list(beat), self.groups)
            self.groups += 1


def _short(beats: Sequence[Beat], limit: int = 6) -> str:
    shown = ", ".join(str(list(b)) for b in beats[:limit])
    return f"[{shown}{', ...' if len(beats) > limit else ''}] ({len(beats)} beats)"


def line_up(
    port: str,
    expected: Sequence[tuple[Beat, int]],
    actual: Sequence[tuple[Beat, int]],
    window: int = 400,
    max_lines: int = 10,
) -> tuple[list[str], int]:
    """Describe how the beats received on ``port`` differ from the expected ones.

    Args:
        expected: (beat, group) in prediction order.
        actual: (beat, cycle) in arrival order.
        window: beats lined up after the first difference.
        max_lines: differences described at most.

    Returns:
        (lines, group of the first wrong or missing beat, or -1). The two sequences are lined up
        (longest matching runs, ``difflib``) from their first difference on, so that a dropped
        beat is one "missing" line followed by matching beats, an inserted beat one "extra" line,
        and a wrong beat names its lanes. Empty when the sequences are equal.
    """
    first = next(
        (i for i in range(min(len(expected), len(actual))) if expected[i][0] != actual[i][0]),
        min(len(expected), len(actual)),
    )
    if first == len(expected) == len(actual):
        return [], -1
    a = [tuple(b) for b, _ in expected[first : first + window]]
    b = [tuple(beat) for beat, _ in actual[first : first + window]]
    lines: list[str] = []
    first_group = -1
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        ei = first + i1  # index of the first expected beat of the op
        if op == "equal":
            if lines:
                lines.append(f"{port}: expected beats {ei}..{first + i2 - 1} then arrive in order")
            continue
        if op == "delete":
            groups = sorted({expected[k][1] for k in range(ei, first + i2)})
            span = f"group {groups[0]}" + (f"..{groups[-1]}" if len(groups) > 1 else "")
            lines.append(
                f"{port}: missing {i2 - i1} beat(s): expected beats {ei}..{first + i2 - 1} ({span}) "
                f"never arrived: {_short(a[i1:i2])}"
            )
            first_group = groups[0] if first_group < 0 else first_group
        elif op == "insert":
            lines.append(
                f"{port}: {j2 - j1} extra beat(s) at cycle {actual[first + j1][1]}, before expected beat "
                f"{ei}: {_short(b[j1:j2])}"
            )
        else:
            for k in range(min(i2 - i1, j2 - j1)):
                want, group = expected[ei + k]
                got, cycle = actual[first + j1 + k]
                lanes = [n for n, (x, y) in enumerate(zip(got, want)) if x != y]
                lines.append(
                    f"{port}: beat {ei + k} at cycle {cycle} differs in lanes {lanes}: got {list(got)}, "
                    f"expected {list(want)}"
                )
                first_group = group if first_group < 0 else first_group
            if i2 - i1 > j2 - j1:
                lines.append(f"{port}: and {i2 - i1 - (j2 - j1)} expected beat(s) missing after those")
            elif j2 - j1 > i2 - i1:
                lines.append(f"{port}: and {j2 - j1 - (i2 - i1)} extra beat(s) after those")
        if len(lines) >= max_lines:
            break
    if len(expected) > first + window or len(actual) > first + window:
        lines.append(f"{port}: (beats {first}..{first + window - 1} lined up)")
    return lines, first_group


class Scoreboard(uvm_component):
    """Compares each output port's beats with the predicted ones, in order, lane by lane.

    Fails on any mismatching, missing, extra or reordered beat.

    An output beat may be seen before the input transfer that predicts it: the monitors of one
    cycle publish in no fixed order (a combinational design emits in the cycle its input
    arrives), and a fork hands a beat to a fast consumer before the slowest one releases the
    input. Such a beat waits in ``early`` and is compared, in order, when its prediction arrives;
    one that no prediction ever claims is reported as extra.

    The report lines up the expected and received beats of a failing port around its first
    difference, so that a dropped beat shows as one missing beat (and an inserted one as one extra
    beat) rather than as every later beat shifted, and it shows the inputs of the group the first
    wrong or missing beat belongs to. A broken handshake rule, seen by a monitor, is reported first.
    """

    MAX_REPORTED = 10
    WINDOW = 400  # beats lined up after the first difference

    def build_phase(self) -> None:
        self.spec = ConfigDB().get(self, "", "bench")
        try:
            self.protocol: ProtocolLog = ConfigDB().get(None, "", "protocol")
        except Exception:  # noqa: BLE001 - pyuvm raises its own UVMConfigItemNotFound
            self.protocol = ProtocolLog()
        self.expected: dict[str, deque[Beat]] = {p.name: deque() for p in self.spec.outputs}
        self.early: dict[str, deque[Transfer]] = {p.name: deque() for p in self.spec.outputs}
        self.matched: dict[str, int] = {p.name: 0 for p in self.spec.outputs}
        self.errors: list[str] = []
        self.expected_log: dict[str, list[tuple[Beat, int]]] = {p.name: [] for p in self.spec.outputs}
        self.actual_log: dict[str, list[Transfer]] = {p.name: [] for p in self.spec.outputs}
        self.groups_in: list[dict[str, list[Beat]]] = []  # set by the env (the predictor's)
        self.export = uvm_subscriber.uvm_AnalysisImp("actual_export", self, self.write_actual)

    def write_expected(self, port: str, beat: Beat, group: int = -1) -> None:
        if port not in self.expected:
            raise KeyError(f"golden model produced beats for unknown port {port!r}")
        self.expected_log[port].append((beat, group))
        if self.early[port]:
            self._compare(self.early[port].popleft(), beat)
        else:
            self.expected[port].append(beat)

    def write_actual(self, tt: Transfer) -> None:
        self.actual_log[tt.port].append(tt)
        queue = self.expected[tt.port]
        if not queue:
            self.early[tt.port].append(tt)  # compared when its prediction arrives
            return
        self._compare(tt, queue.popleft())

    def _compare(self, tt: Transfer, want: Beat) -> None:
        if want != tt.beat:
            lanes = [i for i, (a, b) in enumerate(zip(tt.beat, want)) if a != b]
            self.errors.append(
                f"{tt.port}: beat {self.matched[tt.port]} at cycle {tt.cycle} differs in lanes "
                f"{lanes}: got {tt.beat}, expected {want}"
            )
        self.matched[tt.port] += 1

    def outstanding(self) -> dict[str, int]:
        """Expected beats not yet seen, per output port."""
        return {p: len(q) for p, q in self.expected.items()}

    def _group_inputs(self, group: int) -> str:
        if not 0 <= group < len(self.groups_in):
            return ""
        ins = self.groups_in[group]
        return f"inputs of group {group}: " + "; ".join(f"{p}={_short(b)}" for p, b in ins.items())

    def describe_port(self, port: str) -> list[str]:
        """What differs on ``port`` (see :func:`line_up`), with the inputs of the first failing group."""
        lines, group = line_up(
            port,
            self.expected_log[port],
            [(t.beat, t.cycle) for t in self.actual_log[port]],
            self.WINDOW,
            self.MAX_REPORTED,
        )
        if group >= 0 and (text := self._group_inputs(group)):
            lines.append(text)
        return lines

    def check_phase(self) -> None:
        if self.protocol.errors:
            raise AssertionError("handshake rule broken:\n  " + "\n  ".join(self.protocol.errors[:10]))
        problems = []
        for port in self.expected:
            problems += self.describe_port(port)
        if problems:
            shown = problems[: 3 * self.MAX_REPORTED]
            more = len(problems) - len(shown)
            summary = "\n  ".join(shown) + (f"\n  ... and {more} more" if more else "")
            raise AssertionError(f"scoreboard: {len(problems)} problem(s):\n  {summary}")
        self.logger.info(f"scoreboard: all beats match {dict(self.matched)}")
