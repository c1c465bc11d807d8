"""`ch search --objective`: the option errors, the objectives' values and the study key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapper.graph import Resources
from sw_frontend.cli import main
from sw_frontend.search.objectives import FIT_DEVICE, resource_objective
from sw_frontend.search.study import difference

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


def test_the_objective_keys_the_study() -> None:
    key = {"model": "mlp", "dataset": "digits", "cost": "mapper", "target_cycles": 64, "space": {}, "weights": "a"}
    assert difference(key, {**key, "objective": "luteq"}) is None  # a study from before --objective
    assert difference({**key, "objective": "luteq"}, {**key, "objective": "dsp"}) == "objective 'luteq', not 'dsp'"
