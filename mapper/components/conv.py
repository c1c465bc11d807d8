"""Images: the sliding-window generator and the 2-D convolutions, dense and depthwise (rtl/conv/).

Beats of image streams are whole pixels (all channels in lanes). A convolution folds its output
channels (``OUT_PAR``) and the window pixels its window generator hands its linear layer per step
(``WINDOW_PAR``, the fold's ``window``): its linear layer's ``IN_PAR`` is ``WINDOW_PAR`` times its
input channels. A depthwise convolution (``fixed_dwconv2d``) folds only its window: every
channel has its own lane of ``WINDOW_PAR`` multipliers, one output pixel per ``Q`` steps. Golden:
``golden.window.sliding_windows`` and ``golden.conv.conv2d`` (with ``groups`` for the depthwise
one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from golden.conv import conv2d as golden_conv2d
from golden.fixed import IntArray
from golden.window import sliding_windows
from mapper.components.base import (
    LIBRARY,
    BenchTiming,
    Component,
    Fold,
    Mutant,
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
    linear_latency,
    linear_terms,
    write_linear_images,
)
from mapper.components.resource_model import Terms, estimate
from mapper.components.stream import skid_resources
from mapper.components.window_model import (
    bench_node,
    image,
    image_lanes,
    random_window_parameters,
    window_beat_times,
    window_beats_per_window,
    window_geometry,
    window_period,
    window_schedule,
    window_terms,
)
from mapper.graph import Node
from sim.memimage import conv2d_weight_matrix


def window_folds(node: Node) -> list[int]:
    """The window pixels per step worth offering a convolution: for each number of steps per
    window the fewest pixels that reach it (a 3x3 window: 1, 2, 3, 5 or 9 pixels, 9, 5, 3, 2 or 1
    steps), ascending."""
    _, _, kh, kw, *_ = window_geometry(node)
    return sorted({window_beats_per_window(node, p): p for p in range(kh * kw, 0, -1)}.values())


def layer_format(node: Node, k: int, n: int, fold: Fold) -> dict[str, Any]:
    """The number-format parameters (IN_WIDTH .. OUT_SIGNED) of ``node``'s multiply-accumulate
    datapath: :func:`layer_parameters` without the matrix shape and folding."""
    lin = layer_parameters(node, k, n, fold)
    return {key: v for key, v in lin.items() if key not in ("IN_FEATURES", "OUT_FEATURES", "IN_PAR", "OUT_PAR")}


def conv_golden(node: Node, x: IntArray, depthwise: bool) -> IntArray:
    """``golden.conv.conv2d`` of a convolution node on ``x``, images of pixels in raster order
    with their channels innermost (rows), the output likewise; ``depthwise``: one group per
    channel."""
    c, h, w = image(node)
    f = node.formats
    assert f is not None and f.weight is not None
    s, p = int(node.attrs["stride"]), int(node.attrs["padding"])
    nchw = np.asarray(x, dtype=np.int64).reshape(-1, h, w, c).transpose(0, 3, 1, 2)
    y = golden_conv2d(
        nchw,
        node.weight,
        node.bias,
        f.data_in,
        f.weight,
        f.bias,
        f.data_out,
        (s, s),
        (p, p),
        groups=c if depthwise else 1,
    )
    return y.transpose(0, 2, 3, 1).reshape(len(nchw), -1)


def conv_bench_images(
    params: dict[str, Any], seed: int, channels: tuple[int, int], in_par: int, out_par: int, folder: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A convolution bench run's memory images: random torch-layout weights ``(O, C, KH, KW)``
    (``channels`` = (O, C)) and bias, written as fixed_linear images of their
    :func:`conv2d_weight_matrix` folded ``in_par`` x ``out_par``; returns (parameters with the
    file names, the bench context holding the raw constants)."""
    rng = np.random.default_rng(seed)
    shape = (*channels, int(params["KERNEL_H"]), int(params["KERNEL_W"]))
    w = random_constants(rng, shape, int(params["W_WIDTH"]))
    b = random_constants(rng, channels[:1], int(params["B_WIDTH"])) if int(params["HAS_BIAS"]) else None
    matrix = conv2d_weight_matrix(w, int(params["WINDOW_PAR"]))
    images = write_linear_images({**params, "IN_PAR": in_par, "OUT_PAR": out_par}, matrix, b, folder)
    out = {**params, "WEIGHTS_FILE": images["WEIGHTS_FILE"], "BIAS_FILE": images.get("BIAS_FILE", "")}
    return out, {"weights": w.tolist(), "bias": None if b is None else b.tolist()}


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
        "WINDOW_PAR": 1,
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
        # 4 of a 3x3 window's 9 pixels per beat: the third beat holds one pixel and 3 zero ones
        {"CHANNELS": 3, "IMG_H": 5, "IMG_W": 6, "PADDING": 1, "WINDOW_PAR": 4},
        # the whole 3x2 window in one beat, stride 2 with padding
        {
            "CHANNELS": 2,
            "DATA_WIDTH": 4,
            "IMG_H": 6,
            "IMG_W": 7,
            "KERNEL_H": 3,
            "KERNEL_W": 2,
            "STRIDE": 2,
            "PADDING": 1,
            "WINDOW_PAR": 6,
        },
    )
    timed_sweeps = (0, 1, 2, 3, 4, 5)
    fmax_sweep = 3  # the point measured in fmax_ecp5.json (not re-measured with WINDOW_PAR > 1)

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One image every ``cycles`` (the mapper's model); windows leave before the image ends."""
        c = params["CHANNELS"]
        node = bench_node(params, "CHANNELS")
        return BenchTiming(interval=self.cycles(node, Fold(c, c, params["WINDOW_PAR"])), latency=None)

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
            "WINDOW_PAR": fold.window,
        }

    def golden(self, node: Node, x: IntArray) -> IntArray:
        """One window pixel per beat (the mapper's pooling windows; ``folds`` offers no other)."""
        c, h, w = image(node)
        kh, kw = node.attrs["kernel"]
        s, p = int(node.attrs["stride"]), int(node.attrs["padding"])
        imgs = np.asarray(x, dtype=np.int64).reshape(-1, h, w, c)
        return np.stack([sliding_windows(img, (kh, kw), s, p).reshape(-1) for img in imgs])

    def cycles(self, node: Node, fold: Fold) -> int:
        return window_period(node, 0, fold.window)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return window_beat_times(node, times, 0, fold.window)

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return window_schedule(node, times, 0, fold.window)[1]

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        return window_terms(params)

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        return [self.parameters_with(random_window_parameters(rng)) for _ in range(count)]


@register
class FixedConv2d(Component):
    name = "fixed_conv2d"
    output_skid = True
    kind = "conv"
    summary = "2-D convolution: conv_window + skid_buffer + fixed_linear"
    depends = ("fixed_linear", "conv_window", "skid_buffer")
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
        "WINDOW_PAR": 1,
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
        # 4 window pixels per step (3 steps, the last padded), 2 of 4 output channels per beat
        {"IN_CHANNELS": 2, "OUT_CHANNELS": 4, "IMG_H": 5, "IMG_W": 4, "PADDING": 1, "OUT_PAR": 2, "WINDOW_PAR": 4},
    )
    groups = 20  # one group is a whole image
    timed_sweeps = (0, 1, 2, 3)
    fmax_sweep = 1

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One image every ``cycles`` (the mapper's model)."""
        c, o = params["IN_CHANNELS"], params["OUT_CHANNELS"]
        node = bench_node(params, "IN_CHANNELS", (o, c, params["KERNEL_H"], params["KERNEL_W"]))
        return BenchTiming(interval=self.cycles(node, Fold(c, params["OUT_PAR"], params["WINDOW_PAR"])), latency=None)

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random (O, C, KH, KW) weights and bias, written in fixed_conv2d's (window-major) layout."""
        o, c = int(params["OUT_CHANNELS"]), int(params["IN_CHANNELS"])
        return conv_bench_images(params, seed, (o, c), int(params["WINDOW_PAR"]) * c, int(params["OUT_PAR"]), folder)

    @staticmethod
    def _channels(node: Node) -> tuple[int, int]:
        assert node.weight is not None
        o, c = node.weight.shape[:2]
        return int(c), int(o)

    @staticmethod
    def _linear(node: Node, fold: Fold) -> tuple[int, int, Fold]:
        """(steps per window Q, the linear layer's IN_FEATURES = Q * WINDOW_PAR * C, its fold)."""
        c, _ = FixedConv2d._channels(node)
        q = window_beats_per_window(node, fold.window)
        return q, q * fold.window * c, Fold(fold.window * c, fold.out_lanes)

    def folds(self, node: Node) -> list[Fold]:
        """Every output-channel fold times every window fold of :func:`window_folds`; the input
        is a whole pixel, all input channels."""
        c, o = self._channels(node)
        return [Fold(c, d, p) for p in window_folds(node) for d in divisors(o)]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        c, o = self._channels(node)
        h, w, kh, kw, s, p, _, _ = window_geometry(node)
        _, k, lin_fold = self._linear(node, fold)
        fmt = layer_format(node, k, o, lin_fold)
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
            "WINDOW_PAR": fold.window,
            **fmt,
        }

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        matrix = conv2d_weight_matrix(node.weight, fold.window)  # (O, Q * WINDOW_PAR * C)
        return layer_memories(node, matrix, self._linear(node, fold)[2], folder)

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return conv_golden(node, x, depthwise=False)

    def cycles(self, node: Node, fold: Fold) -> int:
        """The window generator's period (its later output groups replaying each window) or the
        layer's steps, whichever is longer: the next image's windows may start while the last
        position's later groups are still computed."""
        _, o = self._channels(node)
        _, _, _, _, _, _, oh, ow = window_geometry(node)
        q, groups = window_beats_per_window(node, fold.window), o // fold.out_lanes
        return max(window_period(node, (groups - 1) * q, fold.window, skid=True), oh * ow * groups * q)

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        _, o = self._channels(node)
        q, _, lin_fold = self._linear(node, fold)
        groups = o // fold.out_lanes
        beats = window_beat_times(node, times, (groups - 1) * q, fold.window, skid=True)
        # its fixed_linear: IN_PAR = WINDOW_PAR * C, Q steps per group, G = groups
        lat = layer_latency(node, lin_fold, lin_fold.in_lanes, groups * q)
        return [beats[j + q - 1] + lat + g * q for j in range(0, len(beats), q) for g in range(groups)]

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        _, o = self._channels(node)
        q = window_beats_per_window(node, fold.window)
        return window_schedule(node, times, (o // fold.out_lanes - 1) * q, fold.window, skid=True)[1]

    def resources(self, node: Node, fold: Fold) -> Resources:
        """The sum of its parts' calibrated estimates: the fixed_linear of the (O, Q*WINDOW_PAR*C)
        matrix at IN_PAR = WINDOW_PAR * C, the conv_window of its input image with WINDOW_PAR
        copies of its line store, and the skid_buffer between them (stream_fifo's estimate at
        depth 2, which is that buffer)."""
        c, o = self._channels(node)
        _, k, lin_fold = self._linear(node, fold)
        window = LIBRARY["conv_window"].resources(node, Fold(c, c, fold.window))  # all channels in lanes
        sliced = skid_resources(fold.window * c, self.parameters(node, fold)["IN_WIDTH"])
        return layer_resources(node, k, o, lin_fold) + window + sliced


@register
class FixedDwConv2d(Component):
    name = "fixed_dwconv2d"
    output_skid = True
    kind = "conv"
    summary = "depthwise 2-D convolution: conv_window + a per-channel MAC array"
    depends = ("conv_window", "fixed_requant_reg", "add_tree", "mult_pipe", "skid_buffer")
    ops = ("dwconv2d",)
    bench = "sim.tb.test_fixed_dwconv2d"
    defaults = {
        "CHANNELS": 2,
        "IMG_H": 8,
        "IMG_W": 8,
        "KERNEL_H": 3,
        "KERNEL_W": 3,
        "STRIDE": 1,
        "PADDING": 0,
        "WINDOW_PAR": 1,
        **LINEAR_FORMAT,
        "WEIGHTS_FILE": "",
        "BIAS_FILE": "",
    }
    sweeps = (
        # 3x3, padding 1, one window pixel per step (9 steps per output pixel)
        {"CHANNELS": 2, "IMG_H": 5, "IMG_W": 5, "PADDING": 1},
        # 3 channels, stride 2, unsigned input (after a ReLU), no bias, output finer than the
        # accumulator drops (saturates often)
        {"CHANNELS": 3, "IMG_H": 6, "IMG_W": 6, "STRIDE": 2, "IN_SIGNED": 0, "HAS_BIAS": 0, "OUT_FRAC": 6},
        # the whole 3x3 window in one step (constant weights), 4-bit, padding 1
        {
            "CHANNELS": 4,
            "IMG_H": 4,
            "IMG_W": 5,
            "PADDING": 1,
            "WINDOW_PAR": 9,
            "IN_WIDTH": 4,
            "IN_FRAC": 2,
            "W_WIDTH": 4,
            "W_FRAC": 3,
            "B_WIDTH": 4,
            "B_FRAC": 2,
            "OUT_WIDTH": 4,
            "OUT_FRAC": 1,
        },
        # 4 window pixels per step (3 steps, the last padded), non-square kernel, stride 2
        {"CHANNELS": 2, "IMG_H": 6, "IMG_W": 7, "KERNEL_W": 2, "STRIDE": 2, "PADDING": 1, "WINDOW_PAR": 4},
        # a 20-bit input (two multiplier limbs: one more product level), a wide bias, 16-bit
        # output
        {
            "CHANNELS": 2,
            "IMG_H": 4,
            "IMG_W": 4,
            "WINDOW_PAR": 3,
            "PADDING": 1,
            "IN_WIDTH": 20,
            "IN_FRAC": 10,
            "B_WIDTH": 16,
            "B_FRAC": 14,
            "OUT_WIDTH": 16,
            "OUT_FRAC": 8,
        },
        # 16 channels x 3 pixels per step: 48 multipliers, 12 copies of the enable
        {"CHANNELS": 16, "IMG_H": 4, "IMG_W": 4, "PADDING": 1, "WINDOW_PAR": 3},
    )
    groups = 20  # one group is a whole image
    timed_sweeps = (0, 1, 2, 3, 4, 5)
    fmax_sweep = 5
    mutants = (
        # a multiplier reading the window pixel-minor (as if slot and channel were swapped)
        Mutant(
            "dw_lane_order",
            "x_issue[c*WP+i] <= window[i*CHANNELS+c]",
            "x_issue[c*WP+i] <= window[c*WP+i]",
            caught_by=(("fixed_dwconv2d", 3), ("fixed_dwconv2d", 5)),
        ),
        # every window's sum started from zero instead of its bias
        Mutant(
            "dw_no_bias",
            "(lane_first ? bias_aligned[c] : acc[c])",
            "(lane_first ? '0 : acc[c])",
            caught_by=(("fixed_dwconv2d", 0), ("fixed_dwconv2d", 4)),
        ),
    )

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One image every ``cycles`` (the mapper's model)."""
        c = params["CHANNELS"]
        node = bench_node(params, "CHANNELS", (c, 1, params["KERNEL_H"], params["KERNEL_W"]))
        return BenchTiming(interval=self.cycles(node, Fold(c, c, params["WINDOW_PAR"])), latency=None)

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random (C, 1, KH, KW) weights and bias, written in fixed_dwconv2d's (step-major) layout."""
        c = int(params["CHANNELS"])
        return conv_bench_images(params, seed, (c, 1), int(params["WINDOW_PAR"]), c, folder)

    @staticmethod
    def _mac_array(node: Node, fold: Fold) -> tuple[int, int, Fold]:
        """(steps per window Q, channels C, the fold of the fixed_linear whose datapath the MAC
        array repeats: the (C, Q * WINDOW_PAR) matrix at IN_PAR = WINDOW_PAR, OUT_PAR = C)."""
        c = image(node)[0]
        return window_beats_per_window(node, fold.window), c, Fold(fold.window, c)

    def folds(self, node: Node) -> list[Fold]:
        """Every window fold of :func:`window_folds`; all channels in lanes, in and out."""
        c = image(node)[0]
        return [Fold(c, c, p) for p in window_folds(node)]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        h, w, kh, kw, s, p, _, _ = window_geometry(node)
        q, c, mac_fold = self._mac_array(node, fold)
        return {
            "CHANNELS": c,
            "IMG_H": h,
            "IMG_W": w,
            "KERNEL_H": kh,
            "KERNEL_W": kw,
            "STRIDE": s,
            "PADDING": p,
            "WINDOW_PAR": fold.window,
            **layer_format(node, q * fold.window, c, mac_fold),
        }

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        matrix = conv2d_weight_matrix(node.weight, fold.window)  # (C, Q * WINDOW_PAR)
        return layer_memories(node, matrix, self._mac_array(node, fold)[2], folder)

    def golden(self, node: Node, x: IntArray) -> IntArray:
        return conv_golden(node, x, depthwise=True)

    def cycles(self, node: Node, fold: Fold) -> int:
        """The window generator's period or Q steps per output pixel, whichever is longer."""
        _, _, _, _, _, _, oh, ow = window_geometry(node)
        return max(window_period(node, 0, fold.window), oh * ow * window_beats_per_window(node, fold.window))

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        """An output pixel leaves the MAC pipeline's depth (fixed_linear's, no block RAM) after its
        window's last step."""
        f = node.formats
        assert f is not None and f.weight is not None
        q = window_beats_per_window(node, fold.window)
        beats = window_beat_times(node, times, 0, fold.window)
        lat = linear_latency(f.data_in, f.weight.width, fold.window, bram=False)
        return [beats[j + q - 1] + lat for j in range(0, len(beats), q)]

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return window_schedule(node, times, 0, fold.window)[1]

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Derived from its parts' calibrated estimates (no grid of its own): the MAC array as the
        fixed_linear of the (C, Q * WINDOW_PAR) matrix at IN_PAR = WINDOW_PAR, OUT_PAR = C (one
        output group, so no replay), with C times its operand registers (each multiplier has its
        own operand), and the conv_window of its input image with WINDOW_PAR copies of its line
        store. Against Yosys synth_xilinx (estimate / Yosys LUT, FF; DSP exact on all four):
        sweep set 5 1508 / 1449, 3748 / 3215; set 1 210 / 259, 364 / 357; DS-CNN's depthwise
        layer (64 channels, 21x5, 3x3 pad 1) at WINDOW_PAR 1 2930 / 3403, 6029 / 5658 and at
        WINDOW_PAR 3 6052 / 5666, 15133 / 12733."""
        q, c, mac_fold = self._mac_array(node, fold)
        terms = linear_terms(layer_parameters(node, q * fold.window, c, mac_fold))
        terms.ff["operand"] *= c
        window = LIBRARY["conv_window"].resources(node, Fold(c, c, fold.window))
        return estimate("fixed_linear", terms) + window
