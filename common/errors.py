"""User-error types shared by every layer.

A :class:`UserError` is a failure the user can fix (a bad option, key, value, name, file or model);
its message is one line that says what is wrong and what is allowed. The `ch` command line prints
it as ``ch: error: <message>`` and exits with status 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """A failure caused by the user's input; the message says what to change."""


class ConfigError(UserError):
    """A bad option, config key, value, name or file."""


def check_keys(table: dict[str, object], allowed: list[str] | tuple[str, ...], where: str) -> None:
    """Raise :class:`ConfigError` naming the first key of ``table`` not in ``allowed``."""
    for key in table:
        if key not in allowed:
            raise ConfigError(f"unknown key '{key}' in {where}; allowed keys: {', '.join(sorted(allowed))}")
