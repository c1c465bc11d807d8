"""Fixed-point arithmetic on streams: requantizer, cast, ReLU, element-wise add and multiply (rtl/arith/).

Golden functions: ``golden.components`` (cast, relu, add) and ``golden.elementwise`` (mul).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from golden import components as gc
from golden.fixed import IntArray
from mapper.components.base import (
    BenchTiming,
    Component,
    Elastic,
    Elementwise,
    Fold,
    Mutant,
    in_format,
    out_format,
    register,
)
from mapper.components.resource_model import Terms
from mapper.graph import Node


def streaming(latency: int) -> BenchTiming:
    """One-beat groups at one beat per cycle, ``latency`` cycles from input to output."""
    return BenchTiming(interval=1, latency=latency, in_spacing=1, out_spacing=1)


@register
class FixedRequantReg(Component):
    name = "fixed_requant_reg"
    kind = "arith"
    summary = "registered round half up + saturate: range flags before the register, one LUT after"
    defaults = {"IN_WIDTH": 16, "IN_FRAC": 8, "IN_SIGNED": 1, "OUT_WIDTH": 8, "OUT_FRAC": 4, "OUT_SIGNED": 1}
    mutants = (
        Mutant(
            "truncate",
            "OUT_WIDTH'((wide + HALF) >>> RSHIFT)",
            "OUT_WIDTH'(wide >>> RSHIFT)",
            caught_by=(("fixed_cast", 0), ("fixed_add", 1), ("fixed_affine", 0), ("pool_avg", 1), ("fixed_mul", 0)),
        ),
        # differs from the real rounding only on exact ties: the edge values must hit them
        Mutant(
            "round_half_down",
            "+ HALF) >>> RSHIFT",
            "+ HALF - TW'(RSHIFT > 0 ? 1 : 0)) >>> RSHIFT",
            caught_by=(("fixed_cast", 0), ("fixed_add", 1), ("fixed_affine", 0), ("pool_avg", 1), ("fixed_mul", 0)),
        ),
        Mutant(
            "wrap_high",
            "assign data_out = over_q ? OUT_MAX[OUT_WIDTH-1:0]",
            "assign data_out = over_q ? low_q",
            caught_by=(("fixed_cast", 0), ("fixed_add", 1)),
        ),
    )


@register
class AddTree(Component):
    name = "add_tree"
    kind = "arith"
    summary = "pipelined exact sum of N numbers, one register per adder level"
    defaults = {"N": 4, "IN_WIDTH": 16, "IN_SIGNED": 1, "OUT_WIDTH": 18}

    @staticmethod
    def levels(n: int) -> int:
        """Register levels (= cycles of latency) of an ``n``-input tree: ceil(log2 n)."""
        return math.ceil(math.log2(n)) if n > 1 else 0


@register
class MultPipe(Component):
    name = "mult_pipe"
    kind = "arith"
    summary = "pipelined exact signed product from 18 x 18 multipliers"
    depends = ("add_tree",)
    defaults = {"A_WIDTH": 8, "B_WIDTH": 8, "IN_REG": 1, "OUT_REG": 0}

    @staticmethod
    def limbs(width: int) -> int:
        """18 x 18 pieces of a signed ``width``-bit operand: 1 up to 18 bits, then one per 17 more."""
        return 1 if width <= 18 else 1 + math.ceil((width - 18) / 17)

    @staticmethod
    def sum_levels(a_width: int, b_width: int) -> int:
        """Adder levels after the partial products: ceil(log2(limbs(a) * limbs(b)))."""
        return AddTree.levels(MultPipe.limbs(a_width) * MultPipe.limbs(b_width))

    @staticmethod
    def latency(a_width: int, b_width: int, in_reg: bool, out_reg: bool) -> int:
        """Cycles from operands to product: IN_REG + 1 + OUT_REG + the partial products' sum levels."""
        return int(in_reg) + 1 + int(out_reg) + MultPipe.sum_levels(a_width, b_width)


def requant_lut(lanes: int, in_width: int, in_frac: int, out_width: int, out_frac: int) -> dict[str, float]:
    """LUT terms of ``lanes`` fixed_requant_reg instances: the rounding adder over the bits kept
    when the fraction shrinks (``round``), the range check over the kept bits above the output
    (``saturate``) and the clamp multiplexer over the output bits (``out``)."""
    shift = in_frac - out_frac
    kept = in_width - max(shift, 0)
    return {
        "round": lanes * kept if shift > 0 else 0,
        "saturate": lanes * max(0, kept - out_width),
        "out": lanes * out_width,
    }


class _Requantizing(Elementwise):
    """cast and ReLU: per lane a registered requantizer (and a max with 0), then a skid buffer."""

    depends = ("fixed_requant_reg", "pipe_ctrl", "skid_buffer")
    timed_sweeps = (1,)
    fmax_sweep = 1
    #: The requantizer's register, then the skid buffer.
    LATENCY = 2

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return streaming(self.LATENCY)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return [t + self.LATENCY for t in times]

    def elastic(self, node: Node, fold: Fold) -> Elastic:
        """Three beats: pipe_ctrl moves its one register level whenever that level is empty or its
        beat enters the skid_buffer (whose ready is a flip-flop: fewer than two beats), so it takes
        a beat whenever it holds fewer than three."""
        return Elastic(3, self.LATENCY)

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

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """Per lane the requantizer: a rounding adder over the bits kept when the fraction
        shrinks, a range check over the kept bits above the output, the clamp multiplexer over the
        output bits (LUTs); its register and the skid buffer's two output registers (FFs)."""
        lanes, p = params["LANES"], params
        return Terms(
            lut={**requant_lut(lanes, p["IN_WIDTH"], p["IN_FRAC"], p["OUT_WIDTH"], p["OUT_FRAC"]), "base": 1},
            ff={"in": lanes * p["IN_WIDTH"], "out": lanes * p["OUT_WIDTH"], "base": 1},
        )

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """1 to 16 lanes; input 2 to 32 bits, output 2 to 16, signed or not, random fractions."""
        points = []
        for _ in range(count):
            iw, ow = int(rng.choice((2, 4, 6, 8, 12, 16, 20, 24, 32))), int(rng.choice((2, 3, 4, 6, 8, 12, 16)))
            points.append(
                self.parameters_with(
                    {
                        "LANES": int(rng.choice((1, 2, 4, 8, 16))),
                        "IN_WIDTH": iw,
                        "IN_FRAC": int(rng.integers(0, iw)),
                        "IN_SIGNED": int(rng.integers(2)),
                        "OUT_WIDTH": ow,
                        "OUT_FRAC": int(rng.integers(0, ow)),
                        "OUT_SIGNED": int(rng.integers(2)),
                    }
                )
            )
        return points


@register
class FixedCast(_Requantizing):
    name = "fixed_cast"
    output_skid = True
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
    output_skid = True
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
    output_skid = True
    kind = "arith"
    summary = "element-wise add of two streams, formats aligned"
    depends = ("fixed_requant_reg", "pipe_ctrl", "skid_buffer", "stream_join")
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
    fmax_sweep = 1
    #: From the cycle both inputs are taken: the sum's register, the requantizer's, the skid buffer.
    LATENCY = 3

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return streaming(self.LATENCY)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return [t + self.LATENCY for t in times]

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

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """Per lane the exact sum of the operands aligned to the finer fraction (an adder as wide
        as the sum) and the requantizer to the output (LUTs); the operands' join, the sum's and the
        requantizer's registers and the skid buffer (FFs)."""
        lanes, frac = params["LANES"], max(params["A_FRAC"], params["B_FRAC"])
        total = max(params["A_WIDTH"] + frac - params["A_FRAC"], params["B_WIDTH"] + frac - params["B_FRAC"]) + 1
        ops = params["A_WIDTH"] + params["B_WIDTH"]
        requant = requant_lut(lanes, total, frac, params["OUT_WIDTH"], params["OUT_FRAC"])
        return Terms(
            lut={"sum": lanes * total, **requant, "base": 1},
            ff={"in": lanes * ops, "sum": lanes * total, "out": lanes * params["OUT_WIDTH"], "base": 1},
        )

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """1 to 16 lanes; operands and output 2 to 24 bits with fractions -2 to 12."""
        points = []
        for _ in range(count):
            widths = [int(rng.choice((2, 3, 4, 6, 8, 12, 16, 24))) for _ in range(3)]
            fracs = [int(rng.integers(-2, min(w, 12) + 1)) for w in widths]
            points.append(
                self.parameters_with(
                    {
                        "LANES": int(rng.choice((1, 2, 4, 8, 16))),
                        "A_WIDTH": widths[0],
                        "A_FRAC": fracs[0],
                        "B_WIDTH": widths[1],
                        "B_FRAC": fracs[1],
                        "OUT_WIDTH": widths[2],
                        "OUT_FRAC": fracs[2],
                    }
                )
            )
        return points


@register
class FixedMul(Component):
    name = "fixed_mul"
    output_skid = True
    kind = "arith"
    summary = "element-wise product of two streams (gating, attention), exact product then one requantization"
    depends = ("fixed_requant_reg", "mult_pipe", "pipe_ctrl", "skid_buffer", "stream_join")
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
    fmax_sweep = 1
    mutants = (
        # every lane multiplies by lane 0 of the second operand
        Mutant(
            "mul_lane0_operand", "joined[1][i][B_WIDTH-1:0]", "joined[1][0][B_WIDTH-1:0]", caught_by=(("fixed_mul", 1),)
        ),
    )

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """From the cycle both inputs are taken: mult_pipe with input and output registers, the
        requantizer's register, the skid buffer."""
        return streaming(MultPipe.latency(params["A_WIDTH"], params["B_WIDTH"], True, True) + 2)
