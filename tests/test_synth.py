"""Yosys synthesis of library components: real runs, real counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eda.synth import SynthesisError, synthesize
from eda.yosys import shorten_log
from mapper.components import get
from sim.runner import RunOptions


@pytest.mark.sim
def test_linear_layer_synthesizes_to_luts_and_dsps(tmp_path: Path) -> None:
    comp = get("fixed_linear")
    params, _ = comp.prepared(comp.parameters_with({"IN_PAR": 4, "OUT_PAR": 2}), RunOptions().seed)
    report = synthesize(comp.name, params, comp.sources, tmp_path)
    assert report.lut > 0
    assert report.dsp == 4 * 2  # one DSP48E1 per multiplier: IN_PAR x OUT_PAR
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["lut"] == report.lut
    assert "| LUT |" in (tmp_path / "report.md").read_text()


def test_long_log_lines_are_cut_and_short_logs_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "synth.log"
    log.write_text("short\n" + "x" * 25 + "\nlast")
    shorten_log(log, limit=10)
    assert log.read_text() == "short\n" + "x" * 10 + " [... 15 characters cut]\nlast"
    before = log.stat().st_mtime_ns
    shorten_log(log, limit=100)
    assert log.stat().st_mtime_ns == before and not list(tmp_path.glob("*.tmp"))
    shorten_log(tmp_path / "missing.log")  # nothing to do


@pytest.mark.sim
def test_bad_parameter_is_a_synthesis_error(tmp_path: Path) -> None:
    comp = get("skid_buffer")
    with pytest.raises(SynthesisError, match="LANES must be >= 1"):
        synthesize(comp.name, {"LANES": 0}, comp.sources, tmp_path)


@pytest.mark.sim
def test_a_deep_weight_memory_becomes_block_ram(tmp_path: Path) -> None:
    """fixed_linear reads its weights a cycle ahead, so a deep ROM maps to BRAM, not LUTs (the
    rule mapper/components/linear.py's estimate states: from 512 words and 16 kb on)."""
    comp = get("fixed_linear")
    params, _ = comp.prepared(
        comp.parameters_with({"IN_FEATURES": 64, "OUT_FEATURES": 32, "IN_PAR": 4, "OUT_PAR": 1}), RunOptions().seed
    )
    report = synthesize(comp.name, params, comp.sources, tmp_path)
    assert report.bram == 0.5  # 512 words x 32 bits: one RAMB18E1, half a 36 kb tile
    assert report.lut < 200  # the ROM is not in LUTs (a combinational ROM of this size needs ~480)
