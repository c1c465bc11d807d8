"""Yosys synthesis of library components: real runs, real counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eda.synth import SynthesisError, synthesize
from sim import catalogue
from sim.runner import RunOptions


@pytest.mark.sim
def test_linear_layer_synthesizes_to_luts_and_dsps(tmp_path: Path) -> None:
    comp = catalogue.get("fixed_linear")
    params, _ = comp.prepared(comp.parameters({"IN_PAR": 4, "OUT_PAR": 2}), RunOptions().seed)
    report = synthesize(comp.toplevel, params, comp.sources, tmp_path)
    assert report.lut > 0
    assert report.dsp == 4 * 2  # one DSP48E1 per multiplier: IN_PAR x OUT_PAR
    written = json.loads((tmp_path / "report.json").read_text())
    assert written["lut"] == report.lut
    assert "| LUT |" in (tmp_path / "report.md").read_text()


@pytest.mark.sim
def test_bad_parameter_is_a_synthesis_error(tmp_path: Path) -> None:
    comp = catalogue.get("skid_buffer")
    with pytest.raises(SynthesisError, match="LANES must be >= 1"):
        synthesize(comp.toplevel, {"LANES": 0}, comp.sources, tmp_path)
