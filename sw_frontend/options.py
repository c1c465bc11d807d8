"""Options of every `ch` action: one table drives argparse, `--help`, toml configs and checks.

Every option may be given on the command line or as a top-level key of the ``--config`` toml
(dashes become underscores: ``--max-epochs 3`` or ``max_epochs = 3``); the command line wins,
then the toml, then the default. Besides option keys a toml may hold a ``[quantize]`` table
(see quant/config.py) and, for ``ch search``, a ``[search]`` table.
"""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import ConfigError

ACTIONS = ("train", "test", "transform", "search", "emit", "sim", "synth", "flow")
ALL = frozenset(ACTIONS)
HARDWARE = frozenset({"emit", "sim", "flow"})  # actions that map a model for a throughput target
TRAINING = frozenset({"train", "flow"})  # actions that train
LOAD_TYPES = ("pt", "pl", "hf", "pkl")


@dataclass(frozen=True)
class Opt:
    """One option: its key, value type, default, help and the actions that take it."""

    name: str
    type: type
    default: Any
    help: str
    actions: frozenset[str] = ALL
    choices: tuple[str, ...] | None = None
    flag: bool = False

    @property
    def cli(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[Opt, ...] = (
    Opt("model", str, None, "model name (positional MODEL)"),
    Opt("dataset", str, "digits", "dataset name (positional DATASET)"),
    Opt("config", str, None, "toml file with any of these options and a [quantize] / [search] table"),
    Opt("project", str, None, "output folder name under --output-root (default: MODEL_DATASET)"),
    Opt("output_root", str, "mase_output", "folder that holds every project"),
    Opt("data_dir", str, None, "folder of the dataset's files (default: data/DATASET; digits needs none)"),
    Opt("load", str, None, "checkpoint to start from: a file, a transformed-model folder or an hf folder"),
    Opt("load_type", str, None, "how to read --load", choices=LOAD_TYPES),
    Opt(
        "allow_pickle",
        bool,
        False,
        "allow --load-type pkl: unpickling can run arbitrary code from the file, so it is opt-in",
        flag=True,
    ),
    Opt(
        "pretrained",
        bool,
        False,
        "hf models: take weights from the local save_pretrained folder given by --load --load-type hf",
        flag=True,
    ),
    Opt("seed", int, 0, "random seed (weights, data order, search sampler)"),
    Opt("batch_size", int, 64, "samples per batch"),
    Opt("accelerator", str, "cpu", "Lightning accelerator", choices=("cpu", "gpu", "auto")),
    Opt("threads", int, 1, "torch CPU threads (1 is fastest for the small models on a shared machine)"),
    Opt("max_seq_len", int, 32, "text datasets: tokens per sample"),
    Opt("max_epochs", int, 10, "training epochs", actions=TRAINING),
    Opt("learning_rate", float, 1e-2, "optimizer learning rate", actions=TRAINING),
    Opt("optimizer", str, "adam", "optimizer", actions=TRAINING, choices=("adam", "adamw", "sgd")),
    Opt("weight_decay", float, 0.0, "optimizer weight decay", actions=TRAINING),
    Opt("trials", int, 20, "trials this worker runs", actions=frozenset({"search"})),
    Opt(
        "storage",
        str,
        None,
        "Optuna storage URL (default: sqlite file software/search/study.db in the project folder)",
        actions=frozenset({"search"}),
    ),
    Opt(
        "study_name",
        str,
        "quantize",
        "Optuna study name (workers with the same name share it)",
        actions=frozenset({"search"}),
    ),
    Opt(
        "sampler",
        str,
        "nsga2",
        "Optuna sampler",
        actions=frozenset({"search"}),
        choices=("nsga2", "tpe", "random"),
    ),
    Opt(
        "cost",
        str,
        "bitops",
        "hardware cost: bitops (bit-operations proxy) or mapper (the mapper's LUT-equivalent estimate)",
        actions=frozenset({"search"}),
        choices=("bitops", "mapper"),
    ),
    Opt(
        "target_cycles",
        int,
        64,
        "cycles per inference the mapper folds the pipeline for (1: one input vector per cycle; "
        "ch search: with --cost mapper)",
        actions=HARDWARE | {"search"},
    ),
    Opt("samples", int, 0, "test samples to simulate (0: the whole test split)", actions=HARDWARE),
    Opt(
        "stall_prob",
        float,
        0.3,
        "probability of an input gap and of an output stall per cycle in the checking simulation",
        actions=frozenset({"sim", "flow"}),
    ),
    Opt("skip_synth", bool, False, "do not run Yosys", actions=frozenset({"flow"}), flag=True),
    Opt(
        "dump_graph",
        str,
        "",
        "write the mapper's graph (JSON and PNG, into hardware/graphs/) after these passes: comma-separated "
        "pass names (capture, assign, fold, insert_plumbing, annotate, ...) or all",
        actions=HARDWARE,
    ),
    Opt(
        "max_accuracy_drop",
        float,
        0.02,
        "best config: cheapest Pareto trial whose accuracy is at most this below the float model's",
        actions=frozenset({"search"}),
    ),
)

SECTIONS = {
    "quantize": frozenset({"train", "test", "transform", "emit", "sim", "flow"}),
    "search": frozenset({"search"}),
}


def options_for(action: str) -> list[Opt]:
    """The options ``action`` accepts, in table order."""
    return [o for o in OPTIONS if action in o.actions]


def add_arguments(parser: argparse.ArgumentParser, action: str) -> None:
    """Add MODEL, DATASET and every option of ``action`` (argparse defaults are None: unset)."""
    parser.add_argument("model_pos", nargs="?", metavar="MODEL", help="model name (or `model` in the toml)")
    parser.add_argument(
        "dataset_pos",
        nargs="?",
        metavar="DATASET",
        help="dataset name (or `dataset` in the toml; default: digits)",
    )
    for o in options_for(action):
        if o.name in ("model", "dataset"):
            continue
        shown = "" if o.default is None else f" (default: {o.default})"
        if o.flag:
            parser.add_argument(o.cli, action="store_true", default=None, help=o.help + " (default: off)")
        else:
            parser.add_argument(
                o.cli,
                type=o.type,
                default=None,
                choices=o.choices,
                help=o.help + shown,
                metavar=None if o.choices else o.name.upper(),
            )


@dataclass
class Settings:
    """Merged options of one run plus the toml sections it carries."""

    action: str
    values: dict[str, Any]
    quantize: dict[str, Any] | None = None
    search: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def project_dir(self) -> Path:
        """``output_root/project``."""
        return Path(self.values["output_root"]) / self.values["project"]


def _check_type(o: Opt, value: Any, where: str) -> Any:
    ok = isinstance(value, o.type) and not (o.type is int and isinstance(value, bool))
    if o.type is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(f"{where}: '{o.name}' must be {o.type.__name__}, got {type(value).__name__} {value!r}")
    if o.choices and value not in o.choices:
        raise ConfigError(f"{where}: '{o.name}' = {value!r} is not allowed; allowed: {', '.join(o.choices)}")
    return value


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a toml file; a missing file or bad syntax is a ConfigError."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {p} does not exist")
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p}: invalid toml: {exc}") from None


def merge(action: str, ns: argparse.Namespace) -> Settings:
    """Command line over toml over defaults; unknown toml keys and wrong types are ConfigErrors."""
    opts = {o.name: o for o in options_for(action)}
    cli: dict[str, Any] = {k: v for k, v in vars(ns).items() if k in opts and v is not None}
    if ns.model_pos is not None:
        cli["model"] = ns.model_pos
    if ns.dataset_pos is not None:
        cli["dataset"] = ns.dataset_pos
    toml: dict[str, Any] = {}
    settings = Settings(action, {})
    if "config" in cli:
        toml = read_toml(cli["config"])
        where = f"config {cli['config']}"
        sections = [s for s, acts in SECTIONS.items() if action in acts]
        allowed = sorted(set(opts) - {"config"}) + [f"[{s}]" for s in sections]
        for key, value in toml.items():
            if key in sections:
                if not isinstance(value, dict):
                    raise ConfigError(f"{where}: '{key}' must be a table [{key}]")
                setattr(settings, key, value)
            elif key not in opts or key == "config":
                raise ConfigError(f"{where}: unknown key '{key}' for `ch {action}`; allowed keys: {', '.join(allowed)}")
            else:
                toml[key] = _check_type(opts[key], value, where)
    for name, o in opts.items():
        if name in cli:
            settings.values[name] = cli[name]
        elif name in toml:
            settings.values[name] = toml[name]
        else:
            settings.values[name] = o.default
    if settings.values["model"] is None:
        raise ConfigError(f"`ch {action}` needs a MODEL (positional, or `model` in the --config toml)")
    if settings.values.get("project") is None:
        settings.values["project"] = f"{settings.values['model']}_{settings.values['dataset']}"
    return settings
