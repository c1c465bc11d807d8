"""`ch search` studies keyed by what defines them: a mismatch is refused before any trial (so no
failed trial is left behind and no foreign trial reaches the Pareto front), `--new-study`
replaces the study, and a trial that does not finish is told FAIL, never left running."""

from __future__ import annotations

import tomllib
from pathlib import Path

import optuna
import pytest

from sw_frontend.cli import main
from sw_frontend.search.study import difference

STUDY = "mase_output/mlp_digits/software/search/study.db"
SEARCH_SPACE = """
[search.default]
data_in = {{ width = [4, 6, 8], frac = [2, 3, 4] }}
weight = {{ width = {weights}, frac = [2, 3, 4, 5] }}
bias = {{ width = 8, frac = [3, 4] }}
data_out = {{ width = [6, 8], frac = [2, 3, 4] }}
"""


def trials(root: Path) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="quantize", storage=f"sqlite:///{root / STUDY}").trials


@pytest.fixture
def searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "search.toml").write_text("quiet = true\n" + SEARCH_SPACE.format(weights="[3, 4, 6, 8]"))
    (tmp_path / "small.toml").write_text("quiet = true\n" + SEARCH_SPACE.format(weights="[4, 8]"))
    assert main(["search", "mlp", "--config", "search.toml", "--trials", "3"]) == 0
    return tmp_path


def test_a_mismatch_is_refused_before_any_trial(searched: Path, capsys) -> None:
    before = [(t.number, t.state) for t in trials(searched)]
    for args in (
        ["search", "mlp", "--config", "small.toml", "--trials", "2"],
        ["search", "cnn", "--config", "search.toml", "--project", "mlp_digits"],
        ["search", "mlp", "--config", "search.toml", "--cost", "mapper", "--target-cycles", "32"],
        ["search", "mlp", "--config", "search.toml", "--seed", "7"],  # weights of another seed
    ):
        assert main(args) == 2, args
        assert [(t.number, t.state) for t in trials(searched)] == before
    err = capsys.readouterr().err
    assert "was made for other float weights" in err and "another --load or a retrained checkpoint" in err
    best = tomllib.loads((searched / "mase_output/mlp_digits/software/search/best.toml").read_text())
    assert main(["transform", "--config", "mase_output/mlp_digits/software/search/best.toml", "--quiet"]) == 0
    assert best["model"] == "mlp"


def test_new_study_replaces_the_study(searched: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["search", "mlp", "--config", "small.toml", "--trials", "2", "--new-study"]) == 0
    assert f"deleted study 'quantize' (3 trials) from {STUDY}; starting a new one" in capsys.readouterr().out
    done = trials(searched)
    assert len(done) == 2 and all(t.params[f"{layer}.weight.width"] in (4, 8) for t in done for layer in ("fc1",))
    assert main(["search", "mlp", "--config", "small.toml", "--trials", "1"]) == 0  # the new key is kept
    assert len(trials(searched)) == 3


def test_a_study_without_a_key_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "old.db"
    study = optuna.create_study(study_name="quantize", storage=f"sqlite:///{db}", directions=["maximize", "minimize"])
    study.add_trial(optuna.trial.create_trial(values=[0.5, 10.0]))
    (tmp_path / "search.toml").write_text(SEARCH_SPACE.format(weights="[4, 8]"))
    assert main(["search", "mlp", "--config", "search.toml", "--storage", f"sqlite:///{db}"]) == 2
    assert "holds trials but no record of what it searched" in capsys.readouterr().err


def test_a_trial_that_fails_is_told_fail(tmp_path: Path, monkeypatch) -> None:
    from sw_frontend.search import run

    monkeypatch.chdir(tmp_path)
    (tmp_path / "search.toml").write_text("quiet = true\n" + SEARCH_SPACE.format(weights="[4, 8]"))
    calls = {"n": 0}
    original = run.evaluate

    def evaluate(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # float model, trial 0, then trial 1 fails
            raise RuntimeError("a bug in a trial")
        return original(*args, **kwargs)

    monkeypatch.setattr(run, "evaluate", evaluate)
    with pytest.raises(RuntimeError, match="a bug in a trial"):
        main(["search", "mlp", "--config", "search.toml", "--trials", "3"])
    states = [t.state for t in trials(tmp_path)]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]


def test_difference_names_the_first_field_that_differs() -> None:
    key = {"model": "mlp", "dataset": "digits", "cost": "bitops", "space": {"default": {"w": [1]}}, "weights": "ab"}
    assert difference(key, dict(key)) is None
    assert difference(key, {**key, "dataset": "cifar10"}) == "dataset 'digits', not 'cifar10'"
    assert difference(key, {**key, "space": {"default": {"w": [2]}}}) == (
        "another search space (search.default.w was [1], is [2] now)"
    )
    assert difference(key, {**key, "cost": "mapper", "target_cycles": 8}) == "cost 'bitops', not 'mapper'"
