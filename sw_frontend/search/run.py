"""`ch search`: Optuna multi-objective search (maximise accuracy, minimise hardware cost).

Each trial samples per-layer formats from the ``[search]`` space, quantizes the float model
(post-training, no retraining) and measures validation accuracy and the cost function. Storage is
``sqlite:///<project>/software/search/study.db`` unless ``--storage`` gives any URL Optuna
accepts; workers started with the same storage and ``--study-name`` share one study (give each
worker its own ``--seed``). The study is keyed by what defines the search (sw_frontend/search/study.py).

Trials run through Optuna's ask-and-tell interface, so that every trial ends in the study as
finished or failed, never left running. After its trials, or when interrupted (Ctrl-C, SIGTERM),
a worker writes the outputs of every finished trial of the study (sw_frontend/search/outputs.py).
With ``--verify-front N`` it then synthesizes the N Pareto designs of lowest objective and compares
the mapper's estimate with Yosys (sw_frontend/search/verify.py).
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import optuna
import torch
from torch import nn
from tqdm import tqdm

from common.errors import ConfigError
from quant.transform import dequantize_model, quantize_model
from sw_frontend.actions import prepare, software_dir
from sw_frontend.interrupts import Interrupted, deferred
from sw_frontend.outputs import require_writable
from sw_frontend.report import print_table, write_json
from sw_frontend.search.cost import cost_function
from sw_frontend.search.outputs import cost_label, finished_trials, write_outputs
from sw_frontend.search.space import SearchSpace
from sw_frontend.search.study import open_study, study_key
from sw_frontend.search.verify import PLOT, TABLE, measured_objective, print_verified, row, verify_front
from sw_frontend.settings import Settings
from sw_frontend.training import evaluate


def storage_url(settings: Settings) -> str:
    """``--storage`` or the project's SQLite file (its folder is created)."""
    if settings.storage:
        return settings.storage
    db = (software_dir(settings) / "search" / "study.db").resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{db}"


def example_inputs(ds: torch.utils.data.Dataset) -> tuple[torch.Tensor, ...]:
    """Positional inputs of one forward call on the first sample (batch size 1)."""
    first = ds[0]
    return (first[0].unsqueeze(0),)


def _quiet_optuna() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def run_search(settings: Settings) -> dict[str, Any]:
    """Run ``--trials`` trials in this worker, then write the study's Pareto outputs."""
    if settings.search is None:
        raise ConfigError(
            "`ch search` needs a [search] table in the --config toml "
            "(example: sw_frontend/configs/search_mlp_digits.toml)"
        )
    check_mapper_options(settings)
    space = SearchSpace.from_dict(settings.search)
    data, loaded = prepare(settings)
    float_model: nn.Module = dequantize_model(loaded.model) if loaded.quant_config is not None else loaded.model
    float_model.eval()
    cost_fn = cost_function(settings.cost, settings.target_cycles, settings.objective)
    example = example_inputs(data.val)
    cost_fn(quantize_model(float_model, space.first(float_model)), example)  # fail before the study
    out = require_writable(software_dir(settings) / "search")
    float_acc = evaluate(float_model, data.val, data.task, settings.batch_size, "float model", quiet=True)["acc"]

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        config = space.sample(trial, float_model)
        qmodel = quantize_model(float_model, config)
        acc = evaluate(qmodel, data.val, data.task, settings.batch_size, f"trial {trial.number}", quiet=True)["acc"]
        trial.set_user_attr("quantize", config.to_dict())
        return acc, cost_fn(qmodel, example)

    _quiet_optuna()
    url = storage_url(settings)
    label = settings.storage or str(software_dir(settings) / "search" / "study.db")
    study = open_study(settings, url, study_key(settings, space, float_model), label)
    try:
        _run_trials(settings, study, objective)
    except Interrupted as exc:
        detail = _outputs_after_interrupt(settings, study, url, float_acc, out)
        raise exc.with_detail(detail) from None
    summary = write_outputs(settings, study, url, float_acc, out)
    _print_front(settings, summary, out)
    if settings.verify_front is not None:
        try:
            verified = verify_front(settings, study.best_trials, float_model, example, out)
        except Interrupted as exc:
            detail = (
                f"while verifying the front: the search's outputs are in {out}; {TABLE} and {PLOT} were not written"
            )
            raise exc.with_detail(detail) from None
        print_verified(verified, settings.objective, out)
        summary["verify_front"] = [row(v, measured_objective(settings.objective)) for v in verified]
        write_json(out / "summary.json", summary)
    return summary


def check_mapper_options(settings: Settings) -> None:
    """``--objective`` and ``--verify-front`` are about the mapper's designs: a ConfigError unless
    ``--cost mapper``."""
    why = {
        "objective": "it picks a figure of the mapper's design to minimise",
        "verify_front": "it synthesizes the designs the mapper builds",
    }
    for name, reason in why.items():
        if name in settings.given and settings.cost != "mapper":
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} needs --cost mapper ({reason}); --cost is {settings.cost}")


def _run_trials(settings: Settings, study: optuna.Study, objective: Any) -> None:
    """Ask, evaluate and tell ``--trials`` trials; a trial that does not finish is told FAIL."""
    bar = None
    if sys.stderr.isatty() and not settings.quiet:
        bar = tqdm(total=settings.trials, desc="trials", unit="trial", leave=False)
    current: optuna.Trial | None = None
    try:
        for i in range(settings.trials):
            with deferred():
                current = study.ask()
            values = objective(current)
            with deferred():
                study.tell(current, values)
                number, current = current.number, None
            if bar is not None:
                bar.update(1)
            elif not settings.quiet:
                line = f"trial {number}: val acc {values[0]:.4f} cost {values[1]:.6g} ({i + 1}/{settings.trials})"
                print(line, flush=True)  # a line per trial reaches a log or pipe as it happens
    except BaseException:
        if current is not None:
            with deferred():
                study.tell(current, state=optuna.trial.TrialState.FAIL)
        raise
    finally:
        if bar is not None:
            bar.close()


def _outputs_after_interrupt(settings: Settings, study: optuna.Study, url: str, float_acc: float, out: Path) -> str:
    """Write the outputs of the finished trials (if any) and say where they are."""
    with deferred():
        done = finished_trials(study)
        if not done:
            return "before any trial of the study finished: previous outputs left as they were"
        write_outputs(settings, study, url, float_acc, out)
    s = "s" if len(done) != 1 else ""
    return f"during the search: the Pareto front and best.toml of the {len(done)} finished trial{s} are in {out}"


def _print_front(settings: Settings, summary: dict[str, Any], out: Path) -> None:
    rows = [
        [p["trial"], p["accuracy"], f"{p['cost']:.4g}", "*" if p["trial"] == summary["best"]["trial"] else ""]
        for p in summary["pareto"]
    ]
    print_table(
        f"ch search: Pareto front of {summary['trials']} trials (float val acc {summary['float_val_acc']:.4f})",
        ["trial", "val accuracy", f"cost ({cost_label(settings)})", "best"],
        rows,
    )
    print(f"outputs: {out}/pareto.csv, pareto.png, best.toml (ch transform --config {out / 'best.toml'})")
