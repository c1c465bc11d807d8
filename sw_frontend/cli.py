"""Entry point of the `ch` command:
``ch {train,test,transform,search,emit,sim,synth,flow} [MODEL] [DATASET] [options]``.

Every failure the user can fix ends with one line ``ch: error: ...`` on standard error and a
documented exit status:

| status | meaning |
| --- | --- |
| 0 | done |
| 2 | user error: a bad option, value, key, name or file, a corrupt file, an unwritable folder |
| 130 | interrupted by SIGINT (Ctrl-C) |
| 143 | terminated by SIGTERM |

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from common.errors import UserError
from sw_frontend import __version__, interrupts
from sw_frontend.options import add_arguments
from sw_frontend.outputs import write_error
from sw_frontend.settings import Settings, merge

EXIT_USER_ERROR = 2
log = logging.getLogger("ch")

DESCRIPTIONS = {
    "train": "train MODEL on DATASET's train split (quantization-aware when the model is quantized)",
    "test": "evaluate MODEL on DATASET's test split: float and quantized accuracy side by side",
    "transform": "quantize MODEL with the [quantize] (or Machop [passes.quantize]) table of --config and save it",
    "search": "Optuna search of per-layer formats: accuracy vs hardware cost, Pareto front, best toml",
    "emit": "map the quantized MODEL onto the component library and emit its accelerator "
    "(SystemVerilog top, weights, FuseSoC core, bench, report)",
    "sim": "emit, then simulate the test samples on Verilator: every output integer against the golden "
    "network and the quantized model, measured cycles against predictions",
    "synth": "Yosys synthesis (xc7) of the accelerator an earlier emit/sim/flow wrote",
    "flow": "the whole chain: train (unless --load), quantize, map, emit, simulate bit-exactly, synthesize",
}


def _runner(action: str) -> Callable[[Settings], dict[str, Any]]:
    if action == "search":
        from sw_frontend.search.run import run_search

        return run_search
    if action == "train":
        from sw_frontend.train import run_train

        return run_train
    if action in ("emit", "sim", "synth", "flow"):
        from sw_frontend import hardware

        return {
            "emit": hardware.run_emit,
            "sim": hardware.run_sim,
            "synth": hardware.run_synth,
            "flow": hardware.run_flow,
        }[action]
    from sw_frontend import actions

    return {"test": actions.run_test, "transform": actions.run_transform}[action]


class OneLineParser(argparse.ArgumentParser):
    """argparse with command-line errors on one line (no usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of `ch` with one sub-command per action."""
    parser = OneLineParser(
        prog="ch",
        description="chop-hw front end: train, test, quantize and search PyTorch models "
        "whose quantized arithmetic matches the hardware bit for bit (docs/frontend.md). "
        "Exit status: 0 done, 2 user error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=f"ch {__version__}")
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=OneLineParser)
    for action, text in DESCRIPTIONS.items():
        p = sub.add_parser(
            action,
            help=text,
            description=text + ". Options may also be keys of the --config toml; the command line wins.",
        )
        add_arguments(p, action)
    return parser


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _configure_logging(settings: Settings) -> None:
    """``ch`` log lines on standard error: debug level with --debug, warnings otherwise."""
    level = logging.DEBUG if settings.debug else logging.WARNING
    log.setLevel(level)
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("ch: %(levelname)s: %(message)s"))
        log.addHandler(handler)
    log.propagate = False
    if settings.ignored:
        log.debug("config %s: not used by `ch %s`: %s", settings.config, settings.action, ", ".join(settings.ignored))


def fail(message: str, status: int) -> int:
    """Print ``ch: error: MESSAGE`` as one line (not in the extra processes of a ddp run)."""
    if not interrupts.is_worker_process():
        line = " ".join(part.strip() for part in message.splitlines() if part.strip())
        sys.stdout.flush()
        print(f"ch: error: {line}", file=sys.stderr, flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run `ch`; returns the exit status (0 done, 2 user error, 130 SIGINT, 143 SIGTERM)."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    interrupts.install()
    debug = False
    try:
        settings = merge(ns.action, ns)
        debug = settings.debug
        _configure_logging(settings)
        _runner(ns.action)(settings)
    except UserError as exc:
        if debug:
            traceback.print_exc()
        return fail(str(exc), EXIT_USER_ERROR)
    except interrupts.Interrupted as exc:
        return fail(exc.message(), exc.exit_code)
    except OSError as exc:
        error = write_error(exc)
        if error is None:
            raise
        if debug:
            traceback.print_exc()
        return fail(str(error), EXIT_USER_ERROR)
    finally:
        if threading.current_thread() is threading.main_thread():
            for s, handler in previous.items():
                if handler is not None:
                    signal.signal(s, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
