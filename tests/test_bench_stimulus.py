"""The benches' stimulus (sim/verif/stimulus.py, sim/verif/in_range.py), examined without a
simulator: corner groups come first, every arithmetic sweep set keeps most outputs unsaturated
(they were 87-94 % saturated in three fixed_linear sets), and every table of the fixed_lut sweep
can tell its addresses apart (the 1-bit set drew the table [1, 1]).
"""

from __future__ import annotations

import random

import pytest

from mapper.components import get
from sim.offline import bench_of
from sim.verif.in_range import preimage, saturated_fraction, wide_parameters
from sim.verif.stimulus import CORNERS, corner_groups, full_range_group, make_stimulus

ARITHMETIC = [
    "fixed_cast",
    "fixed_relu",
    "fixed_add",
    "fixed_mul",
    "fixed_affine",
    "pool_avg",
    "fixed_linear",
    "fixed_conv2d",
    "fixed_dwconv2d",
]
SETS = [(name, i) for name in ARITHMETIC for i in range(len(get(name).sweep()))]


@pytest.mark.parametrize(("name", "index"), SETS, ids=[f"{n}-{i}" for n, i in SETS])
def test_most_outputs_do_not_saturate(name: str, index: int) -> None:
    comp = get(name)
    params, context = comp.prepared(comp.sweep()[index], 7)
    spec = bench_of(comp.bench, params, context)
    layer = name in ("fixed_linear", "fixed_conv2d", "fixed_dwconv2d")
    wide = bench_of(comp.bench, wide_parameters(params), context, **({"in_range": False} if layer else {}))
    stimulus = make_stimulus(spec, 7, comp.groups)
    share = saturated_fraction(spec, wide, stimulus)
    rng = random.Random(7)
    before = [full_range_group(spec, rng) for _ in range(comp.groups)]
    old = {p.name: [b for g in before for b in g[p.name]] for p in spec.inputs}
    assert share <= 0.5, (
        f"{name} set {index}: {share:.0%} of outputs saturate (full-range stimulus: "
        f"{saturated_fraction(spec, wide, old):.0%})"
    )


def test_corner_groups_come_first() -> None:
    _, add = get("fixed_add").bench_spec({"LANES": 3})
    stimulus = make_stimulus(add, 1, 20)
    a, b = add.inputs
    assert stimulus["data_in_0"][0] == [a.lane_min] * 3 and stimulus["data_in_1"][0] == [b.lane_min] * 3
    assert stimulus["data_in_0"][1] == [a.lane_max] * 3
    assert stimulus["data_in_0"][2] == [a.lane_min, a.lane_max, a.lane_min]
    # with two ports: one at its minimum while the other is at its maximum, both ways
    corners = corner_groups(add)
    assert len(corners) == len(CORNERS) + 2
    assert corners[-2] == {"data_in_0": [[a.lane_max] * 3], "data_in_1": [[b.lane_min] * 3]}
    _, lin = get("fixed_linear").bench_spec({})  # 4 beats of 2 lanes per vector
    beats = make_stimulus(lin, 1, 10)["data_in"]
    p = lin.inputs[0]
    assert beats[16:20] == [[p.lane_min] * 2, [p.lane_max] * 2] * 2  # "beats alternate"


def test_a_short_run_is_all_corners() -> None:
    _, spec = get("fixed_cast").bench_spec({})
    assert make_stimulus(spec, 1, 2)["data_in"] == [[spec.inputs[0].lane_min], [spec.inputs[0].lane_max]]


@pytest.mark.parametrize("index", range(len(get("fixed_lut").sweep())))
def test_every_lut_output_bit_toggles(index: int) -> None:
    comp = get("fixed_lut")
    params, context = comp.prepared(comp.sweep()[index], 7)
    words = [v & ((1 << int(params["OUT_WIDTH"])) - 1) for v in context["table"]]
    for bit in range(int(params["OUT_WIDTH"])):
        assert len({(w >> bit) & 1 for w in words}) == 2, f"output bit {bit} is constant over the table"


def test_preimage_bounds_are_tight() -> None:
    from golden.fixed import FixedType, requantize

    out = FixedType(4, 1)
    lo, hi = preimage(3, out, -1000, 1000)  # drops 2 bits: ties round up
    got = requantize([lo - 1, lo, hi, hi + 1], 3, out).tolist()
    assert got == [out.min_int, out.min_int, out.max_int, out.max_int]
    assert requantize([lo - 1], 3, FixedType(8, 1)).tolist()[0] < out.min_int
    assert requantize([hi + 1], 3, FixedType(8, 1)).tolist()[0] > out.max_int
