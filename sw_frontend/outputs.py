"""Where `ch` writes: project names confined to the output root, and folders checked writable
before any long work starts.

A project name is relative and made of safe characters (letters, digits, ``_``, ``-``, ``.``;
sub-folders with ``/``; no part starting with ``.``), so ``--project`` (or a ``project`` key in a
shared ``best.toml``) can never point outside ``--output-root``.
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from common.errors import ConfigError, UserError

_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
PROJECT_NAME = re.compile(rf"^{_PART}(/{_PART})*$")
#: errno values of a write that the user can fix (permissions, read-only or full file system).
USER_WRITE_ERRORS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT})


def check_project(name: str, where: str = "--project") -> str:
    """``name`` if it is a safe relative project name, else a ConfigError saying what is allowed;
    ``where`` names its origin (``--project`` or a toml key)."""
    if PROJECT_NAME.match(name) and len(name) <= 200:
        return name
    shown = repr(name) if name else '""'
    raise ConfigError(
        f"{where} {shown}: a project is a relative folder name under --output-root made of letters, "
        "digits, '_', '-' and '.' (sub-folders with '/'; no part may start with '.'), e.g. mlp_digits"
    )


def require_writable(folder: Path) -> Path:
    """Raise a UserError unless ``folder`` exists writable or can be created (nothing is created)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UserError(f"cannot write {folder}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        reason = "read-only file system" if _read_only_mount(probe) else "permission denied"
        raise UserError(f"cannot write {folder}: {probe} is not writable ({reason}); choose another --output-root")
    return folder


def _read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def write_error(exc: OSError) -> UserError | None:
    """A one-line UserError for a failed write the user can fix, else None (a bug keeps its traceback)."""
    if exc.errno not in USER_WRITE_ERRORS:
        return None
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or os.strerror(exc.errno)
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UserError(f"{where}: {reason} (check the permissions, or choose another --output-root)")
    return UserError(f"cannot write {where}: {reason}; free space or choose another --output-root")
