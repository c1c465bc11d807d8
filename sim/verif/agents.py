"""pyuvm agents for ready/valid streams.

Timing convention: every agent writes its signals just after the falling clock edge and samples
them in the read-only phase that follows, so a sampled ``valid & ready`` is exactly the transfer
that the next rising edge performs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import cocotb
from cocotb.triggers import Event, FallingEdge, ReadOnly
from pyuvm import (
    ConfigDB,
    uvm_agent,
    uvm_analysis_port,
    uvm_component,
    uvm_driver,
    uvm_sequence,
    uvm_sequence_item,
    uvm_sequencer,
)

from sim.verif.ports import Beat, PortSignals, PortSpec


@dataclass
class Clocking:
    """Shared clock facts: the clock handle, a cycle counter, and the end of reset."""

    clk: object
    cycle: int = 0
    reset_done: Event = field(default_factory=Event)

    async def count(self) -> None:
        """Count falling edges forever (cycle numbers of all monitors come from here)."""
        while True:
            await FallingEdge(self.clk)
            self.cycle += 1


@dataclass
class Transfer:
    """One observed handshake: the port, its lanes, and the cycle it happened in."""

    port: str
    beat: Beat
    cycle: int


class BeatItem(uvm_sequence_item):
    """One beat to drive on an input port."""

    def __init__(self, name: str, beat: Beat) -> None:
        super().__init__(name)
        self.beat = beat

    def __str__(self) -> str:
        return f"{self.get_name()}: {self.beat}"


class BeatSequence(uvm_sequence):
    """Sends a fixed list of beats in order."""

    def __init__(self, name: str, beats: list[Beat]) -> None:
        super().__init__(name)
        self.beats = beats

    async def body(self) -> None:
        for i, beat in enumerate(self.beats):
            item = BeatItem(f"beat{i}", beat)
            await self.start_item(item)
            await self.finish_item(item)


class StreamDriver(uvm_driver):
    """Drives beats onto an input port, inserting idle cycles with probability ``gap_prob``."""

    def build_phase(self) -> None:
        self.spec: PortSpec = ConfigDB().get(self, "", "spec")
        self.gap_prob: float = ConfigDB().get(self, "", "gap_prob")
        self.rng: random.Random = ConfigDB().get(self, "", "rng")
        self.clocking: Clocking = ConfigDB().get(None, "", "clocking")
        self.port = PortSignals(cocotb.top, self.spec)
        self.pending = 0

    async def run_phase(self) -> None:
        self.port.valid = 0
        await self.clocking.reset_done.wait()
        await FallingEdge(self.clocking.clk)
        while True:
            item = await self.seq_item_port.get_next_item()
            self.pending = 1
            while self.rng.random() < self.gap_prob:
                self.port.valid = 0
                await FallingEdge(self.clocking.clk)
            self.port.write_data(self.spec.pack(item.beat))
            self.port.valid = 1
            while True:
                await ReadOnly()
                accepted = self.port.ready == 1
                await FallingEdge(self.clocking.clk)
                if accepted:
                    break
            self.port.valid = 0
            self.pending = 0
            self.seq_item_port.item_done()


class BackPressure(uvm_component):
    """Drives an output port's ready, in one of two modes (``sink_mode``):

    - ``"random"``: ready is low with probability ``stall_prob`` in each cycle, independent of
      the stream;
    - ``"after_valid"``: ready rises only in a cycle after one in which valid was high and no beat
      moved (and then is low with probability ``stall_prob``). A design whose valid waits for
      ready never gets a beat out, and the watchdog names the port.
    """

    def build_phase(self) -> None:
        self.spec: PortSpec = ConfigDB().get(self, "", "spec")
        self.stall_prob: float = ConfigDB().get(self, "", "stall_prob")
        self.rng: random.Random = ConfigDB().get(self, "", "rng")
        self.clocking: Clocking = ConfigDB().get(None, "", "clocking")
        try:
            self.mode: str = ConfigDB().get(self, "", "sink_mode")
        except Exception:  # noqa: BLE001 - pyuvm raises its own UVMConfigItemNotFound
            self.mode = "random"
        self.port = PortSignals(cocotb.top, self.spec)

    async def run_phase(self) -> None:
        self.port.ready = 0
        await self.clocking.reset_done.wait()
        waiting = False  # valid was high and no beat moved in the last cycle
        while True:
            await FallingEdge(self.clocking.clk)
            stall = self.rng.random() < self.stall_prob
            ready = (waiting if self.mode == "after_valid" else True) and not stall
            self.port.ready = int(ready)
            if self.mode == "after_valid":
                await ReadOnly()
                waiting = self.port.valid == 1 and not ready


@dataclass
class ProtocolLog:
    """Handshake rule violations seen by the monitors; ``broken`` is set at the first one so that
    the test stops and reports it before any scoreboard or watchdog message."""

    errors: list[str] = field(default_factory=list)
    broken: Event = field(default_factory=Event)

    def report(self, message: str) -> None:
        self.errors.append(message)
        self.broken.set()


class StreamMonitor(uvm_component):
    """Publishes every transfer on a port and checks the DUT side of the handshake rules.

    On an output port it checks that valid, once high, stays high with stable data until ready.
    A violation goes to the shared :class:`ProtocolLog` (``ConfigDB`` key ``protocol``), which ends
    the test at once.
    """

    def build_phase(self) -> None:
        self.spec: PortSpec = ConfigDB().get(self, "", "spec")
        self.check_stability: bool = ConfigDB().get(self, "", "check_stability")
        self.clocking: Clocking = ConfigDB().get(None, "", "clocking")
        try:
            self.protocol: ProtocolLog = ConfigDB().get(None, "", "protocol")
        except Exception:  # noqa: BLE001 - pyuvm raises its own UVMConfigItemNotFound
            self.protocol = ProtocolLog()
        self.port = PortSignals(cocotb.top, self.spec)
        self.ap = uvm_analysis_port("ap", self)
        self.count = 0
        self.last_cycle = -1
        self.cycles: list[int] = []
        self.protocol_errors: list[str] = []

    def _violation(self, message: str) -> None:
        self.protocol_errors.append(message)
        self.protocol.report(message)

    async def run_phase(self) -> None:
        await self.clocking.reset_done.wait()
        held: int | None = None  # data of a beat offered but not taken last cycle
        while True:
            await FallingEdge(self.clocking.clk)
            await ReadOnly()
            valid, ready = self.port.valid, self.port.ready
            data = self.port.read_data() if valid else None
            if self.check_stability and held is not None:
                at = f"at cycle {self.clocking.cycle}"
                if not valid:
                    self._violation(f"{self.spec.name}: valid dropped without a transfer {at}")
                elif data != held:
                    self._violation(f"{self.spec.name}: data changed while stalled {at}")
            if valid and ready:
                self.count += 1
                self.last_cycle = self.clocking.cycle
                self.cycles.append(self.clocking.cycle)
                self.ap.write(Transfer(self.spec.name, self.spec.unpack(data), self.clocking.cycle))
                held = None
            else:
                held = data if valid else None


class InputAgent(uvm_agent):
    """Sequencer, driver and monitor of one input port."""

    def build_phase(self) -> None:
        self.seqr = uvm_sequencer("seqr", self)
        self.driver = StreamDriver("driver", self)
        self.monitor = StreamMonitor("monitor", self)
        ConfigDB().set(self, "monitor", "check_stability", False)

    def connect_phase(self) -> None:
        self.driver.seq_item_port.connect(self.seqr.seq_item_export)


class OutputAgent(uvm_agent):
    """Back-pressure generator and monitor of one output port."""

    def build_phase(self) -> None:
        self.backpressure = BackPressure("backpressure", self)
        self.monitor = StreamMonitor("monitor", self)
        ConfigDB().set(self, "monitor", "check_stability", True)
