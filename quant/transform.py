"""The quantization pass and the safe on-disk form of a quantized model.

:func:`quantize_model` first rewrites the self-attention, layer norms and GELU of BERT / RoBERTa
encoders with explicit modules (:func:`quant.attention.prepare_transformer`), then folds every
batch-norm that follows a convolution or linear layer into it (:mod:`quant.fold`), then swaps
every ``nn.Linear`` (and transformers' ``Conv1D``, GPT-2's linear layer with its weight stored
transposed), ``nn.Conv2d``, ``nn.ReLU``, element-wise activation (``nn.Sigmoid``, ``nn.Tanh``,
``nn.GELU``, ``nn.SiLU``: table lookups), average pooling (``nn.AvgPool2d``,
``nn.AdaptiveAvgPool2d(1)``), remaining batch-norm and the transformer modules (attention scores,
softmax, context, layer norm) of a model for its quantized twin (formats from a
:class:`QuantConfig`, looked up by module path), except the layers the config keeps float.
Parameters shared between modules (GPT-2's ``lm_head`` and token embedding) stay shared, in the
quantized model and in its float twin. A quantized
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
from quant.modules import (
    ACTIVATION_FUNCTIONS,
    QuantActivation,
    QuantConv1D,
    QuantConv2d,
    QuantLinear,
    QuantReLU,
)
from quant.norm import QuantBatchNorm
from quant.pooling import QuantAvgPool2d, QuantGlobalAvgPool
from quant.torch_files import load_tensors

#: Every quantized module type (what ``quantize_model`` puts into a model).
QUANTIZED_MODULES = (
    QuantLinear,
    QuantConv1D,
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


def is_hf_conv1d(module: nn.Module) -> bool:
    """True for transformers' ``Conv1D`` (GPT-2): ``y = x @ W + b`` with ``W`` of shape (in, out)."""
    cls = type(module)
    return cls.__name__ == "Conv1D" and cls.__module__.startswith("transformers")


def layer_type(module: nn.Module) -> str | None:
    """The config layer type (``linear``, ``conv2d``, ``relu``, ``sigmoid``, ``tanh``, ``gelu``,
    ``silu``, ``avgpool``, ``batchnorm``) of a float module, else None."""
    if isinstance(module, nn.Linear) or is_hf_conv1d(module):
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


def float_layers(model: nn.Module) -> dict[str, str]:
    """Module path -> class name of every module that holds its own parameters but is neither
    quantized nor quantizable (embeddings, norms): what a quantized model keeps float."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, QUANTIZED_MODULES) or layer_type(m) is not None:
            continue
        if any(True for _ in m.parameters(recurse=False)):
            out[name] = type(m).__name__
    return out


def _set_submodule(model: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, leaf = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    setattr(parent, leaf, new)


def _shared_parameters(model: nn.Module) -> list[list[tuple[str, str]]]:
    """Groups of (module path, parameter name) that hold one and the same Parameter (tied weights)."""
    owners: dict[int, list[tuple[str, str]]] = {}
    for path, module in model.named_modules(remove_duplicate=False):
        for pname, p in module.named_parameters(recurse=False):
            owners.setdefault(id(p), []).append((path, pname))
    return [g for g in owners.values() if len(g) > 1]


def _retie(model: nn.Module, groups: list[list[tuple[str, str]]]) -> None:
    """Make every member of each group hold the first member's Parameter again (after layers were
    replaced by copies); members whose shape differs are left as they are."""
    for group in groups:
        first = getattr(model.get_submodule(group[0][0]), group[0][1])
        for path, pname in group[1:]:
            module = model.get_submodule(path)
            if getattr(module, pname).shape == first.shape:
                setattr(module, pname, first)


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
    tied = _shared_parameters(out)
    layers = quantizable_layers(out)
    config.check_names(list(layers))
    for name, kind in layers.items():
        if config.keeps_float(name, kind):
            continue
        module = out.get_submodule(name)
        formats = config.formats_for(name, kind)
        try:
            new: nn.Module
            if kind == "linear" and is_hf_conv1d(module):
                new = QuantConv1D(module, formats)
            elif kind == "linear":
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
    _retie(out, tied)
    return out


def dequantize_model(model: nn.Module) -> nn.Module:
    """Deep copy with every quantized module replaced by its float twin (same float weights)."""
    out = copy.deepcopy(model)
    tied = _shared_parameters(out)
    for name, module in list(out.named_modules()):
        if isinstance(module, QUANTIZED_MODULES):
            _set_submodule(out, name, module.to_float())
    _retie(out, tied)
    return out


def config_of(model: nn.Module) -> QuantConfig | None:
    """The QuantConfig a quantized model was made with, read from its modules (by name; layers
    left float are marked ``float``); None when the model holds no quantized module."""
    by_name: dict[str, dict[str, Any]] = {}
    float_by_name: dict[str, bool] = {}
    for name, m in model.named_modules():
        if isinstance(m, QUANTIZED_MODULES):
            f = m.formats
            fields = {"data_in": f.data_in, "weight": f.weight, "bias": f.bias, "data_out": f.data_out}
            by_name[name] = {k: v for k, v in fields.items() if v is not None}
        elif layer_type(m) is not None:
            float_by_name[name] = True
    if not by_name:
        return None
    return QuantConfig(by_name=by_name, float_by_name=float_by_name)


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
    """The quantization config and metadata of a saved quantized model folder.

    A missing, unreadable or malformed file is a ConfigError naming it.
    """
    folder = Path(folder)
    for f in (CONFIG_FILE, META_FILE, WEIGHTS_FILE):
        if not (folder / f).is_file():
            raise ConfigError(
                f"{folder} is not a saved quantized model (missing {f}); "
                "it should be a folder written by `ch transform`"
            )
    again = "run ch transform again to rewrite the folder"
    try:
        table = tomllib.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{folder / CONFIG_FILE} is not valid toml ({exc}); {again}") from None
    if not isinstance(table.get("quantize"), dict):
        raise ConfigError(f"{folder / CONFIG_FILE} has no [quantize] table; {again}")
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{folder / META_FILE} is not valid JSON ({exc}); {again}") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{folder / META_FILE} must hold a JSON object; {again}")
    return QuantConfig.from_dict(table["quantize"], where=f"{folder / CONFIG_FILE}: quantize"), meta


def load_quantized(folder: str | Path, base_model: nn.Module) -> nn.Module:
    """Rebuild a saved quantized model on top of the float architecture ``base_model``.

    Loads weights with ``weights_only=True``; a corrupt file or a state dict of another
    architecture is a ConfigError.
    """
    folder = Path(folder)
    config, _ = read_quantized_meta(folder)
    model = quantize_model(base_model, config)
    again = "run ch transform again to rewrite the folder"
    state = load_tensors(folder / WEIGHTS_FILE, str(folder / WEIGHTS_FILE), again)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{folder / WEIGHTS_FILE} holds no state dict of tensors; {again}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise ConfigError(
            f"{folder / WEIGHTS_FILE} does not fit this model: {first[1].strip() if len(first) > 1 else first[0]}"
        ) from None
    return model
