"""Measured latency and initiation interval of every component against its descriptor's
``timing`` (which restates the module header), for the sweep entries it names.

Each case runs a sweep entry with no input gaps and no output stalls. Cycles are those of the
monitors: a transfer sampled at cycle c happened on the rising edge after it.
"""

from __future__ import annotations

import pytest

from golden.fixed import FixedType
from mapper.components import LIBRARY, Component
from mapper.components.window_model import bench_node
from mapper.graph import Fold, Node
from quant.config import LayerFormats
from sim import runner
from sim.tb.layer_params import layer_formats

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


@pytest.mark.parametrize("index", LIBRARY["stream_resize"].timed_sweeps)
def test_the_resize_model_takes_and_gives_beats_at_the_measured_spacing(index: int) -> None:
    # A fork waits for its slowest consumer's accept times, so a split's model must take one input
    # beat per R cycles as its bench measures (test_latency_and_initiation_interval), not one per
    # cycle (the encoder layer's latency was 42 cycles longer than modelled until it did).
    comp = LIBRARY["stream_resize"]
    params = comp.sweep()[index]
    want = comp.timing(params)
    fold = Fold(params["IN_LANES"], params["OUT_LANES"])
    t = FixedType(params["WIDTH"], 0)
    beats = 8 * max(fold.in_lanes, fold.out_lanes) // fold.in_lanes
    node = Node("r", "resize", (beats * fold.in_lanes,), (beats * fold.in_lanes,), LayerFormats(t, None, None, t))
    offered = list(range(beats))  # a producer offering a beat every cycle
    assert spacings(comp.accept_times(node, fold, offered)) == {want.in_spacing}
    assert spacings(comp.beat_times(node, fold, offered)) == {want.out_spacing}


def _window_node_and_fold(name: str, params: dict) -> tuple[Node, Fold]:
    """The graph node and fold a conv_window / fixed_conv2d / fixed_dwconv2d bench parameter set
    stands for."""
    if name == "conv_window":
        c = params["CHANNELS"]
        return bench_node(params, "CHANNELS"), Fold(c, c, params["WINDOW_PAR"])
    if name == "fixed_dwconv2d":
        c = params["CHANNELS"]
        node = bench_node(params, "CHANNELS", (c, 1, params["KERNEL_H"], params["KERNEL_W"]))
        node.formats = LayerFormats(*layer_formats(params))
        return node, Fold(c, c, params["WINDOW_PAR"])
    c, o = params["IN_CHANNELS"], params["OUT_CHANNELS"]
    node = bench_node(params, "IN_CHANNELS", (o, c, params["KERNEL_H"], params["KERNEL_W"]))
    node.formats = LayerFormats(*layer_formats(params))
    return node, Fold(c, params["OUT_PAR"], params["WINDOW_PAR"])


@pytest.mark.sim
@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("conv_window", 1),
        ("conv_window", 4),
        ("conv_window", 5),
        ("fixed_conv2d", 3),
        ("fixed_dwconv2d", 0),
        ("fixed_dwconv2d", 2),
        ("fixed_dwconv2d", 3),
        ("fixed_dwconv2d", 4),
    ],
)
def test_window_handshakes_follow_the_model_cycle_by_cycle(name: str, index: int) -> None:
    """conv_window, fixed_conv2d and fixed_dwconv2d without input gaps or output stalls (one and
    several window pixels per beat, one and two product levels): every pixel taken and every
    output beat offered in the cycle the mapper's accept_times / beat_times predict, images
    streaming back to back."""
    comp = LIBRARY[name]
    params = comp.sweep()[index]
    result = comp.run(params, runner.RunOptions(seed=5, groups=4, gap_prob=0.0, stall_prob=0.0), tag="exact")
    ins, outs = result["input_cycles"]["data_in"], result["output_cycles"]["data_out"]
    node, fold = _window_node_and_fold(name, params)
    offered = [0] * len(ins)
    assert [ins[0] + t for t in comp.accept_times(node, fold, offered)] == ins
    assert [ins[0] + t for t in comp.beat_times(node, fold, offered)] == outs
