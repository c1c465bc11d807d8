"""Lightning training and plain evaluation loops shared by the `ch` actions.

Metrics: ``acc`` is top-1 accuracy in [0, 1] (for ``lm``: next-token accuracy over non-padding
positions); ``loss`` is mean cross-entropy in nats.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm


def logits_and_targets(model: nn.Module, batch: list[torch.Tensor], task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat ``(M, classes)`` logits and ``(M,)`` targets (-100 = ignore) of one batch."""
    if task == "image":
        x, y = batch
        return model(x), y
    ids, mask, y = batch
    logits = model(input_ids=ids, attention_mask=mask).logits
    if task == "text":
        return logits, y
    target = y[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
    return logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1)


def batch_metrics(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """(summed loss, correct count, counted samples) of one batch."""
    keep = target != -100
    loss = F.cross_entropy(logits.float(), target, ignore_index=-100, reduction="sum")
    correct = int((logits.argmax(-1)[keep] == target[keep]).sum())
    return loss, correct, int(keep.sum())


class ChModule(pl.LightningModule):
    """Wraps any front-end model for Lightning; ``meta`` is stored in every checkpoint under ``ch``."""

    def __init__(self, model: nn.Module, task: str, optimizer: str, learning_rate: float,
                 weight_decay: float, meta: dict[str, Any]) -> None:
        super().__init__()
        self.model, self.task, self.meta = model, task, meta
        self.opt_name, self.lr, self.wd = optimizer, learning_rate, weight_decay

    def _step(self, batch: list[torch.Tensor], stage: str) -> torch.Tensor:
        logits, target = logits_and_targets(self.model, batch, self.task)
        loss_sum, correct, count = batch_metrics(logits, target)
        loss = loss_sum / max(count, 1)
        self.log(f"{stage}_loss", loss, prog_bar=True, on_epoch=True, on_step=False, batch_size=count)
        self.log(f"{stage}_acc", correct / max(count, 1), prog_bar=True, on_epoch=True, on_step=False,
                 batch_size=count)
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
        checkpoint["ch"] = self.meta


def loader(ds: Dataset, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    """Single-process loader; the shuffle order depends only on ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=0)


@torch.no_grad()
def evaluate(model: nn.Module, ds: Dataset, task: str, batch_size: int, desc: str) -> dict[str, float]:
    """Accuracy and mean loss of ``model`` on ``ds`` (eval mode, with a progress bar)."""
    was_training = model.training
    model.eval()
    loss_total, correct, count = 0.0, 0, 0
    for batch in tqdm(loader(ds, batch_size, False, 0), desc=desc, leave=False, unit="batch"):
        logits, target = logits_and_targets(model, batch, task)
        loss, c, n = batch_metrics(logits, target)
        loss_total, correct, count = loss_total + float(loss), correct + c, count + n
    model.train(was_training)
    return {"acc": correct / max(count, 1), "loss": loss_total / max(count, 1), "samples": count}
