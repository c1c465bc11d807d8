"""``fixed_lut``: element-wise activations as table lookups (rtl/act/), golden ``golden.activation``."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np

from golden.activation import activation_table, lookup
from golden.fixed import FixedType, IntArray
from mapper.components.base import BenchTiming, Elementwise, Fold, Resources, in_format, out_format, register
from mapper.graph import Node
from sim.memimage import write_memh


@functools.lru_cache(maxsize=64)
def _table_of(function: str, in_t: FixedType, out_t: FixedType) -> IntArray:
    table = activation_table(function, in_t, out_t)
    table.setflags(write=False)
    return table


def table(node: Node) -> IntArray:
    """Raw ``data_out`` entries of the node's activation for every raw ``data_in`` bit pattern."""
    return _table_of(node.attrs["function"], in_format(node), out_format(node))


@register
class FixedLut(Elementwise):
    name = "fixed_lut"
    output_skid = True
    kind = "act"
    summary = (
        "per-lane table lookup: any activation (sigmoid, tanh, GELU, SiLU, exp) on inputs up to 12 bits; "
        "tables from golden/activation.py"
    )
    depends = ("pipe_ctrl", "skid_buffer")
    ops = ("activation",)
    bench = "sim.tb.test_fixed_lut"
    defaults = {"LANES": 1, "IN_WIDTH": 8, "OUT_WIDTH": 8, "TABLE_FILE": ""}
    sweeps = (
        {"LANES": 1, "IN_WIDTH": 1, "OUT_WIDTH": 1},  # the smallest table: two 1-bit entries
        {"LANES": 4, "IN_WIDTH": 8, "OUT_WIDTH": 8},  # an 8-bit activation on 4 lanes
        {"LANES": 2, "IN_WIDTH": 10, "OUT_WIDTH": 16},  # wide: 1,024 entries of 16 bits
    )
    timed_sweeps = (1,)
    #: The table read, the entry register, the skid buffer.
    LATENCY = 3

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return BenchTiming(interval=1, latency=self.LATENCY, in_spacing=1, out_spacing=1)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return [t + self.LATENCY for t in times]

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """A random table (every entry drawn independently, every output bit taking both values),
        so every address and every bit is checked."""
        out_w = int(params["OUT_WIDTH"])
        rng = np.random.default_rng(seed)
        lo, hi = (-(1 << (out_w - 1)), (1 << (out_w - 1)) - 1) if out_w >= 2 else (0, 1)
        entries = rng.integers(lo, hi + 1, size=1 << int(params["IN_WIDTH"]))
        words = [int(v) & ((1 << out_w) - 1) for v in entries]
        for bit in range(out_w):  # every output bit takes both values (a 1-bit table drew [1, 1])
            if len({(w >> bit) & 1 for w in words}) == 1:
                words[1] ^= 1 << bit
        entries = np.array([w - (1 << out_w) if out_w >= 2 and w >> (out_w - 1) else w for w in words])
        path = write_memh(folder / "table.memh", words, out_w)
        return {**params, "TABLE_FILE": str(path)}, {"table": entries.tolist()}

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        return {"LANES": fold.in_lanes, "IN_WIDTH": in_format(node).width, "OUT_WIDTH": out_format(node).width}

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        out_w = out_format(node).width
        words = [int(v) & ((1 << out_w) - 1) for v in table(node)]  # two's complement bit patterns
        return {"TABLE_FILE": str(write_memh(folder / f"{node.name}_table.memh", words, out_w))}

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return lookup(x, table(node), in_format(node))

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Per lane a ``2**IN_WIDTH x OUT_WIDTH`` ROM read into the output register.

        Yosys (synth_xilinx) puts a table of at least 512 entries and 16 kb into block RAM (a
        4,096 x 8 sigmoid: 1 RAMB36, 2 LUT, 1 FF), else it builds the ROM from LUT6s after logic
        minimisation, so the cost follows the table's contents, not its size: about one LUT per
        output bit and 64-entry block in which that bit is not constant, times 1.6 for the
        multiplexers between blocks when there are several; output bits that never change cost no
        flip-flop. Calibrated on four activation tables (sigmoid 8->8 bits x 4 lanes, tanh 10->8,
        GELU 6->8 x 2, SiLU 4->6 x 8): LUTs within about 20 % (the 10-bit tanh: 34 estimated, 41
        measured), FFs exact."""
        out_w = out_format(node).width
        entries_raw = table(node) & ((1 << out_w) - 1)
        entries, bits_total = len(entries_raw), len(entries_raw) * out_w
        if entries >= 512 and bits_total >= 16384:
            return Resources(lut=2, ff=1, bram=fold.in_lanes * math.ceil(bits_total / 36864))
        bits = (entries_raw[:, None] >> np.arange(out_w)) & 1
        blocks = bits.reshape(-1, min(64, entries), out_w)
        live_blocks = int((blocks.min(axis=1) != blocks.max(axis=1)).sum())
        live_bits = int((bits.min(axis=0) != bits.max(axis=0)).sum())
        per_lane = math.ceil(live_blocks * (1.6 if entries > 64 else 1.0))
        return Resources(lut=fold.in_lanes * per_lane, ff=fold.in_lanes * live_bits + 1)
