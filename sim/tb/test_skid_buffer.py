"""Bench of rtl/stream/skid_buffer.sv: every beat leaves unchanged and in order."""

from __future__ import annotations

from typing import Any

import pyuvm

from golden.components import passthrough
from sim.verif.bench import StreamTest
from sim.verif.ports import BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    lanes, width = int(params["LANES"]), int(params["WIDTH"])
    return BenchSpec(
        inputs=[PortSpec("data_in", lanes, width)],
        outputs=[PortSpec("data_out", lanes, width)],
        model=lambda g: {"data_out": passthrough(g["data_in"]).tolist()},
    )


@pyuvm.test()
class SkidBufferTest(StreamTest):
    """Random beats under random input gaps and output stalls."""

    bench = staticmethod(bench)
