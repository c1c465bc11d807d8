"""Bench of rtl/attn/fixed_matmul.sv against golden.attention.matmul_stream.

A group is one sequence: ROWS x HEADS rows of A on data_in_0 and the whole B on data_in_1, each
port with its own random gaps, so B of later sequences loads while earlier ones compute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.attention import matmul_stream
from golden.fixed import FixedType
from sim.tb.fixed_edges import range_edges
from sim.verif.bench import StreamTest
from sim.verif.in_range import amplitude_draw, wide_parameters
from sim.verif.ports import Beat, BenchSpec, PortSpec


def formats(p: Mapping[str, Any]) -> tuple[FixedType, FixedType, FixedType]:
    """(A, B, output) formats of a parameter set."""
    a_t = FixedType(int(p["A_WIDTH"]), int(p["A_FRAC"]), bool(int(p["A_SIGNED"])))
    b_t = FixedType(int(p["B_WIDTH"]), int(p["B_FRAC"]))
    out_t = FixedType(int(p["OUT_WIDTH"]), int(p["OUT_FRAC"]), bool(int(p["OUT_SIGNED"])))
    return a_t, b_t, out_t


def beats(p: Mapping[str, Any]) -> dict[str, int]:
    """Beats per sequence of each port."""
    rows = int(p["ROWS"]) * int(p["HEADS"])
    return {
        "data_in_0": rows * int(p["K"]) // int(p["IN_PAR"]),
        "data_in_1": int(p["HEADS"]) * int(p["K"]) * int(p["N"]) // int(p["IN_PAR"]),
        "data_out": rows * int(p["N"]) // int(p["OUT_PAR"]),
    }


def bench(params: dict[str, Any], *, in_range: bool = True) -> BenchSpec:
    """Two operand streams, one result stream; with ``in_range`` most results do not saturate."""
    p = {k: int(v) for k, v in params.items()}
    a_t, b_t, out_t = formats(p)
    counts = beats(p)

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        a = np.array(group["data_in_0"], dtype=np.int64).reshape(1, -1)
        b = np.array(group["data_in_1"], dtype=np.int64).reshape(1, -1)
        y = matmul_stream(
            a, a_t, b, b_t, out_t, p["HEADS"], bool(p["TRANSPOSE_B"]), p["N"], p["SCALE"], p["SCALE_FRAC"]
        )
        return {"data_out": y.reshape(-1, p["OUT_PAR"]).tolist()}

    inputs = [
        PortSpec("data_in_0", p["IN_PAR"], a_t.width, a_t.signed),
        PortSpec("data_in_1", p["IN_PAR"], b_t.width),
    ]
    outputs = [PortSpec("data_out", p["OUT_PAR"], out_t.width, out_t.signed)]
    extremes = {"data_in_0": range_edges(a_t), "data_in_1": range_edges(b_t)}
    group_beats = {"data_in_0": counts["data_in_0"], "data_in_1": counts["data_in_1"]}
    draw = None
    if in_range:
        wide = bench(wide_parameters(params), in_range=False)
        draw = amplitude_draw(inputs, group_beats, wide.model, outputs, extremes=extremes)
    return BenchSpec(inputs=inputs, outputs=outputs, model=model, group_beats=group_beats, extremes=extremes, draw=draw)


@pyuvm.test()
class FixedMatmulTest(StreamTest):
    """Random and corner sequences under independent gaps on both operands and output stalls."""

    bench = staticmethod(bench)
