"""Bench of rtl/pool/pool_max.sv against golden.pool.max_reduce: one window per group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyuvm

from golden.pool import max_reduce
from sim.verif.bench import StreamTest
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    c, width, signed = int(params["CHANNELS"]), int(params["DATA_WIDTH"]), bool(params["SIGNED"])
    window = int(params["WINDOW"])
    port = PortSpec("data_in", c, width, signed)

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        return {"data_out": max_reduce(group["data_in"], window).tolist()}

    return BenchSpec(
        inputs=[port],
        outputs=[PortSpec("data_out", c, width, signed)],
        model=model,
        group_beats={"data_in": window},
        extremes={"data_in": [port.lane_min, port.lane_max, 0, -1, 1]},
    )


@pyuvm.test()
class PoolMaxTest(StreamTest):
    """Random windows under random gaps and stalls; every maximum against the golden one."""

    bench = staticmethod(bench)
