"""Bugs that survived the benches before issue 9, each now killed by the check named with it.

- stream_fork / stream_join whose output valid is ANDed with ready: no sink raised ready only after
  valid; killed by tests/test_components_after_valid.py (and the harness's after_valid mode);
- fixed_linear with an accumulator one bit short (the ``+ 1`` of ACC_W dropped): no stimulus
  reached it; killed by the sweep set with a wide integer bias (test_components_sim);
- pool_avg with the reciprocal truncated instead of rounded: equal at the sweep's RECIP_FRAC=20;
  killed by the sweep set at the default RECIP_FRAC=16 (test_components_sim);
- skid_buffer whose data_in_ready looks at the output side only: every beat arrives, 617 instead
  of 602 cycles under stalls; killed by the harness's cycle-exact comparison with an ideal buffer
  (tests/test_harness.py).

Each case runs the killing check on a mutated copy (sim.mutants; the real sources are untouched)
and requires it to fail for the right reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from mapper.components import get
from sim import protocol_mutants as pm
from sim import runner
from sim.harness import HarnessSpec, run
from sim.ideal import compare_with_ideal
from sim.mutants import Mutant

LINEAR_ACC_SHORT = Mutant(
    "linear_acc_one_bit_short",
    "linear/fixed_linear.sv",
    "localparam int ACC_W = (SUM_W > BIAS_W ? SUM_W : BIAS_W) + 1;",
    "localparam int ACC_W = (SUM_W > BIAS_W ? SUM_W : BIAS_W);",
)
AVG_RECIP_TRUNCATED = Mutant(
    "avg_recip_truncated",
    "pool/pool_avg.sv",
    "((longint'(1) << (RECIP_FRAC + 1)) + longint'(WINDOW)) / (longint'(2) * longint'(WINDOW))",
    "(longint'(1) << RECIP_FRAC) / longint'(WINDOW)",
)


def run_component(name: str, index: int, mutant: Mutant, options: runner.RunOptions) -> None:
    comp = get(name)
    params, context = comp.prepared(comp.sweep()[index], options.seed)
    runner.run(
        comp.name,
        mutant.sources(comp.sources),
        comp.bench,
        params,
        options,
        tag="survivor",
        context=context,
    )


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("mutant", [pm.FORK_VALID_WAITS, pm.JOIN_VALID_WAITS], ids=lambda m: m.name)
def test_valid_waiting_for_ready_is_killed_by_the_after_valid_sink(mutant: Mutant) -> None:
    name = "stream_fork" if "fork" in mutant.name else "stream_join"
    # the configuration of test_components_after_valid.py: sweep entry 1 (N = 2), 60 groups
    options = runner.RunOptions(seed=7, groups=60, gap_prob=0.3, stall_prob=0.3, sink_mode="after_valid")
    run_component(name, 1, mutant, runner.RunOptions(seed=7, groups=60))  # survives a random sink
    with pytest.raises(runner.SimulationError, match="valid must not wait for ready"):
        run_component(name, 1, mutant, options)


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize(
    ("name", "index", "mutant"),
    [("fixed_linear", 5, LINEAR_ACC_SHORT), ("pool_avg", 3, AVG_RECIP_TRUNCATED)],
    ids=["linear_acc_one_bit_short", "avg_recip_truncated"],
)
def test_arithmetic_survivor_is_killed_by_its_sweep_set(name: str, index: int, mutant: Mutant) -> None:
    comp = get(name)
    options = runner.RunOptions(seed=7, groups=comp.groups, gap_prob=0.3, stall_prob=0.4)  # test_components_sim's
    with pytest.raises(runner.SimulationError, match="scoreboard: .* problem"):
        run_component(name, index, mutant, options)


@pytest.mark.slow
@pytest.mark.sim
def test_skid_buffer_losing_throughput_is_killed_by_the_ideal_buffer() -> None:
    comp = get("skid_buffer")
    params, bench = comp.bench_spec({"LANES": 4, "WIDTH": 8})
    spec = HarnessSpec.for_bench(comp.name, pm.SKID_READY_OUTPUT_SIDE.sources(comp.sources), bench, params)
    x = np.random.default_rng(1).integers(-128, 128, size=(600, 4))
    result = run(spec, x, seed=5, gap_prob=0.3, stall_prob=0.4, tag="survivor")  # as in test_harness.py
    assert np.array_equal(result.outputs["data_out"], x)  # every beat intact ...
    problem = compare_with_ideal(result, "data_in", "data_out", 2, 5, 0.3, 0.4)
    assert problem is not None and "an ideal buffer of 2 beats" in problem  # ... but late
