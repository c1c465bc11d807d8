"""What every action shares (:func:`prepare`), and the `ch test` and `ch transform` actions
(``ch train`` is in sw_frontend/train.py, ``ch search`` in sw_frontend/search/).

Output layout under ``mase_output/<project>/software/``:

- ``training_ckpts/best.ckpt``, ``last.ckpt``, ``metrics.json``: ``ch train``.
- ``tensorboard/version_N/``: TensorBoard logs of each training run.
- ``transform/transformed_model/``: the quantized model of ``ch transform`` (weights.pt,
  quantize.toml, meta.json), loadable with ``--load-type pt``.
- ``test/results.json``: float and quantized metrics of ``ch test``.

A run writes into hidden temporary folders and renames them into place at the end, so a failed
or interrupted run leaves the previous outputs intact and nothing half-written.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from common.errors import ConfigError
from quant.config import QuantConfig
from quant.machop import match_node_names
from quant.transform import dequantize_model, float_layers, quantizable_layers, quantize_model, save_quantized
from sw_frontend.checkpoints import Loaded, load_model
from sw_frontend.data import DataBundle, load_dataset, task_of
from sw_frontend.outputs import require_writable
from sw_frontend.report import print_table, write_json
from sw_frontend.settings import Settings
from sw_frontend.training import evaluate

#: Machop's task names -> the dataset task they mean.
TASK_NAMES = {"cls": "classification", "classification": "classification", "lm": "lm", "language_modeling": "lm"}


def software_dir(settings: Settings) -> Path:
    """``<output_root>/<project>/software``."""
    return settings.project_dir / "software"


def check_task(settings: Settings) -> None:
    """``--task`` (Machop's) must name the task of the dataset."""
    if settings.task is None:
        return
    wanted, actual = TASK_NAMES[settings.task], task_of(settings.dataset)
    if actual is not None and wanted != actual:
        raise ConfigError(
            f"--task {settings.task}: dataset '{settings.dataset}' is a "
            f"{'language-modelling (lm)' if actual == 'lm' else 'classification (cls)'} set; "
            "the dataset decides the task"
        )


def prepare(settings: Settings) -> tuple[DataBundle, Loaded]:
    """Seed, load the dataset and the model, and apply a ``[quantize]`` table when one is given.

    Everything here only reads; all validation happens before an action writes anything.
    """
    if settings.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--accelerator {settings.accelerator}: no GPU is visible to torch here; use cpu or auto")
    check_task(settings)
    torch.set_num_threads(settings.threads)
    seed_everything(settings.seed)
    data = load_dataset(settings.dataset, settings.data_dir, settings.max_seq_len)
    loaded = load_model(
        settings.model,
        data,
        settings.load,
        settings.load_type,
        allow_pickle=settings.allow_pickle,
        pretrained=settings.pretrained,
    )
    if settings.quantize is not None:
        base = dequantize_model(loaded.model) if loaded.quant_config is not None else loaded.model
        table = settings.quantize
        if settings.quantize_from == "passes.quantize":
            table = match_node_names(table, quantizable_layers(base))
        config = QuantConfig.from_dict(table, where=settings.quantize_from)
        loaded = Loaded(quantize_model(base, config), config, loaded.source)
    return data, loaded


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (what Lightning's seed_everything does, without importing it)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def meta_of(settings: Settings, config: QuantConfig | None) -> dict[str, Any]:
    """Facts stored with a checkpoint or transformed model."""
    return {
        "model": settings.model,
        "dataset": settings.dataset,
        "quantize": None if config is None else config.to_dict(),
    }


def float_and_quantized(loaded: Loaded) -> tuple[nn.Module, nn.Module | None]:
    """The float twin and the quantized model (None when nothing is quantized)."""
    if loaded.quant_config is None:
        return loaded.model, None
    return dequantize_model(loaded.model), loaded.model


def run_test(settings: Settings) -> dict[str, Any]:
    """Evaluate on the test split: float and quantized metrics side by side."""
    data, loaded = prepare(settings)
    out = require_writable(software_dir(settings) / "test") / "results.json"
    fmodel, qmodel = float_and_quantized(loaded)
    quiet = settings.quiet
    fm = evaluate(fmodel, data.test, data.task, settings.batch_size, "test float", quiet=quiet)
    qm = None
    if qmodel is not None:
        qm = evaluate(qmodel, data.test, data.task, settings.batch_size, "test quantized", quiet=quiet)
    results = {
        "model": settings.model,
        "dataset": settings.dataset,
        "source": loaded.source,
        "samples": fm["samples"],
        "float": fm,
        "quantized": qm,
    }
    write_json(out, results)
    print_table(
        f"ch test {settings.model} {settings.dataset}",
        ["metric", "float", "quantized"],
        [
            ["accuracy", fm["acc"], None if qm is None else qm["acc"]],
            ["loss", fm["loss"], None if qm is None else qm["loss"]],
            ["samples", fm["samples"], None if qm is None else qm["samples"]],
        ],
    )
    print(f"model: {loaded.source}\nresults: {out}")
    return results


def run_transform(settings: Settings) -> dict[str, Any]:
    """Quantize the (loaded) model with the config's ``[quantize]`` table and save it."""
    if settings.quantize is None:
        raise ConfigError(
            "`ch transform` needs a [quantize] (or Machop [passes.quantize]) table in the --config toml "
            "(example: sw_frontend/configs/transform_mlp_digits_8bit.toml)"
        )
    _, loaded = prepare(settings)
    assert loaded.quant_config is not None
    out = require_writable(software_dir(settings) / "transform") / "transformed_model"
    save_quantized(loaded.model, loaded.quant_config, out, meta_of(settings, loaded.quant_config))
    float_model = dequantize_model(loaded.model)
    rows, kept = [], []
    for name, kind in quantizable_layers(float_model).items():
        if loaded.quant_config.keeps_float(name, kind):
            kept.append(name)
            rows.append([name, kind, "float", None, None, None])
            continue
        f = loaded.quant_config.formats_for(name, kind)
        rows.append([name, kind, f.data_in, f.weight, f.bias, f.data_out])
    print_table(
        f"ch transform {settings.model}: {len(rows) - len(kept)} of {len(rows)} layers quantized",
        ["layer", "type", "data_in", "weight", "bias", "data_out"],
        rows,
    )
    others = Counter(float_layers(float_model).values())
    if others:
        print("kept float (no quantized form): " + ", ".join(f"{n} {kind}" for kind, n in sorted(others.items())))
    print(f"transformed model: {out} (load with --load {out} --load-type pt)")
    return {"output": str(out), "layers": len(rows) - len(kept)}
