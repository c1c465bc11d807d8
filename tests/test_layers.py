"""The packages import only downwards (sw_frontend > mapper > quant | sim > eda | golden > common),
and ``make lint`` enforces it: an upward import planted in a copy of the project fails it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eda.toolchain import REPO_ROOT

PACKAGES = ("common", "golden", "quant", "eda", "sim", "mapper", "sw_frontend")


def _project_copy(folder: Path) -> Path:
    """The Python packages, the RTL and the build files of the project (no .venv, no outputs)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in (*PACKAGES, "rtl", "bench", "tests"):
        shutil.copytree(REPO_ROOT / name, folder / name, ignore=ignore)
    for name in ("pyproject.toml", "Makefile", "cores.core"):
        shutil.copy(REPO_ROOT / name, folder / name)
    return folder


def _make_lint(folder: Path) -> subprocess.CompletedProcess[str]:
    venv = Path(sys.executable).parent.parent
    stamp = venv / ".installed"  # `-o`: the set-up is done; do not reinstall into the venv
    cmd = ["make", "-s", "-C", str(folder), f"VENV={venv}", f"PY={sys.executable}", "-o", str(stamp), "lint"]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)


@pytest.mark.sim
def test_make_lint_fails_on_an_upward_import_and_passes_without(tmp_path: Path) -> None:
    project = _project_copy(tmp_path / "project")
    clean = _make_lint(project)
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    fixed = project / "golden" / "fixed.py"
    fixed.write_text(fixed.read_text() + "\nimport mapper.flow  # noqa: E402,F401  planted upward import\n")
    broken = _make_lint(project)
    assert broken.returncode != 0
    assert "golden.fixed -> mapper.flow" in broken.stdout + broken.stderr
