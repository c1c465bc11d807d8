"""The transformer components (rtl/attn/) beyond the library-wide tests: their benches' stimulus
keeps most outputs unsaturated, and every output beat of a stall-free run comes in the cycle the
descriptor's model (which the mapper's schedule uses) says."""

from __future__ import annotations

import random

import pytest

from mapper.components import get
from mapper.components.attention import ATTENTION_COMPONENTS, beat_model
from sim import runner
from sim.offline import bench_of
from sim.verif.in_range import saturated_fraction, wide_parameters
from sim.verif.stimulus import full_range_group, make_stimulus

SETS = [(name, i) for name in ATTENTION_COMPONENTS for i in range(len(get(name).sweep()))]
#: The first sweep set of each component in the default run, the others with -m slow.
TIMED = [pytest.param(name, i, id=f"{name}-{i}", marks=() if i == 0 else pytest.mark.slow) for name, i in SETS]


@pytest.mark.parametrize(("name", "index"), SETS, ids=[f"{n}-{i}" for n, i in SETS])
def test_most_outputs_do_not_saturate(name: str, index: int) -> None:
    comp = get(name)
    params, context = comp.prepared(comp.sweep()[index], 7)
    spec = bench_of(comp.bench, params, context)
    wide = bench_of(comp.bench, wide_parameters(params), context, in_range=False)
    stimulus = make_stimulus(spec, 7, comp.groups)
    share = saturated_fraction(spec, wide, stimulus)
    rng = random.Random(7)
    before = [full_range_group(spec, rng) for _ in range(comp.groups)]
    old = {p.name: [b for g in before for b in g[p.name]] for p in spec.inputs}
    assert share <= 0.5, (
        f"{name} set {index}: {share:.0%} of outputs saturate (full-range: {saturated_fraction(spec, wide, old):.0%})"
    )


@pytest.mark.sim
@pytest.mark.parametrize(("name", "index"), TIMED)
def test_every_output_beat_comes_when_the_model_says(name: str, index: int) -> None:
    """No gaps, no stalls: the first sequence's beats against the model, and the steady-state
    interval between sequences against ``timing``."""
    comp = get(name)
    params = comp.sweep()[index]
    groups = 6
    result = comp.run(params, runner.RunOptions(seed=3, groups=groups, gap_prob=0.0, stall_prob=0.0), tag="timing")
    ins, outs = result["input_cycles"], result["output_cycles"]
    offered = {port: cycles[: len(cycles) // groups] for port, cycles in ins.items()}
    out = outs["data_out"]
    per_group = len(out) // groups
    assert beat_model(name, params, offered) == out[:per_group]
    starts = out[::per_group]
    assert {b - a for a, b in zip(starts[1:], starts[2:])} == {comp.timing(params).interval}


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("name", ATTENTION_COMPONENTS)
def test_no_unknown_value_reaches_a_stream(name: str) -> None:
    """Two runs with X given different values (docs/verification.md): valid, ready and data while
    valid never depend on an unknown (accumulators and buffers that are read before written)."""
    comp = get(name)
    options = runner.RunOptions(seed=5, groups=20, gap_prob=0.3, stall_prob=0.3, x_check=True)
    assert comp.run(comp.sweep()[0], options, tag="xcheck")["groups"] == 20
