"""Deliberately broken copies of RTL files, for tests that prove a bench catches a bug.

A mutant is one text replacement in one file of ``rtl/``. The copy lives under
``build/mutants/<name>/`` (never next to the real sources, which other benches use) and is only
rewritten when its text changes, so reruns reuse builds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eda.toolchain import BUILD_ROOT, REPO_ROOT

RTL_ROOT = REPO_ROOT / "rtl"
MUTANT_ROOT = BUILD_ROOT / "mutants"


@dataclass(frozen=True)
class Mutant:
    """One bug: ``original`` (found exactly once) in ``file`` (relative to ``rtl/``) becomes ``buggy``.

    Attributes:
        name: folder name of the copy and test id.
        file: the RTL file, relative to ``rtl/`` (``stream/skid_buffer.sv``).
        original: text of the real file, present exactly once.
        buggy: its replacement.
    """

    name: str
    file: str
    original: str
    buggy: str

    def path(self) -> Path:
        """Write (or reuse) the mutated copy and return its path."""
        text = (RTL_ROOT / self.file).read_text()
        if text.count(self.original) != 1:
            raise ValueError(
                f"mutant {self.name}: {self.original!r} is not found exactly once in rtl/{self.file}"
            )
        folder = MUTANT_ROOT / self.name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(self.file).name
        mutated = text.replace(self.original, self.buggy)
        if not path.exists() or path.read_text() != mutated:
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(mutated)
            os.replace(tmp, path)
        return path

    def sources(self, files: Sequence[str]) -> list[Path]:
        """``files`` (relative to ``rtl/``) as paths, with the mutated copy in place of its file."""
        if self.file not in files:
            raise ValueError(f"mutant {self.name}: rtl/{self.file} is not among {list(files)}")
        return [self.path() if f == self.file else RTL_ROOT / f for f in files]
