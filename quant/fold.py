"""Batch-norm folding: a batch-norm right after a convolution or linear layer becomes part of it.

At inference a batch-norm is ``y = (x - mean) / sqrt(var + eps) * gamma + beta`` per channel, so
after a layer ``x = W u + b`` it is the layer ``(s W) u + (b - mean) s + beta`` with
``s = gamma / sqrt(var + eps)``. :func:`fold_batchnorms` rewrites the float weights and bias that
way and replaces the batch-norm by ``nn.Identity`` *before* the layer is quantized, so the
quantized model, the golden model and the hardware all compute the folded layer: they agree bit
for bit, and the folded float model equals the original in evaluation mode.

Pairs are found by tracing the model with ``torch.fx``: a batch-norm whose input is the output of
a ``nn.Conv2d`` / ``nn.Linear`` that nothing else reads. A model that does not trace (a
transformers model) has no pairs; a batch-norm that cannot be folded stays and is quantized on
its own (``quant.norm.QuantBatchNorm``).
"""

from __future__ import annotations

import torch
from torch import nn

FOLDABLE_INTO = (nn.Conv2d, nn.Linear)
BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def foldable_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """(layer path, batch-norm path) of every batch-norm that directly and only follows a layer."""
    try:
        traced = torch.fx.symbolic_trace(model)
    except Exception:  # noqa: BLE001 - models with data-dependent control flow do not trace
        return []
    modules = dict(model.named_modules())
    pairs = []
    for node in traced.graph.nodes:
        if node.op != "call_module" or not isinstance(modules.get(node.target), BATCHNORMS):
            continue
        src = node.args[0]
        if (
            isinstance(src, torch.fx.Node)
            and src.op == "call_module"
            and isinstance(modules.get(src.target), FOLDABLE_INTO)
            and len(src.users) == 1
            and modules[node.target].track_running_stats
        ):
            pairs.append((str(src.target), str(node.target)))
    return pairs


@torch.no_grad()
def fold_batchnorm(layer: nn.Conv2d | nn.Linear, bn: nn.BatchNorm1d | nn.BatchNorm2d) -> None:
    """Fold ``bn`` into ``layer``'s float weight and bias, in place (the layer gains a bias)."""
    var, mean = bn.running_var.double(), bn.running_mean.double()
    gamma = bn.weight.double() if bn.affine else torch.ones_like(var)
    beta = bn.bias.double() if bn.affine else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + bn.eps)
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    weight = layer.weight.double() * scale.reshape(shape)
    bias = layer.bias.double() if layer.bias is not None else torch.zeros_like(var)
    layer.weight.copy_(weight.to(layer.weight.dtype))
    folded = ((bias - mean) * scale + beta).to(layer.weight.dtype)
    if layer.bias is None:
        layer.bias = nn.Parameter(folded)
    else:
        layer.bias.copy_(folded)


def fold_batchnorms(model: nn.Module) -> list[str]:
    """Fold every foldable batch-norm of ``model`` in place; returns the folded batch-norms' paths."""
    folded = []
    for layer_path, bn_path in foldable_pairs(model):
        fold_batchnorm(model.get_submodule(layer_path), model.get_submodule(bn_path))
        parent, _, leaf = bn_path.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, leaf, nn.Identity())
        folded.append(bn_path)
    return folded
