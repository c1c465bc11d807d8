"""Fixed-point arithmetic on streams: requantizer, cast, ReLU, element-wise add and multiply (rtl/arith/).

Golden functions: ``golden.components`` (cast, relu, add) and ``golden.elementwise`` (mul).
"""

from __future__ import annotations

from typing import Any

from golden import components as gc
from golden.fixed import IntArray
from mapper.components.base import (
    BenchTiming,
    Component,
    Elementwise,
    Fold,
    Mutant,
    Resources,
    in_format,
    out_format,
    register,
)
from mapper.graph import Node

#: One-beat groups at one beat per cycle, one cycle through the output register.
STREAMING = BenchTiming(interval=1, latency=1, in_spacing=1, out_spacing=1)


@register
class FixedRequant(Component):
    name = "fixed_requant"
    kind = "arith"
    summary = "combinational round half up + saturate"
    defaults = {"IN_WIDTH": 16, "IN_FRAC": 8, "IN_SIGNED": 1, "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 1}
    mutants = (
        Mutant(
            "truncate",
            "((extended <<< LSHIFT) + HALF) >>> RSHIFT",
            "(extended <<< LSHIFT) >>> RSHIFT",
            caught_by=(("fixed_cast", 0), ("fixed_add", 1), ("fixed_affine", 0), ("pool_avg", 1), ("fixed_mul", 0)),
        ),
        # differs from the real rounding only on exact ties: the edge values must hit them
        Mutant(
            "round_half_down",
            "+ HALF) >>> RSHIFT",
            "+ HALF - WIDE'(RSHIFT > 0 ? 1 : 0)) >>> RSHIFT",
            caught_by=(("fixed_cast", 0), ("fixed_add", 1), ("fixed_affine", 0), ("pool_avg", 1), ("fixed_mul", 0)),
        ),
        Mutant(
            "wrap_high",
            "if (rounded > OUT_MAX) data_out = OUT_MAX[OUT_WIDTH-1:0];",
            "if (rounded > OUT_MAX) data_out = rounded[OUT_WIDTH-1:0];",
            caught_by=(("fixed_cast", 0), ("fixed_add", 1)),
        ),
    )


class _Requantizing(Elementwise):
    """cast and ReLU: per lane a requantizer (and a max with 0), then a skid buffer."""

    depends = ("fixed_requant", "skid_buffer")
    timed_sweeps = (1,)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return STREAMING

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        i, o = in_format(node), out_format(node)
        return {
            "LANES": fold.in_lanes,
            "IN_WIDTH": i.width,
            "IN_FRAC": i.frac,
            "IN_SIGNED": bool(i.signed),
            "OUT_WIDTH": o.width,
            "OUT_FRAC": o.frac,
            "OUT_SIGNED": bool(o.signed),
        }

    def resources(self, node: Node, fold: Fold) -> Resources:
        i, o = in_format(node), out_format(node)
        # requantizer (compare and clamp) plus the skid buffer's output multiplexer, per lane
        lut = fold.in_lanes * ((i.width + o.width) // 2 + o.width)
        return Resources(lut=lut, ff=2 * fold.in_lanes * o.width + 3)


@register
class FixedCast(_Requantizing):
    name = "fixed_cast"
    kind = "arith"
    summary = "streaming requantize"
    ops = ("cast",)
    bench = "sim.tb.test_fixed_cast"
    defaults = {
        "LANES": 1,
        "IN_WIDTH": 16,
        "IN_FRAC": 8,
        "IN_SIGNED": 1,
        "OUT_WIDTH": 8,
        "OUT_FRAC": 4,
        "OUT_SIGNED": 1,
    }
    sweeps = (
        # narrow, drops 2 bits, saturates most of the range
        {"LANES": 1, "IN_WIDTH": 4, "IN_FRAC": 2, "IN_SIGNED": 1, "OUT_WIDTH": 2, "OUT_FRAC": 0, "OUT_SIGNED": 1},
        # wide, 16 lanes, drops 17 bits, heavy saturation, signed to unsigned (negatives -> 0)
        {"LANES": 16, "IN_WIDTH": 32, "IN_FRAC": 20, "IN_SIGNED": 1, "OUT_WIDTH": 8, "OUT_FRAC": 3, "OUT_SIGNED": 0},
        # unsigned to signed, appends 4 fraction bits (negative shift)
        {"LANES": 4, "IN_WIDTH": 8, "IN_FRAC": 2, "IN_SIGNED": 0, "OUT_WIDTH": 12, "OUT_FRAC": 6, "OUT_SIGNED": 1},
    )

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return gc.cast(x, in_format(node), out_format(node))


@register
class FixedRelu(_Requantizing):
    name = "fixed_relu"
    kind = "arith"
    summary = "ReLU then requantize (unsigned output allowed)"
    depends = ("fixed_cast",)
    ops = ("relu",)
    bench = "sim.tb.test_fixed_relu"
    defaults = {
        "LANES": 1,
        "IN_WIDTH": 16,
        "IN_FRAC": 8,
        "IN_SIGNED": 1,
        "OUT_WIDTH": 8,
        "OUT_FRAC": 4,
        "OUT_SIGNED": 0,
    }
    sweeps = (
        # narrow: a 1-bit unsigned output with a negative fraction (one lsb = 2)
        {"LANES": 1, "IN_WIDTH": 3, "IN_FRAC": 1, "IN_SIGNED": 1, "OUT_WIDTH": 1, "OUT_FRAC": -1, "OUT_SIGNED": 0},
        # wide, 16 lanes, drops 12 bits, heavy saturation, unsigned output
        {"LANES": 16, "IN_WIDTH": 32, "IN_FRAC": 16, "IN_SIGNED": 1, "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 0},
        # signed output, appends 6 fraction bits (negative shift)
        {"LANES": 4, "IN_WIDTH": 8, "IN_FRAC": 4, "IN_SIGNED": 1, "OUT_WIDTH": 16, "OUT_FRAC": 10, "OUT_SIGNED": 1},
    )

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return gc.relu(x, in_format(node), out_format(node))


@register
class FixedAdd(Elementwise):
    name = "fixed_add"
    kind = "arith"
    summary = "element-wise add of two streams, formats aligned"
    depends = ("fixed_requant", "skid_buffer", "stream_join")
    ops = ("add",)
    bench = "sim.tb.test_fixed_add"
    defaults = {"LANES": 1, "A_WIDTH": 8, "A_FRAC": 4, "B_WIDTH": 8, "B_FRAC": 4, "OUT_WIDTH": 8, "OUT_FRAC": 4}
    sweeps = (
        # narrow: drops 1 bit, saturates often
        {"LANES": 1, "A_WIDTH": 3, "A_FRAC": 1, "B_WIDTH": 2, "B_FRAC": 0, "OUT_WIDTH": 2, "OUT_FRAC": 0},
        # wide, 16 lanes, b aligned by 12 bits, drops 14 bits, heavy saturation
        {"LANES": 16, "A_WIDTH": 32, "A_FRAC": 16, "B_WIDTH": 24, "B_FRAC": 4, "OUT_WIDTH": 8, "OUT_FRAC": 2},
        # negative input fraction (a aligned by 8 bits), output finer than both (negative shift),
        # never saturates
        {"LANES": 3, "A_WIDTH": 16, "A_FRAC": -2, "B_WIDTH": 4, "B_FRAC": 6, "OUT_WIDTH": 27, "OUT_FRAC": 8},
    )
    timed_sweeps = (1,)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return STREAMING

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        a, b, o = node.input_format(0), node.input_format(1), out_format(node)
        return {
            "LANES": fold.in_lanes,
            "A_WIDTH": a.width,
            "A_FRAC": a.frac,
            "B_WIDTH": b.width,
            "B_FRAC": b.frac,
            "OUT_WIDTH": o.width,
            "OUT_FRAC": o.frac,
        }

    def golden(self, node: Node, a: IntArray, b: IntArray) -> IntArray:  # type: ignore[override]
        return gc.add(a, node.input_format(0), b, node.input_format(1), out_format(node))

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Per lane the aligned adder and the requantizer (LUTs), the join and the skid buffer's two
        output registers (FFs); not calibrated on synthesis yet."""
        a, b, o = node.input_format(0), node.input_format(1), out_format(node)
        frac = max(a.frac, b.frac)
        total = max(a.width + frac - a.frac, b.width + frac - b.frac) + 1
        return Resources(lut=fold.in_lanes * (total + o.width), ff=2 * fold.in_lanes * o.width + 3)


@register
class FixedMul(Component):
    name = "fixed_mul"
    kind = "arith"
    summary = "element-wise product of two streams (gating, attention), exact product then one requantization"
    depends = ("fixed_requant", "skid_buffer", "stream_join")
    bench = "sim.tb.test_fixed_mul"
    defaults = {
        "LANES": 1,
        "A_WIDTH": 8,
        "A_FRAC": 4,
        "B_WIDTH": 8,
        "B_FRAC": 4,
        "OUT_WIDTH": 8,
        "OUT_FRAC": 4,
        "OUT_SIGNED": 1,
    }
    sweeps = (
        # narrow: drops 1 bit (ties on every odd product), saturates often
        {"LANES": 1, "A_WIDTH": 3, "A_FRAC": 1, "B_WIDTH": 2, "B_FRAC": 0, "OUT_WIDTH": 2, "OUT_FRAC": 0},
        # wide, 16 lanes, 32 x 16 bits, drops 20 bits, heavy saturation, unsigned output
        {
            "LANES": 16,
            "A_WIDTH": 32,
            "A_FRAC": 16,
            "B_WIDTH": 16,
            "B_FRAC": 8,
            "OUT_WIDTH": 8,
            "OUT_FRAC": 4,
            "OUT_SIGNED": 0,
        },
        # negative input fraction, output finer than the product (zeros appended), never saturates
        {"LANES": 3, "A_WIDTH": 8, "A_FRAC": -2, "B_WIDTH": 6, "B_FRAC": 5, "OUT_WIDTH": 16, "OUT_FRAC": 6},
    )
    timed_sweeps = (1,)
    mutants = (
        # every lane multiplies by lane 0 of the second operand
        Mutant(
            "mul_lane0_operand", "joined[1][i][B_WIDTH-1:0]", "joined[1][0][B_WIDTH-1:0]", caught_by=(("fixed_mul", 1),)
        ),
    )

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return STREAMING
