"""The settings of one `ch` run: command line over ``--config`` toml over defaults.

One toml may be shared by every action (as in Machop): a key that another action takes is
ignored (named once in the ``--debug`` log), a key that no action takes is a one-line error. Its
tables:

- ``[quantize]`` (train, test, transform, emit, sim, flow): per-layer formats (quant/config.py);
  in ``ch train`` it makes the model quantized before training (quantization-aware training).
- ``[passes.quantize]`` (transform, emit, sim, flow): Machop's quantize pass config, translated to
  a ``[quantize]`` table by quant/machop.py; ``ch train`` and ``ch test`` ignore it, as Machop does.
- ``[search]`` (search): the search space (sw_frontend/search/space.py).
"""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.errors import ConfigError
from quant.machop import translate_passes_quantize
from sw_frontend.options import BY_NAME, MACHOP_KEYS, MACHOP_UNSUPPORTED, TRAINING, options_for
from sw_frontend.outputs import check_project

#: Tables of a toml and the actions that read them.
SECTIONS = {
    "quantize": frozenset({"train", "test", "transform", "emit", "sim", "flow"}),
    "passes": frozenset({"transform", "emit", "sim", "flow"}),
    "search": frozenset({"search"}),
}


@dataclass
class Settings:
    """Merged options of one run plus the toml tables it uses.

    ``quantize_from`` is ``"quantize"`` or ``"passes.quantize"`` (a translated Machop table, whose
    layer names may be Machop's node names); ``ignored`` lists the toml keys of other actions.
    """

    action: str
    values: dict[str, Any]
    quantize: dict[str, Any] | None = None
    search: dict[str, Any] | None = None
    quantize_from: str = "quantize"
    ignored: list[str] = field(default_factory=list)
    #: Options given on the command line or in the toml (the rest are defaults).
    given: frozenset[str] = frozenset()

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def project_dir(self) -> Path:
        """``output_root/project``."""
        return Path(self.values["output_root"]) / self.values["project"]


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a toml file; a missing or unreadable file or bad syntax is a ConfigError."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p}: invalid toml: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {p} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"config file {p} cannot be read: {exc.strerror}") from None


def _read_config(path: str, action: str, settings: Settings) -> dict[str, Any]:
    """The option values of the toml at ``path``; its tables go into ``settings``."""
    opts = {o.name: o for o in options_for(action)}
    where = f"config {path}"
    toml = read_toml(path)
    values: dict[str, Any] = {}
    tables: dict[str, dict[str, Any]] = {}
    given_as: dict[str, str] = {}
    for key, value in toml.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: '{key}' must be a table [{key}]")
            if key == "passes":
                _check_passes(value, where)
            if action in SECTIONS[key]:
                tables[key] = value
            else:
                settings.ignored.append(f"[{key}]")
            continue
        name = MACHOP_KEYS.get(key, key)
        if name in opts and name != "config":
            if name in given_as:
                raise ConfigError(f"{where}: '{given_as[name]}' and '{key}' set the same option; keep one")
            given_as[name] = key
            values[name] = opts[name].check(value, f"{where}: '{key}'")
        elif name in BY_NAME and name != "config":
            settings.ignored.append(key)
        elif key in MACHOP_UNSUPPORTED:
            raise ConfigError(f"{where}: '{key}' is a Machop option chop-hw does not have ({MACHOP_UNSUPPORTED[key]})")
        else:
            allowed = sorted(set(opts) - {"config"}) + [f"[{s}]" for s, acts in SECTIONS.items() if action in acts]
            raise ConfigError(f"{where}: unknown key '{key}' for `ch {action}`; allowed keys: {', '.join(allowed)}")
    settings.search = tables.get("search")
    settings.quantize = tables.get("quantize")
    if "passes" in tables:
        if settings.quantize is not None:
            raise ConfigError(f"{where}: give either [quantize] or Machop's [passes.quantize], not both")
        settings.quantize = translate_passes_quantize(tables["passes"]["quantize"], "passes.quantize")
        settings.quantize_from = "passes.quantize"
    return values


def _check_passes(table: dict[str, Any], where: str) -> None:
    for name in table:
        if name != "quantize":
            raise ConfigError(f"{where}: [passes.{name}] is a Machop pass chop-hw does not run; it runs quantize only")
    if "quantize" not in table or not isinstance(table["quantize"], dict):
        raise ConfigError(f"{where}: [passes] needs a [passes.quantize] table")


def merge(action: str, ns: argparse.Namespace) -> Settings:
    """Command line over toml over defaults; every value checked (type, choices, range)."""
    opts = {o.name: o for o in options_for(action)}
    cli: dict[str, Any] = {k: opts[k].check(v, opts[k].cli) for k, v in vars(ns).items() if k in opts and v is not None}
    if ns.model_pos is not None:
        cli["model"] = ns.model_pos
    if ns.dataset_pos is not None:
        cli["dataset"] = ns.dataset_pos
    settings = Settings(action, {})
    toml = _read_config(cli["config"], action, settings) if "config" in cli else {}
    for name, o in opts.items():
        settings.values[name] = cli.get(name, toml.get(name, o.default))
    settings.given = frozenset(n for n in opts if n in cli or n in toml)
    if settings.values["model"] is None:
        raise ConfigError(f"`ch {action}` needs a MODEL (positional, or `model` in the --config toml)")
    if settings.values.get("project") is None:
        settings.values["project"] = f"{settings.values['model']}_{settings.values['dataset']}"
    where = "the project MODEL_DATASET ="
    if "project" in cli:
        where = "--project"
    elif "project" in toml:
        where = f"config {cli['config']}: 'project' ="
    check_project(settings.values["project"], where)
    if action in TRAINING and settings.values["max_epochs"] == -1 and settings.values["max_steps"] == -1:
        raise ConfigError("--max-epochs -1 (no limit) needs --max-steps N to stop training")
    return settings
