"""`make sim`: run component benches from the shell.

    python -m sim.cli                      # every component, every parameter set of its sweep
    python -m sim.cli fixed_linear         # one component, its sweep
    python -m sim.cli fixed_linear IN_PAR=4 OUT_PAR=2   # one component, one parameter set

Options: --seed N, --groups N, --gap P, --stall P.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from sim import catalogue, runner


def parse_value(text: str) -> Any:
    """A parameter value from the command line: an integer when it reads as one, else a string."""
    try:
        return int(text, 0)
    except ValueError:
        return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"parameter override {item!r} is not NAME=VALUE")
        overrides[name] = parse_value(value)
    return overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("component", nargs="?", default="", help="component name (all when empty)")
    parser.add_argument("params", nargs="*", help="parameter overrides NAME=VALUE")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--groups", type=int, default=None,
                        help="golden-model groups to send (default: the component's own, 300 for most)")
    parser.add_argument("--gap", type=float, default=0.3, help="input gap probability")
    parser.add_argument("--stall", type=float, default=0.3, help="output stall probability")
    args = parser.parse_args(argv)
    try:
        components = [catalogue.get(args.component)] if args.component else list(catalogue.COMPONENTS.values())
        overrides = parse_overrides(args.params)
        options = {
            c.name: runner.RunOptions(args.seed, args.groups or c.groups, args.gap, args.stall)
            for c in components
        }
        jobs = [
            (c, p) for c in components for p in ([c.parameters(overrides)] if overrides else c.sweep())
        ]
    except (KeyError, ValueError) as err:
        print(f"make sim: {err.args[0]}", file=sys.stderr)
        return 2
    failed = 0
    for comp, params in jobs:
        start = time.monotonic()
        shown = " ".join(f"{k}={v}" for k, v in params.items() if not str(k).endswith("_FILE"))
        try:
            result = comp.run(params, options[comp.name])
            beats = sum(result["outputs"].values())
            print(f"PASS {comp.name} {time.monotonic() - start:5.1f} s  {result['groups']} groups, "
                  f"{beats} output beats checked  [{shown}]", flush=True)
        except (runner.SimulationError, ValueError) as err:  # ValueError: memory images refused
            failed += 1
            print(f"FAIL {comp.name} {time.monotonic() - start:5.1f} s  [{shown}]\n  {err}", flush=True)
    print(f"sim: {len(jobs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
