"""Machop's quantize pass config (``[passes.quantize]``) translated to a ``[quantize]`` table.

Machop (MASE's front end) writes::

    [passes.quantize]
    by = "type"                      # or "name": entries are layer types or layer (node) names
    [passes.quantize.default.config]
    name = "NA"                      # "NA" (or bypass = true): leave the layer float
    [passes.quantize.linear.config]
    name = "integer"                 # "integer" or "fixed": fixed point
    data_in_width = 8
    data_in_frac_width = 4
    weight_width = 8
    weight_frac_width = 6
    bias_width = 8
    bias_frac_width = 6

The translation (same formats, our table shape, quant/config.py):

- ``by = "type"``: ``default`` -> ``default``, ``linear`` / ``conv2d`` / ``relu`` (and our
  ``sigmoid``, ``tanh``, ``gelu``, ``silu``) -> ``by_type``; ``by = "name"``: ``default`` ->
  ``default``, every other entry -> ``by_name`` (module paths; Machop's node names such as
  ``layer1_0_conv1`` are matched to ``layer1.0.conv1`` by :func:`match_node_names`).
- ``<field>_width`` / ``<field>_frac_width`` -> ``<field> = [width, frac]``; a frac of ``"NA"``
  (or none) is ``width // 2``, as in Machop.
- ``name = "NA"`` or ``bypass = true`` -> ``float = true`` (the layer stays float).
- Machop leaves a layer's output unquantized; the hardware needs a format on every stream, so a
  missing ``data_out`` is the entry's ``data_in`` format (what the next layer of a by-type config
  rounds to anyway); a missing bias format is the weight format (Machop's own rule).
- Differences that remain: Machop rounds half to even, chop-hw rounds half up (the hardware's
  rule); only fixed-point arithmetic exists here (``minifloat_*``, ``log``, ``block_fp``,
  ``binary``, ``ternary`` ... are refused); ``by = "regex_name"`` is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from common.errors import ConfigError, check_keys
from quant.config import FORMAT_FIELDS, LAYER_TYPES

FIXED_POINT = ("integer", "fixed")
ENTRY_KEYS = (
    "name",
    "bypass",
    *(f"{f}_{part}" for f in FORMAT_FIELDS for part in ("width", "frac_width")),
)
#: Machop's quantizable op types that have no quantized layer here (allowed only when left float).
MACHOP_ONLY_TYPES = ("add", "bmm", "conv1d", "matmul", "mul", "sub", "batch_norm1d", "rotary_positional_encoding")


def _entry_config(entry: Any, where: str) -> Mapping[str, Any]:
    """The fields of one entry: ``[passes.quantize.X.config]`` or, in Machop's older module-level
    files, the fields directly in ``[X]``."""
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a table with a .config table, got {entry!r}")
    if "config" in entry:
        check_keys(dict(entry), ("config",), where)
        entry = entry["config"]
        where += ".config"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where} must be a table")
    check_keys(dict(entry), ENTRY_KEYS, where)
    return entry


def _keeps_float(cfg: Mapping[str, Any], where: str) -> bool:
    bypass = cfg.get("bypass", False)
    if not isinstance(bypass, bool):
        raise ConfigError(f"{where}.bypass must be true or false, got {bypass!r}")
    name = cfg.get("name")
    if bypass or name in ("NA", None):
        return True
    if name not in FIXED_POINT:
        raise ConfigError(
            f"{where}.name = {name!r}: chop-hw quantizes to fixed point only "
            f'(name = "integer" or "fixed", or "NA" to keep the layer float)'
        )
    return False


def _format(cfg: Mapping[str, Any], field: str, where: str) -> list[int] | None:
    width, frac = cfg.get(f"{field}_width"), cfg.get(f"{field}_frac_width")
    if width is None:
        if frac not in (None, "NA"):
            raise ConfigError(f"{where}.{field}_frac_width is set without {field}_width")
        return None
    if not isinstance(width, int) or isinstance(width, bool):
        raise ConfigError(f"{where}.{field}_width must be an integer, got {width!r}")
    if frac in (None, "NA"):
        frac = width // 2
    if not isinstance(frac, int) or isinstance(frac, bool):
        raise ConfigError(f'{where}.{field}_frac_width must be an integer or "NA", got {frac!r}')
    return [width, frac]


def _translate_entry(entry: Any, where: str) -> dict[str, Any]:
    cfg = _entry_config(entry, where)
    if _keeps_float(cfg, where):
        return {"float": True}
    out: dict[str, Any] = {}
    for field in FORMAT_FIELDS:
        fmt = _format(cfg, field, where)
        if fmt is not None:
            out[field] = fmt
    if "bias" not in out and "weight" in out:
        out["bias"] = list(out["weight"])
    if "data_out" not in out and "data_in" in out:
        out["data_out"] = list(out["data_in"])
    return out


def translate_passes_quantize(table: Mapping[str, Any], where: str = "passes.quantize") -> dict[str, Any]:
    """Our ``[quantize]`` table for Machop's ``[passes.quantize]`` table (see module docstring)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{where}] must be a table")
    by = table.get("by")
    if by not in ("type", "name"):
        raise ConfigError(f'{where}.by = {by!r}: chop-hw reads by = "type" or by = "name"')
    out: dict[str, Any] = {}
    level = "by_type" if by == "type" else "by_name"
    for key, entry in table.items():
        if key in ("by", "report"):
            continue
        here = f"{where}.{key}"
        translated = _translate_entry(entry, here)
        if key == "default":
            out["default"] = translated
            continue
        if by == "type":
            if key in MACHOP_ONLY_TYPES:
                if translated != {"float": True}:
                    raise ConfigError(
                        f"{here}: chop-hw has no quantized '{key}'; it quantizes {', '.join(LAYER_TYPES)} "
                        '(set name = "NA" or remove the table)'
                    )
                continue
            if key not in LAYER_TYPES:
                raise ConfigError(f"{here}: unknown layer type '{key}'; types: {', '.join(LAYER_TYPES)}")
        out.setdefault(level, {})[key] = translated
    _default_float_overrides(out)
    return out


def _default_float_overrides(out: dict[str, Any]) -> None:
    """When the default keeps layers float, a quantized type or name entry must say float = false
    (entries read before the default in the file were translated before it was known)."""
    if not out.get("default", {}).get("float"):
        return
    for level in ("by_type", "by_name"):
        for entry in out.get(level, {}).values():
            if not entry.get("float"):
                entry["float"] = False


def match_node_names(table: dict[str, Any], layers: Iterable[str]) -> dict[str, Any]:
    """``table`` with ``by_name`` keys written as Machop node names (dots as underscores, e.g.
    ``layer1_0_conv1``) renamed to the module paths in ``layers`` (``layer1.0.conv1``)."""
    by_name = table.get("by_name")
    if not by_name:
        return table
    paths = list(layers)
    as_node = {p.replace(".", "_"): p for p in paths}
    renamed = {(k if k in paths else as_node.get(k, k)): v for k, v in by_name.items()}
    return {**table, "by_name": renamed}
