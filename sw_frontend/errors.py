"""The one exception type the `ch` command line turns into a one-line message (no traceback)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A user error: bad option, key, value, name or file. The message says what to change."""


def check_keys(table: dict[str, object], allowed: list[str] | tuple[str, ...], where: str) -> None:
    """Raise :class:`ConfigError` naming the first key of ``table`` not in ``allowed``."""
    for key in table:
        if key not in allowed:
            raise ConfigError(f"unknown key '{key}' in {where}; allowed keys: {', '.join(sorted(allowed))}")
