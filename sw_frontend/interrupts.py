"""Ctrl-C (SIGINT) and SIGTERM in `ch`: one exception, held back while a file is put in place.

:func:`install` makes both signals raise :class:`Interrupted` in the main thread (Python's own
``KeyboardInterrupt`` is not used: Lightning turns it into ``sys.exit(1)`` and Optuna records it
as a failed trial). Code that must not stop half way (saving a checkpoint, renaming a finished
folder into place, telling the study a trial's result) runs inside :func:`deferred`; a signal that
arrives there is held and raised when the outermost such block ends.

The exit status is the shell's ``128 + signal number``: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_NAMES = {signal.SIGINT: "SIGINT, Ctrl-C", signal.SIGTERM: "SIGTERM"}


class Interrupted(BaseException):
    """The run was stopped by signal ``signum``; ``detail`` says where and what was kept
    (``"in epoch 3 of 10: ..."``).

    A BaseException, so that ``except Exception`` in libraries lets it through.
    """

    def __init__(self, signum: int, detail: str = "") -> None:
        super().__init__(signum, detail)
        self.signum = signum
        self.detail = detail

    @property
    def exit_code(self) -> int:
        """``128 + signum`` (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum

    def message(self) -> str:
        """One line: which signal, and what the run left behind."""
        what = "terminated" if self.signum == signal.SIGTERM else "interrupted"
        name = _NAMES.get(signal.Signals(self.signum), f"signal {self.signum}")
        return f"{what} ({name}){' ' + self.detail if self.detail else ''}"

    def with_detail(self, detail: str) -> Interrupted:
        """The same interruption with ``detail`` (what the run kept)."""
        return Interrupted(self.signum, detail)


_depth = 0
_pending: int | None = None


def _handler(signum: int, _frame: FrameType | None) -> None:
    global _pending
    if _depth > 0:
        if _pending is None:
            _pending = signum
        return
    raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM to :class:`Interrupted` (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT / SIGTERM until the block ends, then raise :class:`Interrupted`."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)


def is_worker_process() -> bool:
    """True in the extra processes of a multi-process (DDP) run: they stay silent."""
    return os.environ.get("LOCAL_RANK", "0") != "0" or os.environ.get("NODE_RANK", "0") != "0"
