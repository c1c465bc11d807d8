"""Command line of the component library: ``make sim``, ``make synth`` and ``make library``.

    python -m mapper.library_cli sim                          # every component, its whole sweep
    python -m mapper.library_cli sim fixed_linear             # one component, its sweep
    python -m mapper.library_cli sim fixed_linear IN_PAR=4    # one component, one parameter set
    python -m mapper.library_cli synth fixed_linear IN_PAR=4  # Yosys synth_xilinx, report.md
    python -m mapper.library_cli pnr fixed_linear --freq 200  # ECP5 place and route: Fmax, path
    python -m mapper.library_cli pnr --references             # the two reference designs only
    python -m mapper.library_cli timing                       # Fmax table of every component
    python -m mapper.library_cli ready-paths stream_join OUT_REG=0  # combinational ready paths
    python -m mapper.library_cli check                        # lint + one simulation each, table

``sim`` options: --seed N, --groups N, --gap P, --stall P. A wrong component or parameter name is
one line naming it and the allowed ones (exit status 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from common.atomic import write_text
from eda.lint import lint_all
from eda.pnr import DEFAULT_FREQ, PART, PlaceRouteError, measure_references, place_and_route
from eda.ready_paths import combinational_ready_paths
from eda.synth import SynthesisError, synthesize
from mapper.components import LIBRARY, Component, get
from mapper.library_timing import markdown, timing_table
from mapper.passes.clock import save_calibration
from sim import runner


def parse_value(text: str) -> Any:
    """A parameter value from the command line: an integer when it reads as one, else a string."""
    try:
        return int(text, 0)
    except ValueError:
        return text


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` items as a dict; anything else is a ValueError naming it."""
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"parameter override {item!r} is not NAME=VALUE")
        overrides[name] = parse_value(value)
    return overrides


def _shown(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if not str(k).endswith("_FILE"))


def sim(args: argparse.Namespace) -> int:
    comps = [get(args.component)] if args.component else [c for c in LIBRARY.values() if c.bench]
    if args.component and comps[0].bench is None:
        raise ValueError(f"{args.component} has no bench of its own; it is verified through the components using it")
    overrides = parse_overrides(args.params)
    jobs = [(c, p) for c in comps for p in ([c.parameters_with(overrides)] if overrides else c.sweep())]
    failed = 0
    for comp, params in jobs:
        start = time.monotonic()
        options = runner.RunOptions(args.seed, args.groups or comp.groups, args.gap, args.stall)
        try:
            result = comp.run(params, options)
            beats = sum(result["outputs"].values())
            print(
                f"PASS {comp.name} {time.monotonic() - start:5.1f} s  {result['groups']} groups, "
                f"{beats} output beats checked  [{_shown(params)}]",
                flush=True,
            )
        except (runner.SimulationError, ValueError) as err:  # ValueError: memory images refused
            failed += 1
            print(f"FAIL {comp.name} {time.monotonic() - start:5.1f} s  [{_shown(params)}]\n  {err}", flush=True)
    print(f"sim: {len(jobs) - failed} passed, {failed} failed")
    return 1 if failed else 0


def synth(args: argparse.Namespace) -> int:
    comp, params = _job(args)
    print(f"synthesizing {comp.name} ...", flush=True)
    try:
        report = synthesize(comp.name, params, comp.sources)
    except SynthesisError as err:
        print(f"make synth: {err}", file=sys.stderr)
        return 1
    print(Path(report.out_dir, "report.md").read_text())
    print(f"written to {report.out_dir} ({report.seconds} s)")
    return 0


def _job(args: argparse.Namespace) -> tuple[Component, dict[str, Any]]:
    """The named component and its parameters with overrides applied and memory images written."""
    comp = get(args.component)
    params, _ = comp.prepared(comp.parameters_with(parse_overrides(args.params)), runner.RunOptions().seed)
    return comp, params


def pnr(args: argparse.Namespace) -> int:
    if args.references:
        for name, r in measure_references(args.freq).items():
            print(f"reference {name}: {r.summary()}")
        return 0
    if not args.component:
        raise ValueError("name a component, or give --references")
    comp, params = _job(args)
    print(f"placing and routing {comp.name} on {PART} ...", flush=True)
    try:
        report = place_and_route(comp.name, params, comp.sources, freq_mhz=args.freq)
    except (SynthesisError, PlaceRouteError) as err:
        print(f"make pnr: {err}", file=sys.stderr)
        return 1
    print(Path(report.out_dir, "pnr.md").read_text())
    print(f"written to {report.out_dir} ({report.seconds} s)")
    print(report.summary())
    return 0


def timing(args: argparse.Namespace) -> int:
    comps = [get(n) for n in args.components] or [c for c in LIBRARY.values() if c.bench]
    rows, refs = timing_table(comps, args.freq, args.all_sweeps, progress=lambda s: print(s, flush=True))
    table = markdown(rows, refs)
    print(table)
    if args.out:
        print(f"written to {write_text(args.out, table + chr(10))}")
    if args.save:
        path = save_calibration(rows, {n: r.fmax_mhz for n, r in refs.items()})
        print(f"the mapper's clock model now uses these figures: {path}")
    return 0


def ready_paths(args: argparse.Namespace) -> int:
    comp, params = _job(args)
    paths = combinational_ready_paths(comp.name, params, comp.sources)
    for p in paths:
        print(f"{comp.name}: {p} depends on data_out_ready in the same cycle")
    if not paths:
        print(f"{comp.name}: every input ready is registered-only (no path from data_out_ready)")
    return 1 if paths else 0


def _freq(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"--freq must be a clock in MHz above 0, got {text}")
    return value


def check(args: argparse.Namespace) -> int:
    """Lint every module, simulate every component with a bench once (its last sweep set)."""
    from rich.console import Console  # noqa: PLC0415 - only the table needs rich
    from rich.table import Table  # noqa: PLC0415

    console = Console()
    console.print("[bold]Linting rtl/ with verilator --lint-only -Wall[/bold]")
    lint = {r.module: r for r in lint_all()}
    table = Table(title="Component library: lint and bit-exact simulation")
    for col in ("component", "lint", "parameters", "beats checked", "time", "result"):
        table.add_column(col)
    failures = sum(not r.clean for r in lint.values())
    for comp in LIBRARY.values():
        lint_ok = lint[comp.name].clean if comp.name in lint else False
        row = _check_one(comp, console)
        failures += row[-1].startswith("[red]")
        table.add_row(comp.name, "clean" if lint_ok else "[red]warnings[/red]", *row)
    console.print(table)
    console.print("all clean and bit-exact" if not failures else f"{failures} failure(s)")
    return 1 if failures else 0


def _check_one(comp: Component, console: Any) -> list[str]:
    if comp.bench is None:
        return [
            "-",
            "-",
            "-",
            f"verified through {', '.join(c.name for c in LIBRARY.values() if comp.name in c.depends)}",
        ]
    params = comp.sweep()[-1]
    start = time.monotonic()
    with console.status(f"simulating {comp.name} ..."):
        try:
            res = comp.run(params, runner.RunOptions(seed=1, groups=min(comp.groups, 200)))
            beats, result = str(sum(res["outputs"].values())), "[green]PASS[/green]"
        except runner.SimulationError as err:
            beats, result = "-", f"[red]FAIL[/red] {str(err).splitlines()[1][:60]}"
    return [_shown(params), beats, f"{time.monotonic() - start:.1f} s", result]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mapper.library_cli", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("sim", help="run component benches (all when no component is named)")
    p.add_argument("component", nargs="?", default="", help="component name (all when empty)")
    p.add_argument("params", nargs="*", help="parameter overrides NAME=VALUE")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--groups", type=int, default=None, help="golden-model groups (default: the component's own)")
    p.add_argument("--gap", type=float, default=0.3, help="input gap probability")
    p.add_argument("--stall", type=float, default=0.3, help="output stall probability")
    p.set_defaults(run=sim)
    p = sub.add_parser("synth", help="Yosys synth_xilinx of one component")
    p.add_argument("component", help="component name")
    p.add_argument("params", nargs="*", help="parameter overrides NAME=VALUE")
    p.set_defaults(run=synth)
    p = sub.add_parser("pnr", help="ECP5 place and route of one component (Fmax, critical path, utilisation)")
    p.add_argument("component", nargs="?", default="", help="component name")
    p.add_argument("params", nargs="*", help="parameter overrides NAME=VALUE")
    p.add_argument("--freq", type=_freq, default=DEFAULT_FREQ, help="requested clock in MHz")
    p.add_argument("--references", action="store_true", help="only the two reference designs")
    p.set_defaults(run=pnr)
    p = sub.add_parser("timing", help="Fmax of every component (or the named ones) next to the references")
    p.add_argument("components", nargs="*", help="component names (every one with a bench when empty)")
    p.add_argument("--freq", type=_freq, default=DEFAULT_FREQ, help="requested clock in MHz")
    p.add_argument("--all-sweeps", action="store_true", help="every sweep set, not only the largest")
    p.add_argument("--save", action="store_true", help="write the figures into the mapper's clock model")
    p.add_argument("--out", type=Path, default=None, help="also write the markdown table to this file")
    p.set_defaults(run=timing)
    p = sub.add_parser("ready-paths", help="input readies that depend on data_out_ready in the same cycle")
    p.add_argument("component", help="component name")
    p.add_argument("params", nargs="*", help="parameter overrides NAME=VALUE")
    p.set_defaults(run=ready_paths)
    sub.add_parser("check", help="lint and simulate every component once, summary table").set_defaults(run=check)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (KeyError, ValueError) as err:
        print(f"make {args.command}: {err.args[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
