"""The transformer components (rtl/attn/): two-stream matmul, row-wise softmax, layer norm, and
the pipelined primitives they are built from. Golden functions: :mod:`golden.attention`.

| component | what |
| --- | --- |
| ``attn_sum_tree`` | pipelined exact adder tree (primitive) |
| ``attn_divide`` | pipelined restoring divider (primitive) |
| ``attn_isqrt`` | pipelined digit-by-digit integer square root (primitive) |
| ``fixed_matmul`` | ``requant((A B^T or A B) * scale)`` per head, B buffered per sequence |
"""

from __future__ import annotations

from typing import Any

from mapper.components.base import BenchTiming, Component, Mutant, register


@register
class AttnSumTree(Component):
    name = "attn_sum_tree"
    kind = "attn"
    summary = "pipelined exact sum of N numbers, one register level per adder level"
    defaults = {"N": 4, "IN_WIDTH": 16, "IN_SIGNED": 1, "OUT_WIDTH": 18}


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
    depends = ("attn_sum_tree", "fixed_requant", "skid_buffer")
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

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One sequence per max(A steps, B beats) cycles in steady state; the latency depends on
        both streams (tests/test_attention_components.py checks every beat against the model)."""
        steps = (
            params["ROWS"] * params["HEADS"] * (params["N"] // params["OUT_PAR"]) * (params["K"] // params["IN_PAR"])
        )
        b_beats = params["HEADS"] * params["K"] * params["N"] // params["IN_PAR"]
        return BenchTiming(interval=max(steps, b_beats), latency=None)


#: The benched transformer components (tests/test_attention_components.py runs each sweep).
ATTENTION_COMPONENTS = ("fixed_matmul",)


def beat_model(name: str, params: dict[str, Any], offered: dict[str, list[int]]) -> list[int]:
    """Output beat cycles of one sequence (group) of component ``name`` from the cycles its input
    beats are offered, by port (the model the mapper's schedule uses)."""
    if name == "fixed_matmul":
        return matmul_schedule(params, offered["data_in_0"], offered["data_in_1"])[2]
    raise KeyError(f"no beat model for {name}")
