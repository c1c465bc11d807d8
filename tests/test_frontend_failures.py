"""Off the happy path: every row of the failure table in docs/frontend.md, run as documented.

The table is parsed from the docs; each row's command runs in a fresh folder after the set-up of
its id, and must print exactly the documented line (one line, ``ch: error: ...``) with the
documented exit status and write no traceback. Rows of signals and read-only folders run in
tests/test_frontend_signals.py (real processes); this file checks that each of them is covered.
"""

from __future__ import annotations

import pickle
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from sw_frontend.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs" / "frontend.md"
ROW = re.compile(r"^\|\s*(\w+)\s*\|[^|]*\|\s*`(ch [^`]*)`\s*\|\s*`(ch: error: [^`]*)`\s*\|\s*(\d+)\s*\|\s*$")


def documented_failures() -> list[tuple[str, str, str, int]]:
    """(id, command, printed line, exit status) of every row of the failure table."""
    rows = []
    for line in DOCS.read_text().splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
    return rows


SEARCH_SPACE = """
[search.default]
data_in = {{ width = [4, 6, 8], frac = [2, 3, 4] }}
weight = {{ width = {weights}, frac = [2, 3, 4, 5] }}
bias = {{ width = 8, frac = [3, 4] }}
data_out = {{ width = [6, 8], frac = [2, 3, 4] }}
"""
Q8 = {"default": {"data_in": [8, 4], "weight": [8, 6], "bias": [8, 6], "data_out": [8, 4]}}


def _search_study(root: Path) -> None:
    (root / "search.toml").write_text("trials = 2\nquiet = true\n" + SEARCH_SPACE.format(weights="[3, 4, 6, 8]"))
    (root / "search_small.toml").write_text("trials = 2\nquiet = true\n" + SEARCH_SPACE.format(weights="[4, 8]"))
    assert main(["search", "mlp", "--config", "search.toml"]) == 0


def _transform_folder(root: Path) -> Path:
    from quant.config import QuantConfig
    from quant.transform import quantize_model, save_quantized
    from sw_frontend.models import MLP

    config = QuantConfig.from_dict(Q8)
    return save_quantized(quantize_model(MLP(64, 32, 10), config), config, root / "q8", {"model": "mlp"})


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _hf_gpt2(root: Path) -> Path:
    from sw_frontend.data import load_dataset
    from sw_frontend.models import build_model

    lm = root / "data" / "lm"
    lm.mkdir(parents=True)
    (lm / "train.txt").write_text("the cat sat on the mat . " * 40)
    (lm / "test.txt").write_text("the mat sat on the cat . " * 10)
    model = build_model("gpt2", load_dataset("lm", str(lm), 32))
    model.save_pretrained(root / "hf_gpt2")
    return root / "hf_gpt2"


def _pickled_cnn(root: Path) -> None:
    from sw_frontend.models import SmallCNN

    torch.save(SmallCNN((1, 8, 8), 10), root / "cnn.pkl")


def _truncated_pickle(root: Path) -> None:
    from sw_frontend.models import MLP

    (root / "mlp.pkl").write_bytes(pickle.dumps(MLP(64, 32, 10))[:700])


def _truncated_checkpoint(root: Path) -> None:
    from sw_frontend.models import MLP

    torch.save({"pytorch-lightning_version": "2.6", "state_dict": MLP(64, 32, 10).state_dict()}, root / "best.ckpt")
    _truncate(root / "best.ckpt")


def _shared_best_toml(root: Path) -> None:
    (root / "best.toml").write_text(
        'model = "mlp"\ndataset = "digits"\nproject = "../elsewhere"\n\n[quantize.default]\n'
        "data_in = [8, 4]\nweight = [8, 6]\nbias = [8, 6]\ndata_out = [8, 4]\n"
    )


SETUPS: dict[str, Callable[[Path], object]] = {
    "1a": _search_study,
    "1b": _search_study,
    "1c": _search_study,
    "3a": lambda root: None,
    "3b": lambda root: None,
    "3c": lambda root: None,
    "3d": lambda root: None,
    "3e": lambda root: None,
    "4a": lambda root: _truncate(_transform_folder(root) / "weights.pt"),
    "4b": lambda root: (_transform_folder(root) / "quantize.toml").write_text("[quantize\n"),
    "4c": lambda root: (_transform_folder(root) / "meta.json").write_text('{"model": '),
    "4d": lambda root: (_hf_gpt2(root) / "config.json").write_text("{ not json"),
    "4e": lambda root: _truncate(_hf_gpt2(root) / "model.safetensors"),
    "4f": _truncated_pickle,
    "4g": _truncated_checkpoint,
    "6a": _pickled_cnn,
    "7a": lambda root: None,
    "7b": lambda root: None,
    "7c": lambda root: None,
    "7d": _shared_best_toml,
}
#: Rows run by tests/test_frontend_signals.py: interrupts (2x) and read-only folders (5x).
IN_PROCESSES = {"2a", "2b", "2c", "2d", "5a", "5b"}


def test_every_documented_failure_has_a_test() -> None:
    ids = [r[0] for r in documented_failures()]
    assert len(ids) == len(set(ids)) and len(ids) >= 25, ids
    assert set(ids) == set(SETUPS) | IN_PROCESSES


@pytest.mark.parametrize(
    "row_id,command,printed,status",
    [r for r in documented_failures() if r[0] in SETUPS],
    ids=lambda v: v if isinstance(v, str) and len(v) <= 3 else "",
)
def test_documented_failure(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    row_id,
    command,
    printed,
    status,
) -> None:
    monkeypatch.chdir(tmp_path)
    SETUPS[row_id](tmp_path)
    capsys.readouterr()
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    try:
        code = main(shlex.split(command)[1:])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == status, (command, err)
    assert err.splitlines() == [printed], err
    assert "Traceback" not in out + err
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert after == before or row_id.startswith("1"), "a refused run wrote files"
    assert not (tmp_path.parent / "elsewhere").exists()
