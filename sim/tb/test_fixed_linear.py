"""Bench of rtl/linear/fixed_linear.sv against golden.components.linear.

The weights and bias behind the memory images arrive in the run's context (sim.catalogue writes
both from one random draw), so the golden model uses the true values, not a re-read of the files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.components import linear
from golden.fixed import FixedType
from sim.verif.bench import StreamTest, load_run_config
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    p = {k: v for k, v in params.items() if not isinstance(v, str)}
    context = load_run_config()["context"]
    in_t = FixedType(p["IN_WIDTH"], p["IN_FRAC"], bool(p["IN_SIGNED"]))
    w_t = FixedType(p["W_WIDTH"], p["W_FRAC"])
    b_t = FixedType(p["B_WIDTH"], p["B_FRAC"]) if p["HAS_BIAS"] else None
    out_t = FixedType(p["OUT_WIDTH"], p["OUT_FRAC"], bool(p["OUT_SIGNED"]))
    w = np.array(context["weights"], dtype=np.int64)
    b = np.array(context["bias"], dtype=np.int64) if p["HAS_BIAS"] else None
    steps = p["IN_FEATURES"] // p["IN_PAR"]
    out_par = p["OUT_PAR"]

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        x = np.array(group["data_in"], dtype=np.int64).reshape(-1)
        y = linear(x, w, b, in_t, w_t, b_t, out_t)
        return {"data_out": y.reshape(-1, out_par).tolist()}

    lo, hi = in_t.min_int, in_t.max_int
    return BenchSpec(
        inputs=[PortSpec("data_in", p["IN_PAR"], p["IN_WIDTH"], bool(p["IN_SIGNED"]))],
        outputs=[PortSpec("data_out", out_par, p["OUT_WIDTH"], bool(p["OUT_SIGNED"]))],
        model=model,
        group_beats={"data_in": steps},
        extremes={"data_in": [lo, hi, 0, 1, -1]},
    )


@pyuvm.test()
class FixedLinearTest(StreamTest):
    """Random vectors under random gaps and stalls; every output integer against the golden layer."""

    bench = staticmethod(bench)
