"""What `ch search` writes into ``software/search/`` from the finished trials of its study:
``pareto.csv`` (the Pareto front, every sampled parameter), ``pareto.png`` (accuracy against
cost), ``best.toml`` (a complete ``ch transform`` config) and ``summary.json``.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

import optuna

from common.atomic import write_bytes, write_text
from common.tomlout import dumps as toml_dumps
from quant.config import QuantConfig
from sw_frontend.options import options_for
from sw_frontend.report import write_json
from sw_frontend.search.objectives import objective_label
from sw_frontend.settings import Settings


def finished_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's completed trials (failed and interrupted ones are left out)."""
    return [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]


def pick_best(trials: list[optuna.trial.FrozenTrial], float_acc: float, drop: float) -> optuna.trial.FrozenTrial:
    """Cheapest Pareto trial within ``drop`` of the float accuracy, else the most accurate one."""
    good = [t for t in trials if t.values[0] >= float_acc - drop]
    if good:
        return min(good, key=lambda t: (t.values[1], -t.values[0], t.number))
    return max(trials, key=lambda t: (t.values[0], -t.values[1], -t.number))


def best_toml(settings: Settings, config: QuantConfig) -> str:
    """A ``ch transform`` config: the model, its source checkpoint and the chosen ``[quantize]``."""
    allowed = {o.name for o in options_for("transform")}
    out: dict[str, Any] = {
        "model": settings.model,
        "dataset": settings.dataset,
        "project": f"{settings.project}_best",
    }
    for key in ("data_dir", "load", "load_type", "max_seq_len", "seed"):
        value = getattr(settings, key)
        if key in allowed and value is not None:
            out[key] = str(Path(value).resolve()) if key in ("load", "data_dir") else value
    if settings.load_type == "pkl":
        out["allow_pickle"] = True
    head = (
        "# Best configuration of `ch search` (cheapest Pareto trial within max_accuracy_drop of the float\n"
        "# model). Use it with: ch transform --config THIS_FILE\n"
    )
    return head + toml_dumps(out) + toml_dumps({"quantize": config.to_dict()})


def plot_png(
    trials: list[optuna.trial.FrozenTrial],
    pareto: list[optuna.trial.FrozenTrial],
    best: optuna.trial.FrozenTrial,
    float_acc: float,
    cost_name: str,
) -> bytes:
    """PNG bytes of accuracy against cost: every trial, the Pareto front, the best trial."""
    fig, ax = new_figure(6, 4)
    ax.scatter([t.values[1] for t in trials], [t.values[0] for t in trials], s=12, c="0.6", label="trials")
    front = sorted(pareto, key=lambda t: t.values[1])
    ax.plot(
        [t.values[1] for t in front],
        [t.values[0] for t in front],
        "o-",
        c="tab:red",
        ms=5,
        label="Pareto front",
    )
    ax.scatter([best.values[1]], [best.values[0]], marker="*", s=180, c="tab:green", zorder=3, label="best")
    ax.axhline(float_acc, ls="--", c="tab:blue", lw=1, label="float model")
    ax.set_xlabel(f"hardware cost ({cost_name})")
    ax.set_ylabel("validation accuracy")
    if min(t.values[1] for t in trials) > 0:
        ax.set_xscale("log")
    ax.legend(loc="lower right", fontsize=8)
    return png_bytes(fig)


def new_figure(width: float, height: float) -> tuple[Any, Any]:
    """A matplotlib figure of ``width`` x ``height`` inches at 100 dpi (no display needed) and its axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=100)


def png_bytes(fig: Any) -> bytes:
    """The figure ``fig`` as PNG bytes; the figure is closed."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def pareto_csv(pareto: list[optuna.trial.FrozenTrial]) -> str:
    """CSV of the Pareto front, cheapest first: trial, accuracy, cost, every sampled parameter."""
    keys = sorted({k for t in pareto for k in t.params})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["trial", "accuracy", "cost"] + keys)
    for t in sorted(pareto, key=lambda t: (t.values[1], t.number)):
        w.writerow([t.number, t.values[0], t.values[1]] + [t.params.get(k, "") for k in keys])
    return buf.getvalue()


def cost_label(settings: Settings) -> str:
    """What the study's cost is, with its unit: ``bitops`` or ``mapper: <objective>``."""
    return f"mapper: {objective_label(settings.objective)}" if settings.cost == "mapper" else settings.cost


def write_outputs(settings: Settings, study: optuna.Study, url: str, float_acc: float, out: Path) -> dict[str, Any]:
    """Write the four outputs from every finished trial of ``study``; returns the summary.

    Needs at least one finished trial.
    """
    done = finished_trials(study)
    pareto = study.best_trials
    best = pick_best(pareto, float_acc, settings.max_accuracy_drop)
    best_config = QuantConfig.from_dict(best.user_attrs["quantize"])
    write_text(out / "pareto.csv", pareto_csv(pareto))
    write_bytes(out / "pareto.png", plot_png(done, pareto, best, float_acc, cost_label(settings)))
    write_text(out / "best.toml", best_toml(settings, best_config))
    summary = {
        "study": settings.study_name,
        "storage": url,
        "trials": len(done),
        "float_val_acc": float_acc,
        "cost": settings.cost,
        "objective": settings.objective if settings.cost == "mapper" else None,
        "pareto": [
            {"trial": t.number, "accuracy": t.values[0], "cost": t.values[1]}
            for t in sorted(pareto, key=lambda t: t.values[1])
        ],
        "best": {"trial": best.number, "accuracy": best.values[0], "cost": best.values[1]},
        "worker_pid": os.getpid(),
    }
    write_json(out / "summary.json", summary)
    return summary
