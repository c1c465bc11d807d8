"""Bench of rtl/stream/stream_fork.sv: each of the N consumers receives every beat once, in order.

The consumers share the data signal ``data_out`` and each owns one bit of ``data_out_valid`` /
``data_out_ready``; each has its own random back-pressure, so they take a beat in different cycles.
"""

from __future__ import annotations

from typing import Any

import pyuvm

from golden.components import passthrough
from sim.verif.bench import StreamTest
from sim.verif.ports import BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """One input port, N output ports sharing data_out; each output expects every beat."""
    lanes, width, n = int(params["LANES"]), int(params["WIDTH"]), int(params["N"])
    port = PortSpec("data_in", lanes, width)
    outputs = [
        PortSpec(f"data_out_{i}", lanes, width, data="data_out", valid="data_out_valid", ready="data_out_ready", bit=i)
        for i in range(n)
    ]
    return BenchSpec(
        inputs=[port],
        outputs=outputs,
        model=lambda g: {p.name: passthrough(g["data_in"]).tolist() for p in outputs},
        extremes={"data_in": [port.lane_min, port.lane_max, 0, -1]},
    )


@pyuvm.test()
class StreamForkTest(StreamTest):
    """Random beats under random input gaps and independent stalls on every consumer."""

    bench = staticmethod(bench)
