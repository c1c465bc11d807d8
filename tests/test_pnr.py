"""ECP5 place and route (eda/pnr.py): real nextpnr runs on small designs.

The probe design has a long path (three chained 16-bit multiplies and an add) next to a one-LUT
path; the report must name the long one's registers as the critical path's start and end points
and state that a 200 MHz clock is missed. The references must land near the known ceilings of
this flow (a multiplier ~147 MHz, a block RAM read ~140-150 MHz)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eda.pnr import (
    REFERENCE_ROOT,
    CriticalPath,
    Mounts,
    PlaceRouteTimeout,
    PnrReport,
    applicable_reference,
    harness_source,
    parse_portlist,
    place_and_route,
)


@pytest.mark.sim
def test_long_combinational_path_is_the_critical_path(tmp_path: Path) -> None:
    report = place_and_route("timing_probe", {"WIDTH": 16}, [REFERENCE_ROOT / "timing_probe.sv"], tmp_path)
    cp = report.critical_path
    assert cp is not None
    assert cp.start.startswith("long_src["), cp
    assert cp.end.startswith("long_dst["), cp
    assert cp.delay_ns > 10.0 and cp.levels > 5, cp
    assert not report.met and report.fmax_mhz < 100.0
    assert report.dsps >= 3  # the three multiplies
    line = report.summary()
    assert "MISSES 200 MHz" in line and "long_src[" in line and "long_dst[" in line
    written = json.loads((tmp_path / "pnr.json").read_text())
    assert written["critical_path"]["end"] == cp.end and written["met"] is False


@pytest.mark.sim
def test_a_run_past_its_time_limit_stops_with_the_progress_it_reached(tmp_path: Path) -> None:
    with pytest.raises(PlaceRouteTimeout, match=r"did not finish timing_probe within 0.5 s; last progress: "):
        place_and_route("timing_probe", {"WIDTH": 16}, [REFERENCE_ROOT / "timing_probe.sv"], tmp_path, timeout_s=0.5)
    assert not (tmp_path / "pnr.json").exists()


@pytest.mark.sim
def test_a_relaxed_clock_is_met_and_references_are_near_their_ceilings(tmp_path: Path) -> None:
    mult = place_and_route("ref_mult", {"WIDTH": 8}, [REFERENCE_ROOT / "ref_mult.sv"], tmp_path / "m", 100.0)
    assert mult.met and "meets 100 MHz" in mult.summary()
    assert 120.0 < mult.fmax_mhz < 180.0 and mult.dsps == 1
    assert mult.critical_path is not None and mult.critical_path.end.startswith("p[")
    mem = place_and_route("ref_bram", {}, [REFERENCE_ROOT / "ref_bram.sv"], tmp_path / "b", 100.0)
    assert 120.0 < mem.fmax_mhz < 180.0 and mem.brams == 1 and mem.dsps == 0
    refs = {"multiplier": mult, "memory": mem}
    assert applicable_reference(mult.dsps, mult.brams, refs) == ("multiplier", mult.fmax_mhz)
    assert applicable_reference(mem.dsps, mem.brams, refs) == ("memory", mem.fmax_mhz)


def _report(dsp: int, bram: int) -> PnrReport:
    return PnrReport("x", {}, 200.0, 100.0, None, {"MULT18X18D": dsp, "DP16KD": bram})


def test_applicable_reference_is_the_lower_one_that_applies() -> None:
    refs = {"multiplier": _report(1, 0), "memory": _report(0, 1)}
    refs["multiplier"].fmax_mhz, refs["memory"].fmax_mhz = 147.0, 141.0
    assert applicable_reference(2, 0, refs) == ("multiplier", 147.0)
    assert applicable_reference(0, 1, refs) == ("memory", 141.0)
    assert applicable_reference(1, 1, refs) == ("memory", 141.0)
    assert applicable_reference(0, 0, refs) == ("absolute", 200.0)


def test_harness_registers_every_port_bit(tmp_path: Path) -> None:
    ports = parse_portlist(
        "module m\ninput [0:0] clk\ninput [0:0] rst\ninput [31:0] data_in\ninput [0:0] data_in_valid\n"
        "output [0:0] data_in_ready\noutput [7:0] data_out\nendmodule\n"
    )
    text, size = harness_source("m", {"W": 4, "TABLE_FILE": str(tmp_path / "t.memh")}, ports, Mounts(tmp_path))
    assert size == {"ff": 33 + 9 + 1, "lut": 9}
    assert ".data_in(in_chain[31:0])" in text and ".data_in_valid(in_chain[32:32])" in text
    assert ".data_out(out_bits[8:1])" in text and ".rst(rst_q)" in text
    assert '.TABLE_FILE("/out/t.memh")' in text


def test_missed_clock_is_one_line_naming_the_path() -> None:
    cp = CriticalPath("acc[3]", "data_out[1]", "c1", "c2", 12.5, 7.0, 5.5, 9)
    r = PnrReport("fixed_linear", {"IN_PAR": 4}, 200.0, 80.0, cp, {})
    assert r.summary() == (
        "fixed_linear (IN_PAR=4): MISSES 200 MHz, Fmax 80.0 MHz; critical path acc[3] -> data_out[1] "
        "(12.50 ns: 7.00 logic, 5.50 routing, 9 cells between)"
    )
