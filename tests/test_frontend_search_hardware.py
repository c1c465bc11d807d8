"""`ch search --objective` and `--verify-front N`: the option errors, the objectives' values, and a
tiny study whose lowest-objective Pareto design is emitted and synthesized by a real Yosys run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import optuna
import pytest
import torch

from eda.synth import synthesize
from mapper.emit import load_design
from mapper.flow import map_model
from mapper.graph import Resources
from quant.config import QuantConfig
from quant.transform import quantize_model
from sw_frontend.actions import seed_everything
from sw_frontend.checkpoints import load_model
from sw_frontend.cli import main
from sw_frontend.data import load_dataset
from sw_frontend.search.objectives import FIT_DEVICE, resource_objective
from sw_frontend.search.study import difference, fingerprint
from sw_frontend.search.verify import relative_error

SEARCH = "search.toml"
SPACE = """
[search.default]
data_in = { width = [4, 6, 8], frac = [2, 3, 4] }
weight = { width = [3, 4, 6, 8], frac = [2, 3, 4, 5] }
bias = { width = 8, frac = [3, 4] }
data_out = { width = [6, 8], frac = [2, 3, 4] }
"""
OUT = Path("mase_output/mlp_digits/software/search")


def ch(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `ch` in-process; (exit status, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / SEARCH).write_text(SPACE)
    return tmp_path


@pytest.mark.parametrize(
    "args,line",
    [
        (
            ["--cost", "mapper", "--objective", "luts"],
            "ch search: error: argument --objective: invalid choice: 'luts' (choose from 'luteq', 'lut', 'ff', "
            "'dsp', 'bram', 'fit', 'latency') (see `ch search --help`)",
        ),
        (["--cost", "mapper", "--verify-front", "0"], "ch: error: --verify-front must be >= 1, got 0"),
        (["--cost", "mapper", "--verify-front", "-2"], "ch: error: --verify-front must be >= 1, got -2"),
        (
            ["--verify-front", "2"],
            "ch: error: --verify-front needs --cost mapper (it synthesizes the designs the mapper builds); "
            "--cost is bitops",
        ),
        (
            ["--cost", "bitops", "--objective", "dsp"],
            "ch: error: --objective needs --cost mapper (it picks a figure of the mapper's design to minimise); "
            "--cost is bitops",
        ),
    ],
)
def test_option_errors_are_one_line(space: Path, capsys, args: list[str], line: str) -> None:
    code, _, err = ch(capsys, "search", "mlp", "--config", SEARCH, "--trials", "1", *args)
    assert (code, err) == (2, line + "\n")
    assert not (space / "mase_output").exists()  # refused before any study


def test_a_bad_objective_in_the_toml(space: Path, capsys) -> None:
    (space / "bad.toml").write_text('cost = "mapper"\nobjective = "area"\n' + SPACE)
    code, _, err = ch(capsys, "search", "mlp", "--config", "bad.toml")
    assert code == 2
    assert err == (
        "ch: error: config bad.toml: 'objective' = 'area' is not allowed; allowed: luteq, lut, ff, dsp, bram, "
        "fit, latency\n"
    )


def test_objectives_of_resources() -> None:
    r = Resources(lut=6340, ff=2536, dsp=48, bram=13.5)  # 10 %, 2 %, 20 %, 10 % of the device
    assert FIT_DEVICE == {"lut": 63_400, "ff": 126_800, "dsp": 240, "bram": 135}
    assert resource_objective(r, "fit") == pytest.approx(0.2)
    assert resource_objective(r, "luteq") == 6340 + 0.5 * 2536 + 60 * 48 + 200 * 13.5
    assert [resource_objective(r, k) for k in ("lut", "ff", "dsp", "bram")] == [6340, 2536, 48, 13.5]
    with pytest.raises(ValueError, match="not a function of resources"):
        resource_objective(r, "latency")
    assert relative_error(120, 100) == pytest.approx(0.2)
    assert relative_error(0, 0) == 0.0 and relative_error(3, 0) is None


def test_the_objective_keys_the_study() -> None:
    key = {"model": "mlp", "dataset": "digits", "cost": "mapper", "target_cycles": 64, "space": {}, "weights": "a"}
    assert difference(key, {**key, "objective": "luteq"}) is None  # a study from before --objective
    assert difference({**key, "objective": "luteq"}, {**key, "objective": "dsp"}) == "objective 'luteq', not 'dsp'"


def test_verify_front_synthesizes_the_lowest_objective_design(space: Path, capsys) -> None:
    args = ["search", "mlp", "--config", SEARCH, "--trials", "3", "--cost", "mapper", "--target-cycles", "512"]
    code, out, err = ch(capsys, *args, "--objective", "lut", "--verify-front", "1")
    assert code == 0, err
    summary = json.loads((space / OUT / "summary.json").read_text())
    assert summary["objective"] == "lut"
    lowest = min(summary["pareto"], key=lambda p: (p["cost"], -p["accuracy"], p["trial"]))
    assert f"verify 1/1: trial {lowest['trial']}: synthesizing accel_top with Yosys" in out
    with open(space / OUT / "verify_front.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    assert [r["trial"] for r in json.loads((space / OUT / "summary.json").read_text())["verify_front"]] == [
        int(rows[0]["trial"])
    ]
    row = rows[0]
    assert int(row["trial"]) == lowest["trial"] and float(row["accuracy"]) == lowest["accuracy"]
    assert (space / OUT / "verify_front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the estimate is the mapper's for that trial's formats, and the search minimised its LUTs
    study = optuna.load_study(study_name="quantize", storage=f"sqlite:///{space / OUT / 'study.db'}")
    seed_everything(0)  # the float model of the search (untrained, seed 0), checked by its fingerprint
    model = load_model("mlp", load_dataset("digits", None, 32), None, None).model
    assert fingerprint(model) == study.user_attrs["ch_key"]["weights"]
    config = QuantConfig.from_dict(study.trials[lowest["trial"]].user_attrs["quantize"])
    qmodel = quantize_model(model, config)
    estimate = map_model(qmodel, torch.zeros(1, 1, 8, 8), cycles=512).info.resources
    folder = space / OUT / row["design"]
    report = json.loads((folder / "report.json").read_text())
    assert report["estimate"] == {k: float(row[f"estimate_{k}"]) for k in ("lut", "ff", "dsp", "bram")}
    assert {k: float(row[f"estimate_{k}"]) for k in ("lut", "ff", "dsp", "bram")} == estimate.as_dict()
    assert float(row["objective_estimate"]) == float(row["estimate_lut"]) == lowest["cost"]

    # the measured figures are a real Yosys run of the emitted folder
    top, sources, memories, _ = load_design(folder)
    again = synthesize(top, memories, sources, space / "resynth")
    measured = {k: float(row[f"measured_{k}"]) for k in ("lut", "ff", "dsp", "bram")}
    assert measured == {"lut": again.lut, "ff": again.ff, "dsp": again.dsp, "bram": again.bram}
    assert again.dsp > 0 and again.lut > 0
    assert float(row["objective_measured"]) == again.lut
    for k in ("lut", "ff", "dsp"):
        assert float(row[f"rel_error_{k}"]) == pytest.approx((float(row[f"estimate_{k}"]) - measured[k]) / measured[k])
