"""Bench of rtl/arith/fixed_cast.sv: every lane equals golden.components.cast, bit for bit."""

from __future__ import annotations

from typing import Any

import pyuvm

from golden.components import cast
from golden.fixed import FixedType
from sim.tb.fixed_edges import requant_edges
from sim.verif.bench import StreamTest
from sim.verif.in_range import lanes_draw, preimage
from sim.verif.ports import BenchSpec, PortSpec


def formats(params: dict[str, Any]) -> tuple[FixedType, FixedType]:
    """Input and output lane formats of a fixed_cast / fixed_relu parameter set."""
    in_t = FixedType(int(params["IN_WIDTH"]), int(params["IN_FRAC"]), bool(int(params["IN_SIGNED"])))
    out_t = FixedType(int(params["OUT_WIDTH"]), int(params["OUT_FRAC"]), bool(int(params["OUT_SIGNED"])))
    return in_t, out_t


def bench(params: dict[str, Any]) -> BenchSpec:
    """Lane formats from the parameters; the model is golden.components.cast."""
    lanes = int(params["LANES"])
    in_t, out_t = formats(params)
    inputs = [PortSpec("data_in", lanes, in_t.width, in_t.signed)]
    fits = preimage(in_t.frac, out_t, in_t.min_int, in_t.max_int)  # inputs that do not saturate
    extremes = {"data_in": requant_edges(in_t, out_t)}
    return BenchSpec(
        inputs=inputs,
        outputs=[PortSpec("data_out", lanes, out_t.width, out_t.signed)],
        model=lambda g: {"data_out": cast(g["data_in"], in_t, out_t).tolist()},
        extremes=extremes,
        draw=lanes_draw(inputs, {}, {"data_in": [fits]}, extremes),
    )


@pyuvm.test()
class FixedCastTest(StreamTest):
    """Random and edge-value lanes under random input gaps and output stalls."""

    bench = staticmethod(bench)
