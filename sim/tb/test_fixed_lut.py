"""Bench of rtl/act/fixed_lut.sv against golden.activation.lookup, with a random table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyuvm

from golden.activation import lookup
from golden.fixed import FixedType
from sim.verif.bench import StreamTest, load_run_config
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    lanes, in_w, out_w = int(params["LANES"]), int(params["IN_WIDTH"]), int(params["OUT_WIDTH"])
    in_t = FixedType(in_w, 0, signed=in_w >= 2)
    table = load_run_config()["context"]["table"]

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        return {"data_out": lookup(group["data_in"], table, in_t).tolist()}

    return BenchSpec(
        inputs=[PortSpec("data_in", lanes, in_w, in_t.signed)],
        outputs=[PortSpec("data_out", lanes, out_w, signed=out_w >= 2)],
        model=model,
        extremes={"data_in": [in_t.min_int, in_t.max_int, 0, -1, 1]},
    )


@pyuvm.test()
class FixedLutTest(StreamTest):
    """Random lanes through a random table under random gaps and stalls."""

    bench = staticmethod(bench)
