"""Options of every `ch` action: one table drives argparse, `--help`, toml configs and value checks.

Every option may be given on the command line or as a top-level key of the ``--config`` toml
(dashes become underscores: ``--max-epochs 3`` or ``max_epochs = 3``); the command line wins,
then the toml, then the default. Machop's names are accepted as well (``--training-optimizer``,
``--trainer-precision``, ``--num-devices``, ``--nodes``, ``--max-token-len``, ``--project-dir``;
toml keys ``load_name``, ``training_optimizer``, ``trainer_precision``, ``num_devices``, ...).
How a toml is read (shared across actions, its tables) is in sw_frontend/settings.py.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eda.pnr import DSP_BUDGET, PART, PART_MULTIPLIERS
from sw_frontend.search.objectives import DEFAULT_OBJECTIVE, OBJECTIVES, objective_help

ACTIONS = ("train", "test", "transform", "search", "emit", "sim", "synth", "flow")
ALL = frozenset(ACTIONS)
HARDWARE = frozenset({"emit", "sim", "flow"})  # actions that map a model for a throughput target
TRAINING = frozenset({"train", "flow"})  # actions that train
SEARCH = frozenset({"search"})
LOAD_TYPES = ("pt", "pl", "hf", "pkl")
#: Machop's task names; the dataset fixes the task, so --task is checked against it.
TASKS = ("cls", "classification", "lm", "language_modeling")
PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed", "bf16", "64", "64-true")
STRATEGIES = ("auto", "ddp", "ddp_find_unused_parameters_true")


@dataclass(frozen=True)
class Rule:
    """A value rule: ``text`` completes "must be ..." in the error message."""

    text: str
    ok: Callable[[Any], bool]


def at_least(n: int) -> Rule:
    return Rule(f">= {n}", lambda v: v >= n)


POSITIVE = Rule("> 0", lambda v: v > 0)
NON_NEGATIVE = Rule(">= 0", lambda v: v >= 0)
PROBABILITY_BELOW_1 = Rule("in [0, 1) (1 would stall forever)", lambda v: 0 <= v < 1)
FRACTION = Rule("in [0, 1]", lambda v: 0 <= v <= 1)
EPOCHS = Rule(">= 1, or -1 (no limit: stop at --max-steps)", lambda v: v >= 1 or v == -1)
STEPS = Rule(">= 1, or -1 (no limit)", lambda v: v >= 1 or v == -1)
SEED = Rule("in 0 .. 4294967295", lambda v: 0 <= v < 2**32)
SEQ_LEN = Rule("in 2 .. 4096 (a start token and at least one word)", lambda v: 2 <= v <= 4096)


@dataclass(frozen=True)
class Opt:
    """One option: its key, value type, default, help, the actions that take it, its rule and its
    Machop names (toml keys and command-line flags)."""

    name: str
    type: type
    default: Any
    help: str
    actions: frozenset[str] = ALL
    choices: tuple[str, ...] | None = None
    flag: bool = False
    rule: Rule | None = None
    machop_keys: tuple[str, ...] = ()
    machop_flags: tuple[str, ...] = ()

    @property
    def cli(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any, where: str) -> Any:
        """``value`` converted to the option's type, or a ConfigError in one line.

        ``where`` is ``--name`` for the command line or ``config FILE: 'name'`` for a toml key.
        """
        from common.errors import ConfigError

        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if self.type is str and self.choices and isinstance(value, int) and str(value) in self.choices:
            value = str(value)  # precision = 32 in a toml
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ConfigError(f"{where} must be {self.type.__name__}, got {type(value).__name__} {value!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} = {value!r} is not allowed; allowed: {', '.join(self.choices)}")
        if self.type is float and not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
        if self.rule is not None and not self.rule.ok(value):
            raise ConfigError(f"{where} must be {self.rule.text}, got {value!r}")
        return value


OPTIONS: tuple[Opt, ...] = (
    Opt("model", str, None, "model name (positional MODEL)"),
    Opt("dataset", str, "digits", "dataset name (positional DATASET)"),
    Opt("config", str, None, "toml file: any of these options, [quantize], [passes.quantize] or [search] tables"),
    Opt("project", str, None, "output folder name under --output-root (default: MODEL_DATASET)"),
    Opt(
        "output_root",
        str,
        "mase_output",
        "folder that holds every project",
        machop_keys=("project_dir",),
        machop_flags=("project-dir",),
    ),
    Opt("data_dir", str, None, "folder of the dataset's files (default: data/DATASET; digits needs none)"),
    Opt(
        "task",
        str,
        None,
        "Machop's task; the dataset decides it (cls: digits, cifar10, cifar100, text; lm: lm), so it is only checked",
        choices=TASKS,
    ),
    Opt(
        "load",
        str,
        None,
        "checkpoint to start from: a file, a transformed-model folder or an hf folder",
        machop_keys=("load_name",),
    ),
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
        machop_keys=("is_pretrained",),
    ),
    Opt("seed", int, 0, "random seed (weights, data order, search sampler)", rule=SEED),
    Opt("batch_size", int, 64, "samples per batch", rule=at_least(1)),
    Opt(
        "accelerator",
        str,
        "cpu",
        "Lightning accelerator (training only; evaluation runs on the CPU)",
        choices=("cpu", "gpu", "cuda", "mps", "auto"),
    ),
    Opt(
        "threads",
        int,
        1,
        "torch CPU threads (1 is fastest for the small models on a shared machine)",
        rule=at_least(1),
    ),
    Opt(
        "max_seq_len",
        int,
        32,
        "text datasets: tokens per sample",
        rule=SEQ_LEN,
        machop_keys=("max_token_len",),
        machop_flags=("max-token-len",),
    ),
    Opt(
        "debug",
        bool,
        False,
        "debug log (ignored config keys, Lightning's messages, a traceback after an error); ch train: "
        "one training and one validation batch only (Lightning's fast_dev_run), nothing written",
        flag=True,
        machop_keys=("to_debug",),
    ),
    Opt("quiet", bool, False, "no progress bars or per-epoch / per-trial lines, only the result", flag=True),
    Opt("max_epochs", int, 10, "training epochs", actions=TRAINING, rule=EPOCHS),
    Opt("max_steps", int, -1, "stop after this many optimizer steps (-1: no limit)", actions=TRAINING, rule=STEPS),
    Opt(
        "learning_rate",
        float,
        1e-2,
        "optimizer learning rate",
        actions=TRAINING,
        rule=POSITIVE,
    ),
    Opt(
        "optimizer",
        str,
        "adam",
        "optimizer",
        actions=TRAINING,
        choices=("adam", "adamw", "sgd"),
        machop_keys=("training_optimizer",),
        machop_flags=("training-optimizer",),
    ),
    Opt("weight_decay", float, 0.0, "optimizer weight decay", actions=TRAINING, rule=NON_NEGATIVE),
    Opt(
        "accumulate_grad_batches",
        int,
        1,
        "batches whose gradients are summed before each optimizer step",
        actions=TRAINING,
        rule=at_least(1),
    ),
    Opt(
        "log_every_n_steps",
        int,
        10,
        "TensorBoard: log the training loss every N steps",
        actions=TRAINING,
        rule=at_least(1),
    ),
    Opt(
        "precision",
        str,
        "32",
        "Lightning precision (quantized models train at 32; on the CPU use bf16-mixed, not 16-mixed)",
        actions=TRAINING,
        choices=PRECISIONS,
        machop_keys=("trainer_precision",),
        machop_flags=("trainer-precision",),
    ),
    Opt(
        "devices",
        int,
        1,
        "devices (processes on the CPU) per node; more than 1 needs --strategy ddp",
        actions=TRAINING,
        rule=at_least(1),
        machop_keys=("num_devices",),
        machop_flags=("num-devices",),
    ),
    Opt(
        "num_nodes",
        int,
        1,
        "machines taking part in a ddp run",
        actions=TRAINING,
        rule=at_least(1),
        machop_flags=("nodes",),
    ),
    Opt("strategy", str, "auto", "Lightning strategy", actions=TRAINING, choices=STRATEGIES),
    Opt("trials", int, 20, "trials this worker runs", actions=SEARCH, rule=at_least(1)),
    Opt(
        "storage",
        str,
        None,
        "Optuna storage URL (default: sqlite file software/search/study.db in the project folder)",
        actions=SEARCH,
    ),
    Opt(
        "study_name",
        str,
        "quantize",
        "Optuna study name (workers with the same name share it)",
        actions=SEARCH,
    ),
    Opt(
        "new_study",
        bool,
        False,
        "delete the study of this name in the storage (its trials are lost) and start a new one",
        actions=SEARCH,
        flag=True,
    ),
    Opt(
        "sampler",
        str,
        "nsga2",
        "Optuna sampler",
        actions=SEARCH,
        choices=("nsga2", "tpe", "random"),
    ),
    Opt(
        "cost",
        str,
        "bitops",
        "hardware cost: bitops (bit-operations proxy) or mapper (the mapper's LUT-equivalent estimate)",
        actions=SEARCH,
        choices=("bitops", "mapper"),
    ),
    Opt("objective", str, DEFAULT_OBJECTIVE, objective_help(), actions=SEARCH, choices=OBJECTIVES),
    Opt(
        "verify_front",
        int,
        None,
        "after the study, map, emit and synthesize (Yosys, xc7) the N Pareto designs of lowest objective and "
        "write verify_front.csv / verify_front.png: estimated against measured LUT/FF/DSP/BRAM (--cost mapper)",
        actions=SEARCH,
        rule=at_least(1),
    ),
    Opt(
        "target_cycles",
        int,
        64,
        "cycles per inference the mapper folds the pipeline for (1: one input vector per cycle; "
        "ch search: with --cost mapper)",
        actions=HARDWARE | SEARCH,
        rule=at_least(1),
    ),
    Opt(
        "max_dsp",
        int,
        None,
        "estimated DSP budget of the mapper's folding: when the plan for --target-cycles needs more, "
        "the fastest slower plan that fits is taken (e.g. 2000; default: "
        f"{DSP_BUDGET} of the {PART}'s {PART_MULTIPLIERS} multipliers when place and route runs, so that the "
        "design places and routes, else no budget)",
        actions=HARDWARE,
        rule=at_least(0),
    ),
    Opt(
        "layers",
        int,
        1,
        "bert-tiny: encoder layers on the accelerator",
        actions=frozenset({"flow"}),
        rule=Rule("1 or 2", lambda v: v in (1, 2)),
    ),
    Opt(
        "samples",
        int,
        0,
        "samples to simulate (0: every sample of --sim-split)",
        actions=HARDWARE,
        rule=at_least(0),
    ),
    Opt(
        "sim_split",
        str,
        "test",
        "samples to simulate: the test split, or all the dataset's samples (test split first; "
        "accuracy is reported on the test split)",
        actions=HARDWARE,
        choices=("test", "all"),
    ),
    Opt(
        "bench",
        str,
        "harness",
        "network bench: the SystemVerilog harness (no Python per cycle) or the pyuvm bench",
        actions=frozenset({"sim", "flow"}),
        choices=("harness", "pyuvm"),
    ),
    Opt(
        "waves",
        bool,
        False,
        "on a mismatch or failure, repeat the checking run with a VCD dump of the cycles around it "
        "(hardware/bench/failure.vcd)",
        actions=frozenset({"sim", "flow"}),
        flag=True,
    ),
    Opt(
        "stall_prob",
        float,
        0.3,
        "probability of an input gap and of an output stall per cycle in the checking simulation",
        actions=frozenset({"sim", "flow"}),
        rule=PROBABILITY_BELOW_1,
    ),
    Opt(
        "skip_synth",
        bool,
        False,
        "do not synthesize (neither Yosys resources nor ECP5 place and route)",
        actions=frozenset({"flow"}),
        flag=True,
    ),
    Opt(
        "skip_pnr",
        bool,
        False,
        "synthesize for resources only, without ECP5 place and route (no Fmax)",
        actions=frozenset({"flow", "synth"}),
        flag=True,
    ),
    Opt(
        "synth_mode",
        str,
        "auto",
        "Yosys synthesis: ooc (each distinct instance out of context, cached under build/synth_ooc, one run "
        "per core; the totals are their sum), flat (the whole top in one run, slower on big designs) or auto "
        "(flat below 20,000 estimated LUT + FF, ooc above)",
        actions=frozenset({"flow", "synth"}),
        choices=("auto", "ooc", "flat"),
    ),
    Opt(
        "clock_mhz",
        float,
        200.0,
        "clock requested from place and route (nextpnr-ecp5 --freq), MHz; the report says whether it is met",
        actions=frozenset({"flow", "synth"}),
        rule=Rule("in (0, 1000]", lambda v: 0 < v <= 1000),
    ),
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
        actions=SEARCH,
        rule=FRACTION,
    ),
)

BY_NAME = {o.name: o for o in OPTIONS}
#: Machop's toml key -> our option name.
MACHOP_KEYS = {alias: o.name for o in OPTIONS for alias in o.machop_keys}
#: Machop toml keys with no counterpart here, and why.
MACHOP_UNSUPPORTED = {
    "report_to": "TensorBoard is always written",
    "log_level": "use --debug or --quiet",
    "num_workers": "data loads in the main process; see --threads",
    "quant_config": "put a [quantize] or [passes.quantize] table into the --config toml",
    "is_to_auto_requeue": "no SLURM requeueing",
    "github_ci": "not needed",
    "disable_dataset_cache": "datasets are read from local files, not cached",
    "target": "ch synth targets Xilinx 7-series with Yosys",
    "num_targets": "one device per design",
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
        flags = [o.cli, *("--" + f for f in o.machop_flags)]
        shown = "" if o.default is None else f" (default: {o.default})"
        if o.flag:
            parser.add_argument(*flags, dest=o.name, action="store_true", default=None, help=o.help + " (default: off)")
        else:
            parser.add_argument(
                *flags,
                dest=o.name,
                type=o.type,
                default=None,
                choices=o.choices,
                help=o.help + shown,
                metavar=None if o.choices else o.name.upper(),
            )
