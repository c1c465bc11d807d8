"""Bench of rtl/conv/conv_window.sv against golden.window.window_beats: one image per group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyuvm

from golden.window import window_beats
from sim.verif.bench import StreamTest
from sim.verif.ports import Beat, BenchSpec, PortSpec


def bench(params: dict[str, Any]) -> BenchSpec:
    c, width = int(params["CHANNELS"]), int(params["DATA_WIDTH"])
    h, w = int(params["IMG_H"]), int(params["IMG_W"])
    kernel = (int(params["KERNEL_H"]), int(params["KERNEL_W"]))
    stride, padding = int(params["STRIDE"]), int(params["PADDING"])
    par = int(params["WINDOW_PAR"])

    def model(group: Mapping[str, Sequence[Beat]]) -> dict[str, list[Beat]]:
        image = np.array(group["data_in"], dtype=np.int64).reshape(h, w, c)
        return {"data_out": window_beats(image, kernel, stride, padding, par).tolist()}

    return BenchSpec(
        inputs=[PortSpec("data_in", c, width)],
        outputs=[PortSpec("data_out", par * c, width)],
        model=model,
        group_beats={"data_in": h * w},
    )


@pyuvm.test()
class ConvWindowTest(StreamTest):
    """Random images under random gaps and stalls; every window beat against the golden windows."""

    bench = staticmethod(bench)
