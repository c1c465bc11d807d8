"""Batches, metrics and the plain evaluation loop shared by the `ch` actions (no Lightning import).

Metrics: ``acc`` is top-1 accuracy in [0, 1] (for ``lm``: next-token accuracy over non-padding
positions); ``loss`` is mean cross-entropy in nats.
"""

from __future__ import annotations

import sys

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


def loader(ds: Dataset, batch_size: int, shuffle: bool, seed: int) -> DataLoader:
    """Single-process loader; the shuffle order depends only on ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, generator=gen, num_workers=0)


@torch.no_grad()
def evaluate(
    model: nn.Module, ds: Dataset, task: str, batch_size: int, desc: str, quiet: bool = False
) -> dict[str, float]:
    """Accuracy and mean loss of ``model`` on ``ds`` (eval mode; a progress bar on a terminal
    unless ``quiet``)."""
    was_training = model.training
    model.eval()
    loss_total, correct, count = 0.0, 0, 0
    bar = tqdm(
        loader(ds, batch_size, False, 0),
        desc=desc,
        leave=False,
        unit="batch",
        disable=quiet or not sys.stderr.isatty(),
    )
    for batch in bar:
        logits, target = logits_and_targets(model, batch, task)
        loss, c, n = batch_metrics(logits, target)
        loss_total, correct, count = loss_total + float(loss), correct + c, count + n
    model.train(was_training)
    return {"acc": correct / max(count, 1), "loss": loss_total / max(count, 1), "samples": count}
