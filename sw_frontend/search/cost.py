"""Hardware cost functions of `ch search` (pluggable: add an entry to ``COSTS``).

A cost function takes the quantized model and example inputs (positional arguments of one forward
call, batch size 1) and returns a cost to minimise; :func:`cost_function` binds the options a
cost needs.

``mapper``: a figure of the mapper's folded hardware pipeline (``mapper.flow.map_model``) at
``--target-cycles`` cycles per inference, chosen by ``--objective``
(sw_frontend/search/objectives.py): by default its resource estimate as one number of
LUT-equivalents (``Resources.cost``: LUT + 0.5 FF + 60 DSP + 200 BRAM). Only models the mapper can
build (chains of linear / conv / ReLU / pooling layers) have this cost.

``bitops`` (the default proxy, until the mapper's cost model replaces it): the bit operations of
one input sample, ``sum over quantized linear/conv layers of MACs * data_in.width *
weight.width``, where MACs counts the multiply-accumulates of that layer for one sample. Float
layers, ReLUs and additions are not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from common.errors import ConfigError
from quant.modules import QuantConv2d, QuantLinear
from sw_frontend.search.objectives import DEFAULT_OBJECTIVE, OBJECTIVES, resource_objective

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


def mapper_objective(
    model: nn.Module, example: tuple[torch.Tensor, ...], target_cycles: int, objective: str = DEFAULT_OBJECTIVE
) -> float:
    """``objective`` of the mapper's pipeline for ``model`` at ``target_cycles`` per inference."""
    from mapper.flow import map_model  # imported on use: the other costs do not need the mapper

    try:
        graph = map_model(model, example[0], cycles=target_cycles)
    except Exception as exc:  # noqa: BLE001 - capture fails in many ways on graphs it does not support
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ConfigError(
            f"--cost mapper: the mapper cannot build this model ({type(exc).__name__}: {text[:160]}); use --cost bitops"
        ) from None
    if objective == "latency":
        return float(graph.info.predicted_latency)
    return resource_objective(graph.info.resources, objective)


COSTS = ("bitops", "mapper")


def cost_function(name: str, target_cycles: int, objective: str = DEFAULT_OBJECTIVE) -> CostFunction:
    """The cost function ``name`` (one of ``COSTS``) with its options bound; ``objective`` (one of
    ``OBJECTIVES``) is the mapper's figure to minimise."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective '{objective}'; allowed: {', '.join(OBJECTIVES)}")
    if name == "bitops":
        return bitops
    if name == "mapper":
        if target_cycles < 1:
            raise ConfigError(f"--target-cycles must be >= 1, got {target_cycles}")
        return partial(mapper_objective, target_cycles=target_cycles, objective=objective)
    raise ConfigError(f"unknown cost '{name}'; allowed: {', '.join(COSTS)}")
