"""Bench of rtl/stream/stream_resize.sv: the element order survives a change of lanes per beat.

A group is the smallest whole number of beats on both sides: max(IN_LANES, OUT_LANES) elements,
that is OUT_LANES / IN_LANES input beats (gather) or one input beat (split).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyuvm

from golden.components import passthrough
from sim.verif.bench import StreamTest
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """Input and output ports of the resizer; a group holds max(IN_LANES, OUT_LANES) elements."""
    in_lanes, out_lanes = int(params["IN_LANES"]), int(params["OUT_LANES"])
    width = int(params["WIDTH"])
    elements = max(in_lanes, out_lanes)
    port = PortSpec("data_in", in_lanes, width)

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        flat = passthrough(group["data_in"]).reshape(-1)  # element order: beat by beat, lane 0 first
        return {"data_out": flat.reshape(elements // out_lanes, out_lanes).tolist()}

    return BenchSpec(
        inputs=[port],
        outputs=[PortSpec("data_out", out_lanes, width)],
        model=model,
        group_beats={"data_in": elements // in_lanes},
        extremes={"data_in": [port.lane_min, port.lane_max, 0, -1]},
    )


@pyuvm.test()
class StreamResizeTest(StreamTest):
    """Random beats under random input gaps and output stalls."""

    bench = staticmethod(bench)
