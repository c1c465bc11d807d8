"""Every component's bench with a sink that raises ready only after it has seen valid
(RunOptions.sink_mode="after_valid"): a component whose valid waits for ready deadlocks here, and
the watchdog names the port. One sweep entry per component (the builds of test_components_sim)."""

from __future__ import annotations

import pytest

from mapper.components import LIBRARY, Component, get
from sim import runner

#: (component, sweep entry): the second entry where there is one (several lanes or streams)
CASES = [(c.name, min(1, len(c.sweep()) - 1)) for c in (c for c in LIBRARY.values() if c.bench)]
GROUPS = 60


def options(comp: Component) -> runner.RunOptions:
    return runner.RunOptions(
        seed=7, groups=min(comp.groups, GROUPS), gap_prob=0.3, stall_prob=0.3, sink_mode="after_valid"
    )


@pytest.mark.sim
@pytest.mark.parametrize(("name", "index"), CASES, ids=[f"{n}-{i}" for n, i in CASES])
def test_component_under_after_valid_sink(name: str, index: int) -> None:
    comp = get(name)
    result = comp.run(comp.sweep()[index], options(comp), tag="after-valid")
    assert result["groups"] == options(comp).groups
