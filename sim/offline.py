"""A component bench's description (its ``BenchSpec``: ports, golden model, stimulus hints)
outside a cocotb simulation: for the SystemVerilog harness and for tests that examine stimulus.

A bench's ``bench(params)`` may read the run's context (the weights behind a memory image) from
the configuration file named by ``CH_TB_CONFIG``; :func:`bench_of` writes that file for the
duration of the call (``mapper.components.Component.bench_spec`` does it for a descriptor).
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from collections.abc import Mapping
from typing import Any

from sim.verif.bench import CONFIG_ENV
from sim.verif.ports import BenchSpec


def bench_of(
    tb_module: str, params: Mapping[str, Any], context: Mapping[str, Any] | None = None, **options: Any
) -> BenchSpec:
    """``<tb_module>.bench(params, **options)`` with ``context`` as the run's context."""
    module = importlib.import_module(tb_module)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "config.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"parameters": dict(params), "context": dict(context or {})}, f)
        old = os.environ.get(CONFIG_ENV)
        os.environ[CONFIG_ENV] = path
        try:
            return module.bench(dict(params), **options)
        finally:
            if old is None:
                del os.environ[CONFIG_ENV]
            else:
                os.environ[CONFIG_ENV] = old
