"""Verilator lint of every module in ``rtl/``: ``--lint-only -Wall``, zero warnings allowed.

Each ``rtl/**/<name>.sv`` is linted as the top module ``<name>`` with the whole library on the
command line, so that instantiated submodules resolve. A module whose defaults are deliberately
illegal (a required file name left empty) states the parameters to lint with in one header line,
``// lint-params: NAME=VALUE ...``. ``python -m eda.lint [FILES...]`` prints one
row per module and exits non-zero when any has a warning or an error.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from eda.toolchain import REPO_ROOT, tool_env, verilator_bin

RTL_ROOT = REPO_ROOT / "rtl"


def library_files(root: Path = RTL_ROOT) -> list[Path]:
    """Every SystemVerilog file of the component library, sorted."""
    return sorted(root.rglob("*.sv"))


@dataclass
class LintResult:
    module: str
    file: Path
    messages: list[str]

    @property
    def clean(self) -> bool:
        return not self.messages


LINT_PARAMS = re.compile(r"^//\s*lint-params:(.*)$", re.MULTILINE)


def lint_parameter_values(top: Path) -> dict[str, str]:
    """NAME -> VALUE (quotes removed) of the file's ``// lint-params:`` line, if any."""
    match = LINT_PARAMS.search(top.read_text())
    items = shlex.split(match.group(1)) if match else []
    return dict(item.split("=", 1) for item in items)


def lint_parameters(top: Path) -> list[str]:
    """``-GNAME=VALUE`` arguments from the file's ``// lint-params:`` line, if any."""
    match = LINT_PARAMS.search(top.read_text())
    return [f"-G{item}" for item in shlex.split(match.group(1), posix=False)] if match else []


def lint_module(top: Path, library: list[Path], extra_args: list[str] | None = None) -> LintResult:
    """Lint one file as top module; ``messages`` holds every %Warning / %Error line."""
    cmd = [verilator_bin(), "--lint-only", "-Wall", "--top-module", top.stem, *lint_parameters(top)]
    cmd += extra_args or []
    cmd += [str(f) for f in library]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=tool_env(), check=False)
    output = proc.stdout + proc.stderr
    messages = [ln for ln in output.splitlines() if ln.startswith(("%Warning", "%Error"))]
    if proc.returncode != 0 and not messages:
        messages = [output.strip() or f"verilator exited with {proc.returncode}"]
    return LintResult(top.stem, top, messages)


def lint_all(files: list[Path] | None = None) -> list[LintResult]:
    library = library_files()
    return [lint_module(f, library) for f in (files or library)]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    files = [Path(a).resolve() for a in args] or None
    results = lint_all(files)
    width = max((len(r.module) for r in results), default=6)
    for r in results:
        status = "clean" if r.clean else f"{len(r.messages)} message(s)"
        print(f"{r.module:<{width}}  {status}")
        for m in r.messages:
            print(f"    {m}")
    bad = sum(not r.clean for r in results)
    print(f"lint: {len(results)} module(s), {bad} with warnings or errors")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
