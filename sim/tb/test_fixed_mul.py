"""Bench of rtl/arith/fixed_mul.sv: every lane equals golden.elementwise.mul, bit for bit.

The two operand streams have independent random gaps, so the multiplier must pair beats by order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import pyuvm

from golden.elementwise import mul, mul_frac
from golden.fixed import FixedType
from sim.tb.fixed_edges import range_edges, requant_edges
from sim.verif.bench import StreamTest
from sim.verif.in_range import pick, preimage
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """Two signed operand ports and the output; the model is golden.elementwise.mul."""
    p = {k: int(v) for k, v in params.items()}
    lanes = p["LANES"]
    a_t = FixedType(p["A_WIDTH"], p["A_FRAC"])
    b_t = FixedType(p["B_WIDTH"], p["B_FRAC"])
    out_t = FixedType(p["OUT_WIDTH"], p["OUT_FRAC"], bool(p["OUT_SIGNED"]))
    product_t = FixedType(min(a_t.width + b_t.width, 32), mul_frac(a_t, b_t))

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        return {"data_out": mul(group["data_in_0"], a_t, group["data_in_1"], b_t, out_t).tolist()}

    def edges(t: FixedType) -> list[int]:
        """The operand's range ends, and the raw values that put the product on a rounding tie or
        a saturation threshold when the other operand is raw 1 or -1 (both are in the range ends)."""
        return sorted(set(range_edges(t)) | set(requant_edges(product_t, out_t)))

    lo, hi = preimage(mul_frac(a_t, b_t), out_t, -(1 << 200), 1 << 200)  # products that do not saturate

    a_edges, b_edges = edges(a_t), edges(b_t)

    def draw(rng: random.Random) -> dict[str, list[Beat]]:
        """Per lane, b over its whole range, then a such that a * b stays inside the output range."""
        a_lanes, b_lanes = [], []
        for _ in range(lanes):
            b = pick(rng, b_t.min_int, b_t.max_int, b_edges)
            if b == 0:
                a_lo, a_hi = a_t.min_int, a_t.max_int
            else:
                ends = sorted((Fraction(lo, b), Fraction(hi, b)))
                a_lo, a_hi = max(a_t.min_int, math.ceil(ends[0])), min(a_t.max_int, math.floor(ends[1]))
            a_lanes.append(pick(rng, a_lo, a_hi, a_edges))
            b_lanes.append(b)
        return {"data_in_0": [a_lanes], "data_in_1": [b_lanes]}

    return BenchSpec(
        inputs=[PortSpec("data_in_0", lanes, a_t.width), PortSpec("data_in_1", lanes, b_t.width)],
        outputs=[PortSpec("data_out", lanes, out_t.width, out_t.signed)],
        model=model,
        extremes={"data_in_0": edges(a_t), "data_in_1": edges(b_t)},
        draw=draw,
    )


@pyuvm.test()
class FixedMulTest(StreamTest):
    """Random and edge-value operands under independent input gaps and random output stalls."""

    bench = staticmethod(bench)
