"""Hardware cost functions of `ch search` (pluggable: add a function to ``COSTS``).

A cost function takes the quantized model and example inputs (positional arguments of one forward
call, batch size 1) and returns a cost to minimise.

``bitops`` (the default proxy, until the mapper's cost model replaces it): the bit operations of
one input sample, ``sum over quantized linear/conv layers of MACs * data_in.width *
weight.width``, where MACs counts the multiply-accumulates of that layer for one sample. Float
layers, ReLUs and additions are not counted.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from sw_frontend.quant.modules import QuantConv2d, QuantLinear

CostFunction = Callable[[nn.Module, tuple[torch.Tensor, ...]], float]


@torch.no_grad()
def bitops(model: nn.Module, example: tuple[torch.Tensor, ...]) -> float:
    """Bit operations per sample (see module docstring); ``example`` has batch size 1."""
    total = 0
    hooks = []

    def count(module: nn.Module, _inp: object, out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, (QuantLinear, QuantConv2d)) and module.formats.weight is not None
        fan_in = (
            module.in_features
            if isinstance(module, QuantLinear)
            else (module.in_channels * module.kernel_size[0] * module.kernel_size[1])
        )
        total += out.numel() * fan_in * module.formats.data_in.width * module.formats.weight.width

    for m in model.modules():
        if isinstance(m, (QuantLinear, QuantConv2d)):
            hooks.append(m.register_forward_hook(count))
    try:
        was_training = model.training
        model.eval()
        model(*example)
        model.train(was_training)
    finally:
        for h in hooks:
            h.remove()
    return float(total)


COSTS: dict[str, CostFunction] = {"bitops": bitops}
