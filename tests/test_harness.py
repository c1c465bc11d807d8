"""The generated SystemVerilog harness (sim/harness.py, sim/hdl/): lint, transfers, cycle stamps,
throughput against an ideal buffer under gaps and stalls, back-pressure modes, deadlocks, the
stream checker's assertions (each rule broken once in a mutant copy) and the two-run X check.
"""

from __future__ import annotations

import subprocess
from typing import Any

import numpy as np
import pytest

from eda.toolchain import tool_env, verilator_bin
from mapper.components import get
from mapper.components.linear import params_latency
from sim import protocol_mutants as pm
from sim.checkers import CHECKER_SOURCES
from sim.harness import (
    TRANSACTOR_SOURCES,
    HarnessError,
    HarnessSpec,
    Probe,
    draws,
    lfsr_next,
    lfsr_seed,
    render_top,
    run,
    threshold,
)
from sim.ideal import compare_with_ideal
from sim.mutants import Mutant

HDL = [*TRANSACTOR_SOURCES, *CHECKER_SOURCES]


def spec_for(name: str, overrides: dict[str, Any] | None = None, mutant: Mutant | None = None) -> HarnessSpec:
    """Harness spec of a component (ports from its pyuvm bench), optionally mutated."""
    comp = get(name)
    params, bench = comp.bench_spec(overrides)
    sources = mutant.sources(comp.sources) if mutant else comp.sources
    return HarnessSpec.for_bench(comp.name, sources, bench, params)


def random_inputs(spec: HarnessSpec, n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        p.name: rng.integers(p.lane_min, p.lane_max + 1, size=(n, spec.beats_of(p.name) * p.lanes)) for p in spec.inputs
    }


def test_lfsr_mirror_is_xorshift32() -> None:
    assert lfsr_next(1) == 270369  # Marsaglia's xorshift32 (13, 17, 5) from state 1
    assert lfsr_seed(0, 0) != 0 and lfsr_seed(1, 1) != lfsr_seed(1, 2)
    d = draws(7, 1, 20000)
    assert 0.28 < np.mean(np.asarray(d) < threshold(0.3)) < 0.32
    with pytest.raises(ValueError, match="probability"):
        threshold(1.0)


def test_probe_inside_an_instance_needs_its_width() -> None:
    with pytest.raises(ValueError, match="give its width"):
        Probe.port("u_linear.data_out")
    assert Probe.port("u_linear.data_out", 16).dotted and not Probe.of("s_linear").dotted


@pytest.mark.sim
def test_probes_check_internal_streams() -> None:
    """fixed_add's joined operands (a wire of the top) and its output register's input (a port of
    an instance) are checked: a mutant whose join changes data while stalled fails naming the probe."""
    comp = get("fixed_add")
    params, bench = comp.bench_spec({"LANES": 2})
    probes = [
        Probe("joined", "joined", "joined_valid", "joined_ready"),  # a wire of fixed_add
        Probe.port("u_out.data_in", 2 * 8),  # a port of its output register
    ]
    spec = HarnessSpec.of(comp.name, comp.sources, bench.inputs, bench.outputs, parameters=params, probes=probes)
    x = random_inputs(spec, 100)
    run(spec, x, seed=3, gap_prob=0.3, stall_prob=0.4, tag="probes")
    # the join zeroes its data while stalled: only the probe on `joined` sees it
    spec = HarnessSpec.of(
        comp.name,
        pm.JOIN_DATA_UNSTABLE.sources(comp.sources),
        bench.inputs,
        bench.outputs,
        parameters=params,
        probes=probes,
    )
    with pytest.raises(HarnessError, match=r"stream_checker: joined: data changed while stalled"):
        run(spec, x, seed=3, gap_prob=0.3, stall_prob=0.4, tag="probes-mut")


@pytest.mark.sim
@pytest.mark.parametrize("top", ["stream_source", "stream_sink", "stream_checker", "stream_checker_bus"])
def test_hdl_lint_clean(top: str) -> None:
    cmd = [
        verilator_bin(),
        "--lint-only",
        "-Wall",
        "--timing",
        "--assert",
        "--top-module",
        top,
        *map(str, HDL),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=tool_env(), check=False)
    messages = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith(("%Warning", "%Error"))]
    assert proc.returncode == 0 and not messages, "\n".join(messages)


@pytest.mark.sim
@pytest.mark.parametrize("name", ["skid_buffer", "stream_fork"])
def test_generated_top_lint_clean(name: str, tmp_path: Any) -> None:
    overrides = {"N": 3, "LANES": 2} if name == "stream_fork" else {"LANES": 2}
    spec = spec_for(name, overrides)
    top = tmp_path / "harness_top.sv"
    top.write_text(render_top(spec, 1024, 1024))
    cmd = [
        verilator_bin(),
        "--lint-only",
        "-Wall",
        "--timing",
        "--assert",
        "--timescale",
        "1ns/1ps",
        "--top-module",
        "harness_top",
        *map(str, HDL),
        *map(str, spec.sources),
        str(top),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=tool_env(), check=False)
    messages = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith(("%Warning", "%Error"))]
    assert proc.returncode == 0 and not messages, "\n".join(messages)


# (component, overrides, ideal capacity): latency-1 buffers with a registered ready of that many
# beats, or 0 for a wire (one-stream fork and join without their skid buffer)
PLUMBING = [
    ("skid_buffer", {"LANES": 4, "WIDTH": 8}, 2),
    ("stream_fifo", {"LANES": 1, "WIDTH": 8, "DEPTH": 1}, 1),
    ("stream_fifo", {"LANES": 2, "WIDTH": 3, "DEPTH": 16}, 16),
    ("stream_resize", {"IN_LANES": 4, "OUT_LANES": 4, "WIDTH": 5}, 2),
    ("stream_fork", {"LANES": 1, "WIDTH": 1, "N": 1}, 2),
    ("stream_join", {"LANES": 1, "WIDTH": 2, "N": 1}, 2),
    ("stream_fork", {"LANES": 1, "WIDTH": 1, "N": 1, "IN_REG": 0}, 0),
    ("stream_join", {"LANES": 1, "WIDTH": 2, "N": 1, "OUT_REG": 0}, 0),
]


@pytest.mark.sim
@pytest.mark.parametrize("sink_mode", ["random", "after_valid"])
@pytest.mark.parametrize(("name", "overrides", "capacity"), PLUMBING, ids=lambda v: str(v))
def test_plumbing_throughput_is_ideal_under_gaps_and_stalls(
    name: str, overrides: dict[str, Any], capacity: int, sink_mode: str
) -> None:
    """Every transfer happens in exactly the cycle an ideal buffer would make it happen."""
    spec = spec_for(name, overrides)
    x = random_inputs(spec, 600)
    result = run(spec, x, seed=5, gap_prob=0.3, stall_prob=0.4, sink_mode=sink_mode, tag="ideal")
    (out,) = [p.name for p in spec.outputs]
    assert np.array_equal(result.outputs[out], np.concatenate(list(x.values()), axis=1))
    (inp,) = [p.name for p in spec.inputs]
    problem = compare_with_ideal(result, inp, out, capacity, 5, 0.3, 0.4, after_valid=sink_mode == "after_valid")
    assert problem is None, f"{name}: {problem}"


@pytest.mark.sim
def test_linear_inferences_timing_and_values() -> None:
    """A folded layer: outputs per inference equal the bench's golden model; II and latency are
    the header's (G * C cycles; a group's beat leaves the pipeline depth after its last step)."""
    comp = get("fixed_linear")
    # 16 -> 6, IN_PAR 4, OUT_PAR 2: C = 4 steps, G = 3 groups
    full, bench = comp.bench_spec(comp.sweep()[1], seed=3)
    spec = HarnessSpec.for_bench(comp.name, comp.sources, bench, full)
    x = random_inputs(spec, 50)["data_in"]
    result = run(spec, x, seed=2, tag="linear")
    want = [
        [v for beat in bench.model({"data_in": row.reshape(-1, 4).tolist()})["data_out"] for v in beat] for row in x
    ]
    assert result.outputs["data_out"].tolist() == want
    assert result.initiation_interval("data_out", 3) == 12
    # the vector's last beat enters at step 3 of group 0; group 2 ends 8 steps later, then the
    # pipeline: 7 + ceil(log2 IN_PAR) for 8-bit operands and a ROM in LUTs
    assert params_latency(full) == 7 + 2
    assert result.latency("data_in", "data_out", 3) == 3 + 8 + 9
    stalled = run(spec, x, seed=2, gap_prob=0.4, stall_prob=0.5, tag="linear-stalls")
    assert stalled.outputs["data_out"].tolist() == want
    assert stalled.differences("data_out", np.asarray(want), 2) == []
    more = np.insert(np.asarray(want), 1, [7, 7, 7, 7, 7, 7], axis=0)  # an inference it never made
    assert stalled.differences("data_out", more, 2) == [
        "data_out: missing 3 beat(s): expected beats 3..5 (group 1) never arrived: [[7, 7], [7, 7], [7, 7]] (3 beats)",
        "data_out: expected beats 6..152 then arrive in order",
    ]
    wrong = np.asarray(want)
    wrong[2, 1] += 1
    assert stalled.differences("data_out", wrong, 2)[0].startswith("data_out: beat 6 at cycle ")


@pytest.mark.sim
def test_valid_waiting_for_ready_deadlocks_with_after_valid_sink() -> None:
    spec = spec_for("stream_fork", {"LANES": 3, "N": 2}, pm.FORK_VALID_WAITS)
    x = random_inputs(spec, 50)
    run(spec, x, seed=1, stall_prob=0.3, tag="fork-mut")  # a random sink does not see it
    with pytest.raises(HarnessError, match=r"output data_out_0: 0 of 50 beats .*valid must not wait for ready"):
        run(spec, x, seed=1, stall_prob=0.3, sink_mode="after_valid", timeout_cycles=500, tag="fork-mut")


#: One broken stream rule each (name, component, mutant, expected message, needs the X check).
VIOLATIONS = [
    ("skid_buffer", pm.SKID_VALID_DROPPED, r"data_out: valid dropped before the transfer at cycle \d+", False),
    ("skid_buffer", pm.SKID_DATA_UNSTABLE, r"data_out: data changed while stalled at cycle \d+", False),
    ("skid_buffer", pm.SKID_VALID_UNRESET, r"data_out: valid is unknown \(X\) at cycle \d+", True),
    ("skid_buffer", pm.SKID_DATA_X, r"data_out: data unknown \(X\) while valid at cycle \d+", True),
]


@pytest.mark.sim
@pytest.mark.parametrize(("name", "mutant", "message", "x_check"), VIOLATIONS, ids=[v[1].name for v in VIOLATIONS])
def test_stream_rule_violation_fails_the_run(name: str, mutant: Mutant, message: str, x_check: bool) -> None:
    spec = spec_for(name, {}, mutant)
    x = random_inputs(spec, 200)
    with pytest.raises(HarnessError, match=message):
        run(spec, x, seed=4, gap_prob=0.3, stall_prob=0.4, x_check=x_check, tag=mutant.name)
