"""Every component of the library, over its parameter sweep, bit-exact against golden/ under random
input gaps and output stalls (sim/tb/test_<component>.py holds each bench)."""

from __future__ import annotations

import pytest

from sim import catalogue, runner

CASES = [
    pytest.param(comp, params, id=f"{comp.name}-" + "-".join(f"{k}{v}" for k, v in params.items()))
    for comp in catalogue.COMPONENTS.values()
    for params in comp.sweep()
]


@pytest.mark.sim
@pytest.mark.parametrize(("comp", "params"), CASES)
def test_component_matches_golden(comp: catalogue.Component, params: dict) -> None:
    options = runner.RunOptions(seed=7, groups=comp.groups, gap_prob=0.3, stall_prob=0.4)
    result = comp.run(params, options)
    assert result["groups"] == options.groups
    assert all(n > 0 for n in result["outputs"].values())


def test_unknown_component_lists_known_ones() -> None:
    with pytest.raises(KeyError, match="known: .*skid_buffer"):
        catalogue.get("no_such_block")


def test_unknown_parameter_is_named() -> None:
    with pytest.raises(KeyError, match="no parameter BOGUS"):
        catalogue.get("skid_buffer").parameters({"BOGUS": 1})


@pytest.mark.sim
def test_illegal_parameter_fails_at_elaboration_naming_it() -> None:
    comp = catalogue.get("skid_buffer")
    with pytest.raises(runner.SimulationError, match="LANES must be >= 1"):
        runner.build(comp.toplevel, comp.sources, comp.parameters({"LANES": 0}))
