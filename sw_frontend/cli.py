"""Entry point of the `ch` command:
``ch {train,test,transform,search,emit,sim,synth,flow} [MODEL] [DATASET] [options]``.

User errors (bad option, key, name or file) print one line ``ch: error: ...`` and exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from common.errors import ConfigError
from sw_frontend import __version__
from sw_frontend.options import add_arguments, merge

DESCRIPTIONS = {
    "train": "train MODEL on DATASET's train split (quantization-aware when the model is quantized)",
    "test": "evaluate MODEL on DATASET's test split: float and quantized accuracy side by side",
    "transform": "quantize MODEL with the [quantize] table of --config and save the quantized model",
    "search": "Optuna search of per-layer formats: accuracy vs hardware cost, Pareto front, best toml",
    "emit": "map the quantized MODEL onto the component library and emit its accelerator "
    "(SystemVerilog top, weights, FuseSoC core, bench, report)",
    "sim": "emit, then simulate the test samples on Verilator: every output integer against the golden "
    "network and the quantized model, measured cycles against predictions",
    "synth": "Yosys synthesis (xc7) of the accelerator an earlier emit/sim/flow wrote",
    "flow": "the whole chain: train (unless --load), quantize, map, emit, simulate bit-exactly, synthesize",
}


def _runner(action: str) -> Callable[[Any], dict[str, Any]]:
    if action == "search":
        from sw_frontend.search.run import run_search

        return run_search
    if action in ("emit", "sim", "synth", "flow"):
        from sw_frontend import hardware

        return {
            "emit": hardware.run_emit,
            "sim": hardware.run_sim,
            "synth": hardware.run_synth,
            "flow": hardware.run_flow,
        }[action]
    from sw_frontend import actions

    return {"train": actions.run_train, "test": actions.run_test, "transform": actions.run_transform}[action]


class OneLineParser(argparse.ArgumentParser):
    """argparse with command-line errors on one line (no usage block)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of `ch` with one sub-command per action."""
    parser = OneLineParser(
        prog="ch",
        description="chop-hw front end: train, test, quantize and search PyTorch models "
        "whose quantized arithmetic matches the hardware bit for bit (docs/frontend.md)",
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


def main(argv: list[str] | None = None) -> int:
    """Run `ch`; returns the exit status (0 ok, 2 user error)."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        settings = merge(ns.action, ns)
        _runner(ns.action)(settings)
    except ConfigError as exc:
        print(f"ch: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
