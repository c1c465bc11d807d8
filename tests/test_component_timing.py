"""Measured latency and initiation interval of every component against its descriptor's
``timing`` (which restates the module header), for the sweep entries it names.

Each case runs a sweep entry with no input gaps and no output stalls. Cycles are those of the
monitors: a transfer sampled at cycle c happened on the rising edge after it.
"""

from __future__ import annotations

import pytest

from mapper.components import LIBRARY, Component
from mapper.components.window_model import bench_node, window_run
from sim import runner

CASES = [pytest.param(comp, i, id=f"{comp.name}-{i}") for comp in LIBRARY.values() for i in comp.timed_sweeps]


def spacings(cycles: list[int]) -> set[int]:
    return {b - a for a, b in zip(cycles, cycles[1:])}


@pytest.mark.sim
@pytest.mark.parametrize(("comp", "index"), CASES)
def test_latency_and_initiation_interval(comp: Component, index: int) -> None:
    params = comp.sweep()[index]
    want = comp.timing(params)
    groups = 12
    result = comp.run(params, runner.RunOptions(seed=3, groups=groups, gap_prob=0.0, stall_prob=0.0), tag="timing")
    ins, outs = result["input_cycles"], result["output_cycles"]
    for port, cycles in ins.items():
        if want.in_spacing is not None:
            assert spacings(cycles) == {want.in_spacing}, f"{port}: input transfer spacing {sorted(spacings(cycles))}"
    first_group_done = max(c[(want.needs or len(c) // groups) - 1] for c in ins.values())
    for port, cycles in outs.items():
        per_group = len(cycles) // groups
        starts = cycles[::per_group]
        assert spacings(starts[1:]) == {want.interval}, f"{port}: group interval {sorted(spacings(starts[1:]))}"
        if want.out_spacing is not None:
            assert spacings(cycles) == {want.out_spacing}, f"{port}: output transfer spacing {sorted(spacings(cycles))}"
        if want.latency is not None:
            assert cycles[0] - first_group_done == want.latency, f"{port}: latency {cycles[0] - first_group_done}"


def test_every_benched_component_states_its_timing() -> None:
    missing = [c.name for c in LIBRARY.values() if c.bench and not c.timed_sweeps]
    assert not missing, f"no timed sweep entry: {missing}"


@pytest.mark.sim
@pytest.mark.parametrize("index", [1, 4, 5])
def test_conv_window_handshakes_follow_the_model_cycle_by_cycle(index: int) -> None:
    """conv_window without input gaps or output stalls (one and several window pixels per beat):
    every pixel taken and every window beat offered in the cycle window_run predicts, images
    streaming back to back."""
    comp = LIBRARY["conv_window"]
    params = comp.sweep()[index]
    groups = 4
    result = comp.run(params, runner.RunOptions(seed=5, groups=groups, gap_prob=0.0, stall_prob=0.0), tag="exact")
    ins, outs = result["input_cycles"]["data_in"], result["output_cycles"]["data_out"]
    node = bench_node(params, "CHANNELS")
    run = window_run(node, [0] * len(ins), 0, params["WINDOW_PAR"])
    assert [ins[0] + t for t in run.taken] == ins
    assert [ins[0] + t for t in run.beats] == outs
