"""`ch` as a real process: Ctrl-C (SIGINT) and SIGTERM during `ch train` and `ch search`, and a
read-only output folder in every action.

Each interrupted run must exit with 130 / 143, print the documented line (docs/frontend.md,
rows 2a-2d; numbers vary with timing) and leave whole files: loadable checkpoints of the
finished epochs, or the Pareto table and best toml of the finished trials, no temporaries, no
trial left running in the study.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import optuna
import pytest
import torch
from test_frontend_failures import SEARCH_SPACE, documented_failures

from sw_frontend.cli import main

ROOT = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"} | {"PYTHONPATH": str(ROOT)}


def documented(row_id: str) -> tuple[re.Pattern[str], int]:
    """The documented line of ``row_id`` as a pattern (any number may differ) and its status."""
    for rid, _, printed, status in documented_failures():
        if rid == row_id:
            return re.compile(re.sub(r"\d+", r"\\d+", re.escape(printed)) + "$"), status
    raise KeyError(row_id)


def start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sw_frontend.cli", *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def signal_after(proc: subprocess.Popen[str], needle: str, signum: int, timeout: float = 240) -> None:
    """Read the process's output until a line starts with ``needle``, then send ``signum``."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(needle):
                proc.send_signal(signum)
                return
        raise AssertionError(
            f"the process ended before printing {needle!r}: {proc.stderr.read() if proc.stderr else ''}"
        )
    finally:
        timer.cancel()


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=240)
    return proc.returncode, err


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*")]


def test_train_interrupted_or_terminated_keeps_the_finished_epochs(tmp_path: Path) -> None:
    runs = {"2a": signal.SIGINT, "2b": signal.SIGTERM}
    procs = {}
    for row in runs:
        (tmp_path / row).mkdir()
        procs[row] = start(["train", "mlp", "--max-epochs", "100"], tmp_path / row)
    for row, signum in runs.items():
        signal_after(procs[row], "epoch 2/100", signum)
    for row, signum in runs.items():
        code, err = finish(procs[row])
        pattern, status = documented(row)
        assert code == status == 128 + signum, err
        assert len(err.splitlines()) == 1 and pattern.match(err.strip()), err
        ckpts = tmp_path / row / "mase_output" / "mlp_digits" / "software" / "training_ckpts"
        metrics = json.loads((ckpts / "metrics.json").read_text())
        assert metrics["interrupted"] == signal.Signals(signum).name and metrics["epochs"] >= 2
        assert f"of the {metrics['epochs']} finished epochs" in err
        last = torch.load(ckpts / "last.ckpt", weights_only=True)
        best = torch.load(ckpts / "best.ckpt", weights_only=True)
        assert last["epoch"] == metrics["epochs"] - 1 and best["epoch"] <= last["epoch"]
        assert no_temporaries(tmp_path / row / "mase_output")
    cwd = os.getcwd()
    os.chdir(tmp_path / "2a")
    try:
        ckpt = "mase_output/mlp_digits/software/training_ckpts/last.ckpt"
        assert main(["test", "mlp", "--load", ckpt, "--load-type", "pl", "--quiet"]) == 0
    finally:
        os.chdir(cwd)


def test_search_interrupted_or_terminated_writes_the_finished_trials(tmp_path: Path) -> None:
    runs = {"2c": signal.SIGINT, "2d": signal.SIGTERM}
    procs = {}
    for row in runs:
        (tmp_path / row).mkdir()
        (tmp_path / row / "search.toml").write_text(SEARCH_SPACE.format(weights="[3, 4, 6, 8]"))
        procs[row] = start(["search", "mlp", "--config", "search.toml", "--trials", "1000"], tmp_path / row)
    for row, signum in runs.items():
        signal_after(procs[row], "trial 3:", signum)
    for row, signum in runs.items():
        code, err = finish(procs[row])
        pattern, status = documented(row)
        assert code == status == 128 + signum, err
        assert len(err.splitlines()) == 1 and pattern.match(err.strip()), err
        out = tmp_path / row / "mase_output" / "mlp_digits" / "software" / "search"
        study = optuna.load_study(study_name="quantize", storage=f"sqlite:///{out / 'study.db'}")
        states = [t.state for t in study.trials]
        done = states.count(optuna.trial.TrialState.COMPLETE)
        assert optuna.trial.TrialState.RUNNING not in states and done >= 4
        assert f"of the {done} finished trials" in err
        summary = json.loads((out / "summary.json").read_text())
        assert summary["trials"] == done and len((out / "pareto.csv").read_text().splitlines()) >= 2
        assert no_temporaries(out)
    cwd = os.getcwd()
    os.chdir(tmp_path / "2c")
    try:
        assert main(["transform", "--config", "mase_output/mlp_digits/software/search/best.toml", "--quiet"]) == 0
    finally:
        os.chdir(cwd)


READ_ONLY_RUNNER = """
import contextlib, io, json, sys
from sw_frontend.cli import main
results = []
for cmd in json.load(open(sys.argv[1])):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(cmd)
        except SystemExit as exc:
            code = exc.code
    results.append([code, err.getvalue()])
print(json.dumps(results))
"""
READ_ONLY_COMMANDS = {
    "train": ["train", "mlp", "--max-epochs", "1"],
    "test": ["test", "mlp"],
    "transform": ["transform", "mlp", "--config", "q.toml"],
    "search": ["search", "mlp", "--config", "search.toml", "--trials", "1"],
    "emit": ["emit", "mlp", "--config", "q.toml", "--samples", "2"],
    "sim": ["sim", "mlp", "--config", "q.toml", "--samples", "2"],
    "synth": ["synth", "mlp", "--project", "hw"],
    "flow": ["flow", "mlp", "--max-epochs", "1", "--samples", "2"],
}


def _without_root_powers() -> list[str]:
    """A command prefix under which root obeys file permissions (no CAP_DAC_OVERRIDE), else []."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder would still be writable")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", drop, "--inh-caps", drop, "--"]


def test_a_read_only_output_folder_is_one_line_in_every_action(tmp_path: Path) -> None:
    """``mase_output`` read-only; every action stops before its work with one line."""
    (tmp_path / "q.toml").write_text(
        "[quantize]\ndefault = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }\n"
    )
    (tmp_path / "search.toml").write_text(SEARCH_SPACE.format(weights="[4, 8]"))
    (tmp_path / "commands.json").write_text(json.dumps(list(READ_ONLY_COMMANDS.values())))
    (tmp_path / "runner.py").write_text(READ_ONLY_RUNNER)
    hardware = tmp_path / "mase_output" / "hw" / "hardware"
    hardware.mkdir(parents=True)
    (hardware / "report.json").write_text(json.dumps({"top": "t", "memory_parameters": {}, "sources": []}))
    folders = (tmp_path / "mase_output", tmp_path / "mase_output" / "hw", hardware)
    for folder in folders:
        folder.chmod(0o555)
    try:
        run = subprocess.run(
            [*_without_root_powers(), sys.executable, "runner.py", "commands.json"],
            cwd=tmp_path,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert run.returncode == 0, run.stderr[-3000:]
    results = dict(zip(READ_ONLY_COMMANDS, json.loads(run.stdout.splitlines()[-1])))
    for action, (code, err) in results.items():
        assert code == 2 and len(err.splitlines()) == 1, (action, err)
        assert err.startswith("ch: error: cannot write mase_output/") and "Traceback" not in err
        assert "is not writable (permission denied); choose another --output-root" in err, err
    for row, action in (("5a", "train"), ("5b", "search")):
        pattern, status = documented(row)
        assert results[action][0] == status and pattern.match(results[action][1].strip()), results[action]
    assert sorted(p.name for p in (tmp_path / "mase_output").iterdir()) == ["hw"]
