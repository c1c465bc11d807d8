"""Stream port descriptions, beat packing, and signal access.

A beat of ``lanes`` lanes of ``width`` bits travels as one packed integer with lane 0 in the low
bits (DESIGN.md). Lanes are signed two's complement unless the port says otherwise.
"""

from __future__ import annotations

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
    """

    inputs: list[PortSpec]
    outputs: list[PortSpec]
    model: GroupModel
    group_beats: dict[str, int] = field(default_factory=dict)
    extremes: dict[str, list[int]] = field(default_factory=dict)

    def beats_per_group(self, port: str) -> int:
        return self.group_beats.get(port, 1)


def read_int(signal: Any) -> int:
    """Unsigned integer value of a cocotb signal (bit or vector); X/Z raise ValueError."""
    value = signal.value
    to_unsigned = getattr(value, "to_unsigned", None)
    return int(to_unsigned()) if to_unsigned is not None else int(value)


class SharedVector:
    """Write access to one bit of a vector signal that several agents drive (a fork's readies).

    Each writer updates the shared word and writes all of it, so the last write of a time step
    carries every agent's bit.
    """

    _words: dict[int, int] = {}

    def __init__(self, signal: Any, bit: int) -> None:
        self.signal = signal
        self.bit = bit

    def write(self, value: int) -> None:
        key = id(self.signal)
        word = SharedVector._words.get(key, 0)
        word = (word | (1 << self.bit)) if value else (word & ~(1 << self.bit))
        SharedVector._words[key] = word
        self.signal.value = word

    def read(self) -> int:
        return (read_int(self.signal) >> self.bit) & 1


class SharedData:
    """Write access to one slice of a data signal that several agents drive (a join's inputs).

    Like :class:`SharedVector` for bits: each writer updates its slice of the shared word and
    writes all of it, so the last write of a time step carries every agent's slice.
    """

    _words: dict[int, int] = {}

    def __init__(self, signal: Any, offset: int, bits: int) -> None:
        self.signal = signal
        self.offset = offset
        self.mask = ((1 << bits) - 1) << offset

    def write(self, value: int) -> None:
        key = id(self.signal)
        word = SharedData._words.get(key, 0)
        word = (word & ~self.mask) | ((value << self.offset) & self.mask)
        SharedData._words[key] = word
        self.signal.value = word

    def read(self) -> int:
        return (read_int(self.signal) & self.mask) >> self.offset


class PortSignals:
    """The three signals of a port on a DUT handle, hiding shared vectors and data slices.

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
        self._valid = valid if spec.bit is None else SharedVector(valid, spec.bit)
        self._ready = ready if spec.bit is None else SharedVector(ready, spec.bit)
        self._data = SharedData(self.data, spec.data_offset, spec.beat_bits)

    def read_data(self) -> int:
        """This port's packed beat (its slice of the data signal)."""
        return self._data.read()

    def write_data(self, word: int) -> None:
        """Drive this port's packed beat, keeping the other slices of a shared signal."""
        self._data.write(word)

    def _get(self, sig: Any) -> int:
        return sig.read() if isinstance(sig, SharedVector) else read_int(sig)

    def _set(self, sig: Any, value: int) -> None:
        if isinstance(sig, SharedVector):
            sig.write(value)
        else:
            sig.value = value

    @property
    def valid(self) -> int:
        return self._get(self._valid)

    @valid.setter
    def valid(self, value: int) -> None:
        self._set(self._valid, value)

    @property
    def ready(self) -> int:
        return self._get(self._ready)

    @ready.setter
    def ready(self, value: int) -> None:
        self._set(self._ready, value)
