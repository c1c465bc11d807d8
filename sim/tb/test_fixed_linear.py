"""Bench of rtl/linear/fixed_linear.sv against golden.components.linear.

The weights and bias behind the memory images arrive in the run's context (the descriptor's
``prepare`` writes both from one random draw), so the golden model uses the true values, not a re-read of the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.components import linear
from sim.tb.layer_params import layer_constants, layer_formats
from sim.verif.bench import StreamTest
from sim.verif.in_range import amplitude_draw, wide_parameters
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any], *, in_range: bool = True) -> BenchSpec:
    """Vector in, outputs out; with ``in_range``, vectors drawn so that most outputs do not
    saturate (judged by this bench's model with a 32-bit output)."""
    p = {k: v for k, v in params.items() if not isinstance(v, str)}
    in_t, w_t, b_t, out_t = layer_formats(p)
    w, b = layer_constants(p)
    steps = p["IN_FEATURES"] // p["IN_PAR"]
    out_par = p["OUT_PAR"]

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        x = np.array(group["data_in"], dtype=np.int64).reshape(-1)
        y = linear(x, w, b, in_t, w_t, b_t, out_t)
        return {"data_out": y.reshape(-1, out_par).tolist()}

    lo, hi = in_t.min_int, in_t.max_int
    inputs = [PortSpec("data_in", p["IN_PAR"], p["IN_WIDTH"], bool(p["IN_SIGNED"]))]
    outputs = [PortSpec("data_out", out_par, p["OUT_WIDTH"], bool(p["OUT_SIGNED"]))]
    draw = None
    if in_range:
        wide = bench(wide_parameters(params), in_range=False)
        draw = amplitude_draw(inputs, {"data_in": steps}, wide.model, outputs, extremes={"data_in": [lo, hi, 0, 1, -1]})
    return BenchSpec(
        inputs=inputs,
        outputs=outputs,
        model=model,
        group_beats={"data_in": steps},
        extremes={"data_in": [lo, hi, 0, 1, -1]},
        draw=draw,
    )


@pyuvm.test()
class FixedLinearTest(StreamTest):
    """Random vectors under random gaps and stalls; every output integer against the golden layer."""

    bench = staticmethod(bench)
