"""Stream port descriptions, beat packing, and signal access.

A beat of ``lanes`` lanes of ``width`` bits travels as one packed integer with lane 0 in the low
bits (docs/contracts.md). Lanes are signed two's complement unless the port says otherwise.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Beat = list[int]
#: A golden model for a bench: beats per input port for one group -> beats per output port.
GroupModel = Callable[[Mapping[str, Sequence[Beat]]], Mapping[str, Sequence[Beat]]]


@dataclass(frozen=True)
class PortSpec:
    """One ready/valid port of the design under test.

    Attributes:
        name: port name used in messages and the data signal's name (``data_in``, ``data_out_1``).
        lanes: lanes per beat.
        width: bits per lane.
        signed: lanes are two's complement when True.
        valid: valid signal name (default ``<name>_valid``).
        ready: ready signal name (default ``<name>_ready``).
        data: data signal name (default ``name``).
        bit: index into ``valid`` / ``ready`` when they are vectors shared by several ports.
        data_offset: bit position of this port's beat inside ``data`` when several ports share
            one packed data signal (a join's ``data_in``); 0 when the port owns the signal.
    """

    name: str
    lanes: int
    width: int
    signed: bool = True
    valid: str = ""
    ready: str = ""
    data: str = ""
    bit: int | None = None
    data_offset: int = 0

    @property
    def beat_bits(self) -> int:
        """Bits of one packed beat, ``lanes * width``."""
        return self.lanes * self.width

    @property
    def valid_name(self) -> str:
        return self.valid or f"{self.name}_valid"

    @property
    def ready_name(self) -> str:
        return self.ready or f"{self.name}_ready"

    @property
    def data_name(self) -> str:
        return self.data or self.name

    @property
    def lane_min(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def lane_max(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    def pack(self, beat: Sequence[int]) -> int:
        """Packed integer of a beat; raises if a lane is out of range."""
        if len(beat) != self.lanes:
            raise ValueError(f"{self.name}: beat has {len(beat)} lanes, port has {self.lanes}")
        mask = (1 << self.width) - 1
        word = 0
        for i, v in enumerate(beat):
            if not self.lane_min <= v <= self.lane_max:
                raise ValueError(f"{self.name}: lane {i} value {v} outside {self.lane_min}..{self.lane_max}")
            word |= (int(v) & mask) << (i * self.width)
        return word

    def unpack(self, word: int) -> Beat:
        """Lanes of a packed integer."""
        mask = (1 << self.width) - 1
        lanes = []
        for i in range(self.lanes):
            v = (word >> (i * self.width)) & mask
            if self.signed and v >> (self.width - 1):
                v -= 1 << self.width
            lanes.append(v)
        return lanes


@dataclass
class BenchSpec:
    """Everything a generic stream bench needs to know about one design under test.

    Attributes:
        inputs: ports the bench drives.
        outputs: ports the bench receives and checks.
        model: golden model of one group (see :data:`GroupModel`).
        group_beats: beats each input port contributes to one group (default 1 each).
        extremes: per input port, lane values to draw often (range ends, zero, ties).
        draw: optional; draws one group whose arithmetic mostly lands inside the output range
            (unsaturated outputs), from the given ``random.Random`` (see sim.verif.in_range).
            The stimulus mixes three such groups with every full-range one
            (:func:`sim.verif.stimulus.make_stimulus`).
    """

    inputs: list[PortSpec]
    outputs: list[PortSpec]
    model: GroupModel
    group_beats: dict[str, int] = field(default_factory=dict)
    extremes: dict[str, list[int]] = field(default_factory=dict)
    draw: Callable[[random.Random], dict[str, list[Beat]]] | None = None

    def beats_per_group(self, port: str) -> int:
        return self.group_beats.get(port, 1)


def read_int(signal: Any) -> int:
    """Unsigned integer value of a cocotb signal (bit or vector); X/Z raise ValueError."""
    value = signal.value
    to_unsigned = getattr(value, "to_unsigned", None)
    return int(to_unsigned()) if to_unsigned is not None else int(value)


class SignalSlice:
    """Read and write access to a slice of a signal that several agents may drive: one bit of a
    fork's ready vector, one input's beat inside a join's packed data, or a whole signal.

    Each writer updates its slice of the shared word and writes all of it, so the last write of
    a time step carries every agent's slice.
    """

    _words: dict[int, int] = {}

    def __init__(self, signal: Any, offset: int, bits: int) -> None:
        self.signal = signal
        self.offset = offset
        self.mask = ((1 << bits) - 1) << offset

    def write(self, value: int) -> None:
        key = id(self.signal)
        word = SignalSlice._words.get(key, 0)
        word = (word & ~self.mask) | ((int(value) << self.offset) & self.mask)
        SignalSlice._words[key] = word
        self.signal.value = word

    def read(self) -> int:
        return (read_int(self.signal) & self.mask) >> self.offset


class PortSignals:
    """The three signals of a port on a DUT handle, each as a :class:`SignalSlice`.

    ``data`` is the raw data signal; read and write beats with :meth:`read_data` and
    :meth:`write_data`, which handle a port's slice of a shared signal.
    """

    def __init__(self, dut: Any, spec: PortSpec) -> None:
        self.spec = spec
        try:
            self.data = getattr(dut, spec.data_name)
            valid = getattr(dut, spec.valid_name)
            ready = getattr(dut, spec.ready_name)
        except AttributeError as err:
            raise AttributeError(f"port {spec.name}: the DUT has no signal {err}") from err
        self._valid = SignalSlice(valid, spec.bit or 0, 1)
        self._ready = SignalSlice(ready, spec.bit or 0, 1)
        self._data = SignalSlice(self.data, spec.data_offset, spec.beat_bits)

    def read_data(self) -> int:
        """This port's packed beat (its slice of the data signal)."""
        return self._data.read()

    def write_data(self, word: int) -> None:
        """Drive this port's packed beat, keeping the other slices of a shared signal."""
        self._data.write(word)

    @property
    def valid(self) -> int:
        return self._valid.read()

    @valid.setter
    def valid(self, value: int) -> None:
        self._valid.write(value)

    @property
    def ready(self) -> int:
        return self._ready.read()

    @ready.setter
    def ready(self, value: int) -> None:
        self._ready.write(value)
