"""The foundation's main job: lint every RTL module and simulate every component once.

Prints one row per component: lint status, the parameter set simulated, output beats compared
with the golden model, and the result. Exits non-zero when anything fails.
"""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.table import Table

from eda.lint import lint_all
from sim import catalogue, runner


def main() -> int:
    console = Console()
    console.print("[bold]Linting rtl/ with verilator --lint-only -Wall[/bold]")
    lint = {r.module: r for r in lint_all()}
    table = Table(title="Component library: lint and bit-exact simulation")
    for col in ("component", "lint", "parameters", "beats checked", "time", "result"):
        table.add_column(col)
    failures = sum(not r.clean for r in lint.values())
    for comp in catalogue.COMPONENTS.values():
        params = comp.sweep()[-1]
        options = runner.RunOptions(seed=1, groups=min(comp.groups, 200))
        lint_ok = lint[comp.toplevel].clean if comp.toplevel in lint else False
        start = time.monotonic()
        with console.status(f"simulating {comp.name} ..."):
            try:
                res = comp.run(params, options)
                beats, result = str(sum(res["outputs"].values())), "[green]PASS[/green]"
            except runner.SimulationError as err:
                beats, result = "-", f"[red]FAIL[/red] {str(err).splitlines()[1][:60]}"
                failures += 1
        table.add_row(
            comp.name,
            "clean" if lint_ok else "[red]warnings[/red]",
            " ".join(f"{k}={v}" for k, v in params.items()),
            beats,
            f"{time.monotonic() - start:.1f} s",
            result,
        )
    console.print(table)
    console.print(f"{'all clean and bit-exact' if not failures else f'{failures} failure(s)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
