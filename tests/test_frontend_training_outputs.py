"""What `ch train` leaves behind and shows: last.ckpt of the last epoch, TensorBoard contents,
plain lines instead of progress bars off a terminal, file permissions, Lightning's options
(precision, max steps, gradient accumulation, fast_dev_run, ddp)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sw_frontend import interrupts
from sw_frontend.cli import main

ROOT = Path(__file__).resolve().parents[1]
SW = Path("mase_output/mlp_digits/software")


def metrics(root: Path, project: str = "mlp_digits") -> dict:
    return json.loads((root / "mase_output" / project / "software/training_ckpts/metrics.json").read_text())


def test_last_checkpoint_is_the_last_epoch(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", "mlp", "--max-epochs", "10"]) == 0
    best = torch.load(SW / "training_ckpts/best.ckpt", weights_only=True)
    last = torch.load(SW / "training_ckpts/last.ckpt", weights_only=True)
    assert last["epoch"] == 9 and best["epoch"] == 8  # seed 0: epoch 9 is the best, epoch 10 is not
    assert (SW / "training_ckpts/best.ckpt").read_bytes() != (SW / "training_ckpts/last.ckpt").read_bytes()
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == [f"epoch {i}/10" for i in range(1, 11)]
    assert "\r" not in out and "it/s" not in out and len(out) < 4000  # no progress bars in a log


def test_tensorboard_holds_lr_histograms_and_final_hparams(tmp_path: Path, monkeypatch) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.chdir(tmp_path)
    (tmp_path / "qat.toml").write_text(
        "[quantize]\ndefault = { data_in = [4, 2], weight = [4, 2], bias = [8, 4], data_out = [8, 3] }\n"
    )
    args = ["train", "mlp", "--max-epochs", "2", "--config", "qat.toml", "--log-every-n-steps", "5", "--quiet"]
    assert main(args) == 0
    logs = SW / "tensorboard/version_0"
    scalars, histograms, plugins = set(), set(), set()
    for events in logs.glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events), size_guidance={"histograms": 0})
        acc.Reload()
        scalars |= set(acc.Tags()["scalars"])
        histograms |= set(acc.Tags()["histograms"])
        try:
            plugins |= set(acc.PluginTagToContent("hparams"))
        except KeyError:  # this events file has no hparams summary
            pass
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "lr-Adam", "train_loss_step"} <= scalars
    assert {"hp/best_val_acc", "hp/test_acc", "hp/test_loss", "hp/val_loss"} <= scalars
    assert {"weight/fc1", "weight/fc2", "quant_error/fc1", "quant_error/fc2"} <= histograms
    assert "_hparams_/session_start_info" in plugins
    hparams = (logs / "hparams.yaml").read_text()
    assert "learning_rate: 0.01" in hparams and "quantized: true" in hparams and "model: mlp" in hparams


def test_quiet_and_the_output_permissions(tmp_path: Path, monkeypatch, capsys) -> None:
    """--quiet prints the result table only; files are 0666 and folders 0777 minus the umask."""
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o002)
    try:
        assert main(["train", "mlp", "--max-epochs", "1", "--quiet"]) == 0
        (tmp_path / "q.toml").write_text(
            "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
        )
        ckpt = str(SW / "training_ckpts/best.ckpt")
        assert main(["transform", "mlp", "--config", "q.toml", "--load", ckpt, "--load-type", "pl", "--quiet"]) == 0
        assert main(["test", "mlp", "--load", ckpt, "--load-type", "pl", "--quiet"]) == 0
        (tmp_path / "s.toml").write_text(
            "[search.default]\n"
            + "".join(f"{f} = {{ width = 8, frac = [3, 4] }}\n" for f in ("data_in", "weight", "bias", "data_out"))
        )
        assert main(["search", "mlp", "--config", "s.toml", "--trials", "2", "--quiet"]) == 0
    finally:
        os.umask(old)
    out = capsys.readouterr().out
    assert "epoch 1" not in out and "trial 0" not in out
    for path in (tmp_path / "mase_output").rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o775, (path, oct(mode))
        elif path.name != "study.db":  # SQLite's own default: 0644 minus the umask
            assert mode == 0o664, (path, oct(mode))
        else:
            assert mode & 0o044 == 0o044, (path, oct(mode))


def test_lightning_options_reach_the_trainer(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["train", "mlp", "--max-epochs", "-1", "--max-steps", "15", "--accumulate-grad-batches", "2"]
    assert main([*args, "--precision", "bf16-mixed", "--project", "steps"]) == 0
    m = metrics(tmp_path, "steps")
    assert m["steps"] == 15 and m["epochs"] == 1  # 11 steps per epoch: the second epoch stopped early
    out = capsys.readouterr().out
    assert "epoch 2: train_loss" in out and out.split("epoch 2:")[1].split("\n")[0].count("val_loss -") == 1
    assert main(["train", "mlp", "--debug", "--project", "dbg"]) == 0
    assert "fast_dev_run" in capsys.readouterr().out and not (tmp_path / "mase_output" / "dbg").exists()
    (tmp_path / "q.toml").write_text(
        "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
    )
    assert main(["train", "mlp", "--config", "q.toml", "--precision", "bf16-mixed"]) == 2
    assert "quantized models train at 32" in capsys.readouterr().err
    assert main(["train", "mlp", "--devices", "2"]) == 2
    assert "--devices 2 --num-nodes 1 needs --strategy ddp" in capsys.readouterr().err
    assert main(["train", "mlp", "--accelerator", "mps"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ch: error: Lightning refuses these training options:") and len(err.splitlines()) == 1


def test_interrupt_before_the_first_epoch_keeps_the_previous_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sw_frontend.lightning_module import ChModule

    monkeypatch.chdir(tmp_path)
    assert main(["train", "mlp", "--max-epochs", "1", "--quiet"]) == 0
    sw = tmp_path / "mase_output" / "mlp_digits" / "software"
    before = {p.name: p.read_bytes() for p in (sw / "training_ckpts").iterdir()}

    def ctrl_c(self, batch, batch_idx):
        os.kill(os.getpid(), signal.SIGINT)  # a real signal, delivered to this process

    monkeypatch.setattr(ChModule, "training_step", ctrl_c)
    capsys.readouterr()
    assert main(["train", "mlp", "--max-epochs", "3"]) == 130
    err = capsys.readouterr().err
    assert err == (
        "ch: error: interrupted (SIGINT, Ctrl-C) in epoch 1 of 3, before any epoch finished: "
        "previous outputs left as they were\n"
    )
    assert {p.name: p.read_bytes() for p in (sw / "training_ckpts").iterdir()} == before
    assert sorted(p.name for p in (sw / "tensorboard").iterdir()) == ["version_0"]
    assert not [p for p in (tmp_path / "mase_output").rglob(".*")]


def test_signals_wait_for_a_deferred_block() -> None:
    previous = signal.getsignal(signal.SIGINT)
    interrupts.install()
    try:
        reached = False
        with pytest.raises(interrupts.Interrupted) as caught:
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                reached = True  # the handler held the signal back
        assert reached and caught.value.exit_code == 143
        assert caught.value.message() == "terminated (SIGTERM)"
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.slow
def test_ddp_trains_in_two_cpu_processes(tmp_path: Path) -> None:
    """`--strategy ddp --devices 2`: Lightning's own engine, two processes, one set of outputs."""
    run = subprocess.run(
        [sys.executable, "-m", "sw_frontend.cli", "train", "mlp", "--max-epochs", "2"]
        + ["--strategy", "ddp", "--devices", "2", "--accelerator", "cpu"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("epoch 2/2:") == 1 and run.stdout.count("ch train mlp digits") == 1
    m = metrics(tmp_path)
    assert m["epochs"] == 2 and m["test_acc"] > 0.5
    assert torch.load(tmp_path / SW / "training_ckpts/last.ckpt", weights_only=True)["epoch"] == 1
    assert not [p for p in (tmp_path / SW).iterdir() if p.name.startswith(".")]


def test_interrupt_while_testing_the_best_checkpoint_keeps_every_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sw_frontend import train

    monkeypatch.chdir(tmp_path)

    def ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(train, "evaluate", ctrl_c)
    assert main(["train", "mlp", "--max-epochs", "2", "--quiet"]) == 130
    assert capsys.readouterr().err == (
        "ch: error: interrupted (SIGINT, Ctrl-C) after the last epoch, while testing the best checkpoint: "
        "best.ckpt and last.ckpt of the 2 finished epochs are in mase_output/mlp_digits/software/training_ckpts\n"
    )
    assert torch.load(SW / "training_ckpts/last.ckpt", weights_only=True)["epoch"] == 1
    assert metrics(tmp_path)["interrupted"] == "SIGINT"
