"""The search space of `ch search`: width and fraction choices per layer and format field.

A ``[search]`` toml table mirrors ``[quantize]`` (default, by_type, by_name; name > type >
default), but each field gives choices instead of one format::

    [search.default]
    data_in  = { width = [4, 6, 8], frac = [2, 3, 4] }
    weight   = { width = [4, 6, 8], frac = [3, 4, 5] }
    bias     = { width = 8, frac = 4 }               # a single value is fixed
    data_out = { width = [6, 8], frac = [2, 3] }
    [search.by_type.relu]
    data_out = { width = [4, 8], frac = [1, 2], unsigned = true }

Every quantizable layer gets its own Optuna parameters ``<layer>.<field>.width`` and
``<layer>.<field>.frac``. A sampled bias fraction above the layer's accumulator fraction
(data_in frac + weight frac, the rule of golden.components.linear) is lowered to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from torch import nn

from common.errors import ConfigError, check_keys
from golden.activation import MAX_TABLE_BITS
from golden.fixed import FixedType
from quant.config import ACTIVATION_TYPES, FIELDS_OF_TYPE, FORMAT_FIELDS, LAYER_TYPES, QuantConfig
from quant.transform import quantizable_layers


@dataclass(frozen=True)
class FieldChoices:
    """Allowed widths and fractions of one format field."""

    widths: tuple[int, ...]
    fracs: tuple[int, ...]
    signed: bool = True


def _int_list(value: Any, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ConfigError(f"{where} must be an integer or a non-empty list of integers, got {value!r}")
    return tuple(items)


def _parse_field(value: Any, where: str) -> FieldChoices:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table {{ width = [...], frac = [...] }}, got {value!r}")
    check_keys(dict(value), ("width", "frac", "unsigned"), where)
    for key in ("width", "frac"):
        if key not in value:
            raise ConfigError(f"{where} needs '{key}'")
    unsigned = value.get("unsigned", False)
    if not isinstance(unsigned, bool):
        raise ConfigError(f"{where}.unsigned must be true or false, got {unsigned!r}")
    choices = FieldChoices(
        _int_list(value["width"], f"{where}.width"), _int_list(value["frac"], f"{where}.frac"), not unsigned
    )
    for w in choices.widths:
        try:
            FixedType(w, choices.fracs[0], choices.signed)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    for f in choices.fracs:
        try:
            FixedType(choices.widths[0], f, choices.signed)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return choices


def _parse_level(table: Any, where: str) -> dict[str, FieldChoices]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table of {', '.join(FORMAT_FIELDS)}")
    check_keys(dict(table), FORMAT_FIELDS, where)
    return {k: _parse_field(v, f"{where}.{k}") for k, v in table.items()}


@dataclass
class SearchSpace:
    """Choices by default, per layer type and per layer name."""

    default: dict[str, FieldChoices]
    by_type: dict[str, dict[str, FieldChoices]]
    by_name: dict[str, dict[str, FieldChoices]]

    @classmethod
    def from_dict(cls, table: Mapping[str, Any]) -> SearchSpace:
        """Build from a ``[search]`` table; unknown keys and bad values are ConfigErrors."""
        machop = [k for k in ("search_space", "strategy") if k in table]
        if machop:
            raise ConfigError(
                f"[search.{machop[0]}] is Machop's search config, which ch search does not read; give the "
                "per-layer choices as [search.default] / [search.by_type.X] / [search.by_name.X] (docs/frontend.md)"
            )
        check_keys(dict(table), ("default", "by_type", "by_name"), "[search]")
        by_type = table.get("by_type", {})
        by_name = table.get("by_name", {})
        if not isinstance(by_type, Mapping) or not isinstance(by_name, Mapping):
            raise ConfigError("search.by_type and search.by_name must be tables")
        check_keys(dict(by_type), LAYER_TYPES, "search.by_type")
        return cls(
            _parse_level(table.get("default", {}), "search.default"),
            {k: _parse_level(v, f"search.by_type.{k}") for k, v in by_type.items()},
            {k: _parse_level(v, f"search.by_name.{k}") for k, v in by_name.items()},
        )

    def canonical(self) -> dict[str, Any]:
        """The space as plain sorted data (lists, bools): equal spaces give equal values."""

        def level(d: dict[str, FieldChoices]) -> dict[str, Any]:
            return {
                f: {"width": list(c.widths), "frac": list(c.fracs), "signed": c.signed} for f, c in sorted(d.items())
            }

        return {
            "default": level(self.default),
            "by_type": {k: level(v) for k, v in sorted(self.by_type.items())},
            "by_name": {k: level(v) for k, v in sorted(self.by_name.items())},
        }

    def choices(self, name: str, kind: str, field: str) -> FieldChoices:
        """Choices of ``field`` for layer ``name`` of type ``kind`` (name > type > default)."""
        for level in (self.by_name.get(name, {}), self.by_type.get(kind, {}), self.default):
            if field in level:
                return level[field]
        raise ConfigError(
            f"search space has no '{field}' choices for layer '{name}' ({kind}); set search.default.{field}"
        )

    def sample(self, trial: optuna.Trial, model: nn.Module) -> QuantConfig:
        """Draw one format per field of every quantizable layer of ``model``."""
        return self.build(model, trial.suggest_categorical)

    def first(self, model: nn.Module) -> QuantConfig:
        """The configuration made of every field's first choice (to check a space before a study)."""
        return self.build(model, lambda _name, options: options[0])

    def build(self, model: nn.Module, choose: Callable[[str, list[int]], int]) -> QuantConfig:
        """One format per field of every quantizable layer; ``choose(param_name, options)`` picks."""
        layers = quantizable_layers(model)
        for n in self.by_name:
            if n not in layers:
                raise ConfigError(f"search.by_name.{n}: no quantizable layer of that name; layers: {', '.join(layers)}")
        by_name: dict[str, dict[str, FixedType]] = {}
        for name, kind in layers.items():
            has_bias = getattr(model.get_submodule(name), "bias", None) is not None
            formats: dict[str, FixedType] = {}
            for field in FIELDS_OF_TYPE[kind]:
                if field == "bias" and not has_bias:
                    continue
                c = self.choices(name, kind, field)
                if kind in ACTIVATION_TYPES and field == "data_in" and max(c.widths) > MAX_TABLE_BITS:
                    raise ConfigError(
                        f"search space: layer '{name}' ({kind}) is a table of its input, so data_in "
                        f"widths must be <= {MAX_TABLE_BITS}; got choices {list(c.widths)}"
                    )
                width = choose(f"{name}.{field}.width", list(c.widths))
                frac = choose(f"{name}.{field}.frac", list(c.fracs))
                if field == "bias":
                    frac = min(frac, formats["data_in"].frac + formats["weight"].frac)
                formats[field] = FixedType(width, frac, c.signed)
            by_name[name] = formats
        return QuantConfig({}, {}, by_name)
