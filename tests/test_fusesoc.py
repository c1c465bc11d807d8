"""The FuseSoC cores: generated from the descriptors and in step with them, per-component cores
with ``depend:``, and lint targets that really run Verilator -Wall."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eda.toolchain import REPO_ROOT, tool_env
from mapper.cores import LIBRARY_CORE, core_name, rendered


def test_committed_cores_equal_the_generated_ones() -> None:
    for path, text in rendered().items():
        assert path.is_file() and path.read_text() == text, f"{path} is stale: run `make cores`"


def _fusesoc(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).parent / "fusesoc")
    return subprocess.run(
        [exe, *args], cwd=cwd, env=tool_env(dict(os.environ)), capture_output=True, text=True, check=False, timeout=300
    )


def _library_copy(folder: Path) -> Path:
    """The library as a user gets it: rtl/ (with the component cores) and cores.core."""
    shutil.copytree(REPO_ROOT / "rtl", folder / "rtl")
    shutil.copy(LIBRARY_CORE, folder / "cores.core")
    return folder


def _lint(library: Path, workdir: Path, core: str) -> subprocess.CompletedProcess[str]:
    workdir.mkdir(parents=True, exist_ok=True)
    assert _fusesoc(["library", "add", "chop", str(library)], workdir).returncode == 0
    return _fusesoc(["run", "--target=lint", core], workdir)


@pytest.mark.sim
def test_fusesoc_lint_target_passes_and_catches_a_warning(tmp_path: Path) -> None:
    clean = _library_copy(tmp_path / "clean")
    proc = _lint(clean, tmp_path / "clean-run", "chop:hw:library")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the same core with one unused signal added must fail: -Wall is really in force
    broken = _library_copy(tmp_path / "broken")
    top = broken / "rtl" / "linear" / "fixed_linear.sv"
    top.write_text(top.read_text().replace("endmodule", "  logic lint_bait;\nendmodule"))
    proc = _lint(broken, tmp_path / "broken-run", "chop:hw:library")
    assert proc.returncode != 0
    assert "UNUSEDSIGNAL" in proc.stdout + proc.stderr


@pytest.mark.sim
def test_a_component_core_pulls_its_dependencies(tmp_path: Path) -> None:
    """fixed_conv2d's own core names only its file; fixed_linear, its pipeline pieces (requantizer,
    multiplier, adder tree) and conv_window come through depend:, and its lint (with the header's
    image names) passes."""
    library = _library_copy(tmp_path / "lib")
    proc = _lint(library, tmp_path / "run", core_name("fixed_conv2d"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    used = "\n".join(p.read_text() for p in (tmp_path / "run" / "build").rglob("*.vc"))
    for f in ("fixed_requant_reg.sv", "mult_pipe.sv", "add_tree.sv", "fixed_linear.sv", "conv_window.sv"):
        assert f in used, f"{f} missing from the lint's file list"
