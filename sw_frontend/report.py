"""Final summary tables of the `ch` actions (rich), and JSON result files (written atomically)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common.atomic import write_text


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a rich table to standard output."""
    table = Table(title=title, min_width=min(len(title) + 4, 120))
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*["-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v)) for v in r])
    Console(width=120).print(table)


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
