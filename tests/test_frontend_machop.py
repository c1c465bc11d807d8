"""At home for a Machop user: Machop's option names and `[passes.quantize]` tables, one toml shared
by every action, and the model-loading fixes found on the way (pickled models, GPT-2's Conv1D
layers and tied weights, layers kept float)."""

from __future__ import annotations

import json
import pickle
import tomllib
from pathlib import Path

import pytest
import torch

from common.errors import ConfigError
from quant.config import QuantConfig
from quant.machop import match_node_names, translate_passes_quantize
from quant.transform import dequantize_model, quantize_model
from sw_frontend.cli import main
from sw_frontend.models import MLP

CONFIGS = Path(__file__).resolve().parents[1] / "sw_frontend" / "configs"
MACHOP_EXAMPLE = CONFIGS / "transform_mlp_digits_machop.toml"
Q8 = {"default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}}


def results(root: Path, project: str) -> dict:
    return json.loads((root / "mase_output" / project / "software" / "test" / "results.json").read_text())


def test_machop_by_type_table_translates_to_our_formats() -> None:
    machop = tomllib.loads(MACHOP_EXAMPLE.read_text())["passes"]["quantize"]
    table = translate_passes_quantize(machop)
    assert table == {
        "default": {"float": True},
        "by_type": {
            "linear": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4], "float": False},
            "relu": {"data_in": [8, 4], "data_out": [8, 4], "float": False},
        },
    }
    config = QuantConfig.from_dict(table)
    assert config.keeps_float("sig", "sigmoid") and not config.keeps_float("fc1", "linear")
    assert str(config.formats_for("fc1", "linear").weight) == "s8.6"


def test_machop_rules_frac_na_bias_by_name_and_node_names() -> None:
    table = translate_passes_quantize(
        {
            "by": "name",
            "default": {"config": {"name": "integer", "data_in_width": 8, "weight_width": 6}},
            "layer1_0_conv1": {"config": {"name": "fixed", "data_in_width": 4, "data_in_frac_width": "NA"}},
            "fc": {"config": {"name": "NA"}},
        }
    )
    assert table["default"] == {"data_in": [8, 4], "weight": [6, 3], "bias": [6, 3], "data_out": [8, 4]}
    assert table["by_name"]["layer1_0_conv1"] == {"data_in": [4, 2], "data_out": [4, 2]}
    assert table["by_name"]["fc"] == {"float": True}
    renamed = match_node_names(table, ["layer1.0.conv1", "fc"])
    assert set(renamed["by_name"]) == {"layer1.0.conv1", "fc"}
    # Machop's older module-level layout: fields straight in the entry, no .config table
    assert translate_passes_quantize({"by": "type", "linear": {"name": "integer", "weight_width": 4}}) == {
        "by_type": {"linear": {"weight": [4, 2], "bias": [4, 2]}}
    }


@pytest.mark.parametrize(
    "table,needle",
    [
        ({"by": "regex_name"}, 'reads by = "type" or by = "name"'),
        ({"by": "type", "linear": {"config": {"name": "minifloat_ieee"}}}, "fixed point only"),
        ({"by": "type", "add": {"config": {"name": "integer", "data_in_width": 8}}}, "no quantized 'add'"),
        ({"by": "type", "linaer": {"config": {"name": "NA"}}}, "unknown layer type 'linaer'"),
        ({"by": "type", "linear": {"config": {"name": "integer", "weigth_width": 8}}}, "unknown key 'weigth_width'"),
    ],
)
def test_machop_tables_we_cannot_honour_are_refused(table: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        translate_passes_quantize(table)
    assert translate_passes_quantize({"by": "type", "add": {"config": {"name": "NA"}}}) == {}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `ch train` ran the documented float training (2 epochs here)."""
    root = tmp_path_factory.mktemp("machop")
    cwd = Path.cwd()
    import os

    os.chdir(root)
    try:
        assert main(["train", "--config", str(CONFIGS / "train_mlp_digits.toml"), "--max-epochs", "2", "--quiet"]) == 0
    finally:
        os.chdir(cwd)
    return root


def test_the_machop_example_runs_through_transform_unchanged(trained: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(trained)
    assert main(["transform", "--config", str(MACHOP_EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 layers quantized" in out
    folder = trained / "mase_output/mlp_digits_machop_q8/software/transform/transformed_model"
    saved = tomllib.loads((folder / "quantize.toml").read_text())["quantize"]
    assert saved["by_type"]["linear"]["weight"] == [8, 6] and saved["default"] == {"float": True}
    assert main(["test", "mlp", "--load", str(folder), "--load-type", "pt", "--project", "mq", "--quiet"]) == 0
    r = results(trained, "mq")
    assert abs(r["quantized"]["acc"] - r["float"]["acc"]) <= 0.03


def test_one_toml_for_every_action(trained: Path, monkeypatch, capsys) -> None:
    """Training keys in `ch test`, [search] in `ch transform`, Machop's [passes] in `ch train`:
    ignored, and named once in the --debug log; keys of no action stay errors."""
    monkeypatch.chdir(trained)
    shared = trained / "shared.toml"
    shared.write_text(
        MACHOP_EXAMPLE.read_text().replace('project = "mlp_digits_machop_q8"', 'project = "shared"')
        + "\n[search.default]\ndata_in = { width = 8, frac = 4 }\n"
    )
    capsys.readouterr()
    assert main(["test", "--config", str(shared), "--debug", "--quiet"]) == 0
    err = capsys.readouterr().err
    ignored = [line for line in err.splitlines() if "not used by `ch test`" in line]
    assert len(ignored) == 1
    for key in ("max_epochs", "learning_rate", "training_optimizer", "log_every_n_steps", "[passes]", "[search]"):
        assert key in ignored[0]
    assert results(trained, "shared")["quantized"] is None  # Machop: test does not run the passes
    assert main(["transform", "--config", str(shared), "--quiet"]) == 0
    shared.write_text("num_workers = 4\n" + shared.read_text())
    assert main(["test", "--config", str(shared)]) == 2
    assert "'num_workers' is a Machop option chop-hw does not have" in capsys.readouterr().err


def test_machop_option_names_and_task(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["train", "mlp", "digits", "--task", "cls", "--training-optimizer", "sgd", "--trainer-precision", "32"]
    assert main([*args, "--max-epochs", "1", "--num-devices", "1", "--nodes", "1", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "mlp", "digits", "--task", "lm"]) == 2
    assert "--task lm: dataset 'digits' is a classification (cls) set" in capsys.readouterr().err
    (tmp_path / "both.toml").write_text('optimizer = "sgd"\ntraining_optimizer = "adam"\n')
    assert main(["train", "mlp", "--config", "both.toml"]) == 2
    assert "'optimizer' and 'training_optimizer' set the same option" in capsys.readouterr().err


def test_pickles(tmp_path: Path, monkeypatch, capsys) -> None:
    """A pickled quantized model keeps its formats; a plain pickle.dump file loads."""
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(3)
    model = MLP(64, 32, 10)
    q = quantize_model(model, QuantConfig.from_dict(Q8))
    torch.save(q, tmp_path / "quantized.pkl")
    assert main(["test", "mlp", "--load", "quantized.pkl", "--load-type", "pkl", "--allow-pickle", "--quiet"]) == 0
    r = results(tmp_path, "mlp_digits")
    assert r["quantized"] is not None and r["quantized"]["samples"] == 359
    with torch.no_grad():
        x = torch.stack([torch.as_tensor(v) for v in [torch.rand(1, 8, 8) for _ in range(4)]])
        assert torch.equal(dequantize_model(q)(x), model(x))
    (tmp_path / "plain.pkl").write_bytes(pickle.dumps(model))
    assert main(["test", "mlp", "--load", "plain.pkl", "--load-type", "pkl", "--allow-pickle", "--quiet"]) == 0
    assert results(tmp_path, "mlp_digits")["quantized"] is None
    (tmp_path / "state.pkl").write_bytes(pickle.dumps(model.state_dict()))
    assert main(["test", "mlp", "--load", "state.pkl", "--load-type", "pkl", "--allow-pickle", "--quiet"]) == 0


def test_transform_names_what_stays_float(tmp_path: Path, monkeypatch, capsys) -> None:
    """GPT-2: every projection (transformers Conv1D) and lm_head quantized; what has no quantized
    form is named."""
    lm = tmp_path / "data" / "lm"
    lm.mkdir(parents=True)
    (lm / "train.txt").write_text("the cat sat on the mat . " * 40)
    (lm / "test.txt").write_text("the mat sat on the cat . " * 10)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.toml").write_text(
        "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
    )
    capsys.readouterr()
    assert main(["transform", "gpt2", "lm", "--config", "q.toml", "--max-seq-len", "16"]) == 0
    out = capsys.readouterr().out
    assert "9 of 9 layers quantized" in out and "kept float (no quantized form): 2 Embedding, 5 LayerNorm" in out
