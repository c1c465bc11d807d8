"""Golden-model prediction and in-order comparison of every output beat, as integers."""

from __future__ import annotations

from collections import deque

from pyuvm import ConfigDB, uvm_component, uvm_subscriber

from sim.verif.agents import Transfer
from sim.verif.ports import Beat, BenchSpec


class Predictor(uvm_subscriber):
    """Collects input transfers into groups and turns each group into expected output beats."""

    def build_phase(self) -> None:
        self.spec: BenchSpec = ConfigDB().get(self, "", "bench")
        self.buffers: dict[str, list[Beat]] = {p.name: [] for p in self.spec.inputs}
        self.expected_port = None  # set by the env: a callable taking (port, beat)
        self.groups = 0

    def write(self, tt: Transfer) -> None:
        self.buffers[tt.port].append(tt.beat)
        while all(len(self.buffers[p]) >= self.spec.beats_per_group(p) for p in self.buffers):
            group = {}
            for p in self.buffers:
                n = self.spec.beats_per_group(p)
                group[p], self.buffers[p] = self.buffers[p][:n], self.buffers[p][n:]
            outputs = self.spec.model(group)
            for port, beats in outputs.items():
                for beat in beats:
                    self.expected_port(port, list(beat))
            self.groups += 1


class Scoreboard(uvm_component):
    """Compares each output port's beats with the predicted ones, in order, lane by lane.

    Fails on any mismatching, missing, extra or reordered beat.

    An output beat may be seen before the input transfer that predicts it: the monitors of one
    cycle publish in no fixed order (a combinational design emits in the cycle its input
    arrives), and a fork hands a beat to a fast consumer before the slowest one releases the
    input. Such a beat waits in ``early`` and is compared, in order, when its prediction arrives;
    one that no prediction ever claims is reported as extra.
    """

    MAX_REPORTED = 10

    def build_phase(self) -> None:
        self.spec = ConfigDB().get(self, "", "bench")
        self.expected: dict[str, deque[Beat]] = {p.name: deque() for p in self.spec.outputs}
        self.early: dict[str, deque[Transfer]] = {p.name: deque() for p in self.spec.outputs}
        self.matched: dict[str, int] = {p.name: 0 for p in self.spec.outputs}
        self.errors: list[str] = []
        self.export = uvm_subscriber.uvm_AnalysisImp("actual_export", self, self.write_actual)

    def write_expected(self, port: str, beat: Beat) -> None:
        if port not in self.expected:
            raise KeyError(f"golden model produced beats for unknown port {port!r}")
        if self.early[port]:
            self._compare(self.early[port].popleft(), beat)
        else:
            self.expected[port].append(beat)

    def write_actual(self, tt: Transfer) -> None:
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

    def check_phase(self) -> None:
        missing = {p: n for p, n in self.outstanding().items() if n}
        problems = list(self.errors)
        problems += [
            f"{p}: extra beat {tt.beat} at cycle {tt.cycle} (none expected)" for p, q in self.early.items() for tt in q
        ]
        problems += [f"{p}: {n} expected beats never arrived" for p, n in missing.items()]
        if problems:
            shown = problems[: self.MAX_REPORTED]
            more = len(problems) - len(shown)
            summary = "\n  ".join(shown) + (f"\n  ... and {more} more" if more else "")
            raise AssertionError(f"scoreboard: {len(problems)} problem(s):\n  {summary}")
        self.logger.info(f"scoreboard: all beats match {dict(self.matched)}")
