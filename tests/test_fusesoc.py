"""The FuseSoC core: in step with rtl/, and its lint target really runs Verilator -Wall."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eda.fusesoc_core import CORE_NAME, CORE_PATH, render
from eda.toolchain import REPO_ROOT, tool_env


def test_committed_core_lists_every_rtl_file() -> None:
    assert CORE_PATH.read_text() == render(), "cores.core is stale: run `python -m eda.fusesoc_core`"


def _fusesoc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "fusesoc")
    return subprocess.run([exe, *args], cwd=cwd, env=tool_env(dict(os.environ)),
                          capture_output=True, text=True, check=False, timeout=300)


def _library_copy(folder: Path) -> Path:
    shutil.copytree(REPO_ROOT / "rtl", folder / "rtl")
    shutil.copy(CORE_PATH, folder / "cores.core")
    return folder


def _lint_through_fusesoc(library: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    assert _fusesoc(["library", "add", "chop", str(library)], workdir).returncode == 0
    return _fusesoc(["run", "--target=lint", CORE_NAME.rsplit(":", 1)[0]], workdir)


@pytest.mark.sim
def test_fusesoc_lint_target_passes_and_catches_a_warning(tmp_path: Path) -> None:
    # the library as a user gets it (rtl/ and cores.core; generated cores under build/ left out)
    clean = _library_copy(tmp_path / "clean")
    proc = _lint_through_fusesoc(clean, tmp_path / "clean-run")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the same core with one unused signal added must fail: -Wall is really in force
    broken = _library_copy(tmp_path / "broken")
    top = broken / "rtl" / "linear" / "fixed_linear.sv"
    top.write_text(top.read_text().replace("endmodule", "  logic lint_bait;\nendmodule"))
    proc = _lint_through_fusesoc(broken, tmp_path / "broken-run")
    assert proc.returncode != 0
    assert "UNUSEDSIGNAL" in proc.stdout + proc.stderr
