"""Stream plumbing: register slice, FIFO, fork, join and lane-count adapter (rtl/stream/).

The mapper inserts ``stream_fifo`` (op ``fifo``), ``stream_resize`` (op ``resize``) and
``skid_buffer`` (op ``slice``: the register slice behind the accelerator's input port) itself;
their nodes carry the stream of the node in front of them. The data pass through unchanged
(golden: ``golden.components.passthrough``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from golden import components as gc
from golden.fixed import IntArray
from mapper.components.base import (
    LIBRARY,
    BenchTiming,
    Component,
    Elastic,
    Elementwise,
    Fold,
    divisors,
    elements,
    out_format,
    register,
)
from mapper.components.resource_model import Terms, estimate, rom_bram_tiles, store_in_bram
from mapper.graph import Node, Resources


def handover(latency: int) -> BenchTiming:
    """One beat per cycle, out ``latency`` cycles after it came in (fork, join: 1 with their skid
    buffer, 0 combinational)."""
    return BenchTiming(interval=1, latency=latency, in_spacing=1, out_spacing=1)


def _passthrough_times(times: list[int], repeat: int = 1) -> list[int]:
    """Each input beat leaves ``repeat`` times, one cycle after it arrives at the earliest and
    one cycle after the previous output beat."""
    out: list[int] = []
    for t in times:
        for _ in range(repeat):
            out.append(max(t + 1, out[-1] + 1) if out else t + 1)
    return out


class PassThrough(Component):
    """A plumbing node that hands its beats on unchanged, one cycle later at the earliest (the
    model that skid_buffer and stream_fifo share)."""

    def folds(self, node: Node) -> list[Fold]:
        return [Fold(d, d) for d in divisors(elements(node.out_shape))]

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return gc.passthrough(x)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.out_shape) // fold.out_lanes

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return _passthrough_times(times)


@register
class SkidBuffer(PassThrough):
    name = "skid_buffer"
    kind = "stream"
    summary = "registered slice, full throughput"
    ops = ("slice",)
    bench = "sim.tb.test_skid_buffer"
    defaults = {"LANES": 1, "WIDTH": 8, "READY_COPIES": 1}
    sweeps = ({"LANES": 1, "WIDTH": 1}, {"LANES": 4, "WIDTH": 8}, {"LANES": 16, "WIDTH": 32})
    timed_sweeps = (2,)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return handover(1)

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        return {"LANES": fold.in_lanes, "WIDTH": out_format(node).width, "READY_COPIES": 1}

    def elastic(self, node: Node, fold: Fold) -> Elastic:
        """Two beats; its ready is a flip-flop."""
        return Elastic(2, 1)

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """stream_fifo's terms at depth 2, which is this buffer (and is calibrated)."""
        return LIBRARY["stream_fifo"].resource_terms({"LANES": params["LANES"], "WIDTH": params["WIDTH"], "DEPTH": 2})

    def resources(self, node: Node, fold: Fold) -> Resources:
        params = self.parameters(node, fold)
        return skid_resources(params["LANES"], params["WIDTH"])


def skid_resources(lanes: int, width: int) -> Resources:
    """A skid_buffer of ``lanes`` x ``width`` bits: stream_fifo's calibrated estimate at depth 2
    (the mapper's input slice, the slice inside fixed_conv2d)."""
    return estimate("stream_fifo", LIBRARY["skid_buffer"].resource_terms({"LANES": lanes, "WIDTH": width}))


@register
class PipeCtrl(Component):
    name = "pipe_ctrl"
    kind = "stream"
    summary = "valid bits and common advance of a pipeline ending in a skid buffer"
    defaults = {"STAGES": 1}


@register
class StreamFifo(PassThrough):
    name = "stream_fifo"
    kind = "stream"
    summary = "FIFO of DEPTH beats"
    depends = ("skid_buffer",)
    ops = ("fifo",)
    bench = "sim.tb.test_stream_fifo"
    defaults = {"LANES": 1, "WIDTH": 8, "DEPTH": 2}
    sweeps = (
        {"LANES": 1, "WIDTH": 1, "DEPTH": 1},
        {"LANES": 16, "WIDTH": 32, "DEPTH": 2},
        {"LANES": 2, "WIDTH": 3, "DEPTH": 16},
    )
    timed_sweeps = (0, 1)
    fmax_sweep = 1

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        ii = 2 if params["DEPTH"] == 1 else 1  # a lone register empties before it refills
        return BenchTiming(interval=ii, latency=1, in_spacing=ii, out_spacing=ii)

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        return {"LANES": fold.in_lanes, "WIDTH": out_format(node).width, "DEPTH": int(node.attrs["depth"])}

    def elastic(self, node: Node, fold: Fold) -> Elastic:
        """DEPTH beats: its ready looks only at its fill level."""
        return Elastic(int(node.attrs["depth"]), 1)

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """The output register (flip-flops); DEPTH = 2 is a skid buffer (a second register and a
        multiplexer), deeper FIFOs keep the other beats in a circular buffer that synthesis
        builds from LUTRAM (counted apart; one LUTRAM column per 64 beats, joined by
        multiplexers) or, from 128 beats and over 2 kb, block RAM (:func:`store_in_bram`; the
        calibration points are at most 64 deep), with a multiplexer in front of the output
        register; the pointers."""
        bits, depth = params["LANES"] * params["WIDTH"], params["DEPTH"]
        pointers = math.ceil(math.log2(depth + 1))
        bram = store_in_bram(depth - 1, bits)
        return Terms(
            lut={
                "mux": bits if depth >= 2 else 0,
                "deep": bits * (math.ceil((depth - 1) / 64) - 1) if depth > 65 and not bram else 0,
                "pointers": pointers if depth > 2 else 0,
                "base": 1,
            },
            ff={"out": bits, "skid": bits if depth == 2 else 0, "pointers": pointers if depth > 2 else 0, "base": 1},
            bram=rom_bram_tiles(depth - 1, bits) if bram else 0,
        )

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """1 to 16 lanes of 2 to 16 bits, 1 to 64 beats deep."""
        return [
            self.parameters_with(
                {
                    "LANES": int(rng.choice((1, 2, 4, 8, 16))),
                    "WIDTH": int(rng.choice((2, 3, 4, 6, 8, 12, 16))),
                    "DEPTH": int(rng.choice((1, 2, 3, 4, 6, 8, 12, 16, 32, 64))),
                }
            )
            for _ in range(count)
        ]


@register
class StreamFork(Elementwise):
    name = "stream_fork"
    kind = "stream"
    summary = "one stream to N consumers"
    depends = ("skid_buffer",)
    ops = ("fork",)
    bench = "sim.tb.test_stream_fork"
    defaults = {"LANES": 1, "WIDTH": 8, "N": 2, "IN_REG": 1}
    sweeps = (
        {"LANES": 1, "WIDTH": 1, "N": 1},
        {"LANES": 3, "WIDTH": 8, "N": 2},
        {"LANES": 16, "WIDTH": 32, "N": 4},
        {"LANES": 3, "WIDTH": 8, "N": 3, "IN_REG": 0},  # combinational, as inside a block
    )
    timed_sweeps = (2, 3)
    fmax_sweep = 2

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return handover(int(params["IN_REG"]))

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        # the mapper's forks are registered: no ready path crosses them
        return {
            "LANES": fold.in_lanes,
            "WIDTH": out_format(node).width,
            "N": int(node.attrs["consumers"]),
            "IN_REG": True,
        }

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return gc.passthrough(x)

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """The input skid buffer (two beat registers and the output multiplexer) and a taken bit
        with its valid / release logic per consumer."""
        bits, n = params["LANES"] * params["WIDTH"], params["N"]
        return Terms(lut={"bits": bits, "consumers": n, "base": 1}, ff={"bits": bits, "consumers": n, "base": 1})

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """1 to 32 lanes of 2 to 16 bits, 1 to 4 consumers."""
        return [
            self.parameters_with(
                {
                    "LANES": int(rng.choice((1, 2, 4, 8, 16, 32))),
                    "WIDTH": int(rng.choice((2, 3, 4, 6, 8, 12, 16))),
                    "N": int(rng.integers(1, 5)),
                }
            )
            for _ in range(count)
        ]


@register
class StreamJoin(Component):
    name = "stream_join"
    kind = "stream"
    summary = "N streams to one"
    depends = ("skid_buffer",)
    bench = "sim.tb.test_stream_join"
    defaults = {"LANES": 1, "WIDTH": 8, "N": 2, "OUT_REG": 1}
    sweeps = (
        {"LANES": 1, "WIDTH": 2, "N": 1},
        {"LANES": 3, "WIDTH": 8, "N": 2},
        {"LANES": 16, "WIDTH": 32, "N": 4},
        {"LANES": 3, "WIDTH": 8, "N": 3, "OUT_REG": 0},  # combinational, as inside a block
    )
    timed_sweeps = (2, 3)
    fmax_sweep = 2

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return handover(int(params["OUT_REG"]))


@register
class StreamResize(Component):
    name = "stream_resize"
    output_skid = True
    kind = "stream"
    summary = "lane-count adapter (gather / split)"
    depends = ("skid_buffer",)
    ops = ("resize",)
    bench = "sim.tb.test_stream_resize"
    defaults = {"IN_LANES": 2, "OUT_LANES": 1, "WIDTH": 8}
    sweeps = (
        {"IN_LANES": 1, "OUT_LANES": 4, "WIDTH": 2},  # gather from one lane
        {"IN_LANES": 16, "OUT_LANES": 4, "WIDTH": 32},  # split
        {"IN_LANES": 3, "OUT_LANES": 12, "WIDTH": 8},  # gather several lanes at a time
        {"IN_LANES": 4, "OUT_LANES": 4, "WIDTH": 5},  # same width: register slice
    )
    timed_sweeps = (1, 2, 3)
    fmax_sweep = 1

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        a, b = params["IN_LANES"], params["OUT_LANES"]
        if b > a:  # gather b/a input beats into one output beat
            return BenchTiming(interval=b // a, latency=1, in_spacing=1, out_spacing=b // a)
        return BenchTiming(interval=a // b, latency=1, in_spacing=a // b, out_spacing=1)

    def folds(self, node: Node) -> list[Fold]:
        return []  # lanes are fixed by its neighbours

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        return {"IN_LANES": fold.in_lanes, "OUT_LANES": fold.out_lanes, "WIDTH": out_format(node).width}

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return gc.passthrough(x)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.out_shape) // min(fold.in_lanes, fold.out_lanes)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        if fold.out_lanes >= fold.in_lanes:  # gather r input beats into one output beat
            r = fold.out_lanes // fold.in_lanes
            return [times[(j + 1) * r - 1] + 1 for j in range(len(times) // r)]
        return _passthrough_times(times, fold.in_lanes // fold.out_lanes)  # split into r beats

    def elastic(self, node: Node, fold: Fold) -> Elastic:
        """The output skid_buffer (two beats) behind the gather's pieces or the split's rest."""
        a, b = fold.in_lanes, fold.out_lanes
        return Elastic(2, 1, split=max(1, a // b), gather=max(1, b // a))

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        """A gather takes a beat per cycle; a split takes its next input beat only once the
        previous one's last piece leaves (``data_in_ready`` waits for ``left == 0``): ``R`` cycles
        after the previous take at the earliest. What a fork in front of a split waits for."""
        if fold.out_lanes >= fold.in_lanes:
            return list(times)
        r = fold.in_lanes // fold.out_lanes
        taken: list[int] = []
        for t in times:
            taken.append(max(t, taken[-1] + r) if taken else t)
        return taken

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """Gather: the lanes collected so far (registers); split: the input beat (registers) and
        a multiplexer per output bit over the R parts; both: the output skid buffer (two
        registers and a multiplexer per output bit) and the beat counter."""
        w, lanes_in, lanes_out = params["WIDTH"], params["IN_LANES"], params["OUT_LANES"]
        ratio = max(lanes_in, lanes_out) // min(lanes_in, lanes_out)
        count = math.ceil(math.log2(ratio)) if ratio > 1 else 0
        split = lanes_in > lanes_out
        return Terms(
            lut={"out": lanes_out * w, "select": lanes_out * w * count if split else 0, "count": count, "base": 1},
            ff={"in": lanes_in * w if ratio > 1 else 0, "out": lanes_out * w, "count": count, "base": 1},
        )

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """Gathers, splits and same-width slices of 1 to 64 lanes, 2 to 16 bits, ratios 1 to 16."""
        points = []
        for _ in range(count):
            small, ratio = int(rng.choice((1, 2, 3, 4, 8))), int(rng.choice((1, 2, 4, 8, 16)))
            big = small * ratio
            lanes = (small, big) if rng.integers(2) else (big, small)
            w = int(rng.choice((2, 3, 4, 6, 8, 12, 16)))
            points.append(self.parameters_with({"IN_LANES": lanes[0], "OUT_LANES": lanes[1], "WIDTH": w}))
        return points
