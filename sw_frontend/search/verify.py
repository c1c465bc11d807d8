"""`ch search --verify-front N`: how far the mapper's resource estimate is from synthesis, on the N
designs of the Pareto front with the lowest hardware objective (``--cost mapper`` only).

Each design is quantized again with its trial's formats, mapped at ``--target-cycles``
(``mapper.flow.map_model``), emitted into ``search/verify/trial_<n>/`` (``mapper.flow.emit_design``)
and synthesized there with Yosys (``eda.synth.synthesize``: ``synth_xilinx -family xc7``, the run
of ``ch synth`` and ``python -m mapper.flow synth``; reports in ``trial_<n>/synth/``). Written
atomically next to the front's outputs in ``search/``:

- ``verify_front.csv``: one row per design, lowest objective first: trial, validation accuracy,
  the objective estimated and measured, estimated and measured LUT / FF / DSP / BRAM and their
  relative errors ``(estimate - measured) / measured`` (0 when both are 0, empty when only the
  measured count is 0), and the design folder (relative to ``search/``);
- ``verify_front.png``: accuracy against the objective: the Pareto front as estimated, and each
  verified design's estimated and measured points joined by a line;
- the table's rows in ``summary.json`` (``verify_front``).

Synthesis measures resources, not cycles: with ``--objective latency`` the objective columns and
the plot's axis are LUT-equivalents instead.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import torch
from torch import nn

from common.atomic import write_bytes, write_text
from common.errors import ConfigError
from quant.config import QuantConfig
from quant.transform import quantize_model
from sw_frontend.report import print_table
from sw_frontend.search.objectives import RESOURCE_OBJECTIVES, RESOURCES, objective_label, resource_objective
from sw_frontend.search.outputs import new_figure, png_bytes
from sw_frontend.settings import Settings

if TYPE_CHECKING:
    from mapper.graph import Resources

TABLE = "verify_front.csv"
PLOT = "verify_front.png"


@dataclass(frozen=True)
class Verified:
    """One verified design: its trial, validation accuracy, the mapper's estimate, what Yosys
    measured, and the design folder relative to the search's output folder."""

    trial: int
    accuracy: float
    estimate: Resources
    measured: Resources
    design: Path


def measured_objective(objective: str) -> str:
    """The objective that synthesis can measure: ``objective`` itself, or LUT-equivalents for latency."""
    return objective if objective in RESOURCE_OBJECTIVES else "luteq"


def lowest(pareto: list[optuna.trial.FrozenTrial], n: int) -> list[optuna.trial.FrozenTrial]:
    """The ``n`` Pareto trials of lowest objective (ties: higher accuracy, then earlier trial)."""
    return sorted(pareto, key=lambda t: (t.values[1], -t.values[0], t.number))[:n]


def relative_error(estimate: float, measured: float) -> float | None:
    """``(estimate - measured) / measured``; 0 when both are 0, None when only ``measured`` is."""
    if measured == 0:
        return 0.0 if estimate == 0 else None
    return (estimate - measured) / measured


def verify_front(
    settings: Settings,
    pareto: list[optuna.trial.FrozenTrial],
    float_model: nn.Module,
    example: tuple[torch.Tensor, ...],
    out: Path,
) -> list[Verified]:
    """Map, emit and synthesize the ``--verify-front`` lowest-objective designs of ``pareto``, then
    write the table and the plot into ``out``; a line of progress per step unless ``--quiet``."""
    from eda.synth import SynthesisError, synthesize  # noqa: PLC0415 - Yosys and the mapper only here
    from mapper.flow import emit_design, map_model  # noqa: PLC0415
    from mapper.graph import Resources  # noqa: PLC0415

    chosen = lowest(pareto, settings.verify_front)
    say = (lambda _text: None) if settings.quiet else (lambda text: print(text, flush=True))
    if len(chosen) < settings.verify_front:
        say(f"verify: the Pareto front holds {len(chosen)} design(s), not {settings.verify_front}; verifying them all")
    done: list[Verified] = []
    for i, t in enumerate(chosen, 1):
        step = f"verify {i}/{len(chosen)}: trial {t.number}"
        say(f"{step}: mapping at {settings.target_cycles} cycles per inference and emitting")
        qmodel = quantize_model(float_model, QuantConfig.from_dict(t.user_attrs["quantize"]))
        graph = map_model(qmodel, example[0], cycles=settings.target_cycles)
        folder = Path("verify") / f"trial_{t.number}"
        design = emit_design(graph, out / folder)
        say(f"{step}: synthesizing {design.top} with Yosys (synth_xilinx -family xc7)")
        try:
            rep = synthesize(design.top, design.memory_parameters(), design.sources, design.out_dir / "synth")
        except SynthesisError as err:
            raise ConfigError(f"--verify-front: trial {t.number}: {str(err).splitlines()[0]}") from None
        estimate, measured = graph.info.resources, Resources(rep.lut, rep.ff, rep.dsp, float(rep.bram))
        done.append(Verified(t.number, t.values[0], estimate, measured, folder))
        figures = [f"{k.upper()} {getattr(measured, k):g} (estimate {getattr(estimate, k):g})" for k in RESOURCES]
        say(f"{step}: " + ", ".join(figures))
    objective = measured_objective(settings.objective)
    write_text(out / TABLE, table_csv(done, objective))
    write_bytes(out / PLOT, plot_png(done, pareto if objective == settings.objective else [], objective))
    return done


def row(v: Verified, objective: str) -> dict[str, Any]:
    """The CSV row of ``v`` (see the module docstring) as column -> value."""
    est, meas = resource_objective(v.estimate, objective), resource_objective(v.measured, objective)
    out: dict[str, Any] = {
        "trial": v.trial,
        "accuracy": v.accuracy,
        "objective": objective,
        "objective_estimate": est,
        "objective_measured": meas,
        "objective_rel_error": relative_error(est, meas),
    }
    out.update({f"estimate_{k}": getattr(v.estimate, k) for k in RESOURCES})
    out.update({f"measured_{k}": getattr(v.measured, k) for k in RESOURCES})
    out.update({f"rel_error_{k}": relative_error(getattr(v.estimate, k), getattr(v.measured, k)) for k in RESOURCES})
    out["design"] = v.design.as_posix()
    return out


def table_csv(done: list[Verified], objective: str) -> str:
    """``verify_front.csv`` (see the module docstring); an empty cell for an undefined error."""
    rows = [row(v, objective) for v in done]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(list(rows[0]) if rows else ["trial"])
    for r in rows:
        w.writerow(["" if value is None else value for value in r.values()])
    return buf.getvalue()


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.0f}%"


def print_verified(done: list[Verified], objective: str, out: Path) -> None:
    """The table on standard output: per resource ``measured / estimate (error)``."""
    objective = measured_objective(objective)
    rows = []
    for v in done:
        r = row(v, objective)
        cells = [
            f"{r[f'measured_{k}']:g} / {r[f'estimate_{k}']:g} ({_percent(r[f'rel_error_{k}'])})" for k in RESOURCES
        ]
        rows.append([v.trial, v.accuracy, *cells, f"{r['objective_measured']:.4g} / {r['objective_estimate']:.4g}"])
    print_table(
        f"ch search --verify-front, {len(done)} design(s): Yosys (xc7) / mapper estimate (relative error)",
        ["trial", "val accuracy", *(k.upper() for k in RESOURCES), objective],
        rows,
    )
    print(f"outputs: {out / TABLE}, {out / PLOT}; designs and synthesis reports in {out / 'verify'}")


def plot_png(done: list[Verified], pareto: list[optuna.trial.FrozenTrial], objective: str) -> bytes:
    """PNG bytes of accuracy against ``objective``: the estimated Pareto front (``pareto``, may be
    empty) and, per verified design, its estimated and measured points joined by a line."""
    fig, ax = new_figure(6.5, 4.2)
    xs: list[float] = []
    if pareto:
        front = sorted(pareto, key=lambda t: t.values[1])
        xs += [t.values[1] for t in front]
        ax.plot(xs, [t.values[0] for t in front], "o-", c="0.7", ms=3, lw=1, label="Pareto front (estimate)", zorder=1)
    for i, v in enumerate(done):
        est, meas = resource_objective(v.estimate, objective), resource_objective(v.measured, objective)
        xs += [est, meas]
        ax.plot([est, meas], [v.accuracy, v.accuracy], "-", c="0.3", lw=1, zorder=2)
        ax.scatter(
            [est],
            [v.accuracy],
            marker="o",
            s=40,
            facecolors="none",
            edgecolors="tab:blue",
            zorder=3,
            label="estimate" if i == 0 else None,
        )
        ax.scatter([meas], [v.accuracy], marker="s", s=36, c="tab:red", zorder=3, label="Yosys" if i == 0 else None)
        ax.annotate(f"{v.trial}", (meas, v.accuracy), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel(objective_label(objective))
    ax.set_ylabel("validation accuracy")
    if xs and min(xs) > 0 and max(xs) / min(xs) > 10:
        ax.set_xscale("log")
    ax.set_title(f"mapper estimate vs Yosys, {len(done)} Pareto design(s) (labels: trial)", fontsize=9)
    ax.legend(loc="best", fontsize=8)
    return png_bytes(fig)
