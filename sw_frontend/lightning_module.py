"""The Lightning module that trains any front-end model (imported only by `ch train`).

Logged metrics (TensorBoard): ``train_loss`` / ``train_acc`` / ``val_loss`` / ``val_acc`` per
epoch, ``train_loss_step`` every ``--log-every-n-steps`` steps. Epoch metrics are averaged over
every process of a ddp run (``sync_dist``), so all processes take the same checkpoint decisions.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

from sw_frontend.checkpoints import CH_KEY
from sw_frontend.training import batch_metrics, logits_and_targets


class ChModule(pl.LightningModule):
    """Wraps any front-end model for Lightning; ``meta`` is stored in every checkpoint under ``ch``."""

    def __init__(
        self,
        model: nn.Module,
        task: str,
        optimizer: str,
        learning_rate: float,
        weight_decay: float,
        meta: dict[str, Any],
    ) -> None:
        super().__init__()
        self.model, self.task, self.meta = model, task, meta
        self.opt_name, self.lr, self.wd = optimizer, learning_rate, weight_decay

    def _step(self, batch: list[torch.Tensor], stage: str) -> torch.Tensor:
        logits, target = logits_and_targets(self.model, batch, self.task)
        loss_sum, correct, count = batch_metrics(logits, target)
        loss = loss_sum / max(count, 1)
        acc = correct / max(count, 1)  # a number: Lightning puts it on the module's device
        for name, value in ((f"{stage}_loss", loss), (f"{stage}_acc", acc)):
            self.log(name, value, prog_bar=True, on_epoch=True, on_step=False, batch_size=count, sync_dist=True)
        if stage == "train":
            self.log("train_loss_step", loss, on_step=True, on_epoch=False, batch_size=count)
        return loss

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = self.model.parameters()
        if self.opt_name == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=0.9, weight_decay=self.wd)
        cls = torch.optim.AdamW if self.opt_name == "adamw" else torch.optim.Adam
        return cls(params, lr=self.lr, weight_decay=self.wd)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CH_KEY] = self.meta
