"""The quantization pass and the safe on-disk form of a quantized model.

:func:`quantize_model` first rewrites the self-attention, layer norms and GELU of BERT / RoBERTa
encoders with explicit modules (:func:`quant.attention.prepare_transformer`), then folds every
batch-norm that follows a convolution or linear layer into it (:mod:`quant.fold`), then swaps
every ``nn.Linear``, ``nn.Conv2d``, ``nn.ReLU``, element-wise activation (``nn.Sigmoid``,
``nn.Tanh``, ``nn.GELU``, ``nn.SiLU``: table lookups), average pooling (``nn.AvgPool2d``,
``nn.AdaptiveAvgPool2d(1)``), remaining batch-norm and the transformer modules (attention scores,
softmax, context, layer norm) of a model for its quantized twin (formats from a
:class:`QuantConfig`, looked up by module path). A quantized
model is saved as a folder holding ``weights.pt`` (a plain state dict, loaded with
``torch.load(weights_only=True)``, so no code is unpickled), ``quantize.toml`` (its
``[quantize]`` table) and ``meta.json`` (free-form facts such as the model name); loading rebuilds
the float architecture, re-applies the pass and loads the weights strictly.
"""

from __future__ import annotations

import copy
import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common.atomic import replace_dir, temp_dir_beside
from common.errors import ConfigError
from common.tomlout import dumps as toml_dumps
from quant.attention import (
    HF_SELF_ATTENTION,
    LayerNorm,
    MatMul,
    QuantLayerNorm,
    QuantMatMul,
    QuantSoftmax,
    Softmax,
    prepare_transformer,
)
from quant.config import QuantConfig
from quant.fold import BATCHNORMS, fold_batchnorms, foldable_pairs
from quant.modules import ACTIVATION_FUNCTIONS, QuantActivation, QuantConv2d, QuantLinear, QuantReLU
from quant.norm import QuantBatchNorm
from quant.pooling import QuantAvgPool2d, QuantGlobalAvgPool

#: Every quantized module type (what ``quantize_model`` puts into a model).
QUANTIZED_MODULES = (
    QuantLinear,
    QuantConv2d,
    QuantReLU,
    QuantActivation,
    QuantAvgPool2d,
    QuantGlobalAvgPool,
    QuantBatchNorm,
    QuantMatMul,
    QuantSoftmax,
    QuantLayerNorm,
)

WEIGHTS_FILE = "weights.pt"
CONFIG_FILE = "quantize.toml"
META_FILE = "meta.json"


def layer_type(module: nn.Module) -> str | None:
    """The config layer type (``linear``, ``conv2d``, ``relu``, ``sigmoid``, ``tanh``, ``gelu``,
    ``silu``, ``avgpool``, ``batchnorm``) of a float module, else None."""
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, nn.Conv2d):
        return "conv2d"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.AvgPool2d) or (
        isinstance(module, nn.AdaptiveAvgPool2d) and module.output_size in (1, (1, 1))
    ):
        return "avgpool"
    if isinstance(module, BATCHNORMS):
        return "batchnorm"
    if isinstance(module, MatMul):
        return module.role
    if isinstance(module, Softmax):
        return "softmax"
    if isinstance(module, LayerNorm):
        return "layernorm"
    for kind, (cls, _) in ACTIVATION_FUNCTIONS.items():
        if isinstance(module, cls):
            return kind
    return None


def quantizable_layers(model: nn.Module) -> dict[str, str]:
    """Module path -> layer type of every layer the pass would replace, in model order (batch-norms
    the pass folds into their layer are not among them; a BERT / RoBERTa is looked at as the pass
    rewrites it, :func:`quant.attention.prepare_transformer`)."""
    if any(type(m).__name__ in HF_SELF_ATTENTION for m in model.modules()):
        model = copy.deepcopy(model)
        prepare_transformer(model)
    folded = {bn for _, bn in foldable_pairs(model)}
    return {n: t for n, m in model.named_modules() if (t := layer_type(m)) is not None and n not in folded}


def _set_submodule(model: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, leaf = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, leaf, new)


def quantize_model(model: nn.Module, config: QuantConfig) -> nn.Module:
    """Deep copy of ``model`` with every supported layer replaced by its quantized module.

    Batch-norms that follow a convolution or linear layer are folded into it first
    (:func:`quant.fold.fold_batchnorms`), so they are not among the layers quantized on their own.

    Raises ConfigError when ``config.by_name`` names a layer the model does not have, when a
    layer's formats are incomplete or inconsistent (an activation's data_in wider than 12 bits),
    or for ``nn.GELU(approximate='tanh')`` (the table is the exact erf GELU).
    """
    out = copy.deepcopy(model)
    prepare_transformer(out)
    fold_batchnorms(out)
    layers = quantizable_layers(out)
    config.check_names(list(layers))
    for name, kind in layers.items():
        module = out.get_submodule(name)
        formats = config.formats_for(name, kind)
        try:
            new: nn.Module
            if kind == "linear":
                assert isinstance(module, nn.Linear)
                new = QuantLinear(module, formats)
            elif kind == "conv2d":
                assert isinstance(module, nn.Conv2d)
                new = QuantConv2d(module, formats)
            elif kind == "relu":
                new = QuantReLU(formats)
            elif kind == "avgpool":
                new = (
                    QuantAvgPool2d(module, formats) if isinstance(module, nn.AvgPool2d) else QuantGlobalAvgPool(formats)
                )
            elif kind == "batchnorm":
                assert isinstance(module, BATCHNORMS)
                new = QuantBatchNorm(module, formats)
            elif kind in ("scores", "context"):
                assert isinstance(module, MatMul)
                new = QuantMatMul(module, formats)
            elif kind == "softmax":
                assert isinstance(module, Softmax)
                new = QuantSoftmax(module, formats)
            elif kind == "layernorm":
                assert isinstance(module, LayerNorm)
                new = QuantLayerNorm(module, formats)
            else:
                if isinstance(module, nn.GELU) and module.approximate != "none":
                    raise ValueError(
                        f"GELU(approximate={module.approximate!r}) is not supported; use "
                        "approximate='none' (the table is the exact erf GELU)"
                    )
                new = QuantActivation(kind, formats)
        except ValueError as exc:
            raise ConfigError(f"layer '{name}': {exc}") from None
        _set_submodule(out, name, new)
    return out


def dequantize_model(model: nn.Module) -> nn.Module:
    """Deep copy with every quantized module replaced by its float twin (same float weights)."""
    out = copy.deepcopy(model)
    for name, module in list(out.named_modules()):
        if isinstance(module, QUANTIZED_MODULES):
            _set_submodule(out, name, module.to_float())
    return out


def save_quantized(model: nn.Module, config: QuantConfig, folder: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``folder`` (weights.pt, quantize.toml, meta.json) atomically: a temp folder, then rename."""
    folder = Path(folder)
    tmp = temp_dir_beside(folder)
    try:
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        torch.save(state, tmp / WEIGHTS_FILE)
        (tmp / CONFIG_FILE).write_text(toml_dumps({"quantize": config.to_dict()}))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def read_quantized_meta(folder: str | Path) -> tuple[QuantConfig, dict[str, Any]]:
    """The quantization config and metadata of a saved quantized model folder."""
    folder = Path(folder)
    for f in (CONFIG_FILE, META_FILE, WEIGHTS_FILE):
        if not (folder / f).is_file():
            raise ConfigError(
                f"{folder} is not a saved quantized model (missing {f}); "
                "it should be a folder written by `ch transform`"
            )
    with open(folder / CONFIG_FILE, "rb") as fh:
        table = tomllib.load(fh)
    return QuantConfig.from_dict(table.get("quantize", {})), json.loads((folder / META_FILE).read_text())


def load_quantized(folder: str | Path, base_model: nn.Module) -> nn.Module:
    """Rebuild a saved quantized model on top of the float architecture ``base_model``.

    Loads weights with ``weights_only=True``; a state dict of another architecture is a ConfigError.
    """
    folder = Path(folder)
    config, _ = read_quantized_meta(folder)
    model = quantize_model(base_model, config)
    state = torch.load(folder / WEIGHTS_FILE, map_location="cpu", weights_only=True)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ConfigError(
            f"{folder / WEIGHTS_FILE} does not fit this model: {first[1].strip() if len(first) > 1 else first[0]}"
        ) from None
    return model
