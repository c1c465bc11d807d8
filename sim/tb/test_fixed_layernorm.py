"""Bench of rtl/attn/fixed_layernorm.sv against golden.attention.layernorm.

A group is one row of N channels. gamma and beta behind the memory images come from the run's
context (the descriptor's ``prepare`` writes both from one random draw).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.attention import layernorm
from golden.fixed import FixedType
from sim.tb.fixed_edges import range_edges
from sim.verif.bench import StreamTest, load_run_config
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any], *, in_range: bool = True) -> BenchSpec:
    """One row in, its normalized channels out. A layer norm's outputs do not depend on the
    input's amplitude, only on gamma and beta, so ``in_range`` changes nothing."""
    p = {k: int(v) for k, v in params.items() if not isinstance(v, str)}
    in_t = FixedType(p["IN_WIDTH"], p["IN_FRAC"])
    g_t, b_t = FixedType(p["G_WIDTH"], p["G_FRAC"]), FixedType(p["B_WIDTH"], p["B_FRAC"])
    out_t = FixedType(p["OUT_WIDTH"], p["OUT_FRAC"], bool(p["OUT_SIGNED"]))
    ctx = load_run_config()["context"]
    gamma, beta = np.array(ctx["gamma"], dtype=np.int64), np.array(ctx["beta"], dtype=np.int64)
    lanes = p["LANES"]
    eps_int = (p["EPS_HI"] << 31) + p["EPS_LO"]

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        x = np.array(group["data_in"], dtype=np.int64).reshape(1, -1)
        y = layernorm(x, in_t, gamma, g_t, beta, b_t, out_t, eps_int, p["RS"], p["Z"])
        return {"data_out": y.reshape(-1, lanes).tolist()}

    return BenchSpec(
        inputs=[PortSpec("data_in", lanes, in_t.width)],
        outputs=[PortSpec("data_out", lanes, out_t.width, out_t.signed)],
        model=model,
        group_beats={"data_in": p["N"] // lanes},
        extremes={"data_in": range_edges(in_t)},
    )


@pyuvm.test()
class FixedLayernormTest(StreamTest):
    """Random and corner rows (constant rows: zero variance) under gaps and stalls."""

    bench = staticmethod(bench)
