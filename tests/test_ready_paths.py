"""No component lets a ready path through: every ``data_in*_ready`` of every library component
(at the largest set of its sweep) is independent of ``data_out_ready`` in the same cycle, so a
combinational ready chain never crosses more than one component (issue 8). A combinational join
is the counter-example the check must catch."""

from __future__ import annotations

import pytest

from eda.ready_paths import combinational_ready_paths
from eda.timing_table import largest_sweep
from sim import catalogue
from sim.runner import RunOptions


@pytest.mark.sim
@pytest.mark.parametrize("name", sorted(catalogue.COMPONENTS))
def test_input_ready_does_not_depend_on_output_ready(name: str) -> None:
    comp = catalogue.get(name)
    params, _ = comp.prepared(comp.sweep()[largest_sweep(name)], RunOptions().seed)
    assert combinational_ready_paths(comp.toplevel, params, comp.sources) == []


@pytest.mark.sim
def test_a_combinational_join_is_caught() -> None:
    comp = catalogue.get("stream_join")
    found = combinational_ready_paths(comp.toplevel, comp.parameters({"OUT_REG": 0}), comp.sources)
    assert found == ["data_in_ready"]
