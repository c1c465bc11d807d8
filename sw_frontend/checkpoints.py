"""Loading models for `ch` actions: ``--load PATH --load-type {pt, pl, hf, pkl}``, safe by default.

- ``pt``: a file holding a state dict (or a dict with a ``state_dict`` entry), read with
  ``torch.load(weights_only=True)``; or a folder written by ``ch transform`` (weights.pt +
  quantize.toml + meta.json), which rebuilds the quantized model.
- ``pl``: a Lightning checkpoint written by ``ch train`` (also ``weights_only=True``). It records the
  model name and, after quantization-aware training, the ``[quantize]`` table, so loading rebuilds
  the same (quantized) model and refuses a checkpoint of another model.
- ``hf``: a local ``save_pretrained`` folder of a transformers model.
- ``pkl``: a pickle (``torch.save`` or ``pickle.dump``) of a whole ``nn.Module`` or of a state dict.
  Unpickling can run any code stored in the file, so it needs ``--allow-pickle``. A pickled module
  must be the named model (same classes layer by layer); a pickled quantized model keeps its
  formats. Its weights are then loaded into the model built here, so no foreign class runs later.

A truncated, corrupt or foreign file is a one-line ConfigError that says which.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from common.errors import ConfigError
from quant.config import QuantConfig
from quant.torch_files import PickledObjectsError, load_pickle, load_tensors
from quant.transform import CONFIG_FILE, config_of, load_quantized, quantize_model, read_quantized_meta
from sw_frontend.data import DataBundle
from sw_frontend.models import HF_MODELS, build_model, load_hf_pretrained
from sw_frontend.options import LOAD_TYPES

#: Key under which ``ch train`` stores its facts in a Lightning checkpoint.
CH_KEY = "ch"


@dataclass
class Loaded:
    """A model ready for an action, and the quantization config it carries (None when float)."""

    model: nn.Module
    quant_config: QuantConfig | None
    source: str


def _strip_prefix(state: dict[str, Any]) -> dict[str, Any]:
    if state and all(k.startswith("model.") for k in state):
        return {k[len("model.") :]: v for k, v in state.items()}
    return state


def _load_state(model: nn.Module, state: Any, path: Path, model_name: str) -> None:
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"--load {path} holds no state dict of tensors")
    try:
        model.load_state_dict(_strip_prefix(state), strict=True)
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0]
        raise ConfigError(f"--load {path} is not a checkpoint of model '{model_name}' here: {detail[:200]}") from None


def _check_meta(meta: Any, wanted: dict[str, str], path: Path) -> None:
    if not isinstance(meta, dict):
        raise ConfigError(f"--load {path}: its '{CH_KEY}' entry is not a table of facts; the file is damaged")
    for key, value in wanted.items():
        if key in meta and meta[key] != value:
            raise ConfigError(f"--load {path} was made for {key} '{meta[key]}', not '{value}'")


def load_model(
    name: str,
    data: DataBundle,
    path_s: str | None = None,
    kind: str | None = None,
    *,
    allow_pickle: bool = False,
    pretrained: bool = False,
) -> Loaded:
    """Model ``name`` for ``data`` (whose name is the dataset's): fresh, or read from ``path_s``
    as ``kind`` (``--load`` / ``--load-type``; see the module docstring)."""
    wanted = {"model": name, "dataset": data.name}
    if pretrained and (path_s is None or kind != "hf"):
        raise ConfigError(
            "--pretrained needs --load FOLDER --load-type hf (a local save_pretrained folder; nothing is downloaded)"
        )
    if path_s is None:
        if kind is not None:
            raise ConfigError(f"--load-type {kind} given without --load PATH")
        return Loaded(build_model(name, data), None, "fresh")
    if kind is None:
        raise ConfigError(f"--load {path_s} needs --load-type (one of {', '.join(LOAD_TYPES)})")
    path = Path(path_s)
    if not path.exists():
        raise ConfigError(f"--load {path} does not exist")
    if kind == "hf":
        if name not in HF_MODELS:
            raise ConfigError(f"--load-type hf is for transformers models ({', '.join(HF_MODELS)}), not '{name}'")
        if not path.is_dir():
            raise ConfigError(f"--load {path} is a file; --load-type hf needs a save_pretrained folder")
        return Loaded(load_hf_pretrained(name, data, str(path)), None, f"hf:{path}")
    if path.is_dir():
        if kind != "pt" or not (path / CONFIG_FILE).is_file():
            raise ConfigError(
                f"--load {path} is a folder; folders load with --load-type hf (save_pretrained) or "
                "--load-type pt (a `ch transform` output with quantize.toml)"
            )
        config, meta = read_quantized_meta(path)
        _check_meta(meta, wanted, path)
        return Loaded(load_quantized(path, build_model(name, data)), config, f"transformed:{path}")
    if kind == "pkl":
        return _load_pickle(name, data, path, allow_pickle)
    try:
        obj = load_tensors(path, f"--load {path}", "give another checkpoint (or train again)")
    except PickledObjectsError as exc:
        raise ConfigError(f"{exc}; if you trust the file, --load-type pkl --allow-pickle reads it") from None
    if kind == "pl" and not (isinstance(obj, dict) and "pytorch-lightning_version" in obj):
        raise ConfigError(
            f"--load {path} is not a Lightning checkpoint (no pytorch-lightning_version); "
            "use --load-type pt for a plain state dict"
        )
    meta = obj.get(CH_KEY, {}) if isinstance(obj, dict) else {}
    _check_meta(meta, wanted, path)
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else obj
    model = build_model(name, data)
    config = None
    if meta.get("quantize") is not None:
        config = QuantConfig.from_dict(meta["quantize"], where=f"{path}:quantize")
        model = quantize_model(model, config)
    _load_state(model, state, path, name)
    return Loaded(model, config, f"{kind}:{path}")


def _layer_classes(model: nn.Module) -> list[tuple[str, str]]:
    return [(n, type(m).__name__) for n, m in model.named_modules()]


def _check_model_class(found: nn.Module, expected: nn.Module, path: Path, name: str) -> None:
    if type(found).__name__ != type(expected).__name__:
        raise ConfigError(
            f"--load {path} holds a {type(found).__name__}, not the '{name}' model ({type(expected).__name__})"
        )


def _check_same_model(found: nn.Module, expected: nn.Module, path: Path, name: str) -> None:
    """Refuse a pickled module that is not model ``name`` (compared class by class, layer by layer)."""
    _check_model_class(found, expected, path, name)
    theirs, ours = dict(_layer_classes(found)), dict(_layer_classes(expected))
    for layer, cls in ours.items():
        if theirs.get(layer) != cls:
            what = f"a {theirs[layer]}" if layer in theirs else "missing"
            raise ConfigError(f"--load {path}: layer '{layer}' is {what} in the file, a {cls} in '{name}' here")
    extra = [layer for layer in theirs if layer not in ours]
    if extra:
        raise ConfigError(f"--load {path}: layer '{extra[0]}' of the file is not in '{name}' here")


def _load_pickle(name: str, data: DataBundle, path: Path, allow_pickle: bool) -> Loaded:
    if not allow_pickle:
        raise ConfigError(
            f"--load-type pkl unpickles {path}, which can run arbitrary code stored in the file; "
            "pass --allow-pickle only for a file you trust (or use --load-type pt/pl)"
        )
    obj = load_pickle(path, f"--load {path}")
    model = build_model(name, data)
    config = None
    if isinstance(obj, nn.Module):
        _check_model_class(obj, model, path, name)
        config = config_of(obj)
        if config is not None:
            model = quantize_model(model, config)
        _check_same_model(obj, model, path, name)
        state: Any = obj.state_dict()
    elif isinstance(obj, dict):
        state = obj.get("state_dict", obj)
    else:
        raise ConfigError(f"--load {path} holds a {type(obj).__name__}, not a model or a state dict")
    _load_state(model, state, path, name)
    return Loaded(model, config, f"pkl:{path}")
