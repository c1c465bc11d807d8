"""Cycle model of an ideal stream buffer between the harness's source and sink.

The harness's transactors (``sim/hdl/stream_source.sv``, ``stream_sink.sv``) draw their gaps and
stalls from seeded xorshift32 sequences that :mod:`sim.harness` mirrors, so the exact cycles of
every transfer through an *ideal* buffer can be computed in Python for the same seed. A plumbing
component that loses throughput under gaps and stalls (a ready that looks at the wrong side, a
bubble after a stall) shows up as transfer cycles that differ from the ideal ones, even when every
beat arrives intact.

The ideal buffer of capacity ``C >= 1`` holds up to ``C`` beats, offers the oldest one in the
cycle after it arrived (latency 1), and is ready whenever it holds fewer than ``C`` beats at the
start of the cycle (a registered ready, as ``skid_buffer`` and ``stream_fifo`` have: capacity 2 and
``DEPTH``). Capacity 0 is a wire (latency 0: a beat moves when the source offers it and the sink is
ready, as through ``stream_fork`` / ``stream_join`` with one stream).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sim.harness import RESET_CYCLES, HarnessResult, lfsr_next, lfsr_seed, threshold

#: SALTs of the first source and the first sink in a generated harness (sim.harness.render_top).
SOURCE_SALT = 1
SINK_SALT = 101


@dataclass
class IdealRun:
    """Cycles of every transfer through the ideal buffer (numbered as the harness numbers them)."""

    input_cycles: list[int]
    output_cycles: list[int]


def ideal_buffer(
    beats: int,
    capacity: int,
    seed: int,
    gap_prob: float,
    stall_prob: float,
    after_valid: bool = False,
    max_cycles: int = 10_000_000,
) -> IdealRun:
    """Transfer cycles of ``beats`` beats from the harness's source through an ideal buffer of
    ``capacity`` beats to the harness's sink, for the run settings of :func:`sim.harness.run`."""
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity}")
    gap_t, stall_t = threshold(gap_prob), threshold(stall_prob)
    src_state, sink_state = lfsr_seed(seed, SOURCE_SALT), lfsr_seed(seed, SINK_SALT)
    src_valid, loaded = False, 0
    sink_ready = False
    held: deque[int] = deque()  # beats in the buffer (their arrival cycles)
    ins: list[int] = []
    outs: list[int] = []
    for cycle in range(RESET_CYCLES, max_cycles):
        if capacity == 0:
            buf_ready, buf_valid = sink_ready, src_valid
        else:
            buf_ready, buf_valid = len(held) < capacity, bool(held) and held[0] < cycle
        take_in = src_valid and buf_ready
        take_out = buf_valid and sink_ready
        if take_in:
            ins.append(cycle)
        if take_out:
            outs.append(cycle)
        if capacity > 0:
            if take_out:
                held.popleft()
            if take_in:
                held.append(cycle)
        # the sink (decides its ready for the next cycle)
        stalled = (sink_state >> 16) < stall_t
        if after_valid:
            sink_ready = buf_valid and not sink_ready and not stalled
        else:
            sink_ready = not stalled
        sink_state = lfsr_next(sink_state)
        # the source (loads its next beat when free)
        if not src_valid or take_in:
            if loaded < beats and (src_state >> 16) >= gap_t:
                src_valid, loaded = True, loaded + 1
            else:
                src_valid = False
        src_state = lfsr_next(src_state)
        if len(outs) == beats:
            return IdealRun(ins, outs)
    raise RuntimeError(f"ideal buffer: {beats} beats did not pass within {max_cycles} cycles")


def compare_with_ideal(
    result: HarnessResult,
    in_port: str,
    out_port: str,
    capacity: int,
    seed: int,
    gap_prob: float,
    stall_prob: float,
    after_valid: bool = False,
) -> str | None:
    """None when every transfer of a harness run (one input, one output stream, one beat per
    inference) happened in the cycle an ideal buffer of ``capacity`` beats makes it happen; else
    a message naming the first beat that moved at another cycle."""
    beats = len(result.output_cycles[out_port])
    ideal = ideal_buffer(beats, capacity, seed, gap_prob, stall_prob, after_valid)
    for what, got, want in (
        ("input", result.input_cycles[in_port], ideal.input_cycles),
        ("output", result.output_cycles[out_port], ideal.output_cycles),
    ):
        first = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
        if first is None and len(got) == len(want):
            continue
        first = min(len(got), len(want)) if first is None else first
        return (
            f"{what} beat {first} moved at cycle {got[first] if first < len(got) else None}, an ideal buffer of "
            f"{capacity} beats moves it at {want[first] if first < len(want) else None}; last {what} beat at "
            f"{got[-1] if got else None} instead of {want[-1] if want else None}"
        )
    return None
