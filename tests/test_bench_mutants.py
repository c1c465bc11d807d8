"""The arithmetic benches catch broken rounding and saturation (mutation tests).

Each case copies rtl/arith/fixed_requant_reg.sv with one deliberate bug, builds a component with the
mutant in place of the real file, and requires its bench to fail in the scoreboard. The real
sources are never touched; the mutants live under build/mutants/ so that reruns reuse builds.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eda.toolchain import BUILD_ROOT
from sim import catalogue, runner

REQUANT = "arith/fixed_requant_reg.sv"  # the requantizer of the pipelined components

#: name -> (text in fixed_requant.sv, its buggy replacement)
MUTANTS = {
    "truncate": ("OUT_WIDTH'((wide + HALF) >>> RSHIFT)", "OUT_WIDTH'(wide >>> RSHIFT)"),
    # differs from the real thing only on exact ties: the edge values must hit them
    "round_half_down": ("+ HALF) >>> RSHIFT", "+ HALF - TW'(RSHIFT > 0 ? 1 : 0)) >>> RSHIFT"),
    "wrap_high": (
        "assign data_out = over_q ? OUT_MAX[OUT_WIDTH-1:0]",
        "assign data_out = over_q ? low_q",
    ),
}

#: component -> the sweep entry (index) whose bench must catch every mutant
CASES = {"fixed_cast": 0, "fixed_add": 1}


def mutant_sources(comp: catalogue.Component, mutant: str) -> list[Path]:
    """The component's sources with fixed_requant_reg.sv replaced by the mutant ``mutant``."""
    original, buggy = MUTANTS[mutant]
    text = (catalogue.RTL_ROOT / REQUANT).read_text()
    assert text.count(original) == 1, f"mutant {mutant}: {original!r} not found once in {REQUANT}"
    folder = BUILD_ROOT / "mutants" / mutant
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(REQUANT).name
    mutated = text.replace(original, buggy)
    if not path.exists() or path.read_text() != mutated:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(mutated)
        os.replace(tmp, path)
    return [path if f == REQUANT else catalogue.RTL_ROOT / f for f in comp.files]


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
@pytest.mark.parametrize("name", sorted(CASES))
def test_bench_catches_mutant(name: str, mutant: str) -> None:
    comp = catalogue.get(name)
    params = comp.sweep()[CASES[name]]
    sources = mutant_sources(comp, mutant)
    options = runner.RunOptions(seed=7, groups=300, gap_prob=0.3, stall_prob=0.4)
    with pytest.raises(runner.SimulationError, match="scoreboard: .* problem"):
        runner.run(comp.toplevel, sources, comp.tb_module, params, options)
