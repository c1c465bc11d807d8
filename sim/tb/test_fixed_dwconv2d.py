"""Bench of rtl/conv/fixed_dwconv2d.sv against golden.conv.conv2d with groups = channels: one image
per group.

The torch-layout (C, 1, KH, KW) weights arrive in the run's context; the descriptor's ``prepare``
wrote them to the memory image in the module's step-major layout, so this bench also checks that
layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.conv import conv2d
from sim.tb.layer_params import layer_constants, layer_formats
from sim.verif.bench import StreamTest
from sim.verif.in_range import amplitude_draw, wide_parameters
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any], *, in_range: bool = True) -> BenchSpec:
    """Image in, output pixels out (all channels in lanes); with ``in_range``, images drawn so that
    most outputs do not saturate (judged by this bench's model with a 32-bit output)."""
    p = {k: v for k, v in params.items() if not isinstance(v, str)}
    in_t, w_t, b_t, out_t = layer_formats(p)
    w, b = layer_constants(p)
    c, h, wd = p["CHANNELS"], p["IMG_H"], p["IMG_W"]

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        image = np.array(group["data_in"], dtype=np.int64).reshape(1, h, wd, c).transpose(0, 3, 1, 2)
        stride, padding = (p["STRIDE"],) * 2, (p["PADDING"],) * 2
        y = conv2d(image, w, b, in_t, w_t, b_t, out_t, stride, padding, groups=c)
        return {"data_out": y[0].transpose(1, 2, 0).reshape(-1, c).tolist()}

    inputs = [PortSpec("data_in", c, p["IN_WIDTH"], bool(p["IN_SIGNED"]))]
    outputs = [PortSpec("data_out", c, p["OUT_WIDTH"], bool(p["OUT_SIGNED"]))]
    beats = {"data_in": h * wd}
    extremes = {"data_in": [in_t.min_int, in_t.max_int, 0, 1, -1]}
    draw = None
    if in_range:
        wide = bench(wide_parameters(params), in_range=False)
        draw = amplitude_draw(inputs, beats, wide.model, outputs, extremes=extremes)
    return BenchSpec(inputs=inputs, outputs=outputs, model=model, group_beats=beats, extremes=extremes, draw=draw)


@pyuvm.test()
class FixedDwConv2dTest(StreamTest):
    """Random images under random gaps and stalls; every channel against golden grouped conv2d."""

    bench = staticmethod(bench)
