"""fixed_linear's measured cycles per input vector and latency equal the formulas in its header,
(OUT_FEATURES / OUT_PAR) * (IN_FEATURES / IN_PAR) and 6 + R + M + T (mapper/latency.py's
linear_latency, which the mapper's model uses), over every parameter set of its sweep."""

from __future__ import annotations

import pytest

from mapper.latency import linear_latency, rom_in_bram
from sim import catalogue, runner

LINEAR = catalogue.get("fixed_linear")


def cycles_per_vector(params: dict) -> int:
    """The header's formula."""
    groups = params["OUT_FEATURES"] // params["OUT_PAR"]
    steps = params["IN_FEATURES"] // params["IN_PAR"]
    return groups * steps


@pytest.mark.sim
@pytest.mark.parametrize("params", LINEAR.sweep(), ids=lambda p: f"K{p['IN_FEATURES']}N{p['OUT_FEATURES']}ip{p['IN_PAR']}op{p['OUT_PAR']}")
def test_measured_interval_matches_formula(params: dict) -> None:
    vectors = 12
    options = runner.RunOptions(seed=3, groups=vectors, gap_prob=0.0, stall_prob=0.0)
    result = LINEAR.run(params, options, tag="timing")
    out = result["output_cycles"]["data_out"]
    beats_per_vector = params["OUT_FEATURES"] // params["OUT_PAR"]
    assert len(out) == vectors * beats_per_vector
    starts = out[::beats_per_vector]
    intervals = {b - a for a, b in zip(starts[1:], starts[2:])}  # steady state: skip the first
    assert intervals == {cycles_per_vector(params)}
    # the first vector's first beat leaves the pipeline depth after its last input beat
    steps = params["IN_FEATURES"] // params["IN_PAR"]
    last_in = result["input_cycles"]["data_in"][steps - 1]
    word_bits = params["OUT_PAR"] * params["IN_PAR"] * params["W_WIDTH"]
    depth = linear_latency(params["IN_WIDTH"], bool(params["IN_SIGNED"]), params["W_WIDTH"], params["IN_PAR"],
                           rom_in_bram(cycles_per_vector(params), word_bits))
    assert out[0] - last_in == depth
