"""A small toml writer for the project's own outputs (tables, inline arrays, scalars).

Only what ``ch`` writes is supported: nested dicts of str / int / float / bool / lists of those.
Keys that are not bare toml keys are quoted. ``tomllib.loads(dumps(d)) == d`` for such dicts.
"""

from __future__ import annotations

import json
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} value {v!r} to toml")


def dumps(data: dict[str, Any], prefix: str = "") -> str:
    """Toml text for ``data``: scalars first, then one ``[table]`` per nested dict."""
    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for k, v in data.items():
        if (
            isinstance(v, dict)
            and v
            and all(isinstance(x, dict) for x in v.values())
            or (isinstance(v, dict) and not prefix)
        ):
            tables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in tables:
        path = f"{prefix}.{_key(k)}" if prefix else _key(k)
        out += f"\n[{path}]\n" + dumps(v, path)
    return out
