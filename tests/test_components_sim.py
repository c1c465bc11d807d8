"""Every component of the library, over its parameter sweep, bit-exact against golden/ under random
input gaps and output stalls (sim/tb/test_<component>.py holds each bench; the sweeps are the
descriptors' in mapper/components/)."""

from __future__ import annotations

import pytest

from mapper.components import LIBRARY, Component, get
from sim import runner

CASES = [
    pytest.param(comp, params, id=f"{comp.name}-" + "-".join(f"{k}{v}" for k, v in params.items()))
    for comp in LIBRARY.values()
    if comp.bench
    for params in comp.sweep()
]


@pytest.mark.sim
@pytest.mark.parametrize(("comp", "params"), CASES)
def test_component_matches_golden(comp: Component, params: dict) -> None:
    options = runner.RunOptions(seed=7, groups=comp.groups, gap_prob=0.3, stall_prob=0.4)
    result = comp.run(params, options)
    assert result["groups"] == options.groups
    assert all(n > 0 for n in result["outputs"].values())


def test_every_component_without_a_bench_is_used_by_one_with_a_bench() -> None:
    for comp in LIBRARY.values():
        if comp.bench is None:
            users = [c.name for c in LIBRARY.values() if comp.name in c.depends and c.bench]
            assert users, f"{comp.name} has no bench and no benched component instantiates it"


def test_every_dependency_is_a_component() -> None:
    for comp in LIBRARY.values():
        assert all(d in LIBRARY for d in comp.depends), f"{comp.name} depends on {comp.depends}"
        assert comp.sources[-1] == comp.file


def test_every_rtl_file_has_a_descriptor() -> None:
    described = {c.file for c in LIBRARY.values()}
    files = set(next(iter(LIBRARY.values())).file.parents[1].rglob("*.sv"))
    assert files == described, f"without a descriptor: {sorted(map(str, files - described))}"


def test_unknown_component_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="known: .*skid_buffer"):
        get("no_such_block")


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(KeyError, match="no parameter BOGUS"):
        get("skid_buffer").parameters_with({"BOGUS": 1})


@pytest.mark.sim
def test_illegal_parameter_fails_at_elaboration_naming_it() -> None:
    comp = get("skid_buffer")
    with pytest.raises(runner.SimulationError, match="LANES must be >= 1"):
        runner.build(comp.name, comp.sources, comp.parameters_with({"LANES": 0}))
