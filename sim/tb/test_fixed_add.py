"""Bench of rtl/arith/fixed_add.sv: every lane equals golden.components.add, bit for bit.

The two operand streams have independent random gaps, so the adder must pair beats by order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyuvm

from golden.components import add, add_frac
from golden.fixed import FixedType
from sim.tb.fixed_edges import range_edges, requant_edges
from sim.verif.bench import StreamTest
from sim.verif.in_range import lanes_draw, preimage, scaled
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """Two signed operand ports and the output; the model is golden.components.add."""
    lanes = int(params["LANES"])
    a_t = FixedType(int(params["A_WIDTH"]), int(params["A_FRAC"]))
    b_t = FixedType(int(params["B_WIDTH"]), int(params["B_FRAC"]))
    out_t = FixedType(int(params["OUT_WIDTH"]), int(params["OUT_FRAC"]))
    frac = add_frac(a_t, b_t)

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        return {"data_out": add(group["data_in_0"], a_t, group["data_in_1"], b_t, out_t).tolist()}

    def edges(t: FixedType) -> list[int]:
        """The operand's range ends, and the operand values that put the sum on a rounding tie
        or a saturation threshold when the other operand is 0 (in the operand's own scale)."""
        shift = frac - t.frac
        sum_edges = requant_edges(FixedType(32, frac), out_t)
        return sorted(set(range_edges(t)) | {v >> shift for v in sum_edges if v % (1 << shift) == 0})

    # sums that do not saturate, half of the range from each operand
    lo, hi = preimage(frac, out_t, -(1 << 200), 1 << 200)
    half = (-((-lo) // 2), hi // 2)
    inputs = [PortSpec("data_in_0", lanes, a_t.width), PortSpec("data_in_1", lanes, b_t.width)]
    return BenchSpec(
        inputs=inputs,
        outputs=[PortSpec("data_out", lanes, out_t.width)],
        model=model,
        extremes={"data_in_0": edges(a_t), "data_in_1": edges(b_t)},
        draw=lanes_draw(
            inputs,
            {},
            {"data_in_0": [scaled(*half, frac - a_t.frac)], "data_in_1": [scaled(*half, frac - b_t.frac)]},
            {"data_in_0": edges(a_t), "data_in_1": edges(b_t)},
        ),
    )


@pyuvm.test()
class FixedAddTest(StreamTest):
    """Random and edge-value operands under independent input gaps and random output stalls."""

    bench = staticmethod(bench)
