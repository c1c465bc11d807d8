"""Measured latency and initiation interval of fixed_affine, pool_avg and fixed_mul against their
headers: a catalogue sweep entry run with no input gaps and no output stalls (the seed is that of
test_components_sim, so the Verilator build and memory images are shared with it)."""

from __future__ import annotations

import pytest

from sim import catalogue, runner

#: (component, sweep index, latency, input spacing, output spacing, input beats per output beat)
CASES = [
    # product (9 x 8 bits: M = 1 level), sum, requantizer, skid buffer
    ("fixed_affine", 1, 4, 1, 1, 1),
    # WINDOW=9: one input beat per cycle, one average per 9 cycles; latency: the sum's register,
    # the 37 x 22-bit product (3 x 2 limbs: M = 1 + ceil(log2 6) = 4 levels), requantizer, skid
    ("pool_avg", 2, 7, 1, 9, 9),
    # 32 x 16 bits: 2 x 1 limbs, M = 3 + 1 levels (operands, partial products twice, their sum),
    # requantizer, skid buffer
    ("fixed_mul", 1, 6, 1, 1, 1),
]


@pytest.mark.sim
@pytest.mark.parametrize(("name", "sweep", "latency", "in_ii", "out_ii", "group"), CASES,
                         ids=[c[0] for c in CASES])
def test_latency_and_initiation_interval(
    name: str, sweep: int, latency: int, in_ii: int, out_ii: int, group: int
) -> None:
    comp = catalogue.get(name)
    options = runner.RunOptions(seed=7, groups=40, gap_prob=0.0, stall_prob=0.0)
    result = comp.run(comp.sweep()[sweep], options, tag="timing")
    first_group_done = max(c[group - 1] for c in result["input_cycles"].values())
    for port, cycles in result["input_cycles"].items():
        spacing = {b - a for a, b in zip(cycles, cycles[1:])}
        assert spacing == {in_ii}, f"{port}: input transfer spacing {sorted(spacing)}"
    for port, cycles in result["output_cycles"].items():
        spacing = {b - a for a, b in zip(cycles, cycles[1:])}
        assert spacing == {out_ii}, f"{port}: output transfer spacing {sorted(spacing)}"
        assert cycles[0] - first_group_done == latency, f"{port}: latency {cycles[0] - first_group_done}"
