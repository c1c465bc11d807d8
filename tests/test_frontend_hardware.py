"""`ch flow`, `ch emit`, `ch sim`, `ch synth`: the hardware actions of the front end, run for real
(Lightning training, torch.export capture, Verilator simulation, Yosys synthesis)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eda.pnr import PlaceRouteError
from mapper.flow import EMIT
from sw_frontend.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "sw_frontend" / "configs"


@pytest.fixture(scope="module")
def flow_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ch flow` with its example config, shortened on the command line."""
    root = tmp_path_factory.mktemp("out")
    args = [
        "flow",
        "--config",
        str(CONFIGS / "flow_mlp_digits.toml"),
        "--output-root",
        str(root),
        "--max-epochs",
        "3",
        "--samples",
        "60",
        "--skip-synth",
        "--target-cycles",
        "32",
    ]
    assert main(args) == 0
    return root / "mlp_digits_flow"


@pytest.mark.sim
def test_flow_is_bit_exact_and_the_accelerator_classifies_like_the_quantized_model(flow_project: Path) -> None:
    summary = json.loads((flow_project / "hardware" / "flow_summary.json").read_text())
    assert summary["samples"] == 60
    assert summary["mismatches_accelerator_vs_golden"] == 0
    assert summary["mismatches_golden_vs_quantized_model"] == 0
    assert summary["mismatches_accelerator_vs_quantized_model"] == 0
    assert summary["compared_integers"] == 2 * 60 * 10
    assert summary["accuracy"]["accelerator"] == summary["accuracy"]["quantized"]
    assert summary["accuracy"]["quantized"] > 0.8
    measured, predicted = summary["cycles_per_inference"]["measured"], summary["cycles_per_inference"]["predicted"]
    assert measured == predicted
    assert (flow_project / "software" / "training_ckpts" / "best.ckpt").is_file()
    assert (flow_project / "hardware" / "accel_top.core").is_file()
    assert summary["bench"] == "harness" and summary["accuracy_samples"] == 60
    assert summary["simulated_cycles"] >= 60 * predicted and summary["simulator_cycles_per_second"] > 0
    assert summary["first_mismatch"] is None and summary["waves"] is None


@pytest.mark.sim
def test_example_configs_train_transform_emit_sim_synth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented hardware steps with the example configs as they are (epochs and samples cut)."""
    monkeypatch.chdir(tmp_path)
    steps = [
        ["train", "--config", str(CONFIGS / "train_mlp_digits.toml"), "--max-epochs", "3"],
        ["transform", "--config", str(CONFIGS / "transform_mlp_digits_8bit.toml")],
        ["emit", "--config", str(CONFIGS / "emit_mlp_digits_q8.toml")],
        ["sim", "--config", str(CONFIGS / "sim_mlp_digits_q8.toml"), "--samples", "40"],
        ["synth", "--config", str(CONFIGS / "synth_mlp_digits_q8.toml"), "--skip-pnr"],
    ]
    for args in steps:
        assert main(args) == 0, args
    hardware = tmp_path / "mase_output" / "mlp_digits_q8" / "hardware"
    summary = json.loads((hardware / "flow_summary.json").read_text())
    assert summary["mismatches_accelerator_vs_golden"] == 0 and summary["samples"] == 40
    assert summary["cycles_per_inference"]["predicted"] <= 16
    report = json.loads((hardware / "synth" / "report.json").read_text())
    assert report["lut"] > 0 and report["dsp"] > 0
    assert "mapper estimate" in capsys.readouterr().out
    assert os.path.isfile(hardware / "accel_top.core")


def test_synth_without_a_design_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "mlp", "digits", "--output-root", str(tmp_path), "--project", "none"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ch: error: no design in") and "\n" not in err


def test_emit_of_a_float_model_says_what_to_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["emit", "mlp", "digits", "--output-root", str(tmp_path)]) == 2
    assert "maps a quantized model" in capsys.readouterr().err
    assert not (tmp_path / "mlp_digits" / "hardware").exists()


def test_flow_quantizes_each_model_with_its_own_default_table() -> None:
    from quant.config import QuantConfig
    from sw_frontend.hardware import default_quantize

    cnn = QuantConfig.from_dict(default_quantize("cnn", "digits"))
    assert str(cnn.formats_for("fc", "linear").data_out) == "s8.3"
    assert str(cnn.formats_for("relu1", "relu").data_out) == "u8.4"
    mlp = QuantConfig.from_dict(default_quantize("mlp", "digits"))
    assert str(mlp.formats_for("fc2", "linear").data_out) == "s8.3"
    generic = QuantConfig.from_dict(default_quantize("resnet18", "cifar10"))
    assert str(generic.formats_for("layer1.0.conv1", "conv2d").weight) == "s8.6"


def test_emit_dumps_the_graph_after_the_passes_asked_for(tmp_path: Path) -> None:
    """`ch emit --dump-graph fold,annotate`: the graph after those passes as JSON (typed records)
    and a picture; the dump after fold has lanes but no cycles yet, the one after annotate both."""
    config = tmp_path / "q.toml"
    config.write_text(
        "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
        '[quantize.by_type.relu]\ndata_out = [8, 4, "unsigned"]\n'
    )
    args = ["emit", "mlp", "digits", "--config", str(config), "--output-root", str(tmp_path), "--samples", "4"]
    assert main([*args, "--dump-graph", "fold,annotate"]) == 0
    graphs = tmp_path / "mlp_digits" / "hardware" / "graphs"
    fold, annotate = f"{EMIT.index('fold'):02d}_fold", f"{EMIT.index('annotate'):02d}_annotate"
    names = [f"{fold}.json", f"{fold}.png", f"{annotate}.json", f"{annotate}.png"]
    assert sorted(p.name for p in graphs.iterdir()) == names
    folded = json.loads((graphs / f"{fold}.json").read_text())
    annotated = json.loads((graphs / f"{annotate}.json").read_text())
    linear = next(n for n in folded["nodes"] if n["op"] == "linear")
    assert linear["component"] == "fixed_linear" and linear["fold"]["in_lanes"] >= 1 and linear["cycles"] is None
    assert any(n["op"] == "fifo" for n in annotated["nodes"]) and annotated["info"]["predicted_cycles"] == 64
    assert (graphs / f"{fold}.png").read_bytes().startswith(b"\x89PNG")


def test_dump_graph_of_an_unknown_pass_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["emit", "mlp", "digits", "--output-root", str(tmp_path), "--dump-graph", "fold,nope"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ch: error: --dump-graph nope: no such pass; passes: capture, ") and "\n" not in err


def test_flow_with_debug_trains_for_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--debug in `ch flow` logs verbosely but does not shrink the training to one batch (a
    fast_dev_run writes no checkpoint to map)."""
    from sw_frontend import hardware

    seen = {}
    monkeypatch.setattr(hardware, "run_train", lambda s: seen.update(debug=s.debug, action=s.action))
    monkeypatch.setattr(hardware, "_flow", lambda settings, synth, started=None: {})
    assert main(["flow", "mlp", "--debug", "--output-root", str(tmp_path)]) == 0
    assert seen == {"debug": False, "action": "train"}


@pytest.mark.sim
def test_sim_of_every_sample_with_the_pyuvm_bench(tmp_path: Path) -> None:
    """--sim-split all takes the test split first, then the rest of the data set; the accuracy
    stays the test split's. --bench pyuvm runs the Python-driven bench instead of the harness."""
    config = tmp_path / "q.toml"
    config.write_text(
        "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
        '[quantize.by_type.relu]\ndata_out = [8, 4, "unsigned"]\n'
    )
    args = ["sim", "mlp", "digits", "--config", str(config), "--output-root", str(tmp_path), "--target-cycles", "16"]
    assert main([*args, "--sim-split", "all", "--samples", "400", "--bench", "pyuvm"]) == 0
    summary = json.loads((tmp_path / "mlp_digits" / "hardware" / "flow_summary.json").read_text())
    assert summary["samples"] == 400 and summary["accuracy_samples"] == 359  # digits: 359 test images
    assert summary["bench"] == "pyuvm" and summary["mismatches_accelerator_vs_golden"] == 0


def test_an_unknown_bench_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["sim", "mlp", "digits", "--output-root", str(tmp_path), "--bench", "modelsim"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--bench" in err and "harness" in err and "\n" not in err


@pytest.mark.sim
def test_a_failed_place_and_route_is_one_line_naming_the_way_out(
    flow_project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """nextpnr's own error (here as it words too many multipliers for the part) ends `ch flow` with
    one line that names the design folder and the options that avoid it, not a traceback."""
    import mapper.flow

    def refuse(*args: object, **kwargs: object) -> None:
        raise PlaceRouteError(
            "nextpnr failed on accel_top: ERROR: Unable to place cell 'u_dsp', no BELs remaining to "
            "implement cell type 'MULT18X18D'\n0 warnings, 1 error"
        )

    monkeypatch.setattr(mapper.flow, "run_flow", refuse)
    ckpt = flow_project / "software" / "training_ckpts" / "best.ckpt"
    root = flow_project.parent
    args = ["flow", "mlp", "digits", "--output-root", str(root), "--project", "refused", "--load", str(ckpt)]
    capsys.readouterr()
    assert main([*args, "--load-type", "pl", "--samples", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ch: error: place and route failed (nextpnr failed on accel_top: ERROR: Unable to place")
    assert "--skip-pnr" in err and "--max-dsp" in err and str(root / "refused" / "hardware") in err
    assert "\n" not in err


@pytest.mark.slow
def test_synth_places_and_routes_and_prints_the_clock(flow_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ch synth` on the flow's design: Yosys resources, then nextpnr's Fmax next to the mapper's
    prediction, with inferences per second and latency in ns, and the one-line verdict."""
    root, project = flow_project.parent, flow_project.name
    capsys.readouterr()
    args = ["synth", "mlp", "digits", "--output-root", str(root), "--project", project, "--clock-mhz", "100"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Fmax on ECP5, MHz (nextpnr)" in out and "inferences per second" in out and "latency, ns" in out
    assert "accel_top: meets 100 MHz" in out or "accel_top: MISSES 100 MHz" in out
    pnr = json.loads((flow_project / "hardware" / "pnr" / "pnr.json").read_text())
    assert pnr["freq_mhz"] == 100.0 and pnr["fmax_mhz"] > 0 and pnr["dsps"] > 0
