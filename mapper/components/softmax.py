"""fixed_softmax (rtl/attn/): row-wise integer softmax (max subtraction, exponent table, exact
sum, rounded reciprocal), its table image and its beat model. Golden function:
:func:`golden.attention.softmax`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from golden.attention import exp_table, softmax
from golden.fixed import FixedType, IntArray
from mapper.components.arith import MultPipe
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
    register,
)
from mapper.graph import Node
from sim.memimage import write_memh


def softmax_table(params: dict[str, Any]) -> list[int]:
    """The exponent table of a fixed_softmax parameter set (golden.attention.exp_table)."""
    in_t = FixedType(int(params["IN_WIDTH"]), int(params["IN_FRAC"]))
    return exp_table(in_t, int(params["E_FRAC"])).tolist()


def write_softmax_table(params: dict[str, Any], path: Path) -> dict[str, Any]:
    """Write the exponent table image; returns the parameters with TABLE_LEN and TABLE_FILE set."""
    table = softmax_table(params)
    file = write_memh(path, table, int(params["E_FRAC"]) + 1)
    return {**params, "TABLE_LEN": len(table), "TABLE_FILE": str(file)}


def log2_lanes(lanes: int) -> int:
    """ceil(log2(lanes)): the register levels of an adder tree over ``lanes`` numbers."""
    return (lanes - 1).bit_length()


def softmax_product_levels(params: dict[str, Any]) -> int:
    """Adder levels summing mult_pipe's 18 x 18 pieces of e * r (both widened by a zero sign bit:
    E_FRAC + 2 and R_FRAC + 2 bits)."""
    return MultPipe.sum_levels(int(params["E_FRAC"]) + 2, int(params["R_FRAC"]) + 2)


def softmax_schedule(params: dict[str, Any], in_times: list[int]) -> list[int]:
    """Cycle-exact model of rows through an empty fixed_softmax with an always-ready output: the
    output beat cycles from the cycles the input beats are taken (rows of N / LANES beats). Stage
    2 reads a row from LOG_LANES + 2 cycles after its last beat, stage 3 from LOG_LANES + R_FRAC +
    7 after stage 2's last beat of it, each one beat per cycle and rows in order; a beat leaves 4 +
    :func:`softmax_product_levels` cycles after stage 3 reads it."""
    bpr = int(params["N"]) // int(params["LANES"])
    log = log2_lanes(int(params["LANES"]))
    r_frac = int(params["R_FRAC"])
    product = softmax_product_levels(params)
    s2 = s3 = -(10**9)
    out = []
    for r in range(len(in_times) // bpr):
        last = in_times[(r + 1) * bpr - 1]
        s2 = max(last + log + 2, s2 + 1)  # first beat of the row in stage 2
        s2_last = s2 + bpr - 1
        s3 = max(s2_last + log + r_frac + 7, s3 + 1)
        out += [s3 + k + 4 + product for k in range(bpr)]
        s2, s3 = s2_last, s3 + bpr - 1
    return out


@register
class FixedSoftmax(Component):
    name = "fixed_softmax"
    output_skid = True
    kind = "attn"
    summary = (
        "row-wise integer softmax: max subtraction, exponent table, exact sum, rounded reciprocal "
        "(pipelined divider), one rounding per element"
    )
    depends = ("add_tree", "attn_divide", "fixed_requant_reg", "mult_pipe", "skid_buffer")
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
            "(in_first || (data_in[l] ^ TOP) > lane_max[l])",
            "(in_first)",
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
        """Per lane an exponent table ROM (LUTs, ~1 LUT6 per 64 bits), a multiplier (one DSP48E1
        per 18 x 18 piece of e * r, mult_pipe: two from E_FRAC = 17 on) and the requantizer; the
        row and exponent buffers in LUTRAM; the pipelined divider (R_FRAC + 1 stages of a
        subtractor as wide as the dividend) and the trees in LUTs and FFs. Yosys, before e * r
        was a mult_pipe (bert-tiny's, 16 elements, 1 lane, s10.4 in, E 18, R 12): 1,264 LUT, 915
        FF, 1 DSP; estimate 1,270 / 892 / 1 (2 DSPs now)."""
        p = self.parameters(node, fold)
        lanes, ew, qw = fold.in_lanes, p["E_FRAC"] + 1, p["R_FRAC"] + 1
        bpr = p["N"] // lanes
        table = lanes * p["TABLE_LEN"] * ew // 64 + 1
        buffers = (2 * bpr * lanes * (p["IN_WIDTH"] + ew) + (qw + 8) * lanes * ew) // 32 + 1
        num_w = p["E_FRAC"] + p["R_FRAC"] + 3
        divider = qw * (2 * num_w + qw)
        lut = table + buffers + divider + lanes * (p["OUT_WIDTH"] + ew + p["IN_WIDTH"]) + 100
        ff = (divider * 2) // 3 + lanes * (3 * ew + qw + 2 * p["OUT_WIDTH"] + 2 * p["IN_WIDTH"]) + 100
        pieces = MultPipe.limbs(p["E_FRAC"] + 2) * MultPipe.limbs(p["R_FRAC"] + 2)
        return Resources(lut=lut, ff=ff, dsp=lanes * pieces)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One row per N / LANES cycles, one beat per cycle on both sides; the first output beat
        2 * LOG_LANES + R_FRAC + N / LANES + 12 + :func:`softmax_product_levels` cycles after the
        row's last input beat."""
        bpr = params["N"] // params["LANES"]
        latency = 2 * log2_lanes(params["LANES"]) + params["R_FRAC"] + bpr + 12 + softmax_product_levels(params)
        return BenchTiming(interval=bpr, latency=latency, in_spacing=1, out_spacing=1)
