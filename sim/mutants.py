"""Deliberately broken copies of RTL files, for tests that prove a bench catches a bug.

A mutant is one text replacement in one file of ``rtl/``. The copy lives under
``build/mutants/<name>/`` (never next to the real sources, which other benches use) and is only
rewritten when its text changes, so reruns reuse builds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common.atomic import write_text
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
            raise ValueError(f"mutant {self.name}: {self.original!r} is not found exactly once in rtl/{self.file}")
        path = MUTANT_ROOT / self.name / Path(self.file).name
        mutated = text.replace(self.original, self.buggy)
        if not path.exists() or path.read_text() != mutated:
            write_text(path, mutated)
        return path

    def sources(self, files: Sequence[Path]) -> list[Path]:
        """The source files ``files`` with the mutated copy in place of its file."""
        real = RTL_ROOT / self.file
        if real not in files:
            raise ValueError(f"mutant {self.name}: rtl/{self.file} is not among {[str(f) for f in files]}")
        return [self.path() if f == real else f for f in files]
