"""Reading torch files safely, with one-line errors that say what is wrong with the file.

:func:`load_tensors` reads with ``torch.load(weights_only=True)`` (no code is unpickled) and
tells apart a truncated or corrupt file, a file that is not a torch file, and a file that holds
pickled Python objects (a whole module, a custom class), which weights-only loading refuses.
:func:`load_pickle` reads a trusted pickle: a ``torch.save`` file or a plain ``pickle.dump``.
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from common.errors import ConfigError

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL = b"\x80"
_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


class PickledObjectsError(ConfigError):
    """The file is a readable torch or pickle file, but holds Python objects besides tensors."""


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(4)


def load_tensors(path: Path, what: str, remedy: str = "write it again") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; ``what`` names the file in errors
    (e.g. ``--load mlp.ckpt``), ``remedy`` ends the message of a damaged file. Raises
    ConfigError (PickledObjectsError for pickled objects)."""
    try:
        head = _head(path)
    except OSError as exc:
        raise ConfigError(f"{what} cannot be read: {exc.strerror}") from None
    if not head:
        raise ConfigError(f"{what} is empty (0 bytes)")
    if head.startswith(_ZIP_MAGIC) and not zipfile.is_zipfile(path):
        raise ConfigError(f"{what} is truncated or corrupt (a torch archive without its end); {remedy}")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of a file it then refuses
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = _GLOBAL.search(str(exc))
        if found:
            raise PickledObjectsError(
                f"{what} holds a pickled {found.group(1)}, not only tensors; weights-only loading refuses "
                "Python objects"
            ) from None
        if head.startswith(_PICKLE_PROTOCOL):
            raise PickledObjectsError(f"{what} is a plain pickle, not a torch file of tensors") from None
        raise ConfigError(f"{what} is not a torch file (torch.save) or is corrupt") from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{what} is truncated or corrupt ({text[:100]}); {remedy}") from None


def load_pickle(path: Path, what: str) -> Any:
    """Unpickle a trusted file: ``torch.save`` output (any object) or a plain ``pickle.dump``.

    This runs code stored in the file; only call it after the user opted in.
    """
    try:
        head = _head(path)
    except OSError as exc:
        raise ConfigError(f"{what} cannot be read: {exc.strerror}") from None
    if not head:
        raise ConfigError(f"{what} is empty (0 bytes)")
    try:
        if head.startswith(_ZIP_MAGIC):
            if not zipfile.is_zipfile(path):
                raise ConfigError(f"{what} is truncated or corrupt (a torch archive without its end); write it again")
            return torch.load(path, map_location="cpu", weights_only=False)
        try:
            return torch.load(path, map_location="cpu", weights_only=False)  # torch's legacy format
        except RuntimeError as exc:
            if "magic number" not in str(exc):
                raise
        with open(path, "rb") as fh:
            return pickle.load(fh)  # a plain pickle.dump
    except ConfigError:
        raise
    except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError, zipfile.BadZipFile) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{what} is truncated or not a pickle ({text[:100]})") from None
    except (AttributeError, ImportError) as exc:
        raise ConfigError(f"{what} refers to code that is not importable here ({exc})") from None
