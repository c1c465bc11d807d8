"""Bench of rtl/attn/fixed_softmax.sv against golden.attention.softmax.

A group is one row of N elements. The exponent table behind TABLE_FILE comes from the run's
context (the descriptor's ``prepare`` writes it from golden.attention.exp_table), with the input's
fraction bits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.attention import softmax
from golden.fixed import FixedType
from sim.tb.fixed_edges import range_edges
from sim.verif.bench import StreamTest
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any], *, in_range: bool = True) -> BenchSpec:
    """One row in, its probabilities out. Every input is in range (a softmax's outputs lie in
    [0, 1]; only an output format without 1.0 saturates), so ``in_range`` changes nothing."""
    p = {k: int(v) for k, v in params.items() if not isinstance(v, str)}
    in_t = FixedType(p["IN_WIDTH"], p["IN_FRAC"])
    out_t = FixedType(p["OUT_WIDTH"], p["OUT_FRAC"], bool(p["OUT_SIGNED"]))
    lanes, beats = p["LANES"], p["N"] // p["LANES"]

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        x = np.array(group["data_in"], dtype=np.int64).reshape(1, -1)
        y = softmax(x, in_t, out_t, p["E_FRAC"], p["R_FRAC"])
        return {"data_out": y.reshape(-1, lanes).tolist()}

    # range ends, and values close to each other so that rows hold ties and near-ties
    edges = sorted(set(range_edges(in_t)) | {1, 2, 3, in_t.max_int - 2})
    return BenchSpec(
        inputs=[PortSpec("data_in", lanes, in_t.width)],
        outputs=[PortSpec("data_out", lanes, out_t.width, out_t.signed)],
        model=model,
        group_beats={"data_in": beats},
        extremes={"data_in": edges},
    )


@pyuvm.test()
class FixedSoftmaxTest(StreamTest):
    """Random and corner rows (all equal, one dominant, alternating) under gaps and stalls."""

    bench = staticmethod(bench)
