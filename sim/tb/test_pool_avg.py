"""Bench of rtl/pool/pool_avg.sv against golden.pool.avg_reduce: one window per group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyuvm

from golden.fixed import FixedType
from golden.pool import avg_reduce
from sim.tb.fixed_edges import range_edges
from sim.verif.bench import StreamTest
from sim.verif.in_range import lanes_draw, preimage
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """Input and output ports of CHANNELS lanes; the model averages each group of WINDOW beats."""
    p = {k: int(v) for k, v in params.items()}
    c, window, recip_frac = p["CHANNELS"], p["WINDOW"], p["RECIP_FRAC"]
    in_t = FixedType(p["IN_WIDTH"], p["IN_FRAC"], bool(p["IN_SIGNED"]))
    out_t = FixedType(p["OUT_WIDTH"], p["OUT_FRAC"], bool(p["OUT_SIGNED"]))

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        return {"data_out": avg_reduce(group["data_in"], window, in_t, out_t, recip_frac).tolist()}

    inputs = [PortSpec("data_in", c, in_t.width, in_t.signed)]
    # every beat inside the range whose mean does not saturate, so the mean is inside too
    fits = preimage(in_t.frac, out_t, in_t.min_int, in_t.max_int)
    return BenchSpec(
        inputs=inputs,
        outputs=[PortSpec("data_out", c, out_t.width, out_t.signed)],
        model=model,
        group_beats={"data_in": window},
        # range ends often: whole windows at the ends reach the sum's extremes and saturate
        extremes={"data_in": range_edges(in_t)},
        draw=lanes_draw(inputs, {"data_in": window}, {"data_in": [fits]}, {"data_in": range_edges(in_t)}),
    )


@pyuvm.test()
class PoolAvgTest(StreamTest):
    """Random windows under random gaps and stalls; every average against the golden one."""

    bench = staticmethod(bench)
