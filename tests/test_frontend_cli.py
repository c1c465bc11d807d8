"""`ch` on scikit-learn digits: the documented train -> test -> transform -> QAT -> search flow,
help, config precedence, one-line errors, repeatable seeds and two search workers on one study."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import optuna
import pytest

from sw_frontend.cli import build_parser, main
from sw_frontend.options import ACTIONS, options_for

CONFIGS = Path(__file__).resolve().parents[1] / "sw_frontend" / "configs"
ALL_CONFIGS = sorted(p.name for p in CONFIGS.glob("*.toml"))


def ch(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `ch` in-process; returns (exit status, stdout, stderr)."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse errors and --help
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cfg(name: str) -> str:
    return str(CONFIGS / name)


def results(project: str, root: Path) -> dict:
    return json.loads((root / "mase_output" / project / "software" / "test" / "results.json").read_text())


@pytest.fixture(scope="module")
def digits_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the float MLP has been trained with the example config (3 epochs here)."""
    root = tmp_path_factory.mktemp("digits")
    old = os.getcwd()
    os.chdir(root)
    try:
        assert main(["train", "--config", cfg("train_mlp_digits.toml"), "--max-epochs", "4"]) == 0
        assert main(["test", "--config", cfg("test_mlp_digits.toml")]) == 0
    finally:
        os.chdir(old)
    return root


def test_every_action_has_an_example_config() -> None:
    for action in ACTIONS:
        assert any(n.startswith(action) or (action == "train" and n.startswith("qat")) for n in ALL_CONFIGS), action


def test_help_lists_every_option_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = ch(capsys, "--help")
    assert code == 0 and all(a in out for a in ACTIONS)
    parser = build_parser()
    for action in ACTIONS:
        code, out, _ = ch(capsys, action, "--help")
        assert code == 0
        flat = " ".join(out.split())
        for o in options_for(action):
            if o.name in ("model", "dataset"):
                assert o.name.upper() in flat
                continue
            assert o.cli in flat, (action, o.cli)
            if o.default is not None:
                assert f"(default: {o.default})" in flat or (o.flag and "(default: off)" in flat), (
                    action,
                    o.name,
                )
    assert parser.prog == "ch"


def test_train_writes_checkpoints_logs_and_metrics(digits_root: Path) -> None:
    sw = digits_root / "mase_output" / "mlp_digits" / "software"
    assert (sw / "training_ckpts" / "best.ckpt").is_file() and (sw / "training_ckpts" / "last.ckpt").is_file()
    assert list((sw / "tensorboard" / "version_0").glob("events.out.tfevents.*"))
    metrics = json.loads((sw / "training_ckpts" / "metrics.json").read_text())
    assert metrics["epochs"] == 4 and metrics["test_acc"] > 0.85  # command line (4) beat the toml (10)
    assert not [p for p in sw.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_flow_test_transform_8bit_within_two_points(digits_root: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(digits_root)
    assert ch(capsys, "test", "--config", cfg("test_mlp_digits.toml"))[0] == 0
    float_acc = results("mlp_digits", digits_root)["float"]["acc"]
    assert results("mlp_digits", digits_root)["quantized"] is None
    code, out, _ = ch(capsys, "transform", "--config", cfg("transform_mlp_digits_8bit.toml"))
    assert code == 0 and "fc2" in out
    folder = digits_root / "mase_output" / "mlp_digits_q8" / "software" / "transform" / "transformed_model"
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "quantize.toml", "weights.pt"]
    assert ch(capsys, "test", "--config", cfg("test_mlp_digits_q8.toml"))[0] == 0
    r = results("mlp_digits_q8", digits_root)
    assert r["float"]["acc"] == float_acc  # the float twin of the transformed model is the trained model
    assert abs(r["quantized"]["acc"] - float_acc) <= 0.02
    assert r["quantized"]["samples"] == 359


def test_qat_at_4_bits_recovers_accuracy(digits_root: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(digits_root)
    assert ch(capsys, "transform", "--config", cfg("transform_mlp_digits_4bit.toml"))[0] == 0
    q4 = "mase_output/mlp_digits_q4/software/transform/transformed_model"
    assert ch(capsys, "test", "mlp", "digits", "--project", "ptq4", "--load", q4, "--load-type", "pt")[0] == 0
    ptq = results("ptq4", digits_root)["quantized"]["acc"]
    assert ch(capsys, "train", "--config", cfg("qat_mlp_digits_4bit.toml"), "--max-epochs", "4")[0] == 0
    assert ch(capsys, "test", "--config", cfg("test_mlp_digits_qat4.toml"))[0] == 0
    r = results("mlp_digits_qat4", digits_root)
    float_acc = results("mlp_digits", digits_root)["float"]["acc"]
    assert r["quantized"]["acc"] >= max(ptq, float_acc - 0.02), (float_acc, ptq, r["quantized"]["acc"])
    saved = digits_root / "mase_output/mlp_digits_qat4/software/training_ckpts/best.ckpt"
    import torch

    meta = torch.load(saved, weights_only=True)["ch"]
    assert meta["quantize"]["by_name"]["fc2"]["data_in"] == [4, 0, "unsigned"]


def test_search_then_transform_with_best_toml(digits_root: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(digits_root)
    code, out, _ = ch(capsys, "search", "--config", cfg("search_mlp_digits.toml"), "--trials", "6", "--project", "s1")
    assert code == 0 and "Pareto front of 6 trials" in out
    out_dir = digits_root / "mase_output" / "s1" / "software" / "search"
    assert (out_dir / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (out_dir / "pareto.csv").read_text().splitlines()
    assert rows[0].startswith("trial,accuracy,cost") and len(rows) >= 2
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["trials"] == 6 and summary["best"]["trial"] in [p["trial"] for p in summary["pareto"]]
    best = tomllib.loads((out_dir / "best.toml").read_text())
    assert set(best["quantize"]["by_name"]) == {"fc1", "relu", "fc2"}
    code, out, _ = ch(capsys, "transform", "--config", str(out_dir / "best.toml"))
    assert code == 0
    saved = tomllib.loads(
        (digits_root / "mase_output/s1_best/software/transform/transformed_model/quantize.toml").read_text()
    )
    assert saved["quantize"] == best["quantize"]


def test_bitops_cost_counts_macs_times_widths() -> None:
    import torch

    from quant.config import QuantConfig
    from quant.transform import quantize_model
    from sw_frontend.models import MLP
    from sw_frontend.search.cost import bitops

    cfg8 = {
        "default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]},
        "by_name": {"fc2": {"data_in": [4, 2], "weight": [3, 2], "bias": [8, 4]}},
    }
    q = quantize_model(MLP(64, 32, 10), QuantConfig.from_dict(cfg8))
    assert bitops(q, (torch.zeros(1, 1, 8, 8),)) == 64 * 32 * 8 * 8 + 32 * 10 * 4 * 3


def test_search_with_the_mappers_cost_model(digits_root: Path, capsys, monkeypatch) -> None:
    import torch

    from mapper.flow import map_model
    from quant.config import QuantConfig
    from quant.transform import quantize_model
    from sw_frontend.checkpoints import _strip_prefix
    from sw_frontend.models import MLP

    monkeypatch.chdir(digits_root)
    args = ["search", "--config", cfg("search_mlp_digits.toml"), "--trials", "3", "--project", "sm"]
    assert ch(capsys, *args, "--cost", "mapper", "--target-cycles", "128")[0] == 0
    out = digits_root / "mase_output" / "sm" / "software" / "search"
    summary = json.loads((out / "summary.json").read_text())
    best = tomllib.loads((out / "best.toml").read_text())
    model = MLP(64, 32, 10)
    state = torch.load("mase_output/mlp_digits/software/training_ckpts/best.ckpt", weights_only=True)
    model.load_state_dict(_strip_prefix(state["state_dict"]))
    q = quantize_model(model, QuantConfig.from_dict(best["quantize"]))
    graph = map_model(q, torch.zeros(1, 1, 8, 8), cycles=128)
    assert summary["cost"] == "mapper" and summary["best"]["cost"] == graph.info.resources.cost()


def test_same_seed_same_metrics(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for project, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert ch(capsys, "train", "mlp", "digits", "--max-epochs", "1", "--seed", seed, "--project", project)[0] == 0
    m = {
        p: json.loads((tmp_path / "mase_output" / p / "software/training_ckpts/metrics.json").read_text())
        for p in "abc"
    }
    assert m["a"] == m["b"]
    assert (m["a"]["val_loss"], m["a"]["test_loss"]) != (m["c"]["val_loss"], m["c"]["test_loss"])


@pytest.mark.parametrize(
    "args,toml,needle",
    [
        (
            ["train", "mlp", "digits"],
            "max_epoch = 3\n",
            "unknown key 'max_epoch' for `ch train`; allowed keys:",
        ),
        (["train", "mlp", "digits"], 'max_epochs = "3"\n', "'max_epochs' must be int, got str"),
        (["train", "mlp", "digits"], 'optimizer = "lamb"\n', "allowed: adam, adamw, sgd"),
        (["train", "mlpx", "digits"], None, "unknown model 'mlpx'; allowed: mlp, cnn, resnet8, resnet18, dscnn"),
        (["train", "mlp", "mnist"], None, "unknown dataset 'mnist'; allowed: digits, cifar10"),
        (["train", "bert", "digits"], None, "needs a text dataset"),
        (
            ["transform", "mlp", "digits"],
            "[quantize]\ndefault = { data_in = [8, 4], wieght = [8, 6] }\n",
            "unknown key 'wieght' in quantize.default; allowed keys: bias, data_in, data_out, float, weight",
        ),
        (["transform", "mlp", "digits"], None, "needs a [quantize] (or Machop [passes.quantize]) table"),
        (
            ["search", "mlp", "digits"],
            "[search.default]\nweight = { width = [4], frak = [2] }\n",
            "unknown key 'frak' in search.default.weight",
        ),
        (
            ["test", "mlp", "digits", "--load", "nothere.ckpt", "--load-type", "pl"],
            None,
            "nothere.ckpt does not exist",
        ),
        (["test", "mlp", "digits", "--load", "w.pt"], None, "needs --load-type (one of pt, pl, hf, pkl)"),
        (
            ["test", "mlp", "digits", "--load", "w.pt", "--load-type", "pl"],
            None,
            "is not a Lightning checkpoint",
        ),
        (
            ["test", "mlp", "digits", "--load", "w.pt", "--load-type", "hf"],
            None,
            "--load-type hf is for transformers",
        ),
        (
            ["test", "mlp", "digits", "--load", "w.pt", "--load-type", "pkl"],
            None,
            "can run arbitrary code stored in the file; pass --allow-pickle",
        ),
        (
            ["test", "cnn", "digits", "--load", "w.pt", "--load-type", "pt"],
            None,
            "is not a checkpoint of model 'cnn'",
        ),
        (
            ["test", "mlp", "digits", "--load", "junk.bin", "--load-type", "pt"],
            None,
            "--load junk.bin is not a torch file (torch.save) or is corrupt",
        ),
        (["train", "cifar10"], None, "unknown model 'cifar10'; allowed: mlp"),
        (
            ["train", "mlp", "cifar10", "--data-dir", "nowhere"],
            None,
            "put the files of 'cifar-10-batches-py' there",
        ),
        (["train", "mlp", "digits", "--bogus"], None, "unrecognized arguments: --bogus"),
        (
            ["search", "mlp", "digits", "--storage", "foo://x"],
            "[search.default]\n"
            + "".join(f"{f} = {{ width = 8, frac = 3 }}\n" for f in ("data_in", "weight", "bias", "data_out")),
            "--storage foo://x: Can't load plugin",
        ),
        (
            ["search", "mlp", "digits"],
            "[search.default]\ndata_in = { width = 8, frac = 4 }\n",
            "search space has no 'weight' choices for layer 'fc1' (linear); set search.default.weight",
        ),
    ],
)
def test_bad_configs_fail_in_one_line_and_write_nothing(
    tmp_path: Path, capsys, monkeypatch, args, toml, needle
) -> None:
    import torch

    from sw_frontend.models import MLP

    monkeypatch.chdir(tmp_path)
    torch.save(MLP(64, 32, 10).state_dict(), tmp_path / "w.pt")
    (tmp_path / "junk.bin").write_bytes(b"not a checkpoint")
    if toml is not None:
        (tmp_path / "c.toml").write_text(toml)
        args = args + ["--config", "c.toml"]
    code, out, err = ch(capsys, *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ch") and "error" in lines[0], err
    assert needle in lines[0], lines[0]
    assert "Traceback" not in err + out
    assert not (tmp_path / "mase_output").exists()


def test_failed_training_leaves_previous_outputs_and_no_temporaries(tmp_path: Path, capsys, monkeypatch) -> None:
    from sw_frontend.lightning_module import ChModule

    monkeypatch.chdir(tmp_path)
    assert ch(capsys, "train", "mlp", "--max-epochs", "1")[0] == 0
    sw = tmp_path / "mase_output" / "mlp_digits" / "software"
    before = (sw / "training_ckpts" / "best.ckpt").read_bytes()

    def boom(self, batch, batch_idx):
        raise RuntimeError("failure mid-epoch")

    monkeypatch.setattr(ChModule, "training_step", boom)
    with pytest.raises(RuntimeError, match="failure mid-epoch"):
        main(["train", "mlp", "--max-epochs", "1", "--seed", "5"])
    assert (sw / "training_ckpts" / "best.ckpt").read_bytes() == before
    assert sorted(p.name for p in sw.iterdir()) == ["tensorboard", "training_ckpts"]
    assert [p.name for p in (sw / "tensorboard").iterdir()] == ["version_0"]


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without a GPU")
def test_gpu_request_without_gpu_is_a_one_line_error(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = ch(capsys, "train", "mlp", "--accelerator", "gpu")
    assert code == 2 and "no GPU is visible" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "mase_output").exists()


def test_checkpoint_of_another_model_is_refused(digits_root: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(digits_root)
    ckpt = "mase_output/mlp_digits/software/training_ckpts/best.ckpt"
    code, _, err = ch(capsys, "test", "cnn", "digits", "--load", ckpt, "--load-type", "pl", "--project", "x")
    assert code == 2 and "was made for model 'mlp', not 'cnn'" in err and len(err.strip().splitlines()) == 1


def test_pickle_loads_only_with_opt_in(tmp_path: Path, capsys, monkeypatch) -> None:
    import torch

    from sw_frontend.models import MLP

    monkeypatch.chdir(tmp_path)
    torch.save(MLP(64, 32, 10), tmp_path / "whole.pkl")
    code, _, err = ch(capsys, "test", "mlp", "--load", "whole.pkl", "--load-type", "pt")
    assert code == 2 and "holds a pickled sw_frontend.models.MLP, not only tensors" in err
    assert "if you trust the file, --load-type pkl --allow-pickle reads it" in err
    assert ch(capsys, "test", "mlp", "--load", "whole.pkl", "--load-type", "pkl", "--allow-pickle")[0] == 0
    assert results("mlp_digits", tmp_path)["source"] == "pkl:whole.pkl"


def test_two_workers_share_one_study(digits_root: Path) -> None:
    """Two `ch search` processes on one SQLite study: the study ends with both workers' trials."""
    db = digits_root / "shared.db"
    url = f"sqlite:///{db}"
    common = [
        "search",
        "--config",
        cfg("search_mlp_digits.toml"),
        "--trials",
        "3",
        "--storage",
        url,
        "--study-name",
        "shared",
        "--project",
        "workers",
    ]
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sw_frontend.cli", *common, "--seed", str(s)],
            cwd=digits_root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for s in (1, 2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, e) in zip(procs, outs):
        assert p.returncode == 0, e.decode()[-2000:]
    study = optuna.load_study(study_name="shared", storage=url)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6
    summary = json.loads((digits_root / "mase_output/workers/software/search/summary.json").read_text())
    assert summary["trials"] >= 3 and summary["storage"] == url


@pytest.mark.slow
def test_acceptance_flow_as_documented(tmp_path: Path, capsys, monkeypatch) -> None:
    """The documented flow with the example configs unchanged: 10 epochs, QAT, 20 search trials."""
    monkeypatch.chdir(tmp_path)
    for action, name in [
        ("train", "train_mlp_digits.toml"),
        ("test", "test_mlp_digits.toml"),
        ("transform", "transform_mlp_digits_8bit.toml"),
        ("test", "test_mlp_digits_q8.toml"),
        ("transform", "transform_mlp_digits_4bit.toml"),
        ("train", "qat_mlp_digits_4bit.toml"),
        ("test", "test_mlp_digits_qat4.toml"),
        ("search", "search_mlp_digits.toml"),
    ]:
        assert ch(capsys, action, "--config", cfg(name))[0] == 0, name
    float_acc = results("mlp_digits", tmp_path)["float"]["acc"]
    assert abs(results("mlp_digits_q8", tmp_path)["quantized"]["acc"] - float_acc) <= 0.02
    q4 = "mase_output/mlp_digits_q4/software/transform/transformed_model"
    assert ch(capsys, "test", "mlp", "digits", "--project", "mlp_digits_q4", "--load", q4, "--load-type", "pt")[0] == 0
    ptq = results("mlp_digits_q4", tmp_path)["quantized"]["acc"]
    assert ptq < float_acc - 0.02  # 4-bit post-training quantization loses accuracy ...
    assert results("mlp_digits_qat4", tmp_path)["quantized"]["acc"] >= float_acc - 0.02  # ... QAT recovers it
    best = tmp_path / "mase_output/mlp_digits/software/search/best.toml"
    assert ch(capsys, "transform", "--config", str(best))[0] == 0
    summary = json.loads((best.parent / "summary.json").read_text())
    assert summary["trials"] == 20
