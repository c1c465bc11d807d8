"""The `ch train`, `ch test` and `ch transform` actions (``ch search`` is in sw_frontend/search/).

Output layout under ``mase_output/<project>/software/``:

- ``training_ckpts/best.ckpt``, ``last.ckpt``: Lightning checkpoints of ``ch train`` (best by
  validation accuracy); ``train_metrics.json``: its final metrics.
- ``tensorboard/version_N/``: TensorBoard logs of each training run.
- ``transform/transformed_model/``: the quantized model of ``ch transform`` (weights.pt,
  quantize.toml, meta.json), loadable with ``--load-type pt``.
- ``test/results.json``: float and quantized metrics of ``ch test``.

A run writes into hidden temporary folders and renames them into place at the end, so a failed
or interrupted run leaves the previous outputs intact and nothing half-written.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from common.atomic import replace_dir, temp_dir_beside
from common.errors import ConfigError
from quant.config import QuantConfig
from quant.transform import dequantize_model, quantizable_layers, quantize_model, save_quantized
from sw_frontend.checkpoints import Loaded, load_model
from sw_frontend.data import DataBundle, load_dataset
from sw_frontend.options import Settings
from sw_frontend.report import print_table, write_json
from sw_frontend.training import evaluate, loader


def software_dir(settings: Settings) -> Path:
    """``<output_root>/<project>/software``."""
    return settings.project_dir / "software"


def prepare(settings: Settings) -> tuple[DataBundle, Loaded]:
    """Seed, load the dataset and the model, and apply a ``[quantize]`` table when one is given.

    Everything here only reads; all validation happens before an action writes anything.
    """
    if settings.accelerator == "gpu" and not torch.cuda.is_available():
        raise ConfigError("--accelerator gpu: no GPU is visible to torch here; use cpu or auto")
    if settings.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {settings.threads}")
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
        config = QuantConfig.from_dict(settings.quantize)
        base = dequantize_model(loaded.model) if loaded.quant_config is not None else loaded.model
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


def _quiet_lightning() -> None:
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")


def _next_version(folder: Path) -> int:
    versions = [int(p.name.split("_")[1]) for p in folder.glob("version_*") if p.name.split("_")[1].isdigit()]
    return max(versions, default=-1) + 1


def run_train(settings: Settings) -> dict[str, Any]:
    """Train (QAT when the model is quantized); write checkpoints, logs and metrics."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
    from lightning.pytorch.loggers import TensorBoardLogger

    from sw_frontend.lightning_module import ChModule

    _quiet_lightning()
    data, loaded = prepare(settings)
    on_gpu = settings.accelerator == "gpu" or (settings.accelerator == "auto" and torch.cuda.is_available())
    if loaded.quant_config is not None and on_gpu:
        raise ConfigError(
            f"--accelerator {settings.accelerator}: quantized models train on the CPU only "
            "(their exact integer matmul uses int64, which GPUs do not multiply); use --accelerator cpu"
        )
    sw = software_dir(settings)
    tmp = temp_dir_beside(sw / "training_ckpts")
    try:
        version = _next_version(sw / "tensorboard")
        module = ChModule(
            loaded.model,
            data.task,
            settings.optimizer,
            settings.learning_rate,
            settings.weight_decay,
            meta_of(settings, loaded.quant_config),
        )
        ckpt = ModelCheckpoint(
            dirpath=tmp / "training_ckpts",
            filename="best",
            monitor="val_acc",
            mode="max",
            save_last=True,
            save_top_k=1,
            enable_version_counter=False,
            save_weights_only=True,
        )
        trainer = pl.Trainer(
            max_epochs=settings.max_epochs,
            accelerator=settings.accelerator,
            devices=1,
            deterministic=True,
            logger=TensorBoardLogger(save_dir=str(tmp), name="tensorboard", version=version),
            callbacks=[ckpt, TQDMProgressBar()],
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=1,
            default_root_dir=str(tmp),
        )
        trainer.fit(
            module,
            loader(data.train, settings.batch_size, True, settings.seed),
            loader(data.val, settings.batch_size, False, 0),
        )
        best = torch.load(ckpt.best_model_path, map_location="cpu", weights_only=True)
        module.cpu().load_state_dict(best["state_dict"])  # evaluation runs on the CPU
        val = evaluate(module.model, data.val, data.task, settings.batch_size, "validate best")
        test = evaluate(module.model, data.test, data.task, settings.batch_size, "test best")
        metrics = {
            "epochs": trainer.current_epoch,
            "best_val_acc": val["acc"],
            "val_loss": val["loss"],
            "test_acc": test["acc"],
            "test_loss": test["loss"],
            "quantized": loaded.quant_config is not None,
            "seed": settings.seed,
        }
        write_json(tmp / "training_ckpts" / "metrics.json", metrics)
        (sw / "tensorboard").mkdir(parents=True, exist_ok=True)
        os.replace(tmp / "tensorboard" / f"version_{version}", sw / "tensorboard" / f"version_{version}")
        replace_dir(tmp / "training_ckpts", sw / "training_ckpts")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(
        f"ch train {settings.model} {settings.dataset}",
        ["metric", "value"],
        [
            ["model", settings.model + (" (quantized, QAT)" if metrics["quantized"] else "")],
            ["epochs", metrics["epochs"]],
            ["best val acc", metrics["best_val_acc"]],
            ["test acc (best ckpt)", metrics["test_acc"]],
            ["best checkpoint", sw / "training_ckpts" / "best.ckpt"],
            ["last checkpoint", sw / "training_ckpts" / "last.ckpt"],
            ["tensorboard", sw / "tensorboard" / f"version_{version}"],
        ],
    )
    return metrics


def float_and_quantized(loaded: Loaded) -> tuple[nn.Module, nn.Module | None]:
    """The float twin and the quantized model (None when nothing is quantized)."""
    if loaded.quant_config is None:
        return loaded.model, None
    return dequantize_model(loaded.model), loaded.model


def run_test(settings: Settings) -> dict[str, Any]:
    """Evaluate on the test split: float and quantized metrics side by side."""
    data, loaded = prepare(settings)
    fmodel, qmodel = float_and_quantized(loaded)
    fm = evaluate(fmodel, data.test, data.task, settings.batch_size, "test float")
    qm = None if qmodel is None else evaluate(qmodel, data.test, data.task, settings.batch_size, "test quantized")
    results = {
        "model": settings.model,
        "dataset": settings.dataset,
        "source": loaded.source,
        "samples": fm["samples"],
        "float": fm,
        "quantized": qm,
    }
    out = write_json(software_dir(settings) / "test" / "results.json", results)
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
            "`ch transform` needs a [quantize] table in the --config toml "
            "(example: sw_frontend/configs/transform_mlp_digits_8bit.toml)"
        )
    _, loaded = prepare(settings)
    assert loaded.quant_config is not None
    out = software_dir(settings) / "transform" / "transformed_model"
    save_quantized(loaded.model, loaded.quant_config, out, meta_of(settings, loaded.quant_config))
    float_model = dequantize_model(loaded.model)
    rows = []
    for name, kind in quantizable_layers(float_model).items():
        f = loaded.quant_config.formats_for(name, kind)
        rows.append([name, kind, f.data_in, f.weight, f.bias, f.data_out])
    print_table(
        f"ch transform {settings.model}: {len(rows)} layers quantized",
        ["layer", "type", "data_in", "weight", "bias", "data_out"],
        rows,
    )
    print(f"transformed model: {out} (load with --load {out} --load-type pt)")
    return {"output": str(out), "layers": len(rows)}
