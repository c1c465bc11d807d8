"""The transformer components (rtl/attn/): two-stream matmul, row-wise softmax, layer norm, and
the pipelined primitives they are built from (and `add_tree`). Golden functions: :mod:`golden.attention`.

| component | what |
| --- | --- |
| ``attn_divide`` | pipelined restoring divider (primitive) |
| ``attn_isqrt`` | pipelined digit-by-digit integer square root (primitive) |
| ``fixed_matmul`` | ``requant((A B^T or A B) * scale)`` per head, B buffered per sequence |
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from golden.attention import exp_table, layernorm, layernorm_eps, layernorm_fracs, matmul_stream, softmax
from golden.fixed import FixedType, IntArray
from mapper.components.base import (
    BenchTiming,
    Component,
    Fold,
    Mutant,
    Resources,
    divisors,
    elements,
    in_format,
    out_format,
    random_constants,
    register,
)
from mapper.graph import Node
from sim.memimage import pack_lanes, write_memh


@register
class AttnDivide(Component):
    name = "attn_divide"
    kind = "attn"
    summary = "pipelined unsigned division (restoring, one quotient bit per stage), a tag alongside"
    defaults = {"NUM_WIDTH": 16, "DEN_WIDTH": 8, "Q_WIDTH": 8, "TAG_WIDTH": 1}


@register
class AttnIsqrt(Component):
    name = "attn_isqrt"
    kind = "attn"
    summary = "pipelined integer square root (digit by digit, one root bit per stage), a tag alongside"
    defaults = {"WIDTH": 16, "TAG_WIDTH": 1}


#: fixed_matmul's register levels from a step to its output beat, without the adder tree's.
MATMUL_LATENCY = 6


def matmul_latency(in_par: int) -> int:
    """Cycles from a group's last step to its output beat: 6 + ceil(log2(IN_PAR))."""
    return MATMUL_LATENCY + (in_par - 1).bit_length()


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
    lat = matmul_latency(int(params["IN_PAR"]))
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
    kind = "attn"
    summary = (
        "product of two activation streams per head, y = requant((A B^T or A B) * SCALE): attention "
        "scores and the weighted sum of values; B of a sequence buffered in BANKS memories"
    )
    depends = ("add_tree", "fixed_requant_reg", "skid_buffer")
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
            "(t_first[TREE_LEVELS] ? '0 : acc[o])",
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
            "scaled[o] <= SC_W'(signed'(a_dot[o])) * SC_W'(SCALE);",
            "scaled[o] <= SC_W'(signed'(a_dot[o])) * SC_W'(SCALE) - SC_W'(A_FRAC + B_FRAC + SCALE_FRAC > OUT_FRAC ? "
            "1 << (A_FRAC + B_FRAC + SCALE_FRAC - OUT_FRAC - 1) : 0);",
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
        """Per multiplier one DSP48E1 (plus one per output lane for a scale other than 1); the
        B buffers in LUTRAM (BANKS x heads x K x N elements, ~1 LUT6 per 32 bits stored plus the
        read multiplexers) unless a bank memory reaches 512 words; the pipeline registers (operands,
        products, adder tree, accumulator, scale, requantizer, skid buffer), the DSPs keeping some.
        Yosys (bert-tiny's scores, 16 x 1 MACs, 3 banks of 2 x 32 x 16: 693 LUT incl. 166 LUTRAM,
        526 FF, 17 DSP; estimate 919 / 506 / 17; its context, 4 x 4 MACs: 692 / 625 / 16,
        estimate 1,008 / 732 / 16)."""
        a, f = node.attrs, node.formats
        assert f is not None and f.weight is not None
        macs = fold.in_lanes * fold.out_lanes
        dsp = macs + (fold.out_lanes if a["scale"] != 1 else 0)
        stored = self.MAPPED_BANKS * a["heads"] * a["k"] * a["n"] * f.weight.width
        words = stored // (macs * f.weight.width)
        bram = 0.0 if words < 512 else math.ceil(stored / 36864)
        prod = f.data_in.bits + f.weight.width
        acc = prod + max(0, (a["k"] - 1).bit_length())
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


def softmax_table(params: dict[str, Any]) -> list[int]:
    """The exponent table of a fixed_softmax parameter set (golden.attention.exp_table)."""
    in_t = FixedType(int(params["IN_WIDTH"]), int(params["IN_FRAC"]))
    return exp_table(in_t, int(params["E_FRAC"])).tolist()


def write_softmax_table(params: dict[str, Any], path: Path) -> dict[str, Any]:
    """Write the exponent table image; returns the parameters with TABLE_LEN and TABLE_FILE set."""
    table = softmax_table(params)
    file = write_memh(path, table, int(params["E_FRAC"]) + 1)
    return {**params, "TABLE_LEN": len(table), "TABLE_FILE": str(file)}


def _log2_lanes(lanes: int) -> int:
    return (lanes - 1).bit_length()


def softmax_schedule(params: dict[str, Any], in_times: list[int]) -> list[int]:
    """Cycle-exact model of rows through an empty fixed_softmax with an always-ready output: the
    output beat cycles from the cycles the input beats are taken (rows of N / LANES beats). Stage
    2 reads a row from LOG_LANES + 2 cycles after its last beat, stage 3 from LOG_LANES + R_FRAC +
    5 after stage 2's last beat of it, each one beat per cycle and rows in order; a beat leaves 4
    cycles after stage 3 reads it."""
    bpr = int(params["N"]) // int(params["LANES"])
    log = _log2_lanes(int(params["LANES"]))
    r_frac = int(params["R_FRAC"])
    s2 = s3 = -(10**9)
    out = []
    for r in range(len(in_times) // bpr):
        last = in_times[(r + 1) * bpr - 1]
        s2 = max(last + log + 2, s2 + 1)  # first beat of the row in stage 2
        s2_last = s2 + bpr - 1
        s3 = max(s2_last + log + r_frac + 5, s3 + 1)
        out += [s3 + k + 4 for k in range(bpr)]
        s2, s3 = s2_last, s3 + bpr - 1
    return out


@register
class FixedSoftmax(Component):
    name = "fixed_softmax"
    kind = "attn"
    summary = (
        "row-wise integer softmax: max subtraction, exponent table, exact sum, rounded reciprocal "
        "(pipelined divider), one rounding per element"
    )
    depends = ("add_tree", "attn_divide", "fixed_requant_reg", "skid_buffer")
    ops = ("softmax",)
    bench = "sim.tb.test_fixed_softmax"
    defaults = {
        "N": 4,
        "LANES": 1,
        "IN_WIDTH": 8,
        "IN_FRAC": 4,
        "OUT_WIDTH": 9,
        "OUT_FRAC": 8,
        "OUT_SIGNED": 0,
        "E_FRAC": 14,
        "R_FRAC": 12,
        "TABLE_LEN": 1,
        "TABLE_FILE": "",
    }
    sweeps = (
        # the attention row of bert-tiny: 16 scores s8.4 on 4 lanes, u9.8 holds 1.0, default
        # precision (softmax_fracs(16, u9.8) = (17, 12)), 200-entry table
        {"N": 16, "LANES": 4, "E_FRAC": 17, "R_FRAC": 12},
        # one lane, narrow s6.2, low precision (E = 10, R = 6: rounding ties), u8.8 saturates a
        # dominant element's 1.0 to 255/256
        {"N": 6, "IN_WIDTH": 6, "IN_FRAC": 2, "OUT_WIDTH": 8, "E_FRAC": 10, "R_FRAC": 6},
        # a whole row per beat, wide s10.5 input (a 392-entry table), signed s8.6 output
        {
            "N": 8,
            "LANES": 8,
            "IN_WIDTH": 10,
            "IN_FRAC": 5,
            "OUT_WIDTH": 8,
            "OUT_FRAC": 6,
            "OUT_SIGNED": 1,
            "E_FRAC": 12,
            "R_FRAC": 10,
        },
        # 3 lanes (an odd adder / max tree), integer s4.0 input: the whole 16-entry table, u6.5
        {"N": 12, "LANES": 3, "IN_WIDTH": 4, "IN_FRAC": 0, "OUT_WIDTH": 6, "OUT_FRAC": 5, "E_FRAC": 14, "R_FRAC": 9},
    )
    groups = 200
    timed_sweeps = (0, 1, 2, 3)
    mutants = (
        # the reciprocal truncated: floor(2**(E+R) / s) instead of round half up
        Mutant(
            "softmax_recip_truncate",
            "assign num = (NUM_W'(1) << (E_FRAC + R_FRAC + 1)) + NUM_W'($unsigned(total));",
            "assign num = (NUM_W'(1) << (E_FRAC + R_FRAC + 1));",
            caught_by=(("fixed_softmax", 0), ("fixed_softmax", 1)),
        ),
        # the row maximum taken from the first beat only (lanes of later beats ignored)
        Mutant(
            "softmax_max_first_beat",
            "(in_beat == '0 || signed'(data_in[l]) > signed'(lane_max[l]))",
            "(in_beat == '0)",
            caught_by=(("fixed_softmax", 0), ("fixed_softmax", 3)),
        ),
        # the row sum misses its last beat's exponents
        Mutant(
            "softmax_sum_short",
            "if (t_valid[LOG_LANES]) total <= acc + tree;",
            "if (t_valid[LOG_LANES]) total <= acc;",
            caught_by=(("fixed_softmax", 0), ("fixed_softmax", 2)),
        ),
    )

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """The exponent table image (its length sets TABLE_LEN)."""
        return write_softmax_table(params, folder / "exp_table.memh"), {}

    # ---- the mapper's model: node.attrs n (row length), e_frac, r_frac ----

    def folds(self, node: Node) -> list[Fold]:
        return [Fold(d, d) for d in divisors(int(node.attrs["n"]))]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        i, o = in_format(node), out_format(node)
        params = {
            "N": int(node.attrs["n"]),
            "LANES": fold.in_lanes,
            "IN_WIDTH": i.width,
            "IN_FRAC": i.frac,
            "OUT_WIDTH": o.width,
            "OUT_FRAC": o.frac,
            "OUT_SIGNED": bool(o.signed),
            "E_FRAC": int(node.attrs["e_frac"]),
            "R_FRAC": int(node.attrs["r_frac"]),
        }
        return {**params, "TABLE_LEN": len(softmax_table(params))}

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        params = write_softmax_table(self.parameters(node, fold), folder / f"{node.name}_exp_table.memh")
        return {"TABLE_FILE": params["TABLE_FILE"]}

    def golden(self, node: Node, x: IntArray) -> IntArray:
        a = node.attrs
        rows = np.asarray(x, dtype=np.int64).reshape(len(x), -1, int(a["n"]))
        p = softmax(rows, in_format(node), out_format(node), int(a["e_frac"]), int(a["r_frac"]))
        return p.reshape(len(x), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.out_shape) // fold.out_lanes

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return softmax_schedule(self.parameters(node, fold), times)

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Per lane an exponent table ROM (LUTs, ~1 LUT6 per 64 bits), a multiplier (one DSP48E1)
        and the requantizer; the row and exponent buffers in LUTRAM; the pipelined divider
        (R_FRAC + 1 stages of a subtractor as wide as the dividend) and the trees in LUTs and
        FFs. Yosys (bert-tiny's, 16 elements, 1 lane, s10.4 in, E 18, R 12): 1,264 LUT, 915 FF,
        1 DSP; estimate 1,270 / 892 / 1."""
        p = self.parameters(node, fold)
        lanes, ew, qw = fold.in_lanes, p["E_FRAC"] + 1, p["R_FRAC"] + 1
        bpr = p["N"] // lanes
        table = lanes * p["TABLE_LEN"] * ew // 64 + 1
        buffers = (2 * bpr * lanes * (p["IN_WIDTH"] + ew) + (qw + 8) * lanes * ew) // 32 + 1
        num_w = p["E_FRAC"] + p["R_FRAC"] + 3
        divider = qw * (2 * num_w + qw)
        lut = table + buffers + divider + lanes * (p["OUT_WIDTH"] + ew + p["IN_WIDTH"]) + 100
        ff = (divider * 2) // 3 + lanes * (3 * ew + qw + 2 * p["OUT_WIDTH"] + 2 * p["IN_WIDTH"]) + 100
        return Resources(lut=lut, ff=ff, dsp=lanes)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One row per N / LANES cycles, one beat per cycle on both sides; the first output beat
        2 * LOG_LANES + R_FRAC + N / LANES + 10 cycles after the row's last input beat."""
        bpr = params["N"] // params["LANES"]
        latency = 2 * _log2_lanes(params["LANES"]) + params["R_FRAC"] + bpr + 10
        return BenchTiming(interval=bpr, latency=latency, in_spacing=1, out_spacing=1)


def layernorm_parameters(
    n: int, lanes: int, in_t: FixedType, g_t: FixedType, b_t: FixedType, out_t: FixedType, eps: float
) -> dict[str, Any]:
    """fixed_layernorm's parameters for these formats, with the default precision
    (golden.attention.layernorm_fracs) and eps scaled (layernorm_eps)."""
    rs, z = layernorm_fracs(n, in_t, g_t, out_t)
    eps_int = layernorm_eps(eps, n, in_t, z)
    if eps_int >= 1 << 62:
        raise ValueError(f"layer norm eps {eps} scales to {eps_int}, beyond fixed_layernorm's 62-bit EPS")
    return {
        "N": n,
        "LANES": lanes,
        "IN_WIDTH": in_t.width,
        "IN_FRAC": in_t.frac,
        "G_WIDTH": g_t.width,
        "G_FRAC": g_t.frac,
        "B_WIDTH": b_t.width,
        "B_FRAC": b_t.frac,
        "OUT_WIDTH": out_t.width,
        "OUT_FRAC": out_t.frac,
        "OUT_SIGNED": int(out_t.signed),
        "RS": rs,
        "Z": z,
        "EPS_HI": eps_int >> 31,
        "EPS_LO": eps_int & ((1 << 31) - 1),
    }


def layernorm_eps_int(params: dict[str, Any]) -> int:
    """The scaled eps of a fixed_layernorm parameter set."""
    return (int(params["EPS_HI"]) << 31) + int(params["EPS_LO"])


def layernorm_stats_latency(params: dict[str, Any]) -> int:
    """fixed_layernorm's STATS: cycles from a row's last input beat to its first output step."""
    log_n = (int(params["N"]) - 1).bit_length()
    rad_w = (
        max(2 * int(params["IN_WIDTH"]) + 2 * log_n + 2 + 2 * int(params["Z"]), layernorm_eps_int(params).bit_length())
        + 1
    )
    return 9 + _log2_lanes(int(params["LANES"])) + (rad_w + 1) // 2 + int(params["RS"])


def layernorm_schedule(params: dict[str, Any], in_times: list[int]) -> list[int]:
    """Cycle-exact model of rows through an empty fixed_layernorm with an always-ready output: the
    output stage reads a row from STATS cycles after its last input beat, one beat per cycle and
    rows in order; a beat leaves 7 cycles after it is read."""
    bpr = int(params["N"]) // int(params["LANES"])
    stats = layernorm_stats_latency(params)
    s = -(10**9)
    out = []
    for r in range(len(in_times) // bpr):
        s = max(in_times[(r + 1) * bpr - 1] + stats, s + 1)
        out += [s + k + 7 for k in range(bpr)]
        s += bpr - 1
    return out


def write_lane_words(values: IntArray, lanes: int, width: int, path: Path) -> str:
    """A per-channel image: word k holds channels k * lanes .. k * lanes + lanes - 1."""
    words = [pack_lanes(values[k * lanes : (k + 1) * lanes], width) for k in range(len(values) // lanes)]
    return str(write_memh(path, words, lanes * width))


_S8_6, _S8_4 = FixedType(8, 6), FixedType(8, 4)


@register
class FixedLayernorm(Component):
    name = "fixed_layernorm"
    kind = "attn"
    summary = (
        "integer layer norm over rows of N channels: exact mean and variance, exact isqrt, rounded "
        "reciprocal, per-channel gamma and beta, one rounding"
    )
    depends = ("add_tree", "attn_isqrt", "attn_divide", "fixed_requant_reg", "skid_buffer")
    ops = ("layernorm",)
    bench = "sim.tb.test_fixed_layernorm"
    defaults = {
        **layernorm_parameters(4, 1, _S8_4, _S8_6, _S8_6, _S8_4, 0.0),
        "GAMMA_FILE": "",
        "BETA_FILE": "",
    }
    sweeps = (
        # bert-tiny's layer norm: 64 channels of a residual sum s10.4 on 4 lanes, eps 1e-12
        layernorm_parameters(64, 4, FixedType(10, 4), _S8_6, _S8_6, _S8_4, 1e-12),
        # one lane, narrow formats (s5.1 in, s4.1 out saturates), a large eps
        layernorm_parameters(6, 1, FixedType(5, 1), FixedType(4, 2), FixedType(4, 1), FixedType(4, 1), 0.5),
        # a whole row per beat, wide 16-bit formats (a 68-bit square-root radicand), unsigned out
        layernorm_parameters(
            8, 8, FixedType(16, 8), FixedType(12, 10), FixedType(12, 8), FixedType(12, 6, False), 1e-5
        ),
        # 3 lanes (odd trees), integer input s8.0, eps 0: constant rows divide by isqrt(max(0, 1))
        layernorm_parameters(12, 3, FixedType(8, 0), _S8_6, _S8_6, _S8_4, 0.0),
    )
    groups = 120
    timed_sweeps = (0, 1, 2, 3)
    mutants = (
        # the reciprocal truncated instead of rounded half up
        Mutant(
            "layernorm_recip_truncate",
            "num   <= (NUM_W'(1) << (RS + Z + 1)) + NUM_W'(q_root);",
            "num   <= (NUM_W'(1) << (RS + Z + 1));",
            caught_by=(("fixed_layernorm", 0), ("fixed_layernorm", 1)),
        ),
        # the variance without the mean's square (E[x**2] instead of E[x**2] - E[x]**2)
        Mutant(
            "layernorm_no_mean_square",
            "v_row <= n_s2 - s1_sq;",
            "v_row <= n_s2;",
            caught_by=(("fixed_layernorm", 0), ("fixed_layernorm", 3)),
        ),
        # beta one channel late (the beat position's word read a beat behind)
        Mutant(
            "layernorm_beta_stale",
            "o1_b  <= beta_mem[out_beat];",
            "o1_b  <= beta_mem[out_beat == '0 ? BW'(BPR - 1) : out_beat - BW'(1)];",
            caught_by=(("fixed_layernorm", 0),),
        ),
    )

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random gamma and beta written as per-channel images."""
        n, lanes = int(params["N"]), int(params["LANES"])
        if lanes < 1 or n % lanes:
            raise ValueError(f"LANES={lanes} must be >= 1 and divide N={n}")
        rng = np.random.default_rng(seed)
        gamma = random_constants(rng, (n,), int(params["G_WIDTH"]))
        beta = random_constants(rng, (n,), int(params["B_WIDTH"]))
        out = {
            **params,
            "GAMMA_FILE": write_lane_words(gamma, lanes, int(params["G_WIDTH"]), folder / "gamma.memh"),
            "BETA_FILE": write_lane_words(beta, lanes, int(params["B_WIDTH"]), folder / "beta.memh"),
        }
        return out, {"gamma": gamma.tolist(), "beta": beta.tolist()}

    # ---- the mapper's model: node.weight / bias are gamma / beta; attrs channels, rsqrt_frac,
    # sqrt_extra, eps_int ----

    def folds(self, node: Node) -> list[Fold]:
        return [Fold(d, d) for d in divisors(int(node.attrs["channels"]))]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        f, a = node.formats, node.attrs
        assert f is not None and f.weight is not None and f.bias is not None
        eps = int(a["eps_int"])
        if eps >= 1 << 62:
            raise ValueError(f"node {node.name}: scaled eps {eps} is beyond fixed_layernorm's 62 bits")
        return {
            "N": int(a["channels"]),
            "LANES": fold.in_lanes,
            "IN_WIDTH": f.data_in.width,
            "IN_FRAC": f.data_in.frac,
            "G_WIDTH": f.weight.width,
            "G_FRAC": f.weight.frac,
            "B_WIDTH": f.bias.width,
            "B_FRAC": f.bias.frac,
            "OUT_WIDTH": f.data_out.width,
            "OUT_FRAC": f.data_out.frac,
            "OUT_SIGNED": bool(f.data_out.signed),
            "RS": int(a["rsqrt_frac"]),
            "Z": int(a["sqrt_extra"]),
            "EPS_HI": eps >> 31,
            "EPS_LO": eps & ((1 << 31) - 1),
        }

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        f = node.formats
        assert f is not None and f.weight is not None and f.bias is not None
        assert node.weight is not None and node.bias is not None
        lanes = fold.in_lanes
        return {
            "GAMMA_FILE": write_lane_words(node.weight, lanes, f.weight.width, folder / f"{node.name}_gamma.memh"),
            "BETA_FILE": write_lane_words(node.bias, lanes, f.bias.width, folder / f"{node.name}_beta.memh"),
        }

    def golden(self, node: Node, x: IntArray) -> IntArray:
        f, a = node.formats, node.attrs
        assert f is not None and f.weight is not None and f.bias is not None
        rows = np.asarray(x, dtype=np.int64).reshape(len(x), -1, int(a["channels"]))
        y = layernorm(
            rows,
            f.data_in,
            node.weight,
            f.weight,
            node.bias,
            f.bias,
            f.data_out,
            int(a["eps_int"]),
            int(a["rsqrt_frac"]),
            int(a["sqrt_extra"]),
        )
        return y.reshape(len(x), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.out_shape) // fold.out_lanes

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return layernorm_schedule(self.parameters(node, fold), times)

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Per lane a square, d * r and gamma * (d * r) (DSP48E1s: 1, 2 and 2 for the widths of
        bert-tiny's layer norm), the requantizer; the row buffer in LUTRAM; the square root
        (W_BITS / 2 stages) and the divider (RS + 1 stages) in LUTs and FFs. Yosys (bert-tiny's,
        64 channels, 1 lane, s10.4 in, RS 26, Z 13): 5,097 LUT, 3,690 FF, 7 DSP; estimate 5,180 /
        3,796 / 7."""
        p = self.parameters(node, fold)
        lanes = fold.in_lanes
        stats = layernorm_stats_latency(p)
        rad = 2 * (stats - 9 - _log2_lanes(lanes) - p["RS"])
        roots = rad // 2 * (rad + rad // 2)
        divider = (p["RS"] + 1) * (p["RS"] + p["Z"] + rad // 2 + 4)
        bpr = p["N"] // lanes
        buffer = (2 * bpr + stats) * lanes * p["IN_WIDTH"] // 32 + 1
        lut = roots + divider + buffer + lanes * (p["OUT_WIDTH"] + 3 * p["IN_WIDTH"]) + 200
        ff = (7 * (roots + divider)) // 10 + lanes * (6 * p["IN_WIDTH"] + 4 * p["RS"] + 2 * p["OUT_WIDTH"]) + 200
        return Resources(lut=lut, ff=ff, dsp=5 * lanes + 2)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One row per N / LANES cycles, one beat per cycle on both sides; the first output beat
        STATS + 7 cycles after the row's last input beat."""
        return BenchTiming(
            interval=params["N"] // params["LANES"],
            latency=layernorm_stats_latency(params) + 7,
            in_spacing=1,
            out_spacing=1,
        )


#: The benched transformer components (tests/test_attention_components.py runs each sweep).
ATTENTION_COMPONENTS = ("fixed_matmul", "fixed_softmax", "fixed_layernorm")


def beat_model(name: str, params: dict[str, Any], offered: dict[str, list[int]]) -> list[int]:
    """Output beat cycles of one sequence (group) of component ``name`` from the cycles its input
    beats are offered, by port (the model the mapper's schedule uses)."""
    if name == "fixed_matmul":
        return matmul_schedule(params, offered["data_in_0"], offered["data_in_1"])[2]
    if name == "fixed_softmax":
        return softmax_schedule(params, offered["data_in"])
    if name == "fixed_layernorm":
        return layernorm_schedule(params, offered["data_in"])
    raise KeyError(f"no beat model for {name}")
