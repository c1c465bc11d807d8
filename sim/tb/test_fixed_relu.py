"""Bench of rtl/arith/fixed_relu.sv: every lane equals golden.components.relu, bit for bit."""

from __future__ import annotations

from typing import Any

import pyuvm

from golden.components import relu
from sim.tb.fixed_edges import requant_edges
from sim.tb.test_fixed_cast import formats
from sim.verif.bench import StreamTest
from sim.verif.in_range import lanes_draw, preimage
from sim.verif.ports import BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """Lane formats from the parameters; the model is golden.components.relu."""
    lanes = int(params["LANES"])
    in_t, out_t = formats(params)
    inputs = [PortSpec("data_in", lanes, in_t.width, in_t.signed)]
    # positive inputs below saturation, and as many negatives (ReLU makes them 0: not saturated)
    _, top = preimage(in_t.frac, out_t, in_t.min_int, in_t.max_int)
    fits = (max(in_t.min_int, -max(top, 1)), top)
    return BenchSpec(
        inputs=inputs,
        outputs=[PortSpec("data_out", lanes, out_t.width, out_t.signed)],
        model=lambda g: {"data_out": relu(g["data_in"], in_t, out_t).tolist()},
        extremes={"data_in": requant_edges(in_t, out_t)},
        draw=lanes_draw(inputs, {}, {"data_in": [fits]}, {"data_in": requant_edges(in_t, out_t)}),
    )


@pyuvm.test()
class FixedReluTest(StreamTest):
    """Random and edge-value lanes (negatives, ties, thresholds) under random gaps and stalls."""

    bench = staticmethod(bench)
