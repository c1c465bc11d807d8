"""Stream protocol checkers bound into every component bench (sim/checkers.py, sim/runner.py) and
the pyuvm bench's failure reports (sim/verif): each stream rule broken once in a mutant copy of a
component fails its pyuvm bench with the checker's message naming the stream and the cycle; a
valid that waits for ready deadlocks under the after-valid sink and the watchdog names the port;
a dropped beat is reported as missing (not as every later beat shifted), with the inputs of its
group; the scoreboard's line-up of expected and received beats on its own.
"""

from __future__ import annotations

import pytest

from mapper.components import LIBRARY, get
from sim import protocol_mutants as pm
from sim import runner
from sim.checkers import bind_statements, module_ports, stream_ports
from sim.mutants import RTL_ROOT, Mutant
from sim.verif.scoreboard import line_up


def test_stream_ports_of_fork_join_and_plain_modules() -> None:
    text = (RTL_ROOT / "stream/stream_fork.sv").read_text() + (RTL_ROOT / "stream/stream_join.sv").read_text()
    ports = module_ports(text)
    fork = {s.name: s.sliced for s in stream_ports("stream_fork", ports["stream_fork"])}
    join = {s.name: s.sliced for s in stream_ports("stream_join", ports["stream_join"])}
    assert fork == {"data_in": False, "data_out": False}  # the consumers share data_out
    assert join == {"data_in": True, "data_out": False}  # each input owns a slice of data_in
    add = module_ports((RTL_ROOT / "arith/fixed_add.sv").read_text())["fixed_add"]
    assert [s.name for s in stream_ports("fixed_add", add)] == ["data_in_0", "data_in_1", "data_out"]
    requant = module_ports((RTL_ROOT / "arith/fixed_requant_reg.sv").read_text())["fixed_requant_reg"]
    assert stream_ports("fixed_requant_reg", requant) == []  # no rst, no valid: not a stream module
    binds = bind_statements(sorted(RTL_ROOT.rglob("*.sv")))
    modules = {line.split()[1] for line in binds}
    streaming = {c.name for c in LIBRARY.values() if c.bench}  # every component with a bench streams
    assert modules == streaming


def run_mutant(name: str, sweep: int, mutant: Mutant, **options: object) -> None:
    comp = get(name)
    opts = runner.RunOptions(**{"seed": 7, "groups": 60, "gap_prob": 0.3, "stall_prob": 0.4, **options})
    params, context = comp.prepared(comp.sweep()[sweep], opts.seed)
    runner.run(comp.name, mutant.sources(comp.sources), comp.bench, params, opts, tag="mutant", context=context)


#: (component, sweep entry, mutant, expected message, X check): one stream rule broken each.
VIOLATIONS = [
    (
        "skid_buffer",
        1,
        pm.SKID_VALID_DROPPED,
        r"stream rule broken:\n  skid_buffer.data_out: valid dropped before the transfer at cycle \d+",
        False,
    ),
    (
        "skid_buffer",
        1,
        pm.SKID_DATA_UNSTABLE,
        r"stream rule broken:\n  skid_buffer.data_out: data changed while stalled at cycle \d+",
        False,
    ),
    (
        "skid_buffer",
        1,
        pm.SKID_VALID_UNRESET,
        r"stream rule broken:\n  skid_buffer.data_out: valid is unknown \(X\) at cycle \d+",
        True,
    ),
    (
        "skid_buffer",
        1,
        pm.SKID_DATA_X,
        r"stream rule broken:\n  skid_buffer.data_out: data unknown \(X\) while valid at cycle \d+",
        True,
    ),
]


@pytest.mark.sim
@pytest.mark.parametrize(
    ("name", "sweep", "mutant", "message", "x_check"), VIOLATIONS, ids=[v[2].name for v in VIOLATIONS]
)
def test_broken_stream_rule_fails_the_component_bench(
    name: str, sweep: int, mutant: Mutant, message: str, x_check: bool
) -> None:
    with pytest.raises(runner.SimulationError, match=message):
        run_mutant(name, sweep, mutant, x_check=x_check)


@pytest.mark.sim
def test_valid_waiting_for_ready_deadlocks_under_after_valid_sink() -> None:
    run_mutant("stream_fork", 1, pm.FORK_VALID_WAITS)  # a random sink does not see it
    with pytest.raises(
        runner.SimulationError,
        match=r"deadlock: .*\n.*input data_in: .*\n.*output data_out_0: .*not producing; the sink raises ready "
        r"only after seeing valid: valid must not wait for ready",
    ):
        run_mutant("stream_fork", 1, pm.FORK_VALID_WAITS, sink_mode="after_valid", timeout_cycles=500)


@pytest.mark.sim
def test_dropped_beat_is_reported_missing_with_its_group_inputs() -> None:
    # a beat that arrives while the output is stalled is parked but forgotten: it is lost
    with pytest.raises(runner.SimulationError) as err:
        run_mutant("skid_buffer", 1, pm.SKID_FORGETS_PARKED_BEAT, timeout_cycles=300)
    text = str(err.value).split("--- last lines")[0]
    assert "after every input beat was taken: output beats are missing" in text
    assert "data_out: missing 1 beat(s): expected beats" in text
    assert "differs in lanes" not in text  # no cascade of shifted mismatches
    assert "then arrive in order" in text
    assert "inputs of group" in text


def test_line_up_tells_missing_extra_and_wrong_beats() -> None:
    expected = [([i, -i], i // 4) for i in range(40)]
    arrived = [(b, 100 + k) for k, (b, _) in enumerate(e for e in expected if e[0][0] != 9)]
    lines, group = line_up("data_out", expected, arrived)
    assert lines == [
        "data_out: missing 1 beat(s): expected beats 9..9 (group 2) never arrived: [[9, -9]] (1 beats)",
        "data_out: expected beats 10..39 then arrive in order",
    ]
    assert group == 2
    extra = [(b, k) for k, (b, _) in enumerate([*expected[:5], ([7, 7], 0), *expected[5:]])]
    lines, group = line_up("data_out", expected, extra)
    assert lines[0] == "data_out: 1 extra beat(s) at cycle 5, before expected beat 5: [[7, 7]] (1 beats)"
    assert group == -1
    wrong = [(b if k != 6 else [6, 0], k) for k, (b, _) in enumerate(expected)]
    lines, group = line_up("data_out", expected, wrong)
    assert lines[0] == "data_out: beat 6 at cycle 6 differs in lanes [1]: got [6, 0], expected [6, -6]"
    assert group == 1
    assert line_up("data_out", expected, [(b, 0) for b, _ in expected]) == ([], -1)
