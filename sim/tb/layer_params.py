"""Formats and constants of the layer benches (fixed_linear, fixed_conv2d) from their parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from golden.fixed import FixedType
from sim.verif.bench import load_run_config


def layer_formats(p: dict[str, Any]) -> tuple[FixedType, FixedType, FixedType | None, FixedType]:
    """(input, weight, bias or None, output) formats of a layer parameter set."""
    in_t = FixedType(int(p["IN_WIDTH"]), int(p["IN_FRAC"]), bool(int(p["IN_SIGNED"])))
    w_t = FixedType(int(p["W_WIDTH"]), int(p["W_FRAC"]))
    b_t = FixedType(int(p["B_WIDTH"]), int(p["B_FRAC"])) if int(p["HAS_BIAS"]) else None
    out_t = FixedType(int(p["OUT_WIDTH"]), int(p["OUT_FRAC"]), bool(int(p["OUT_SIGNED"])))
    return in_t, w_t, b_t, out_t


def layer_constants(p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """The raw weights and bias behind the run's memory images (from the run's context)."""
    context = load_run_config()["context"]
    w = np.array(context["weights"], dtype=np.int64)
    b = np.array(context["bias"], dtype=np.int64) if int(p["HAS_BIAS"]) else None
    return w, b
