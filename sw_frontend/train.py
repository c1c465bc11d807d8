"""`ch train`: Lightning training, quantization-aware when the model is quantized.

Outputs (``mase_output/<project>/software/``): ``training_ckpts/best.ckpt`` (highest validation
accuracy), ``last.ckpt`` (the last finished epoch), ``metrics.json``; ``tensorboard/version_N/``
(losses, accuracies, learning rate, weight and quantization-error histograms, hyperparameters
with the final metrics). Everything is written into a hidden temporary folder and renamed into
place at the end.

Ctrl-C or SIGTERM: checkpoint writes finish first; if at least one epoch finished, its
``best.ckpt`` / ``last.ckpt``, ``metrics.json`` (``"interrupted"``) and logs replace the previous
outputs, else the previous outputs stay as they were; then ``ch`` exits with 130 / 143.

Lightning's own options are passed through: ``--max-steps``, ``--accumulate-grad-batches``,
``--log-every-n-steps``, ``--precision``, ``--devices``, ``--num-nodes``, ``--strategy`` (``ddp``
runs one process per device; on the CPU ``--devices 2 --strategy ddp`` trains in two processes,
each on its share of every epoch). ``ch train`` must then run as a command (Lightning starts the
extra processes by running the same command line again).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from common.atomic import replace_dir, temp_dir_beside
from common.errors import ConfigError
from quant.torch_files import load_tensors
from sw_frontend.actions import meta_of, prepare, software_dir
from sw_frontend.interrupts import Interrupted, deferred
from sw_frontend.outputs import require_writable
from sw_frontend.report import print_table, write_json
from sw_frontend.settings import Settings
from sw_frontend.training import evaluate, loader

HPARAM_KEYS = (
    "model",
    "dataset",
    "optimizer",
    "learning_rate",
    "weight_decay",
    "batch_size",
    "max_epochs",
    "max_steps",
    "accumulate_grad_batches",
    "precision",
    "strategy",
    "devices",
    "num_nodes",
    "seed",
)


def _quiet_lightning(debug: bool) -> None:
    """Lightning's info lines (devices, tips) only with --debug (Lightning sets INFO on import)."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.INFO if debug else logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*is smaller than the logging interval.*")


def _next_version(folder: Path) -> int:
    versions = [int(p.name.split("_")[1]) for p in folder.glob("version_*") if p.name.split("_")[1].isdigit()]
    return max(versions, default=-1) + 1


def check_training_options(settings: Settings, quantized: bool) -> None:
    """Refuse option combinations Lightning or the quantized modules cannot run."""
    on_gpu = settings.accelerator in ("gpu", "cuda") or (settings.accelerator == "auto" and torch.cuda.is_available())
    if quantized and on_gpu:
        raise ConfigError(
            f"--accelerator {settings.accelerator}: quantized models train on the CPU only "
            "(their exact integer matmul uses int64, which GPUs do not multiply); use --accelerator cpu"
        )
    if quantized and settings.precision not in ("32", "32-true"):
        raise ConfigError(
            f"--precision {settings.precision}: quantized models train at 32 (their exact integer "
            "arithmetic is not autocast); use --precision 32"
        )
    if (settings.devices > 1 or settings.num_nodes > 1) and settings.strategy == "auto":
        raise ConfigError(f"--devices {settings.devices} --num-nodes {settings.num_nodes} needs --strategy ddp")


def hyperparameters(settings: Settings, quantized: bool) -> dict[str, Any]:
    """What TensorBoard's HPARAMS tab shows for this run."""
    out: dict[str, Any] = {k: settings.values[k] for k in HPARAM_KEYS}
    out["quantized"] = quantized
    out["load"] = settings.load or "fresh"
    return out


def _trainer(settings: Settings, root: Path, logger: Any, callbacks: list[Any], bars: bool) -> Any:
    import lightning.pytorch as pl
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    from sw_frontend.train_callbacks import AtomicCheckpointIO

    try:
        return pl.Trainer(
            max_epochs=settings.max_epochs,
            max_steps=settings.max_steps,
            accelerator=settings.accelerator,
            devices=settings.devices,
            num_nodes=settings.num_nodes,
            strategy=settings.strategy,
            precision=settings.precision,
            accumulate_grad_batches=settings.accumulate_grad_batches,
            log_every_n_steps=settings.log_every_n_steps,
            fast_dev_run=settings.debug,
            plugins=[AtomicCheckpointIO()],
            deterministic=True,
            logger=logger,
            callbacks=callbacks,
            enable_progress_bar=bars,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            default_root_dir=str(root),
        )
    except (MisconfigurationException, ValueError, RuntimeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"Lightning refuses these training options: {text[:240]}") from None


def _install(tmp: Path, sw: Path, version: int) -> None:
    """Move the finished checkpoints and this run's TensorBoard logs into place."""
    with deferred():
        logs = tmp / "tensorboard" / f"version_{version}"
        if logs.is_dir():
            (sw / "tensorboard").mkdir(parents=True, exist_ok=True)
            os.replace(logs, sw / "tensorboard" / f"version_{version}")
        replace_dir(tmp / "training_ckpts", sw / "training_ckpts")


def _keep_finished_epochs(
    settings: Settings, exc: Interrupted, tmp: Path, sw: Path, version: int, best: Any, quantized: bool
) -> str:
    """After an interruption: install what the finished epochs wrote; say what is on disk."""
    ckpts = tmp / "training_ckpts"
    total = f" of {settings.max_epochs}" if settings.max_epochs > 0 else ""
    last = ckpts / "last.ckpt"
    if not last.is_file():
        return f"in epoch 1{total}, before any epoch finished: previous outputs left as they were"
    finished = int(load_tensors(last, str(last))["epoch"]) + 1
    score = best.best_model_score
    metrics = {
        "epochs": finished,
        "best_val_acc": None if score is None else float(score),
        "interrupted": signal.Signals(exc.signum).name,
        "quantized": quantized,
        "seed": settings.seed,
    }
    with deferred():
        write_json(ckpts / "metrics.json", metrics)
        _install(tmp, sw, version)
    at = f"in epoch {finished + 1}{total}"
    if 0 < settings.max_epochs <= finished:
        at = "after the last epoch, while testing the best checkpoint"
    return (
        f"{at}: best.ckpt and last.ckpt of the {finished} finished "
        f"epoch{'s' if finished != 1 else ''} are in {sw / 'training_ckpts'}"
    )


def run_train(settings: Settings) -> dict[str, Any]:
    """Train (QAT when the model is quantized); write checkpoints, logs and metrics."""
    from lightning.pytorch.callbacks import LearningRateMonitor, TQDMProgressBar
    from lightning.pytorch.loggers import TensorBoardLogger
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from sw_frontend.lightning_module import ChModule
    from sw_frontend.train_callbacks import EpochLines, SafeCheckpoint, WeightHistograms

    _quiet_lightning(settings.debug)
    data, loaded = prepare(settings)
    quantized = loaded.quant_config is not None
    check_training_options(settings, quantized)
    sw = require_writable(software_dir(settings))
    tmp = Path(tempfile.mkdtemp(prefix="ch-debug-")) if settings.debug else temp_dir_beside(sw / "training_ckpts")
    installed = False
    trainer = None
    try:
        version = _next_version(sw / "tensorboard")
        module = ChModule(
            loaded.model,
            data.task,
            settings.optimizer,
            settings.learning_rate,
            settings.weight_decay,
            meta_of(settings, loaded.quant_config),
        )
        common = {
            "dirpath": tmp / "training_ckpts",
            "enable_version_counter": False,
            "save_weights_only": True,
            "save_on_train_epoch_end": False,  # at validation end: on disk before the epoch's line
        }
        best = SafeCheckpoint(filename="best", monitor="val_acc", mode="max", save_top_k=1, **common)
        last = SafeCheckpoint(filename="last", monitor=None, save_top_k=1, **common)
        logger = TensorBoardLogger(save_dir=str(tmp), name="tensorboard", version=version, default_hp_metric=False)
        bars = sys.stdout.isatty() and not settings.quiet
        callbacks: list[Any] = [best, last, LearningRateMonitor(logging_interval="epoch"), WeightHistograms()]
        if not settings.quiet:
            callbacks.append(TQDMProgressBar() if bars else EpochLines())
        trainer = _trainer(settings, tmp, logger, callbacks, bars)
        hparams = hyperparameters(settings, quantized)
        logger.log_hyperparams(hparams)
        try:
            try:
                trainer.fit(
                    module,
                    loader(data.train, settings.batch_size, True, settings.seed),
                    loader(data.val, settings.batch_size, False, 0),
                )
            except SIGTERMException:  # Lightning noticed SIGTERM at a loop boundary
                raise Interrupted(signal.SIGTERM) from None
            if not trainer.is_global_zero:
                raise SystemExit(0)  # an extra ddp process: the first one writes and reports
            if settings.debug:
                print("debug run (fast_dev_run): one training and one validation batch passed; nothing written")
                return {}
            metrics = _finish(settings, trainer, module, data, logger, hparams, tmp, quantized)
            _install(tmp, sw, version)
            installed = True
        except Interrupted as exc:
            if installed or trainer is None or not trainer.is_global_zero:
                raise
            detail = _keep_finished_epochs(settings, exc, tmp, sw, version, best, quantized)
            raise exc.with_detail(detail) from None
    finally:
        with deferred():
            shutil.rmtree(tmp, ignore_errors=True)
    _print_result(settings, sw, version, metrics)
    return metrics


def _finish(
    settings: Settings,
    trainer: Any,
    module: Any,
    data: Any,
    logger: Any,
    hparams: dict[str, Any],
    tmp: Path,
    quantized: bool,
) -> dict[str, Any]:
    """Evaluate the best checkpoint, log the final metrics with the hyperparameters, write metrics.json."""
    best_file = tmp / "training_ckpts" / "best.ckpt"
    if not best_file.is_file():
        raise ConfigError(
            "training stopped before its first validation (--max-steps below one epoch?): no checkpoint was written"
        )
    best = load_tensors(best_file, str(best_file))
    module.cpu().load_state_dict(best["state_dict"])  # evaluation runs on the CPU
    val = evaluate(module.model, data.val, data.task, settings.batch_size, "validate best", quiet=settings.quiet)
    test = evaluate(module.model, data.test, data.task, settings.batch_size, "test best", quiet=settings.quiet)
    last = load_tensors(tmp / "training_ckpts" / "last.ckpt", "last.ckpt")
    metrics = {
        "epochs": int(last["epoch"]) + 1,  # epochs that ended with a validation
        "steps": trainer.global_step,
        "best_val_acc": val["acc"],
        "val_loss": val["loss"],
        "test_acc": test["acc"],
        "test_loss": test["loss"],
        "quantized": quantized,
        "seed": settings.seed,
    }
    final = {f"hp/{k}": metrics[k] for k in ("best_val_acc", "val_loss", "test_acc", "test_loss")}
    logger.log_hyperparams(hparams, final)
    logger.finalize("success")
    write_json(tmp / "training_ckpts" / "metrics.json", metrics)
    return metrics


def _print_result(settings: Settings, sw: Path, version: int, metrics: dict[str, Any]) -> None:
    print_table(
        f"ch train {settings.model} {settings.dataset}",
        ["metric", "value"],
        [
            ["model", settings.model + (" (quantized, QAT)" if metrics["quantized"] else "")],
            ["epochs", metrics["epochs"]],
            ["best val acc", metrics["best_val_acc"]],
            ["test acc (best ckpt)", metrics["test_acc"]],
            ["best checkpoint", sw / "training_ckpts" / "best.ckpt"],
            ["last checkpoint", sw / "training_ckpts" / "last.ckpt"],
            ["tensorboard", sw / "tensorboard" / f"version_{version}"],
        ],
    )
