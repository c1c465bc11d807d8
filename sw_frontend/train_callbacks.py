"""Lightning callbacks of `ch train` (imported only when training).

- :class:`SafeCheckpoint`: Lightning's ModelCheckpoint whose file writes finish even when Ctrl-C
  or SIGTERM arrives (the signal is raised right after), so every checkpoint on disk is whole.
- :class:`AtomicCheckpointIO`: checkpoints written with common.atomic (a temporary file beside
  the checkpoint, renamed into place, the umask's permissions) instead of fsspec's copy from /tmp.
- :class:`EpochLines`: one plain line per epoch, for logs (progress bars are for terminals).
- :class:`WeightHistograms`: TensorBoard histograms per epoch of every linear / convolution
  layer's weights and, for quantized layers, of the weight quantization error
  (quantized weight minus float weight, in real units).
"""

from __future__ import annotations

import io
import time
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from torch import nn

from common.atomic import write_bytes
from quant import torch_fixed as tf
from quant.modules import QuantConv2d, QuantLinear
from quant.transform import is_hf_conv1d
from sw_frontend.interrupts import deferred


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's torch checkpoint IO, written atomically next to the checkpoint (common.atomic)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        write_bytes(path, buffer.getvalue())


class SafeCheckpoint(ModelCheckpoint):
    """ModelCheckpoint that holds SIGINT / SIGTERM back while it writes a file."""

    def _save_checkpoint(self, trainer: pl.Trainer, filepath: str) -> None:
        with deferred():
            super()._save_checkpoint(trainer, filepath)


def _metric(trainer: pl.Trainer, name: str) -> str:
    value = trainer.callback_metrics.get(name)
    return "-" if value is None else f"{float(value):.4f}"


class EpochLines(Callback):
    """Prints ``epoch 3/10: train_loss ... train_acc ... val_loss ... val_acc ... (1.2 s)`` after
    each epoch (first process only); ``-`` for validation metrics of an epoch that stopped before
    its validation (``--max-steps``)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.validated = -1

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.monotonic()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.validated = trainer.current_epoch

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        total = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        names = ["train_loss", "train_acc", "val_loss", "val_acc"]
        shown = [m if m.startswith("train") or self.validated == trainer.current_epoch else "" for m in names]
        metrics = " ".join(f"{m} {_metric(trainer, m) if s else '-'}" for m, s in zip(names, shown))
        seconds = time.monotonic() - self.started
        print(f"epoch {trainer.current_epoch + 1}{total}: {metrics} ({seconds:.1f} s)", flush=True)


def _weight_layers(model: nn.Module) -> list[tuple[str, Any]]:
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, (QuantLinear, QuantConv2d, nn.Linear, nn.Conv2d)) or is_hf_conv1d(m)
    ]


class WeightHistograms(Callback):
    """TensorBoard ``weight/<layer>`` and, for quantized layers, ``quant_error/<layer>`` histograms
    at the end of every epoch."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = trainer.logger
        if not trainer.is_global_zero or logger is None or not hasattr(logger.experiment, "add_histogram"):
            return
        writer, step = logger.experiment, trainer.global_step
        for name, layer in _weight_layers(pl_module.model):  # type: ignore[arg-type]
            weight = layer.weight.detach().float().cpu()
            if not bool(weight.isfinite().all()):
                continue  # a diverged layer: nothing to draw
            writer.add_histogram(f"weight/{name}", weight, step)
            if isinstance(layer, (QuantLinear, QuantConv2d)):
                quantized = tf.fixed_to_float(layer.int_weight(), layer.formats.weight).float().cpu()
                writer.add_histogram(f"quant_error/{name}", quantized - weight, step)
