"""Bench of rtl/stream/stream_join.sv: each output beat is one beat of every input, side by side.

The N inputs share the packed data signal ``data_in`` (input i at bit ``i * LANES * WIDTH``) and
each owns one bit of ``data_in_valid`` / ``data_in_ready``; each has its own random gaps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyuvm

from golden.components import passthrough
from sim.verif.bench import StreamTest
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """N input ports, slices of the shared data_in; one output beat per group of N beats."""
    lanes, width, n = int(params["LANES"]), int(params["WIDTH"]), int(params["N"])
    inputs = [
        PortSpec(
            f"data_in_{i}",
            lanes,
            width,
            data="data_in",
            valid="data_in_valid",
            ready="data_in_ready",
            bit=i,
            data_offset=i * lanes * width,
        )
        for i in range(n)
    ]

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        # one beat per input; the output beat lists input 0's lanes first
        joined = [lane for p in inputs for lane in passthrough(group[p.name][0]).tolist()]
        return {"data_out": [joined]}

    edges = [inputs[0].lane_min, inputs[0].lane_max, 0, -1]
    return BenchSpec(
        inputs=inputs,
        outputs=[PortSpec("data_out", n * lanes, width)],
        model=model,
        extremes={p.name: edges for p in inputs},
    )


@pyuvm.test()
class StreamJoinTest(StreamTest):
    """Random beats under independent random gaps on every input and random output stalls."""

    bench = staticmethod(bench)
