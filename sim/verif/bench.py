"""A generic pyuvm environment and test for any stream component described by a BenchSpec.

A component bench (``sim/tb/test_<component>.py``) supplies a function ``bench(params) ->
BenchSpec`` and declares ``@pyuvm.test() class ...(StreamTest)`` with that function; everything
else (stimulus, back-pressure, prediction, checking, deadlock detection, results) is here.

The run is configured by the JSON file named in the ``CH_TB_CONFIG`` environment variable
(written by :mod:`sim.runner`): component parameters, seed, number of groups, input gap and
output stall probabilities, and the timeout in cycles.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from typing import Any, ClassVar

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import Event, FallingEdge, First, ReadOnly, RisingEdge
from pyuvm import ConfigDB, uvm_env, uvm_test

from common.atomic import write_text
from sim.verif.agents import BeatSequence, Clocking, InputAgent, OutputAgent, ProtocolLog
from sim.verif.ports import Beat, BenchSpec
from sim.verif.scoreboard import Predictor, Scoreboard
from sim.verif.stimulus import make_stimulus, random_beats  # noqa: F401 - random_beats: former home

CONFIG_ENV = "CH_TB_CONFIG"


def load_run_config() -> dict[str, Any]:
    """Read the run configuration the runner wrote (see module docstring)."""
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise RuntimeError(f"{CONFIG_ENV} is not set: run benches through sim.runner or `make sim`")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Watchdog:
    """Fails the test when no transfer happens for ``timeout`` cycles while beats are outstanding."""

    def __init__(self, env: StreamEnv, timeout: int) -> None:
        self.env = env
        self.timeout = timeout

    def _last_progress(self) -> int:
        monitors = [a.monitor for a in self.env.in_agents.values()]
        monitors += [a.monitor for a in self.env.out_agents.values()]
        return max(m.last_cycle for m in monitors)

    async def run(self, done: Event) -> None:
        clocking = self.env.clocking
        start = clocking.cycle
        while not done.is_set():
            await FallingEdge(clocking.clk)
            await ReadOnly()
            idle = clocking.cycle - max(self._last_progress(), start)
            if idle >= self.timeout:
                raise AssertionError(self.describe(idle))

    def describe(self, idle: int) -> str:
        """Name every port that holds up progress, with its handshake state, and line up what
        each output received against what it should have (a lost beat shows as missing)."""
        lines = [f"handshake rule broken: {e}" for e in self.env.protocol.errors[:3]]
        after_valid = self.env.sink_mode == "after_valid"
        inputs = []
        for name, agent in self.env.in_agents.items():
            if agent.driver.pending or self.env.sequences_running.get(name):
                port = agent.driver.port
                inputs.append(
                    f"input {name}: beats still to send, valid={port.valid} ready={port.ready}"
                    + (" (the DUT is not accepting)" if port.valid and not port.ready else "")
                )
        if inputs:
            lines.append(f"deadlock: no transfer for {idle} cycles")
        else:
            lines.append(f"no transfer for {idle} cycles after every input beat was taken: output beats are missing")
        lines += inputs
        outstanding = self.env.scoreboard.outstanding()
        for name, agent in self.env.out_agents.items():
            n = outstanding.get(name, 0)
            if not n and not inputs:
                continue
            port = agent.monitor.port
            why = ""
            if not port.valid:
                why = " (the DUT is not producing"
                why += (
                    "; the sink raises ready only after seeing valid: valid must not wait for ready)"
                    if after_valid
                    else ")"
                )
            lines.append(f"output {name}: {n} beats still expected, valid={port.valid} ready={port.ready}{why}")
        for name in self.env.out_agents:
            lines += self.env.scoreboard.describe_port(name)
        return "\n  ".join(lines)


class StreamEnv(uvm_env):
    """Input agents, output agents, predictor and scoreboard for one BenchSpec."""

    def build_phase(self) -> None:
        self.spec: BenchSpec = ConfigDB().get(self, "", "bench")
        self.clocking: Clocking = ConfigDB().get(self, "", "clocking")
        self.protocol: ProtocolLog = ConfigDB().get(self, "", "protocol")
        run_cfg: dict[str, Any] = ConfigDB().get(self, "", "run_config")
        self.sink_mode = str(run_cfg.get("sink_mode", "random"))
        seed = int(run_cfg["seed"])
        self.in_agents: dict[str, InputAgent] = {}
        self.out_agents: dict[str, OutputAgent] = {}
        self.sequences_running: dict[str, bool] = {}
        for i, port in enumerate(self.spec.inputs):
            name = f"in_{port.name}"
            ConfigDB().set(self, f"{name}.*", "spec", port)
            ConfigDB().set(self, f"{name}.*", "gap_prob", float(run_cfg["gap_prob"]))
            ConfigDB().set(self, f"{name}.*", "rng", random.Random(seed * 1000 + i))
            self.in_agents[port.name] = InputAgent(name, self)
        for i, port in enumerate(self.spec.outputs):
            name = f"out_{port.name}"
            ConfigDB().set(self, f"{name}.*", "spec", port)
            ConfigDB().set(self, f"{name}.*", "stall_prob", float(run_cfg["stall_prob"]))
            ConfigDB().set(self, f"{name}.*", "sink_mode", self.sink_mode)
            ConfigDB().set(self, f"{name}.*", "rng", random.Random(seed * 1000 + 500 + i))
            self.out_agents[port.name] = OutputAgent(name, self)
        self.predictor = Predictor("predictor", self)
        self.scoreboard = Scoreboard("scoreboard", self)

    def connect_phase(self) -> None:
        self.predictor.expected_port = self.scoreboard.write_expected
        self.scoreboard.groups_in = self.predictor.groups_in
        for agent in self.in_agents.values():
            agent.monitor.ap.connect(self.predictor.analysis_export)
        for agent in self.out_agents.values():
            agent.monitor.ap.connect(self.scoreboard.export)


class StreamTest(uvm_test):
    """Drives random groups through the DUT under random gaps and stalls and checks every beat.

    Subclasses set ``bench`` to the component's ``bench(params) -> BenchSpec`` function.
    """

    bench: ClassVar[Callable[[dict[str, Any]], BenchSpec]]
    RESET_CYCLES = 4
    DRAIN_CYCLES = 64

    def build_phase(self) -> None:
        self.run_cfg = load_run_config()
        self.spec = type(self).bench(self.run_cfg["parameters"])
        self.clocking = Clocking(cocotb.top.clk)
        self.protocol = ProtocolLog()
        ConfigDB().set(None, "*", "bench", self.spec)
        ConfigDB().set(None, "*", "clocking", self.clocking)
        ConfigDB().set(None, "*", "protocol", self.protocol)
        ConfigDB().set(None, "*", "run_config", self.run_cfg)
        self.env = StreamEnv("env", self)

    async def reset(self) -> None:
        dut = cocotb.top
        dut.rst.value = 1
        for _ in range(self.RESET_CYCLES):
            await RisingEdge(self.clocking.clk)
        await FallingEdge(self.clocking.clk)
        dut.rst.value = 0
        self.clocking.reset_done.set()

    def stimulus(self) -> dict[str, list[Beat]]:
        """Beats per input port: ``groups`` complete groups, seeded from the run config: corner
        groups first, then in-range and full-range groups (:mod:`sim.verif.stimulus`)."""
        return make_stimulus(self.spec, int(self.run_cfg["seed"]), int(self.run_cfg["groups"]))

    async def _send(self, name: str, beats: list[Beat]) -> None:
        self.env.sequences_running[name] = True
        await BeatSequence(f"seq_{name}", beats).start(self.env.in_agents[name].seqr)
        self.env.sequences_running[name] = False

    async def run_phase(self) -> None:
        self.raise_objection()
        Clock(cocotb.top.clk, 10, unit="ns").start()
        cocotb.start_soon(self.clocking.count())
        await self.reset()
        start_cycle = self.clocking.cycle
        sends = [cocotb.start_soon(self._send(n, b)) for n, b in self.stimulus().items()]
        done = Event()
        watchdog = cocotb.start_soon(Watchdog(self.env, int(self.run_cfg["timeout_cycles"])).run(done))
        protocol = cocotb.start_soon(self._protocol_watch())
        for task in sends:
            await First(task, watchdog, protocol)
        while any(self.env.scoreboard.outstanding().values()):
            await First(FallingEdge(self.clocking.clk), watchdog, protocol)
        done.set()
        # keep clocking so that any extra beat the DUT still emits is seen by the scoreboard
        for _ in range(self.DRAIN_CYCLES):
            await RisingEdge(self.clocking.clk)
        self.write_results(start_cycle)
        self.drop_objection()

    async def _protocol_watch(self) -> None:
        """End the test at the first handshake rule a monitor sees broken, naming it (a later
        scoreboard mismatch or deadlock is only its consequence)."""
        await self.protocol.broken.wait()
        await FallingEdge(self.clocking.clk)  # let the other monitors of the cycle report too
        raise AssertionError("handshake rule broken:\n  " + "\n  ".join(self.protocol.errors[:10]))

    def check_phase(self) -> None:
        if self.protocol.errors:
            raise AssertionError("handshake rule broken:\n  " + "\n  ".join(self.protocol.errors[:10]))

    def write_results(self, start_cycle: int) -> None:
        """Save transfer counts and cycles so that pytest can check timing (measured, not guessed)."""
        path = self.run_cfg.get("results")
        if not path:
            return
        result = {
            "start_cycle": start_cycle,
            "groups": self.env.predictor.groups,
            "inputs": {n: a.monitor.count for n, a in self.env.in_agents.items()},
            "outputs": {n: a.monitor.count for n, a in self.env.out_agents.items()},
            "output_cycles": {n: a.monitor.cycles for n, a in self.env.out_agents.items()},
            "input_cycles": {n: a.monitor.cycles for n, a in self.env.in_agents.items()},
        }
        write_text(path, json.dumps(result))
