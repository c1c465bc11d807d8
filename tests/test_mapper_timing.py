"""The mapper's clock: its model (predicted Fmax from calibrated component runs), the
``place_and_route`` pass (nextpnr on the emitted top, Fmax and derived figures in the report), and
a design folder that still simulates and synthesizes after it has been moved."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from eda.pnr import PlaceRouteError
from eda.toolchain import tool_env
from mapper import clock_designs
from mapper.flow import run_flow
from mapper.graph import Graph, Node, Resources
from mapper.passes.base import FlowContext
from mapper.passes.clock import DATA, SIZE_LIMIT, calibration, clock, node_fmax, size_cap
from quant.config import QuantConfig
from quant.transform import quantize_model

F8 = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}


def _small_mlp() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    return quantize_model(model, QuantConfig.from_dict({"default": F8})).eval()


def test_a_node_is_predicted_at_its_components_slowest_set_of_the_same_kind() -> None:
    points = calibration()["fixed_linear"]
    with_dsp = min(p.fmax_mhz for p in points if p.multiplier and not p.block_ram)
    node = Node("l", "linear", component="fixed_linear")
    node.resources = Resources(lut=100, ff=100, dsp=4)
    assert node_fmax(node) == with_dsp
    node.resources = Resources(lut=100, ff=100, dsp=4, bram=1)
    with_both = [p.fmax_mhz for p in points if p.multiplier and p.block_ram]
    assert with_both and node_fmax(node) == min(with_both)
    assert node_fmax(Node("x", "mystery", component="no_such_component")) is None


def test_the_size_cap_never_rises_with_size() -> None:
    """Designs that get faster with size (one size band, placement noise) give a flat cap at
    their geometric mean, not a cap that would hold small designs below large ones."""
    rising = [{"cells": c, "fmax_mhz": f} for c, f in ((1000, 100.0), (4000, 120.0), (8000, 130.0))]
    flat = clock_designs.fit(rising)
    assert flat["exponent"] == 0.0 and flat["mhz_at_1000_cells"] == pytest.approx(
        (100 * 120 * 130) ** (1 / 3), abs=0.01
    )
    falling = [{"cells": c, "fmax_mhz": f} for c, f in ((1000, 200.0), (4000, 100.0))]
    assert clock_designs.fit(falling)["exponent"] == pytest.approx(0.5)


def test_the_size_cap_is_fitted_on_placed_designs_and_lowers_large_ones() -> None:
    doc = json.loads(DATA.read_text())
    fit, designs = doc["size_cap"], clock_designs.routed(doc["designs"])
    assert fit["designs"] == len(designs) >= 3 and fit["exponent"] > 0
    assert {d["seed"] for d in designs}.isdisjoint(range(1, 21))  # not the held-out resource designs
    caps = [size_cap(c) for c in (1000, 4000, 16000)]
    assert caps[0] == pytest.approx(fit["mhz_at_1000_cells"]) and caps == sorted(caps, reverse=True)
    # the fit is what refitting the saved designs gives (not typed by hand)
    assert clock_designs.fit(designs) == fit


def test_a_design_with_a_large_node_is_predicted_at_its_size_cap_a_small_one_at_its_slowest_node() -> None:
    g = Graph()
    node = Node("l", "linear", component="fixed_linear", resources=Resources(lut=10, ff=10, dsp=1))
    big = Node("w", "conv2d", component="conv_window", resources=Resources(lut=10**5, ff=10**5))
    g.add(node)
    slowest = node_fmax(node)
    assert slowest is not None
    clock(g, FlowContext())  # a 20-cell design: its slowest node sets the clock
    assert g.info.predicted_fmax_mhz == slowest and g.info.fmax_limit == "l"
    g.info.resources = Resources(lut=10**6, ff=10**6)  # the design's total is not what the cap reads
    clock(g, FlowContext())
    assert g.info.predicted_fmax_mhz == slowest and g.info.fmax_limit == "l"
    g.add(big)  # its largest node is: its nets span 200,000 cells
    clock(g, FlowContext())
    cap = size_cap(2 * 10**5)
    assert cap is not None and cap < min(slowest, node_fmax(big) or slowest)
    assert g.info.fmax_limit == f"{SIZE_LIMIT} w" and g.info.predicted_fmax_mhz == round(cap, 1)


def test_clock_designs_needs_three_designs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        clock_designs.main(["--designs", "2", "--fit-only"])
    assert "--designs 2: need at least 3 designs to fit" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        clock_designs.main(["--fit-only", "--remeasure"])  # refit the saved figures or measure anew
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_design_nextpnr_cannot_place_is_recorded_not_fatal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A random design nextpnr refuses (here: its error as nextpnr words it when the MULT18X18D
    run out) is kept with that error and left out of the fit; the others still count."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise PlaceRouteError(
            "nextpnr failed on accel_top: ERROR: Unable to place cell 'u_dsp', no BELs remaining to "
            "implement cell type 'MULT18X18D'\n0 warnings, 1 error"
        )

    monkeypatch.setattr(clock_designs, "place_and_route", refuse)
    record = clock_designs.measure(106, route_minutes=1, folder=tmp_path / "design106")
    assert record["seed"] == 106 and "fmax_mhz" not in record
    assert record["unplaced"].endswith("no BELs remaining to implement cell type 'MULT18X18D'")
    assert clock_designs.routed([record, {"seed": 1, "fmax_mhz": 100.0}]) == [{"seed": 1, "fmax_mhz": 100.0}]


def test_every_component_with_a_bench_is_calibrated() -> None:
    from mapper.components import LIBRARY

    missing = sorted(n for n, c in LIBRARY.items() if c.bench and n not in calibration())
    assert not missing, f"no timing calibration for {missing}: python -m mapper.library_cli timing --all-sweeps --save"


@pytest.mark.sim
def test_flow_places_and_routes_and_reports_the_clock(tmp_path: Path) -> None:
    x = torch.randn(20, 8) * 2
    result = run_flow(_small_mlp(), x, tmp_path / "d", cycles=8, synth=False, place_route=True, clock_mhz=500.0)
    t = result.timing
    assert t is not None and result.mismatches == 0
    assert t["fmax_mhz"] > 50 and not t["met"] and t["requested_mhz"] == 500.0
    # one line that says the clock is missed and names the path
    cp = t["critical_path"]
    assert t["summary"].startswith("accel_top: MISSES 500 MHz") and f"{cp['start']} -> {cp['end']}" in t["summary"]
    cycles, latency = result.measured_cycles_per_inference, result.measured_latency
    assert t["measured"]["inferences_per_second"] == round(t["fmax_mhz"] * 1e6 / cycles)
    assert t["measured"]["latency_ns"] == round(latency * 1e3 / t["fmax_mhz"], 1)
    info = result.graph.info
    assert t["predicted_fmax_mhz"] == info.predicted_fmax_mhz and info.fmax_limit in result.graph.names()
    report = (tmp_path / "d" / "report.md").read_text()
    assert "## Timing (LFE5UM-85F" in report and "inferences per second" in report
    assert json.loads((tmp_path / "d" / "report.json").read_text())["timing"]["fmax_mhz"] == t["fmax_mhz"]


@pytest.mark.sim
def test_a_moved_design_folder_simulates_and_synthesizes(tmp_path: Path) -> None:
    x = torch.randn(12, 8) * 2
    first = tmp_path / "first" / "design"
    # synthesized, so that report.json carries the synthesis block too (its folders relative)
    result = run_flow(_small_mlp(), x, first, cycles=8, synth=True, place_route=False)
    assert result.mismatches == 0 and result.synthesis is not None
    moved = tmp_path / "elsewhere" / "copy"
    shutil.move(str(first), moved)
    shutil.rmtree(tmp_path / "first")
    for f in [moved / "report.json", moved / "accel_top.core", *sorted((moved / "rtl").glob("*.sv"))]:
        assert str(tmp_path) not in f.read_text(), f"{f.name} names an absolute path"
    env = tool_env(dict(os.environ))
    for action in ("sim", "synth"):
        proc = subprocess.run(
            [sys.executable, "-m", "mapper.flow", action, str(moved)], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (moved / "synth" / "report.json").is_file()
    # FuseSoC takes the moved core with its memory images (missing data files would stop it)
    exe = str(Path(sys.executable).parent / "fusesoc")
    work = tmp_path / "fusesoc"
    work.mkdir()
    run = lambda *a: subprocess.run([exe, *a], cwd=work, env=env, capture_output=True, text=True)  # noqa: E731
    assert run("library", "add", "generated", str(moved)).returncode == 0
    proc = run("run", "--target=lint", "chop:generated:accel_top")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    copied = sorted(p.name for p in work.rglob("lint-verilator/mem/*.memh"))
    assert copied == sorted(p.name for p in (moved / "mem").glob("*.memh")) and copied


def test_a_damaged_design_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "mapper.flow", "synth", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "damaged" in proc.stderr
    assert proc.stdout == ""
