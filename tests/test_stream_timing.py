"""Measured latency and initiation interval of the stream and arithmetic components.

Each case runs a catalogue sweep entry (so the build is shared with test_components_sim) with no
input gaps and no output stalls, and checks the cycle numbers of the transfers against what the
module's header states. Cycles are those of the monitors: a transfer sampled at cycle c happened
on the rising edge after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sim import catalogue, runner


@dataclass(frozen=True)
class Timing:
    """Expected timing of one sweep entry of a component.

    Attributes:
        component: catalogue name.
        sweep: index into the component's sweep.
        latency: cycles from the input transfer that completes the first group to the first
            output transfer.
        in_ii: cycles between consecutive input transfers (every input port).
        out_ii: cycles between consecutive output transfers (every output port).
        group_inputs: input beats per group (the first output needs that many).
    """

    component: str
    sweep: int
    latency: int
    in_ii: int
    out_ii: int
    group_inputs: int = 1


CASES = [
    Timing("stream_fifo", 0, latency=1, in_ii=2, out_ii=2),  # DEPTH=1: a lone register
    Timing("stream_fifo", 1, latency=1, in_ii=1, out_ii=1),  # DEPTH=2
    Timing("stream_fork", 2, latency=1, in_ii=1, out_ii=1),  # N=4, input skid buffer
    Timing("stream_join", 2, latency=1, in_ii=1, out_ii=1),  # N=4, output skid buffer
    Timing("stream_resize", 1, latency=1, in_ii=4, out_ii=1),  # split 16 -> 4
    Timing("stream_resize", 2, latency=1, in_ii=1, out_ii=4, group_inputs=4),  # gather 3 -> 12
    Timing("stream_resize", 3, latency=1, in_ii=1, out_ii=1),  # 4 -> 4: register slice
    Timing("fixed_cast", 1, latency=2, in_ii=1, out_ii=1),  # requantizer register, skid buffer
    Timing("fixed_relu", 1, latency=2, in_ii=1, out_ii=1),
    Timing("fixed_add", 1, latency=3, in_ii=1, out_ii=1),  # sum, requantizer, skid buffer
    Timing("fixed_lut", 2, latency=3, in_ii=1, out_ii=1),  # table read, entry register, skid buffer
    Timing("pool_max", 2, latency=1, in_ii=1, out_ii=9, group_inputs=9),  # WINDOW=9
]


def gaps(cycles: list[int]) -> set[int]:
    return {b - a for a, b in zip(cycles, cycles[1:])}


@pytest.mark.sim
@pytest.mark.parametrize("t", CASES, ids=lambda t: f"{t.component}-{t.sweep}")
def test_latency_and_initiation_interval(t: Timing) -> None:
    comp = catalogue.get(t.component)
    params = comp.sweep()[t.sweep]
    options = runner.RunOptions(seed=3, groups=40, gap_prob=0.0, stall_prob=0.0)
    result = comp.run(params, options, tag="timing")  # writes memory images where needed
    first_group_done = max(c[t.group_inputs - 1] for c in result["input_cycles"].values())
    for port, cycles in result["input_cycles"].items():
        assert gaps(cycles) == {t.in_ii}, f"{port}: input transfer spacing {sorted(gaps(cycles))}"
    for port, cycles in result["output_cycles"].items():
        assert gaps(cycles) == {t.out_ii}, f"{port}: output transfer spacing {sorted(gaps(cycles))}"
        assert cycles[0] - first_group_done == t.latency, f"{port}: latency {cycles[0] - first_group_done}"
