"""No component lets a ready path through: every ``data_in*_ready`` of every library component
with a bench (at the sweep set its Fmax is judged at) is independent of ``data_out_ready`` in the
same cycle, so a combinational ready chain never crosses more than one component. A combinational
join is the counter-example the check must catch."""

from __future__ import annotations

import pytest

from eda.ready_paths import combinational_ready_paths
from mapper.components import LIBRARY, get
from sim.runner import RunOptions


@pytest.mark.sim
@pytest.mark.parametrize("name", sorted(n for n, c in LIBRARY.items() if c.bench))
def test_input_ready_does_not_depend_on_output_ready(name: str) -> None:
    comp = get(name)
    params, _ = comp.prepared(comp.sweep()[comp.fmax_index()], RunOptions().seed)
    assert combinational_ready_paths(comp.name, params, comp.sources) == []


@pytest.mark.sim
def test_a_combinational_join_is_caught() -> None:
    comp = get("stream_join")
    found = combinational_ready_paths(comp.name, comp.parameters_with({"OUT_REG": 0}), comp.sources)
    assert found == ["data_in_ready"]
