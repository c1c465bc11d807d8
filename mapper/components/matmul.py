"""fixed_matmul (rtl/attn/): the product of two activation streams per head,
``requant((A B^T or A B) * scale)``, with its cycle-exact beat model. Golden function:
:func:`golden.attention.matmul_stream`."""

from __future__ import annotations

import math
from typing import Any

from golden.attention import matmul_stream
from golden.fixed import IntArray
from mapper.components.arith import AddTree, MultPipe
from mapper.components.base import (
    BenchTiming,
    Component,
    Fold,
    Mutant,
    Resources,
    divisors,
    register,
)
from mapper.graph import Node


def matmul_latency(params: dict[str, Any]) -> int:
    """Cycles from a group's last step to its output beat: M + T + S + 2.

    M: the multipliers (mult_pipe: operand registers, product, the 18 x 18 pieces' sum for
    operands over 18 bits; A is widened by one bit when unsigned); T = ceil(log2 IN_PAR) adder-tree
    levels; S: the dot product's register and the scaled one (SCALE = 1), or mult_pipe's latency
    for the dot product times SCALE; 2: the requantizer's register and the skid buffer.
    """
    a_width = int(params["A_WIDTH"]) + (0 if params["A_SIGNED"] else 1)
    b_width = int(params["B_WIDTH"])
    k, scale = int(params["K"]), int(params["SCALE"])
    mult = MultPipe.latency(a_width, b_width, True, False)
    dot_width = a_width + b_width + AddTree.levels(k)
    scaling = 2 if scale == 1 else MultPipe.latency(dot_width, scale.bit_length() + 1, True, False)
    return mult + AddTree.levels(int(params["IN_PAR"])) + scaling + 2


def matmul_schedule(
    params: dict[str, Any], a_times: list[int], b_times: list[int]
) -> tuple[list[int], list[int], list[int]]:
    """Cycle-exact model of one sequence through an empty fixed_matmul with an always-ready output:
    (cycles A beats are taken, cycles B beats are taken, cycles of the output beats), given the
    cycles the beats are offered. B is taken as offered (a bank is free); the first step comes 2
    cycles after the last B beat; a group-0 step takes its A beat (when offered, one step per
    cycle), the replay groups follow back to back; a group's beat leaves ``matmul_latency`` after
    its last step."""
    rows = int(params["ROWS"]) * int(params["HEADS"])
    c = int(params["K"]) // int(params["IN_PAR"])
    g = int(params["N"]) // int(params["OUT_PAR"])
    lat = matmul_latency(params)
    step = b_times[-1] + 1  # the cycle before the earliest step
    taken, out = [], []
    for r in range(rows):
        for grp in range(g):
            for k in range(c):
                step = max(step + 1, a_times[r * c + k]) if grp == 0 else step + 1
                if grp == 0:
                    taken.append(step)
            out.append(step + lat)
    return taken, list(b_times), out


@register
class FixedMatmul(Component):
    name = "fixed_matmul"
    output_skid = True
    kind = "attn"
    summary = (
        "product of two activation streams per head, y = requant((A B^T or A B) * SCALE): attention "
        "scores and the weighted sum of values; B of a sequence buffered in BANKS memories"
    )
    depends = ("add_tree", "fixed_requant_reg", "mult_pipe", "skid_buffer")
    ops = ("matmul",)
    bench = "sim.tb.test_fixed_matmul"
    defaults = {
        "HEADS": 1,
        "ROWS": 2,
        "K": 4,
        "N": 4,
        "TRANSPOSE_B": 1,
        "IN_PAR": 1,
        "OUT_PAR": 1,
        "BANKS": 2,
        "A_WIDTH": 8,
        "A_FRAC": 4,
        "A_SIGNED": 1,
        "B_WIDTH": 8,
        "B_FRAC": 4,
        "SCALE": 1,
        "SCALE_FRAC": 0,
        "OUT_WIDTH": 8,
        "OUT_FRAC": 4,
        "OUT_SIGNED": 1,
    }
    sweeps = (
        # attention scores: 2 heads, Q . K^T scaled by 1/sqrt(8) (score_scale(8) = 2896 * 2**-13)
        {
            "HEADS": 2,
            "ROWS": 4,
            "K": 8,
            "N": 4,
            "IN_PAR": 2,
            "OUT_PAR": 2,
            "SCALE": 2896,
            "SCALE_FRAC": 13,
            "OUT_WIDTH": 10,
            "OUT_FRAC": 5,
        },
        # weighted sum of values: unsigned probabilities (u9.8) times V, 3 banks, IN_PAR < OUT_PAR
        {
            "HEADS": 2,
            "ROWS": 4,
            "K": 4,
            "N": 8,
            "TRANSPOSE_B": 0,
            "IN_PAR": 2,
            "OUT_PAR": 4,
            "BANKS": 3,
            "A_WIDTH": 9,
            "A_FRAC": 8,
            "A_SIGNED": 0,
        },
        # one lane, narrow: drops 4 bits (ties), saturates often, 3 rows of one head
        {
            "ROWS": 3,
            "K": 3,
            "N": 2,
            "A_WIDTH": 4,
            "A_FRAC": 2,
            "B_WIDTH": 3,
            "B_FRAC": 2,
            "OUT_WIDTH": 4,
            "OUT_FRAC": 0,
        },
        # fully parallel (IN_PAR = K, OUT_PAR = N), 3 heads, wide 16-bit formats, unsigned output
        {
            "HEADS": 3,
            "ROWS": 2,
            "K": 4,
            "N": 4,
            "TRANSPOSE_B": 0,
            "IN_PAR": 4,
            "OUT_PAR": 4,
            "A_WIDTH": 16,
            "A_FRAC": 8,
            "B_WIDTH": 16,
            "B_FRAC": 12,
            "OUT_WIDTH": 16,
            "OUT_FRAC": 10,
            "OUT_SIGNED": 0,
        },
    )
    groups = 60
    timed_sweeps = (0, 1, 2, 3)
    mutants = (
        # the accumulator keeps the previous group's sum at a group's first step
        Mutant(
            "matmul_no_clear",
            "(t_first[DL-1] ? '0 : acc[o])",
            "acc[o]",
            caught_by=(("fixed_matmul", 0),),
        ),
        # B read from the bank being loaded instead of the one complete (the double buffer broken)
        Mutant(
            "matmul_one_bank",
            "if (end_seq) begin\n        rbank <= rbank_next;\n        rbase <= rbase_next;",
            "if (end_seq) begin\n        rbank <= rbank_next;\n        rbase <= rbase;",
            caught_by=(("fixed_matmul", 0), ("fixed_matmul", 1)),
        ),
        # the scaled dot product truncated instead of rounded (round half up lost)
        Mutant(
            "matmul_truncate",
            ".data_in (scaled[o]),",
            ".data_in (scaled[o] - SC_W'(A_FRAC + B_FRAC + SCALE_FRAC > OUT_FRAC ? "
            "1 << (A_FRAC + B_FRAC + SCALE_FRAC - OUT_FRAC - 1) : 0)),",
            caught_by=(("fixed_matmul", 0), ("fixed_matmul", 2)),
        ),
    )

    # ---- the mapper's model: node.attrs heads, rows, k, n, transpose_b, scale, scale_frac ----

    #: B buffers the mapper gives every matmul: a sequence's B may load while the previous one
    #: still computes and the one before that waits for its A (the context matmul's V arrives with
    #: the keys, its probabilities two stages later).
    MAPPED_BANKS = 3

    def folds(self, node: Node) -> list[Fold]:
        a = node.attrs
        return [
            Fold(i, o) for i in divisors(int(a["k"])) for o in divisors(int(a["n"])) if a["transpose_b"] or o % i == 0
        ]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        a, f = node.attrs, node.formats
        assert f is not None and f.weight is not None
        return {
            "HEADS": int(a["heads"]),
            "ROWS": int(a["rows"]),
            "K": int(a["k"]),
            "N": int(a["n"]),
            "TRANSPOSE_B": bool(a["transpose_b"]),
            "IN_PAR": fold.in_lanes,
            "OUT_PAR": fold.out_lanes,
            "BANKS": self.MAPPED_BANKS,
            "A_WIDTH": f.data_in.width,
            "A_FRAC": f.data_in.frac,
            "A_SIGNED": bool(f.data_in.signed),
            "B_WIDTH": f.weight.width,
            "B_FRAC": f.weight.frac,
            "SCALE": int(a["scale"]),
            "SCALE_FRAC": int(a["scale_frac"]),
            "OUT_WIDTH": f.data_out.width,
            "OUT_FRAC": f.data_out.frac,
            "OUT_SIGNED": bool(f.data_out.signed),
        }

    def golden(self, node: Node, a: IntArray, b: IntArray) -> IntArray:  # type: ignore[override]
        t, f = node.attrs, node.formats
        assert f is not None and f.weight is not None
        return matmul_stream(
            a, f.data_in, b, f.weight, f.data_out, t["heads"], t["transpose_b"], t["n"], t["scale"], t["scale_frac"]
        )

    def cycles(self, node: Node, fold: Fold) -> int:
        a = node.attrs
        steps = a["rows"] * a["heads"] * (a["n"] // fold.out_lanes) * (a["k"] // fold.in_lanes)
        return max(steps, a["heads"] * a["k"] * a["n"] // fold.in_lanes)

    def operand_beat_times(self, node: Node, fold: Fold, operands: list[list[int]]) -> list[int]:
        return matmul_schedule(self.parameters(node, fold), operands[0], operands[1])[2]

    def operand_accept_times(self, node: Node, fold: Fold, operands: list[list[int]]) -> list[list[int]]:
        taken_a, taken_b, _ = matmul_schedule(self.parameters(node, fold), operands[0], operands[1])
        return [taken_a, taken_b]

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        raise ValueError(f"node {node.name}: fixed_matmul takes two streams (operand_beat_times)")

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Per multiplier one DSP48E1 per 18 x 18 piece (mult_pipe), likewise per output lane for
        a scale other than 1 (the dot product times SCALE); the B buffers in LUTRAM (BANKS x heads
        x K x N elements, ~1 LUT6 per 32 bits stored plus the read multiplexers) unless a bank
        memory reaches 512 words; the pipeline registers (operands, products, adder tree,
        accumulator, scale, requantizer, skid buffer), the DSPs keeping some. Yosys, before the
        multipliers were mult_pipe (bert-tiny's scores, 16 x 1 MACs, 3 banks of 2 x 32 x 16: 693
        LUT incl. 166 LUTRAM, 526 FF, 17 DSP; estimate 919 / 506 / 17; its context, 4 x 4 MACs:
        692 / 625 / 16, estimate 1,008 / 732 / 16)."""
        a, f = node.attrs, node.formats
        assert f is not None and f.weight is not None
        macs = fold.in_lanes * fold.out_lanes
        prod = f.data_in.bits + f.weight.width
        acc = prod + max(0, (a["k"] - 1).bit_length())
        pieces = MultPipe.limbs(f.data_in.bits) * MultPipe.limbs(f.weight.width)
        scale_pieces = MultPipe.limbs(acc) * MultPipe.limbs(int(a["scale"]).bit_length() + 1)
        dsp = macs * pieces + (fold.out_lanes * scale_pieces if a["scale"] != 1 else 0)
        stored = self.MAPPED_BANKS * a["heads"] * a["k"] * a["n"] * f.weight.width
        words = stored // (macs * f.weight.width)
        bram = 0.0 if words < 512 else math.ceil(stored / 36864)
        ff = (macs * (f.data_in.bits + f.weight.width + prod) * 3) // 4
        ff += fold.out_lanes * (2 * acc + 2 * f.data_out.width) + 60
        lut = (0 if bram else stored // 32) + fold.out_lanes * (acc + f.data_out.width) + 120
        return Resources(lut=lut, ff=ff, dsp=dsp, bram=bram)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One sequence per max(A steps, B beats) cycles in steady state; the latency depends on
        both streams (tests/test_attention_components.py checks every beat against the model)."""
        steps = (
            params["ROWS"] * params["HEADS"] * (params["N"] // params["OUT_PAR"]) * (params["K"] // params["IN_PAR"])
        )
        b_beats = params["HEADS"] * params["K"] * params["N"] // params["IN_PAR"]
        return BenchTiming(interval=max(steps, b_beats), latency=None)
