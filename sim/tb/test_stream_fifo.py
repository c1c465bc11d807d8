"""Bench of rtl/stream/stream_fifo.sv: every beat leaves unchanged and in order."""

from __future__ import annotations

from typing import Any

import pyuvm

from golden.components import passthrough
from sim.verif.bench import StreamTest
from sim.verif.ports import BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """The FIFO's ports; the model passes every beat through unchanged."""
    lanes, width = int(params["LANES"]), int(params["WIDTH"])
    port = PortSpec("data_in", lanes, width)
    return BenchSpec(
        inputs=[port],
        outputs=[PortSpec("data_out", lanes, width)],
        model=lambda g: {"data_out": passthrough(g["data_in"]).tolist()},
        extremes={"data_in": [port.lane_min, port.lane_max, 0, -1]},
    )


@pyuvm.test()
class StreamFifoTest(StreamTest):
    """Random beats under random input gaps and output stalls."""

    bench = staticmethod(bench)
