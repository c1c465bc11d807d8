"""Bench of rtl/norm/fixed_affine.sv against golden.norm.affine.

The scales and shifts behind the memory images arrive in the run's context (the descriptor's
``prepare`` writes both from one random draw). One group is one position: CHANNELS elements
as CHANNELS / LANES beats, so every channel of the table is checked in every group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.fixed import FixedType
from golden.norm import affine
from sim.tb.fixed_edges import range_edges
from sim.verif.bench import StreamTest, load_run_config
from sim.verif.in_range import lanes_draw, preimage
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    """Input and output ports of LANES lanes; the model is golden.norm.affine on one position."""
    p = {k: int(v) for k, v in params.items() if not isinstance(v, str)}
    lanes = p["LANES"]
    in_t = FixedType(p["IN_WIDTH"], p["IN_FRAC"], bool(p["IN_SIGNED"]))
    s_t = FixedType(p["S_WIDTH"], p["S_FRAC"])
    b_t = FixedType(p["B_WIDTH"], p["B_FRAC"])
    out_t = FixedType(p["OUT_WIDTH"], p["OUT_FRAC"], bool(p["OUT_SIGNED"]))
    context = load_run_config()["context"]
    scale = np.array(context["scale"], dtype=np.int64)
    shift = np.array(context["shift"], dtype=np.int64)

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        x = np.array(group["data_in"], dtype=np.int64).reshape(-1)
        return {"data_out": affine(x, scale, shift, in_t, s_t, b_t, out_t).reshape(-1, lanes).tolist()}

    # per channel, the inputs x with x * scale + shift inside the output range
    acc_frac = in_t.frac + s_t.frac
    lo, hi = preimage(acc_frac, out_t, -(1 << 200), 1 << 200)
    ranges = []
    for s, b in zip(scale.tolist(), shift.tolist()):
        aligned = b << (acc_frac - b_t.frac)
        if s == 0:
            ranges.append((in_t.min_int, in_t.max_int))
        else:
            ends = sorted(((lo - aligned) / s, (hi - aligned) / s))
            ranges.append((int(np.ceil(ends[0])), int(np.floor(ends[1]))))
    inputs = [PortSpec("data_in", lanes, in_t.width, in_t.signed)]
    return BenchSpec(
        inputs=inputs,
        outputs=[PortSpec("data_out", lanes, out_t.width, out_t.signed)],
        model=model,
        group_beats={"data_in": p["CHANNELS"] // lanes},
        extremes={"data_in": range_edges(in_t)},
        draw=lanes_draw(
            inputs, {"data_in": p["CHANNELS"] // lanes}, {"data_in": ranges}, {"data_in": range_edges(in_t)}
        ),
    )


@pyuvm.test()
class FixedAffineTest(StreamTest):
    """Random positions under random gaps and stalls; every lane against the golden affine map."""

    bench = staticmethod(bench)
