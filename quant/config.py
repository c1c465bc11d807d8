"""Per-layer number formats of the quantization pass, read from a toml ``[quantize]`` table.

Table shape (every format is ``[width, frac]`` or ``[width, frac, "signed"|"unsigned"]``)::

    [quantize]
    default = { data_in = [8, 4], weight = [8, 6], bias = [8, 6], data_out = [8, 4] }
    [quantize.by_type.relu]        # layer types: linear, conv2d, relu, sigmoid, tanh, gelu, silu,
                                   # avgpool, batchnorm; in BERT / RoBERTa also scores, softmax,
                                   # context (weight: the second operand) and layernorm
    data_out = [8, 4, "unsigned"]
    [quantize.by_name.fc2]         # module path, as in model.named_modules()
    weight = [4, 3]
    [quantize.by_type.silu]
    float = true                   # this layer type stays a float layer

Each of the four fields is looked up by name first, then by type, then in ``default``; so is
``float`` (default false), which keeps a layer as the float module it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from common.errors import ConfigError, check_keys
from golden.fixed import FixedType

#: Element-wise activations the pass turns into table lookups (golden/activation.py).
ACTIVATION_TYPES = ("sigmoid", "tanh", "gelu", "silu")
#: Layer types the pass quantizes (the names used under ``by_type``).
#: Transformer layer types (quant/attention.py): the attention's two matmuls (``weight`` is the
#: format of their second operand, K or V), its softmax, and layer norm (``weight``: gamma,
#: ``bias``: beta).
TRANSFORMER_TYPES = ("scores", "softmax", "context", "layernorm")
LAYER_TYPES = ("linear", "conv2d", "relu", *ACTIVATION_TYPES, "avgpool", "batchnorm", *TRANSFORMER_TYPES)
#: Format fields of a layer.
FORMAT_FIELDS = ("data_in", "weight", "bias", "data_out")
#: Keys of one level table: the format fields and ``float`` (keep the layer float).
LEVEL_KEYS = (*FORMAT_FIELDS, "float")
#: Fields each layer type needs (a ReLU has no weights).
FIELDS_OF_TYPE = {
    "linear": FORMAT_FIELDS,
    "conv2d": FORMAT_FIELDS,
    "relu": ("data_in", "data_out"),
    **{a: ("data_in", "data_out") for a in ACTIVATION_TYPES},
    "avgpool": ("data_in", "data_out"),
    "batchnorm": FORMAT_FIELDS,  # weight: the per-channel scale's format, bias: the shift's
    "scores": ("data_in", "weight", "data_out"),  # Q, K, scores
    "context": ("data_in", "weight", "data_out"),  # probabilities, V, context
    "softmax": ("data_in", "data_out"),
    "layernorm": FORMAT_FIELDS,  # weight: gamma's format, bias: beta's
}
SECTION_KEYS = ("default", "by_type", "by_name")


@dataclass(frozen=True)
class LayerFormats:
    """Number formats of one quantized layer (see golden/fixed.py for FixedType).

    ``weight`` and ``bias`` are None for layers without weights (ReLU, activations).
    """

    data_in: FixedType
    weight: FixedType | None
    bias: FixedType | None
    data_out: FixedType


def parse_format(value: Any, where: str) -> FixedType:
    """Read ``[width, frac]`` or ``[width, frac, "signed"|"unsigned"]`` into a FixedType."""
    if (
        not isinstance(value, (list, tuple))
        or len(value) not in (2, 3)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value[:2])
    ):
        raise ConfigError(f'{where} must be [width, frac] or [width, frac, "unsigned"] with integers, got {value!r}')
    signed = True
    if len(value) == 3:
        if value[2] not in ("signed", "unsigned"):
            raise ConfigError(f'{where}: third entry must be "signed" or "unsigned", got {value[2]!r}')
        signed = value[2] == "signed"
    try:
        return FixedType(int(value[0]), int(value[1]), signed)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def format_to_list(t: FixedType) -> list[int | str]:
    """Inverse of :func:`parse_format` (signed formats as two entries)."""
    return [t.width, t.frac] if t.signed else [t.width, t.frac, "unsigned"]


def _parse_fields(table: Any, where: str) -> tuple[dict[str, FixedType], bool | None]:
    """The formats of one level table and its ``float`` flag (None when unset)."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table of {', '.join(FORMAT_FIELDS)}, got {table!r}")
    check_keys(dict(table), LEVEL_KEYS, where)
    keep_float = table.get("float")
    if keep_float is not None and not isinstance(keep_float, bool):
        raise ConfigError(f"{where}.float must be true or false, got {keep_float!r}")
    formats = {k: parse_format(v, f"{where}.{k}") for k, v in table.items() if k != "float"}
    return formats, keep_float


@dataclass
class QuantConfig:
    """Formats by default, per layer type and per layer name (name > type > default)."""

    default: dict[str, FixedType] = field(default_factory=dict)
    by_type: dict[str, dict[str, FixedType]] = field(default_factory=dict)
    by_name: dict[str, dict[str, FixedType]] = field(default_factory=dict)
    #: ``float`` flags: None = unset at that level (so the next level decides).
    float_default: bool | None = None
    float_by_type: dict[str, bool] = field(default_factory=dict)
    float_by_name: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, table: Mapping[str, Any], where: str = "quantize") -> QuantConfig:
        """Build from the contents of a ``[quantize]`` toml table; bad keys raise ConfigError."""
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{where}] must be a table, got {table!r}")
        check_keys(dict(table), SECTION_KEYS, f"[{where}]")
        default, float_default = _parse_fields(table.get("default", {}), f"{where}.default")
        by_type_raw = table.get("by_type", {})
        if not isinstance(by_type_raw, Mapping):
            raise ConfigError(f"{where}.by_type must be a table keyed by layer type")
        check_keys(dict(by_type_raw), LAYER_TYPES, f"{where}.by_type")
        by_type = {k: _parse_fields(v, f"{where}.by_type.{k}") for k, v in by_type_raw.items()}
        by_name_raw = table.get("by_name", {})
        if not isinstance(by_name_raw, Mapping):
            raise ConfigError(f"{where}.by_name must be a table keyed by layer name")
        by_name = {k: _parse_fields(v, f"{where}.by_name.{k}") for k, v in by_name_raw.items()}
        return cls(
            default,
            {k: f for k, (f, _) in by_type.items()},
            {k: f for k, (f, _) in by_name.items()},
            float_default,
            {k: fl for k, (_, fl) in by_type.items() if fl is not None},
            {k: fl for k, (_, fl) in by_name.items() if fl is not None},
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``[quantize]`` table that :meth:`from_dict` reads back to an equal config."""

        def fields(d: dict[str, FixedType], keep_float: bool | None) -> dict[str, Any]:
            out: dict[str, Any] = {k: format_to_list(v) for k, v in d.items()}
            if keep_float is not None:
                out["float"] = keep_float
            return out

        out: dict[str, Any] = {}
        if self.default or self.float_default is not None:
            out["default"] = fields(self.default, self.float_default)
        types = list(self.by_type) + [k for k in self.float_by_type if k not in self.by_type]
        if types:
            out["by_type"] = {k: fields(self.by_type.get(k, {}), self.float_by_type.get(k)) for k in types}
        names = list(self.by_name) + [k for k in self.float_by_name if k not in self.by_name]
        if names:
            out["by_name"] = {k: fields(self.by_name.get(k, {}), self.float_by_name.get(k)) for k in names}
        return out

    def keeps_float(self, name: str, layer_type: str) -> bool:
        """True when the layer at ``name`` stays float (``float = true``, by name > type > default)."""
        for flag in (self.float_by_name.get(name), self.float_by_type.get(layer_type), self.float_default):
            if flag is not None:
                return flag
        return False

    def formats_for(self, name: str, layer_type: str) -> LayerFormats:
        """Formats of the layer at module path ``name`` of type ``layer_type``.

        Raises ConfigError for an unknown type or a needed field that no level sets.
        """
        if layer_type not in FIELDS_OF_TYPE:
            raise ConfigError(f"unknown layer type '{layer_type}'; allowed: {', '.join(LAYER_TYPES)}")
        chosen: dict[str, FixedType | None] = {}
        for f in FORMAT_FIELDS:
            if f not in FIELDS_OF_TYPE[layer_type]:
                chosen[f] = None
                continue
            for level in (self.by_name.get(name, {}), self.by_type.get(layer_type, {}), self.default):
                if f in level:
                    chosen[f] = level[f]
                    break
            else:
                raise ConfigError(f"no '{f}' format for layer '{name}' ({layer_type}); set quantize.default.{f}")
        data_in, data_out = chosen["data_in"], chosen["data_out"]
        assert data_in is not None and data_out is not None
        return LayerFormats(data_in, chosen["weight"], chosen["bias"], data_out)

    def check_names(self, names: list[str]) -> None:
        """Raise ConfigError when ``by_name`` names a layer that is not among ``names``."""
        for n in [*self.by_name, *self.float_by_name]:
            if n not in names:
                raise ConfigError(
                    f"quantize.by_name.{n}: no quantizable layer of that name; layers: {', '.join(names)}"
                )
