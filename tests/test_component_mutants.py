"""The benches catch deliberate bugs (mutation tests), as the descriptors list them.

Each case copies one RTL file with one bug into build/mutants/, builds the named component with
the copy in place of the real file, and requires its bench to fail in the scoreboard. The real
sources are never touched (other benches use them).
"""

from __future__ import annotations

import pytest

from mapper.components import LIBRARY, Component, Mutant, get
from sim import runner

CASES = [
    pytest.param(owner, mutant, name, index, id=f"{owner.name}-{mutant.name}-{name}-{index}")
    for owner in LIBRARY.values()
    for mutant in owner.mutants
    for name, index in mutant.caught_by
]


def test_every_mutant_names_benches_that_use_its_file() -> None:
    for owner in LIBRARY.values():
        for mutant in owner.mutants:
            for name, index in mutant.caught_by:
                comp = get(name)
                assert owner.file in comp.sources, f"{mutant.name}: {name} does not use {owner.file.name}"
                assert comp.bench and index < len(comp.sweep()), f"{mutant.name}: {name} has no sweep entry {index}"


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize(("owner", "mutant", "name", "index"), CASES)
def test_bench_catches_mutant(owner: Component, mutant: Mutant, name: str, index: int) -> None:
    comp = get(name)
    files = owner.mutant(mutant).sources(comp.sources)
    options = runner.RunOptions(seed=7, groups=comp.groups, gap_prob=0.3, stall_prob=0.4)
    with pytest.raises(runner.SimulationError, match="scoreboard: .* problem"):
        comp.run(comp.sweep()[index], options, tag="mutant", files=files)
