"""Pooling: per-lane maximum and average over windows of consecutive beats (rtl/pool/).

The mapper places ``conv_window`` in front of ``pool_max`` (capture makes both nodes from one
``max_pool2d``). Golden: ``golden.pool.max_reduce`` and ``golden.pool.avg_reduce``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from golden.fixed import IntArray
from golden.pool import avg_recip, avg_reduce, max_reduce
from mapper.components.arith import MultPipe
from mapper.components.base import (
    BenchTiming,
    Component,
    Fold,
    Mutant,
    Resources,
    elements,
    in_format,
    out_format,
    register,
)
from mapper.components.resource_model import Terms
from mapper.components.window_model import image, image_lanes
from mapper.graph import Node


def window_size(node: Node) -> int:
    """Beats per pooling window: KH * KW."""
    kh, kw = node.attrs["kernel"]
    return int(kh) * int(kw)


@register
class PoolMax(Component):
    name = "pool_max"
    output_skid = True
    kind = "pool"
    summary = "per-lane max over each window (max pooling)"
    depends = ("skid_buffer",)
    ops = ("max_pool2d",)
    bench = "sim.tb.test_pool_max"
    defaults = {"CHANNELS": 1, "DATA_WIDTH": 8, "SIGNED": 1, "WINDOW": 4}
    sweeps = (
        {"WINDOW": 1, "DATA_WIDTH": 2},  # degenerate: every beat is its own window
        {"CHANNELS": 8, "WINDOW": 4},  # 2x2 pooling of 8 channels
        {"CHANNELS": 3, "DATA_WIDTH": 16, "SIGNED": 0, "WINDOW": 9},  # 3x3, unsigned after ReLU
    )
    timed_sweeps = (1, 2)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        return BenchTiming(interval=params["WINDOW"], latency=1, in_spacing=1, out_spacing=params["WINDOW"])

    def folds(self, node: Node) -> list[Fold]:
        return image_lanes(node)

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        t = in_format(node)
        return {"CHANNELS": fold.in_lanes, "DATA_WIDTH": t.width, "SIGNED": bool(t.signed), "WINDOW": window_size(node)}

    def golden(self, node: Node, x: IntArray) -> IntArray:
        c = image(node)[0]
        xa = np.asarray(x, dtype=np.int64)
        return max_reduce(xa.reshape(-1, c), window_size(node)).reshape(len(xa), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.in_shape) // fold.in_lanes  # one window beat per cycle

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        k = window_size(node)
        return [times[j + k - 1] + 1 for j in range(0, len(times), k)]

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        """Per lane bit a comparator and multiplexer (LUTs), the running maximum and the output
        registers (FFs); the window counter."""
        bits = params["CHANNELS"] * params["DATA_WIDTH"]
        count = math.ceil(math.log2(params["WINDOW"] + 1))
        compare = bits if params["WINDOW"] > 1 else 0
        return Terms(
            lut={"bits": bits, "compare": compare, "count": count, "base": 1},
            ff={"bits": bits, "count": count, "base": 1},
        )

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """1 to 32 channels of 2 to 16 bits, windows of 1 to 16 beats."""
        return [
            self.parameters_with(
                {
                    "CHANNELS": int(rng.choice((1, 2, 3, 4, 8, 16, 32))),
                    "DATA_WIDTH": int(rng.choice((2, 3, 4, 6, 8, 12, 16))),
                    "SIGNED": int(rng.integers(2)),
                    "WINDOW": int(rng.choice((1, 2, 4, 9, 16))),
                }
            )
            for _ in range(count)
        ]


@register
class PoolAvg(Component):
    name = "pool_avg"
    output_skid = True
    kind = "pool"
    summary = (
        "per-lane average over each window (average pooling): exact sum times round(2**RECIP_FRAC / WINDOW), "
        "one requantization; exact mean for power-of-two windows"
    )
    depends = ("fixed_requant_reg", "mult_pipe", "pipe_ctrl", "skid_buffer")
    ops = ("avg_pool2d", "global_avg_pool")
    bench = "sim.tb.test_pool_avg"
    defaults = {
        "CHANNELS": 1,
        "IN_WIDTH": 8,
        "IN_FRAC": 4,
        "IN_SIGNED": 1,
        "OUT_WIDTH": 8,
        "OUT_FRAC": 4,
        "OUT_SIGNED": 1,
        "WINDOW": 4,
        "RECIP_FRAC": 16,
    }
    sweeps = (
        # one lane, narrow, window 2 with the shortest reciprocal (1/2 as 1 * 2**-1): exact mean,
        # ties on every odd sum, saturates to a 2-bit output
        {"CHANNELS": 1, "IN_WIDTH": 3, "IN_FRAC": 1, "OUT_WIDTH": 2, "OUT_FRAC": 0, "WINDOW": 2, "RECIP_FRAC": 1},
        # 2x2 pooling of 8 channels: exact mean, ties on sums = 2 mod 4
        {"CHANNELS": 8, "WINDOW": 4},
        # 3x3 pooling, wide unsigned 32-bit input (after ReLU), 1/9 approximated with 20 bits,
        # output finer than the input and saturating
        {
            "CHANNELS": 3,
            "IN_WIDTH": 32,
            "IN_FRAC": 8,
            "IN_SIGNED": 0,
            "OUT_WIDTH": 16,
            "OUT_FRAC": 10,
            "OUT_SIGNED": 0,
            "WINDOW": 9,
            "RECIP_FRAC": 20,
        },
        # 3x3 pooling at the default 16-bit reciprocal: round(2**16 / 9) = 7282, not the
        # truncated 7281 (at 20 bits both are 116508); 16-bit sums make the difference show
        {"CHANNELS": 4, "IN_WIDTH": 16, "IN_FRAC": 8, "OUT_WIDTH": 16, "OUT_FRAC": 8, "WINDOW": 9},
    )
    groups = 200
    timed_sweeps = (2,)
    fmax_sweep = 2  # the 32-bit input
    mutants = (
        # every lane accumulates onto lane 0's running sum
        Mutant("avg_lane0_sum", "$signed(sum[c]) + x", "$signed(sum[0]) + x", caught_by=(("pool_avg", 1),)),
    )

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        lat = self.latency(params["IN_WIDTH"], params["WINDOW"], params["RECIP_FRAC"])
        return BenchTiming(interval=params["WINDOW"], latency=lat, in_spacing=1, out_spacing=params["WINDOW"])

    @staticmethod
    def latency(in_width: int, window: int, recip_frac: int) -> int:
        """Cycles from a group's last beat to its average: the sum's register, the product by the
        reciprocal (mult_pipe without its optional registers; a sum of ``in_width + 1 +
        ceil(log2 window)`` bits times ``recip_frac + 2``), the requantizer's register, the skid
        buffer."""
        sum_w = in_width + 1 + (math.ceil(math.log2(window)) if window > 1 else 0)
        return MultPipe.latency(sum_w, recip_frac + 2, False, False) + 3

    def folds(self, node: Node) -> list[Fold]:
        return image_lanes(node)

    @staticmethod
    def window(node: Node) -> int:
        """Beats averaged per output beat: the kernel's KH * KW, or a global pooling's H * W."""
        if node.op == "global_avg_pool":
            _, h, w = image(node)
            return h * w
        return window_size(node)

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        i, o = in_format(node), out_format(node)
        return {
            "CHANNELS": fold.in_lanes,
            "IN_WIDTH": i.width,
            "IN_FRAC": i.frac,
            "IN_SIGNED": bool(i.signed),
            "OUT_WIDTH": o.width,
            "OUT_FRAC": o.frac,
            "OUT_SIGNED": bool(o.signed),
            "WINDOW": self.window(node),
            "RECIP_FRAC": int(node.attrs["recip_frac"]),
        }

    def golden(self, node: Node, x: IntArray) -> IntArray:
        c = image(node)[0]
        xa = np.asarray(x, dtype=np.int64)
        means = avg_reduce(
            xa.reshape(-1, c), self.window(node), in_format(node), out_format(node), int(node.attrs["recip_frac"])
        )
        return means.reshape(len(xa), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.in_shape) // fold.in_lanes  # one input beat per cycle

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        k = self.window(node)
        lat = self.latency(in_format(node).width, k, int(node.attrs["recip_frac"]))
        return [times[j + k - 1] + lat for j in range(0, len(times), k)]

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Per lane a running sum, a multiplier by the reciprocal constant and a requantizer; not
        calibrated on synthesis yet (a rough count: one DSP48E1 per lane, none when the constant
        is a power of two, since the product is then a shift; LUTs for the adder, rounding and
        saturation, FFs for the sum and the output). ResNet-8's global average pool (64 lanes,
        WINDOW 64) synthesized out of context: 0 DSP, 2,775 LUT, 3,961 FF, against 1,984 / 1,480
        estimated."""
        i, o = in_format(node), out_format(node)
        window = self.window(node)
        sum_w = i.width + (window - 1).bit_length() + 1
        recip = avg_recip(window, int(node.attrs["recip_frac"]))
        return Resources(
            lut=fold.in_lanes * (sum_w + 2 * o.width),
            ff=fold.in_lanes * (sum_w + o.width) + 8,
            dsp=0 if recip & (recip - 1) == 0 else fold.in_lanes,
        )
