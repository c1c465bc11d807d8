"""`ch search`: Optuna multi-objective search (maximise accuracy, minimise hardware cost).

Each trial samples per-layer formats from the ``[search]`` space, quantizes the float model
(post-training, no retraining) and measures validation accuracy and the cost function. Storage is
``sqlite:///<project>/software/search/study.db`` unless ``--storage`` gives any URL Optuna
accepts; workers started with the same storage and ``--study-name`` share one study (give each
worker its own ``--seed``). After its trials, a worker writes, from every finished trial of the
study, into ``software/search/``: ``pareto.csv``, ``pareto.png``, ``best.toml`` (accepted
directly by ``ch transform --config``) and ``summary.json``.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import random
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
import torch
from torch import nn

from common.atomic import write_bytes, write_text
from common.errors import ConfigError
from common.tomlout import dumps as toml_dumps
from quant.config import QuantConfig
from quant.transform import dequantize_model, quantize_model
from sw_frontend.actions import prepare, software_dir
from sw_frontend.options import options_for
from sw_frontend.report import print_table, write_json
from sw_frontend.search.cost import cost_function
from sw_frontend.search.space import SearchSpace
from sw_frontend.settings import Settings
from sw_frontend.training import evaluate


def make_sampler(name: str, seed: int, trials: int) -> optuna.samplers.BaseSampler:
    """The Optuna sampler of ``--sampler`` seeded with ``--seed``."""
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(50, trials // 2)))


def storage_url(settings: Settings) -> str:
    """``--storage`` or the project's SQLite file (its folder is created)."""
    if settings.storage:
        return settings.storage
    db = (software_dir(settings) / "search" / "study.db").resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db}"


RACE_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError)


def open_study(settings: Settings, url: str, attempts: int = 5) -> optuna.Study:
    """Create or join the study. Workers that start together may race to create the database
    tables (SQLite: "table already exists", "UNIQUE constraint failed", "database is locked");
    the loser waits and joins the winner's study."""
    for attempt in range(attempts):
        try:
            return optuna.create_study(
                study_name=settings.study_name,
                storage=url,
                directions=["maximize", "minimize"],
                load_if_exists=True,
                sampler=make_sampler(settings.sampler, settings.seed, settings.trials),
            )
        except Exception as exc:  # noqa: BLE001 - sqlalchemy and optuna raise many types for a bad URL
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if attempt + 1 < attempts and isinstance(exc, RACE_ERRORS):
                time.sleep(0.5 + random.random())
                continue
            raise ConfigError(
                f"--storage {url}: {text[:200]} (give an SQLAlchemy URL such as "
                "sqlite:///study.db or postgresql://user@host/db)"
            ) from None
    raise AssertionError("unreachable")


def example_inputs(ds: torch.utils.data.Dataset) -> tuple[torch.Tensor, ...]:
    """Positional inputs of one forward call on the first sample (batch size 1)."""
    first = ds[0]
    return (first[0].unsqueeze(0),)


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
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


def run_search(settings: Settings) -> dict[str, Any]:
    """Run ``--trials`` trials in this worker, then write the study's Pareto outputs."""
    if settings.search is None:
        raise ConfigError(
            "`ch search` needs a [search] table in the --config toml "
            "(example: sw_frontend/configs/search_mlp_digits.toml)"
        )
    space = SearchSpace.from_dict(settings.search)
    if settings.trials < 1:
        raise ConfigError(f"--trials must be >= 1, got {settings.trials}")
    data, loaded = prepare(settings)
    float_model: nn.Module = dequantize_model(loaded.model) if loaded.quant_config is not None else loaded.model
    float_model.eval()
    cost_fn = cost_function(settings.cost, settings.target_cycles)
    example = example_inputs(data.val)
    cost_fn(quantize_model(float_model, space.first(float_model)), example)  # fail before the study
    float_acc = evaluate(float_model, data.val, data.task, settings.batch_size, "float model")["acc"]

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        config = space.sample(trial, float_model)
        qmodel = quantize_model(float_model, config)
        acc = evaluate(qmodel, data.val, data.task, settings.batch_size, f"trial {trial.number}")["acc"]
        trial.set_user_attr("quantize", config.to_dict())
        return acc, cost_fn(qmodel, example)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    url = storage_url(settings)
    study = open_study(settings, url)
    if [d.name for d in study.directions] != ["MAXIMIZE", "MINIMIZE"]:
        raise ConfigError(f"study '{settings.study_name}' in {url} is not a (accuracy, cost) study")
    study.optimize(objective, n_trials=settings.trials, show_progress_bar=True, catch=())
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    pareto = study.best_trials
    best = pick_best(pareto, float_acc, settings.max_accuracy_drop)
    best_config = QuantConfig.from_dict(best.user_attrs["quantize"])
    out = software_dir(settings) / "search"
    write_text(out / "pareto.csv", pareto_csv(pareto))
    write_bytes(out / "pareto.png", plot_png(done, pareto, best, float_acc, settings.cost))
    write_text(out / "best.toml", best_toml(settings, best_config))
    summary = {
        "study": settings.study_name,
        "storage": url,
        "trials": len(done),
        "float_val_acc": float_acc,
        "cost": settings.cost,
        "pareto": [
            {"trial": t.number, "accuracy": t.values[0], "cost": t.values[1]}
            for t in sorted(pareto, key=lambda t: t.values[1])
        ],
        "best": {"trial": best.number, "accuracy": best.values[0], "cost": best.values[1]},
        "worker_pid": os.getpid(),
    }
    write_json(out / "summary.json", summary)
    rows = [
        [t.number, t.values[0], f"{t.values[1]:.4g}", "*" if t.number == best.number else ""]
        for t in sorted(pareto, key=lambda t: t.values[1])
    ]
    print_table(
        f"ch search: Pareto front of {len(done)} trials (float val acc {float_acc:.4f})",
        ["trial", "val accuracy", f"cost ({settings.cost})", "best"],
        rows,
    )
    print(f"outputs: {out}/pareto.csv, pareto.png, best.toml (ch transform --config {out / 'best.toml'})")
    return summary
