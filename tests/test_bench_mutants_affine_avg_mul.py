"""The benches of fixed_affine, pool_avg and fixed_mul catch broken rounding and wrong channel or
lane indexing (mutation tests).

Each case copies one RTL file with one deliberate bug into build/mutants/, builds the component
with the copy in place of the real file, and requires its bench to fail in the scoreboard. The
real sources are never touched (other benches use them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eda.toolchain import BUILD_ROOT
from sim import catalogue, runner

REQUANT = "arith/fixed_requant_reg.sv"  # the requantizer of the pipelined components


#: name -> (file under rtl/, text in it, its buggy replacement)
MUTANTS = {
    "truncate": (REQUANT, "OUT_WIDTH'((wide + HALF) >>> RSHIFT)", "OUT_WIDTH'(wide >>> RSHIFT)"),
    # differs from the real rounding only on exact ties
    "round_half_down": (REQUANT, "+ HALF) >>> RSHIFT", "+ HALF - TW'(RSHIFT > 0 ? 1 : 0)) >>> RSHIFT"),
    # every beat uses the previous beat's scales and shifts (channel index one beat late)
    "affine_stale_channel": ("norm/fixed_affine.sv", "scale_mem[pos_next]", "scale_mem[pos]"),
    # lane i takes the scale of lane LANES-1-i
    "affine_lanes_reversed": (
        "norm/fixed_affine.sv", "scale_word[i*S_WIDTH+:S_WIDTH]", "scale_word[(LANES-1-i)*S_WIDTH+:S_WIDTH]"
    ),
    # every lane accumulates onto lane 0's running sum
    "avg_lane0_sum": ("pool/pool_avg.sv", "$signed(sum[c]) + x", "$signed(sum[0]) + x"),
    # every lane multiplies by lane 0 of the second operand
    "mul_lane0_operand": ("arith/fixed_mul.sv", "joined[1][i][B_WIDTH-1:0]", "joined[1][0][B_WIDTH-1:0]"),
}

#: (component, sweep index, mutant): the sweep entry whose bench must catch the mutant
CASES = [
    ("fixed_affine", 0, "truncate"),
    ("fixed_affine", 0, "round_half_down"),
    ("fixed_affine", 0, "affine_stale_channel"),
    ("fixed_affine", 1, "affine_lanes_reversed"),
    ("pool_avg", 1, "truncate"),
    ("pool_avg", 1, "round_half_down"),
    ("pool_avg", 1, "avg_lane0_sum"),
    ("fixed_mul", 0, "truncate"),
    ("fixed_mul", 0, "round_half_down"),
    ("fixed_mul", 1, "mul_lane0_operand"),
]


def mutant_sources(comp: catalogue.Component, mutant: str) -> list[Path]:
    """The component's sources with one file replaced by its mutant copy."""
    rel, original, buggy = MUTANTS[mutant]
    text = (catalogue.RTL_ROOT / rel).read_text()
    assert text.count(original) == 1, f"mutant {mutant}: {original!r} not found once in {rel}"
    folder = BUILD_ROOT / "mutants" / mutant
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(rel).name
    mutated = text.replace(original, buggy)
    if not path.exists() or path.read_text() != mutated:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(mutated)
        os.replace(tmp, path)
    assert rel in comp.files, f"mutant {mutant}: {rel} is not a source of {comp.name}"
    return [path if f == rel else catalogue.RTL_ROOT / f for f in comp.files]


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize(("name", "sweep", "mutant"), CASES, ids=[f"{n}-{s}-{m}" for n, s, m in CASES])
def test_bench_catches_mutant(name: str, sweep: int, mutant: str) -> None:
    comp = catalogue.get(name)
    options = runner.RunOptions(seed=7, groups=comp.groups, gap_prob=0.3, stall_prob=0.4)
    params, context = comp.prepared(comp.sweep()[sweep], options.seed)
    sources = mutant_sources(comp, mutant)
    with pytest.raises(runner.SimulationError, match="scoreboard: .* problem"):
        runner.run(comp.toplevel, sources, comp.tb_module, params, options, tag="mutant", context=context)
