"""Images: the sliding-window generator and the 2-D convolution (rtl/conv/).

Beats of image streams are whole pixels (all channels in lanes); a convolution's ``IN_PAR`` is its
input channels and only its ``OUT_PAR`` is folded. Golden: ``golden.window.sliding_windows`` and
``golden.conv.conv2d``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from golden.conv import conv2d as golden_conv2d
from golden.fixed import IntArray
from golden.window import sliding_windows
from mapper.components.base import (
    BenchTiming,
    Component,
    Fold,
    Resources,
    divisors,
    in_format,
    random_constants,
    register,
)
from mapper.components.linear import (
    LINEAR_FORMAT,
    layer_latency,
    layer_memories,
    layer_parameters,
    layer_resources,
    write_linear_images,
)
from mapper.graph import Node
from sim.memimage import conv2d_weight_matrix


def image(node: Node) -> tuple[int, int, int]:
    """(C, H, W) of the image a window / convolution / pooling node reads."""
    c, h, w = (int(d) for d in node.attrs["image"])
    return c, h, w


def window_geometry(node: Node) -> tuple[int, int, int, int, int, int, int, int]:
    """(H, W, KH, KW, stride, padding, OH, OW) of a conv2d / pool_window node."""
    _, h, w = image(node)
    kh, kw = (int(k) for k in node.attrs["kernel"])
    s, p = int(node.attrs["stride"]), int(node.attrs["padding"])
    return h, w, kh, kw, s, p, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1


def window_depth(node: Node) -> int:
    """conv_window's line store: the power of two >= (KH + 1) * W pixels, 4 at least."""
    _, w, kh, *_ = window_geometry(node)
    return 1 << max(2, math.ceil(math.log2((kh + 1) * w)))


#: Cycles from the cycle a pixel is taken to the first cycle a window beat reading it can be
#: emitted into conv_window's output register: the pixel counter counts it the cycle after, and
#: the beat's "available" flag is a register computed from the counter.
PIXEL_TO_EMIT = 2


@dataclass(frozen=True)
class WindowRun:
    """conv_window's handshakes for a stream of images (see :func:`window_run`).

    Attributes:
        beats: cycle each window beat is taken by the consumer (offered, with an always-ready one).
        emits: cycle each window beat enters the output register (it is offered the cycle after).
        taken: cycle each pixel is taken.
        per_image: window beats per image.
    """

    beats: list[int]
    emits: list[int]
    taken: list[int]
    per_image: int


def window_run(node: Node, times: list[int], replay: int) -> WindowRun:
    """conv_window's handshakes for the images whose pixels are offered at ``times`` (one entry per
    pixel, images back to back; a pixel stays offered until taken and the next is offered the
    cycle after at the earliest), the consumer taking every beat as soon as it is offered except
    for ``replay`` cycles after the last beat of a window position (fixed_conv2d's later output
    groups re-read the stored window).

    The model of rtl/conv/conv_window.sv, event by event:

    * pixels are numbered across images; pixel ``g`` is taken one cycle after the previous one at
      the earliest, and only while ``g < F + DEPTH``, F being the first pixel read by the band
      (window row) of the oldest beat not yet emitted: from the cycle after the last beat of the
      band before the first band whose ``F + DEPTH`` exceeds ``g`` is emitted. So the next
      image's pixels come in while the current image's last bands are emitted (no gap);
    * window beat ``j`` is emitted ``PIXEL_TO_EMIT`` cycles after the pixel it reads is taken (a
      padding beat: its image's first pixel), not before the cycle the previous beat is taken
      (the output register empties then), and from cycle 1 (the beat register fills in cycle 0);
      it is offered the cycle after it is emitted.
    """
    h, w, kh, kw, s, p, oh, ow = window_geometry(node)
    depth, pixels = window_depth(node), h * w
    images = len(times) // pixels
    first = [max(0, b * s - p) * w for b in range(oh)]  # first pixel each band reads
    taken: list[int] = []
    band_done: list[int] = []  # emit cycle of each band's last beat, bands numbered across images
    emits: list[int] = []
    beats: list[int] = []

    def band_limit(r: int) -> int:  # F + DEPTH of band r (numbered across images)
        return (r // oh) * pixels + first[r % oh] + depth

    admit_band = 0  # the first band whose limit exceeds the next pixel to take

    def take_until(need: int) -> None:
        nonlocal admit_band
        while len(taken) <= need:
            g = len(taken)
            while band_limit(admit_band) <= g:
                admit_band += 1
            t = times[g] if not taken else max(times[g], taken[-1] + 1)
            taken.append(max(t, band_done[admit_band - 1] + 1 if admit_band else 0))

    for m in range(images):
        for oy in range(oh):
            for ox in range(ow):
                for ky in range(kh):
                    for kx in range(kw):
                        y, x = oy * s + ky - p, ox * s + kx - p
                        need = m * pixels + (y * w + x if 0 <= y < h and 0 <= x < w else 0)
                        take_until(need)
                        e = max(taken[need] + PIXEL_TO_EMIT, 1, beats[-1] if beats else 0)
                        c = e + 1
                        if beats and ky == 0 and kx == 0:
                            c = max(c, beats[-1] + 1 + replay)
                        emits.append(e)
                        beats.append(c)
            band_done.append(emits[-1])
    take_until(images * pixels - 1)
    return WindowRun(beats, emits, taken, oh * ow * kh * kw)


def window_schedule(node: Node, times: list[int], replay: int) -> tuple[list[int], list[int]]:
    """(cycle of every window beat, cycle every pixel is taken) of one image in an otherwise empty
    conv_window, from its pixels' offered cycles (see :func:`window_run`)."""
    run = window_run(node, times, replay)
    return run.beats, run.taken


def window_beat_times(node: Node, times: list[int], replay: int) -> list[int]:
    """Cycle of every window beat of one image (see :func:`window_run`)."""
    return window_run(node, times, replay).beats


#: Images simulated to find conv_window's steady state.
PERIOD_IMAGES = 6


@functools.lru_cache(maxsize=256)
def _window_period(geometry: tuple[int, ...], replay: int) -> int:
    h, w, kh, kw, s, p = geometry
    node = Node(name="period", op="period", attrs={"image": (1, h, w), "kernel": (kh, kw), "stride": s, "padding": p})
    run = window_run(node, [0] * (PERIOD_IMAGES * h * w), replay)
    starts = run.beats[:: run.per_image]
    gaps = {b - a for a, b in zip(starts[1:], starts[2:])}
    if len(gaps) != 1:
        raise AssertionError(f"conv_window {geometry} replay {replay}: no steady image period ({sorted(gaps)})")
    return gaps.pop()


def window_period(node: Node, replay: int) -> int:
    """Cycles per image of conv_window when pixels arrive whenever asked for and images follow
    each other: the spacing of the images' first window beats in steady state (from the second
    image on; images stream through, so it is the larger of the window beats, with ``replay``
    cycles after each position's last, and the pixels the line store lets in per image)."""
    h, w, kh, kw, s, p, _, _ = window_geometry(node)
    return _window_period((h, w, kh, kw, s, p), replay)


def window_resources(node: Node, channels: int, width: int) -> Resources:
    """conv_window: position counters, coordinates and raster indices kept incrementally in narrow
    registers (no products, so no DSP), the line store (LUTRAM, about one LUT per 192 bits), the
    output register. Calibrated on Yosys synth_xilinx runs of four windows (1 to 16 channels,
    2x2 / 3x3, padding 0 / 1, widths 4 to 8, strides 1 / 2): LUT (LUTRAM included) and FF within
    about 12 %, DSP exact."""
    bits = window_depth(node) * channels * width
    return Resources(lut=120 + math.ceil(bits / 192), ff=channels * width + 100, dsp=0)


def bench_node(params: dict[str, Any], channels: str, weight: tuple[int, ...] | None = None) -> Node:
    """The graph node a bench parameter set stands for (geometry and, for a convolution, the
    weight shape), so that a bench's timing is checked against the mapper's own model."""
    return Node(
        name="bench",
        op="bench",
        attrs={
            "image": (params[channels], params["IMG_H"], params["IMG_W"]),
            "kernel": (params["KERNEL_H"], params["KERNEL_W"]),
            "stride": params["STRIDE"],
            "padding": params["PADDING"],
        },
        weight=None if weight is None else np.zeros(weight, dtype=np.int64),
    )


def image_lanes(node: Node) -> list[Fold]:
    """A beat is one pixel with all its channels."""
    c = image(node)[0]
    return [Fold(c, c)]


@register
class ConvWindow(Component):
    name = "conv_window"
    kind = "conv"
    summary = "sliding windows (im2col) with stride and zero padding"
    ops = ("pool_window",)
    bench = "sim.tb.test_conv_window"
    defaults = {
        "CHANNELS": 1,
        "DATA_WIDTH": 8,
        "IMG_H": 8,
        "IMG_W": 8,
        "KERNEL_H": 3,
        "KERNEL_W": 3,
        "STRIDE": 1,
        "PADDING": 0,
    }
    groups = 30  # one group is a whole image: 30 images are 120 to 8,100 window beats
    sweeps = (
        # 1x1 kernel on a 1-pixel-wide image: the degenerate corner
        {"IMG_H": 3, "IMG_W": 1, "KERNEL_H": 1, "KERNEL_W": 1, "DATA_WIDTH": 2},
        # 3x3, padding 1, 3 channels (a CIFAR-like first layer on a small image)
        {"CHANNELS": 3, "IMG_H": 5, "IMG_W": 6, "PADDING": 1},
        # 2x2 stride 2 (pooling windows), odd size leaves the last row and column unread
        {"CHANNELS": 4, "DATA_WIDTH": 16, "IMG_H": 5, "IMG_W": 5, "KERNEL_H": 2, "KERNEL_W": 2, "STRIDE": 2},
        # non-square kernel, stride 2 with padding, wide lanes
        {
            "CHANNELS": 2,
            "DATA_WIDTH": 32,
            "IMG_H": 6,
            "IMG_W": 7,
            "KERNEL_H": 3,
            "KERNEL_W": 2,
            "STRIDE": 2,
            "PADDING": 1,
        },
    )
    timed_sweeps = (0, 1, 2, 3)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One image every ``cycles`` (the mapper's model); windows leave before the image ends."""
        node = bench_node(params, "CHANNELS")
        return BenchTiming(interval=self.cycles(node, Fold(params["CHANNELS"], params["CHANNELS"])), latency=None)

    def folds(self, node: Node) -> list[Fold]:
        return image_lanes(node)

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        h, w, kh, kw, s, p, _, _ = window_geometry(node)
        return {
            "CHANNELS": fold.in_lanes,
            "DATA_WIDTH": in_format(node).width,
            "IMG_H": h,
            "IMG_W": w,
            "KERNEL_H": kh,
            "KERNEL_W": kw,
            "STRIDE": s,
            "PADDING": p,
        }

    def golden(self, node: Node, x: IntArray) -> IntArray:
        c, h, w = image(node)
        kh, kw = node.attrs["kernel"]
        s, p = int(node.attrs["stride"]), int(node.attrs["padding"])
        imgs = np.asarray(x, dtype=np.int64).reshape(-1, h, w, c)
        return np.stack([sliding_windows(img, (kh, kw), s, p).reshape(-1) for img in imgs])

    def cycles(self, node: Node, fold: Fold) -> int:
        return window_period(node, 0)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return window_beat_times(node, times, 0)

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return window_schedule(node, times, 0)[1]

    def resources(self, node: Node, fold: Fold) -> Resources:
        return window_resources(node, fold.in_lanes, in_format(node).width)


@register
class FixedConv2d(Component):
    name = "fixed_conv2d"
    kind = "conv"
    summary = "2-D convolution: conv_window + fixed_linear"
    depends = ("fixed_linear", "conv_window")
    ops = ("conv2d",)
    bench = "sim.tb.test_fixed_conv2d"
    defaults = {
        "IN_CHANNELS": 1,
        "OUT_CHANNELS": 2,
        "IMG_H": 8,
        "IMG_W": 8,
        "KERNEL_H": 3,
        "KERNEL_W": 3,
        "STRIDE": 1,
        "PADDING": 0,
        "OUT_PAR": 1,
        **LINEAR_FORMAT,
        "WEIGHTS_FILE": "",
        "BIAS_FILE": "",
    }
    sweeps = (
        # 3x3, one input channel, padding 1, output channels folded one per beat
        {"IN_CHANNELS": 1, "OUT_CHANNELS": 3, "IMG_H": 5, "IMG_W": 5, "PADDING": 1},
        # 3 channels in, 4 out two per beat, stride 2, unsigned input, no bias
        {
            "IN_CHANNELS": 3,
            "OUT_CHANNELS": 4,
            "IMG_H": 6,
            "IMG_W": 6,
            "STRIDE": 2,
            "OUT_PAR": 2,
            "IN_SIGNED": 0,
            "HAS_BIAS": 0,
        },
        # 1x1 convolution (a per-pixel linear layer), all outputs in one beat, 4-bit
        {
            "IN_CHANNELS": 2,
            "OUT_CHANNELS": 2,
            "IMG_H": 3,
            "IMG_W": 4,
            "KERNEL_H": 1,
            "KERNEL_W": 1,
            "OUT_PAR": 2,
            "IN_WIDTH": 4,
            "IN_FRAC": 2,
            "W_WIDTH": 4,
            "W_FRAC": 3,
            "B_WIDTH": 4,
            "B_FRAC": 2,
            "OUT_WIDTH": 4,
            "OUT_FRAC": 1,
        },
    )
    groups = 20  # one group is a whole image
    timed_sweeps = (0, 1, 2)
    fmax_sweep = 1

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One image every ``cycles`` (the mapper's model)."""
        c, o = params["IN_CHANNELS"], params["OUT_CHANNELS"]
        node = bench_node(params, "IN_CHANNELS", (o, c, params["KERNEL_H"], params["KERNEL_W"]))
        return BenchTiming(interval=self.cycles(node, Fold(c, params["OUT_PAR"])), latency=None)

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random (O, C, KH, KW) weights and bias, written in fixed_conv2d's (window-major) layout."""
        rng = np.random.default_rng(seed)
        o, c = int(params["OUT_CHANNELS"]), int(params["IN_CHANNELS"])
        w = random_constants(rng, (o, c, int(params["KERNEL_H"]), int(params["KERNEL_W"])), int(params["W_WIDTH"]))
        b = random_constants(rng, (o,), int(params["B_WIDTH"])) if int(params["HAS_BIAS"]) else None
        images = write_linear_images({**params, "IN_PAR": c}, conv2d_weight_matrix(w), b, folder)
        out = {**params, "WEIGHTS_FILE": images["WEIGHTS_FILE"], "BIAS_FILE": images.get("BIAS_FILE", "")}
        return out, {"weights": w.tolist(), "bias": None if b is None else b.tolist()}

    @staticmethod
    def _channels(node: Node) -> tuple[int, int]:
        assert node.weight is not None
        o, c = node.weight.shape[:2]
        return int(c), int(o)

    @staticmethod
    def _matrix(node: Node) -> IntArray:
        """The (O, KH*KW*C) matrix of the fixed_linear it runs on every window."""
        return conv2d_weight_matrix(node.weight)

    def folds(self, node: Node) -> list[Fold]:
        c, o = self._channels(node)
        return [Fold(c, d) for d in divisors(o)]  # IN_PAR is the whole pixel: all input channels

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        c, o = self._channels(node)
        h, w, kh, kw, s, p, _, _ = window_geometry(node)
        lin = layer_parameters(node, kh * kw * c, o, Fold(c, fold.out_lanes))
        fmt = {k: v for k, v in lin.items() if k not in ("IN_FEATURES", "OUT_FEATURES", "IN_PAR", "OUT_PAR")}
        return {
            "IN_CHANNELS": c,
            "OUT_CHANNELS": o,
            "IMG_H": h,
            "IMG_W": w,
            "KERNEL_H": kh,
            "KERNEL_W": kw,
            "STRIDE": s,
            "PADDING": p,
            "OUT_PAR": fold.out_lanes,
            **fmt,
        }

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        c, _ = self._channels(node)
        return layer_memories(node, self._matrix(node), Fold(c, fold.out_lanes), folder)

    def golden(self, node: Node, x: IntArray) -> IntArray:
        c, h, w = image(node)
        f = node.formats
        assert f is not None and f.weight is not None
        s, p = int(node.attrs["stride"]), int(node.attrs["padding"])
        nchw = np.asarray(x, dtype=np.int64).reshape(-1, h, w, c).transpose(0, 3, 1, 2)
        y = golden_conv2d(nchw, node.weight, node.bias, f.data_in, f.weight, f.bias, f.data_out, (s, s), (p, p))
        return y.transpose(0, 2, 3, 1).reshape(len(nchw), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        """The window generator's period (its later output groups replaying each window) or the
        layer's steps, whichever is longer: the next image's windows may start while the last
        position's later groups are still computed."""
        _, o = self._channels(node)
        _, _, kh, kw, _, _, oh, ow = window_geometry(node)
        groups = o // fold.out_lanes
        return max(window_period(node, (groups - 1) * kh * kw), oh * ow * groups * kh * kw)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        c, o = self._channels(node)
        _, _, kh, kw, *_ = window_geometry(node)
        k, groups = kh * kw, o // fold.out_lanes
        beats = window_beat_times(node, times, (groups - 1) * k)
        # its fixed_linear: IN_PAR = C, K = KH * KW steps per group, G = groups
        lat = layer_latency(node, fold, c, groups * k)
        return [beats[j + k - 1] + lat + g * k for j in range(0, len(beats), k) for g in range(groups)]

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        _, o = self._channels(node)
        _, _, kh, kw, *_ = window_geometry(node)
        return window_schedule(node, times, (o // fold.out_lanes - 1) * kh * kw)[1]

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Its fixed_linear (the (O, KH*KW*C) matrix at IN_PAR = C) plus, per output lane, the adder
        tree over the IN_PAR products (in LUTs and pipeline FFs) and the bias / rounding path, plus
        its conv_window. Calibrated on the two convolutions of the digits SmallCNN (Yosys: LUT
        within 10 %, FF within 5 %)."""
        c, o = self._channels(node)
        _, _, kh, kw, *_ = window_geometry(node)
        lin = layer_resources(node, kh * kw * c, o, Fold(c, fold.out_lanes))
        f = node.formats
        assert f is not None and f.weight is not None
        tree = Resources(
            lut=fold.out_lanes * ((c - 1) * (f.data_in.width + f.weight.width) + 20),
            ff=fold.out_lanes * (6 * (c - 1) + 5),
        )
        return lin + tree + window_resources(node, c, in_format(node).width)
