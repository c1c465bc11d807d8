"""The component registry: one entry per library component the mapper can place.

An entry states which dataflow-graph operations the component implements, how its RTL
parameters follow from a graph node (shapes, number formats, chosen parallelism), its golden
function (:mod:`golden.components`), and its cost model: cycles per input vector, latency, and a
LUT / FF / DSP / BRAM estimate. Adding a component means adding one :class:`ComponentEntry` to
:data:`REGISTRY` (and its RTL under ``rtl/``); the mapper itself does not change.

Graph nodes are the attribute dicts of :mod:`mapper.capture` (keys ``op``, ``in_shape``,
``out_shape``, ``formats``, ``weight``, ``bias``, ``attrs``, ...). A node's parallelism is a
:class:`Fold`: lanes per beat on its input stream and on its output stream.

Images (per-sample shape ``(C, H, W)``) travel as pixels in raster order with the channels of a
pixel in lanes, so the golden functions of image nodes take and return flattened ``(H, W, C)``
samples (``(B, H*W*C)``), not torch's ``(C, H, W)`` order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from golden import components as gc
from golden.activation import activation_table, lookup
from golden.conv import conv2d as golden_conv2d
from golden.fixed import FixedType, IntArray, accumulator_width
from golden.pool import max_reduce
from golden.window import sliding_windows
from mapper.latency import LUT_LATENCY, REQUANT_LATENCY, linear_latency, rom_in_bram
from sim.memimage import conv2d_weight_matrix, linear_bias_words, linear_weight_words, write_memh

Node = Mapping[str, Any]


class MappingError(ValueError):
    """The graph cannot be mapped; the message names the node and what to change."""


class UnsupportedOperationError(MappingError):
    """A graph operation has no library component."""


@dataclass(frozen=True)
class Fold:
    """Parallelism of one node: lanes per beat on its input and on its output stream."""

    in_lanes: int
    out_lanes: int


@dataclass(frozen=True)
class Resources:
    """FPGA resources (Xilinx 7-series cells): LUTs, flip-flops, DSP48E1 slices, 36 kb BRAMs."""

    lut: int = 0
    ff: int = 0
    dsp: int = 0
    bram: float = 0.0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.lut + other.lut, self.ff + other.ff, self.dsp + other.dsp, self.bram + other.bram)

    def cost(self) -> float:
        """One scalar for comparing foldings: LUT-equivalents (a DSP ~ 60 LUTs, a BRAM ~ 200)."""
        return self.lut + 0.5 * self.ff + 60.0 * self.dsp + 200.0 * self.bram

    def as_dict(self) -> dict[str, float]:
        """The four figures by name (for the JSON report)."""
        return {"lut": self.lut, "ff": self.ff, "dsp": self.dsp, "bram": self.bram}


def elements(shape: tuple[int, ...]) -> int:
    """Elements of one sample of a tensor of per-sample ``shape``."""
    return int(math.prod(shape))


def divisors(n: int) -> list[int]:
    """Positive divisors of ``n``, ascending."""
    return [d for d in range(1, n + 1) if n % d == 0]


def in_format(node: Node) -> FixedType:
    """The node's input number format."""
    return node["formats"].data_in


def out_format(node: Node) -> FixedType:
    """The node's output number format."""
    return node["formats"].data_out


@dataclass(frozen=True)
class ComponentEntry:
    """One library component as the mapper sees it.

    Attributes:
        name: entry name: the SystemVerilog module and its ``sim/catalogue.py`` component, which
            lists its RTL files.
        ops: graph operations it implements (``node["op"]`` values).
        folds: legal parallelism choices for a node (ascending cost is not required).
        parameters: RTL parameters from a node and its fold (memory-image paths excluded); ``bit``
            parameters are Python bools, ``int`` ones ints.
        memories: writes the node's memory images into a folder; returns parameter -> file path.
        golden: the node's integer function on a batch ``(B, elements_in) -> (B, elements_out)``.
        cycles: cycles per input vector (initiation interval) in steady state without stalls.
        beat_times: cycle of each output beat of one vector given its input beats' cycles, in an
            otherwise empty pipeline with a consumer that is always ready (the latency model).
        resources: LUT / FF / DSP / BRAM estimate.
        input_buffer: beats of FIFO this component needs in front of it for its neighbours to
            run at the pipeline rate (0: none), given the node and its fold.
    """

    name: str
    ops: frozenset[str]
    folds: Callable[[Node], list[Fold]]
    parameters: Callable[[Node, Fold], dict[str, Any]]
    golden: Callable[[Node, IntArray], IntArray]
    cycles: Callable[[Node, Fold], int]
    beat_times: Callable[[Node, Fold, list[int]], list[int]]
    resources: Callable[[Node, Fold], Resources]
    memories: Callable[[Node, Fold, Path], dict[str, str]] = field(default=lambda node, fold, folder: {})
    input_buffer: Callable[[Node, Fold], int] = field(default=lambda node, fold: 0)


# ---- fixed_linear ------------------------------------------------------------------------------


def _linear_kn(node: Node) -> tuple[int, int]:
    n, k = node["weight"].shape
    return int(k), int(n)


def _linear_folds(node: Node) -> list[Fold]:
    k, n = _linear_kn(node)
    return [Fold(i, o) for i in divisors(k) for o in divisors(n)]


def _linear_params(node: Node, fold: Fold) -> dict[str, Any]:
    k, n = _linear_kn(node)
    f = node["formats"]
    if not f.weight.signed:
        raise MappingError(f"node {node['name']}: fixed_linear needs a signed weight format, got {f.weight}")
    has_bias = node["bias"] is not None
    bias_t = f.bias if has_bias else FixedType(2, 0)
    if has_bias and (not bias_t.signed):
        raise MappingError(f"node {node['name']}: fixed_linear needs a signed bias format, got {bias_t}")
    return {
        "IN_FEATURES": k,
        "OUT_FEATURES": n,
        "IN_PAR": fold.in_lanes,
        "OUT_PAR": fold.out_lanes,
        "IN_WIDTH": f.data_in.width,
        "IN_FRAC": f.data_in.frac,
        "IN_SIGNED": bool(f.data_in.signed),
        "W_WIDTH": f.weight.width,
        "W_FRAC": f.weight.frac,
        "HAS_BIAS": bool(has_bias),
        "B_WIDTH": bias_t.width,
        "B_FRAC": bias_t.frac,
        "OUT_WIDTH": f.data_out.width,
        "OUT_FRAC": f.data_out.frac,
        "OUT_SIGNED": bool(f.data_out.signed),
    }


def _linear_memories(node: Node, fold: Fold, folder: Path) -> dict[str, str]:
    f = node["formats"]
    name = node["name"]
    w_bits = fold.in_lanes * fold.out_lanes * f.weight.width
    words = linear_weight_words(node["weight"], fold.in_lanes, fold.out_lanes, f.weight.width)
    files = {"WEIGHTS_FILE": str(write_memh(folder / f"{name}_weights.memh", words, w_bits))}
    if node["bias"] is not None:
        b_words = linear_bias_words(node["bias"], fold.out_lanes, f.bias.width)
        path = write_memh(folder / f"{name}_bias.memh", b_words, fold.out_lanes * f.bias.width)
        files["BIAS_FILE"] = str(path)
    return files


def _linear_golden(node: Node, x: IntArray) -> IntArray:
    f = node["formats"]
    return gc.linear(x, node["weight"], node["bias"], f.data_in, f.weight, f.bias, f.data_out)


def _linear_steps(node: Node, fold: Fold) -> tuple[int, int]:
    """(G, C): output groups per vector and input beats per vector."""
    k, n = _linear_kn(node)
    return n // fold.out_lanes, k // fold.in_lanes


def _linear_cycles(node: Node, fold: Fold) -> int:
    g, c = _linear_steps(node, fold)
    return g * c


def _linear_latency(node: Node, in_lanes: int, out_lanes: int, words: int) -> int:
    """fixed_linear's pipeline: cycles from a group's last step to its beat (mapper/latency.py);
    ``words``: its weight ROM's depth G * C."""
    f = node["formats"]
    bram = rom_in_bram(words, in_lanes * out_lanes * f.weight.width)
    return linear_latency(f.data_in.width, bool(f.data_in.signed), f.weight.width, in_lanes, bram)


def _linear_beat_times(node: Node, fold: Fold, times: list[int]) -> list[int]:
    # Group 0 steps with the input beats; group g's beat leaves the pipeline depth after its
    # last step.
    g, c = _linear_steps(node, fold)
    lat = _linear_latency(node, fold.in_lanes, fold.out_lanes, g * c)
    return [times[-1] + lat + j * c for j in range(g)]


def _linear_resources(node: Node, fold: Fold) -> Resources:
    """Calibrated on Yosys synth_xilinx runs of fixed_linear and whole MLPs (8-bit, 1..296 MACs):
    one DSP48E1 per multiplier (Yosys packs the accumulation into it); FFs for the accumulators,
    the output register and, when the stored input vector is at most 2 beats deep, that vector
    (deeper ones go to LUTRAM, which the synthesis report lists separately); LUTs for the weight
    ROM (about 1.5 LUT6 per 64 bits up to 64 words, 3.5 above), the live/stored operand
    multiplexer, the requantizers and control. The ROM is read one cycle ahead into a register, so
    Yosys puts a deep, large one into block RAM instead (seen from 512 words and 16 kb on: one
    RAMB36 per 36 kb, e.g. 512 x 32 bits -> 1, 2,048 x 32 -> 2; 1,024 x 8 stayed in LUTs)."""
    k, _ = _linear_kn(node)
    f = node["formats"]
    g, c = _linear_steps(node, fold)
    macs = fold.in_lanes * fold.out_lanes
    in_w = f.data_in.width + (0 if f.data_in.signed else 1)
    acc = accumulator_width(FixedType(max(2, in_w), 0), f.weight, k, node["bias"] is not None) + 1
    big = in_w > 25 or f.weight.width > 25 or min(in_w, f.weight.width) > 18
    dsp = macs * (2 if big else 1)
    words = g * c
    rom_bits = words * macs * f.weight.width
    in_bram = words >= 512 and rom_bits >= 16384
    bram = math.ceil(rom_bits / 36864) if in_bram else 0
    rom_luts = math.ceil((1.5 if words <= 64 else 3.5) * rom_bits / 64) if words > 1 and not in_bram else 0
    operand_mux = fold.in_lanes * f.data_in.width if g > 1 else 0
    vector_ff = k * f.data_in.width if g > 1 and c <= 2 else 0
    counters = (math.ceil(math.log2(c)) if c > 1 else 1) + (math.ceil(math.log2(g)) if g > 1 else 1)
    ff = fold.out_lanes * (acc + f.data_out.width) + vector_ff + counters + 2
    lut = rom_luts + operand_mux + fold.out_lanes * (f.data_out.width + acc // 2) + 4 * counters + 40
    return Resources(lut=lut, ff=ff, dsp=dsp, bram=bram)


def _linear_input_buffer(node: Node, fold: Fold) -> int:
    # Only group 0 takes input; while groups 1..G-1 replay the stored vector the producer would
    # stall, so a FIFO holding one whole input vector lets it go on at the pipeline rate.
    g, c = _linear_steps(node, fold)
    return c if g > 1 else 0


# ---- images: fixed_conv2d, conv_window, pool_max ----------------------------------------------


def _image(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) of a per-sample image shape."""
    c, h, w = (int(d) for d in shape)
    return c, h, w


def _window_geometry(node: Node) -> tuple[int, int, int, int, int, int, int, int]:
    """(H, W, KH, KW, stride, padding, OH, OW) of a conv2d / pool_window node."""
    _, h, w = _image(node["attrs"]["image"])
    kh, kw = node["attrs"]["kernel"]
    s, p = int(node["attrs"]["stride"]), int(node["attrs"]["padding"])
    return h, w, int(kh), int(kw), s, p, (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1


def _window_depth(node: Node) -> int:
    """conv_window's line store: the power of two >= (KH + 1) * W pixels."""
    _, w, kh, *_ = _window_geometry(node)
    return 1 << max(1, math.ceil(math.log2((kh + 1) * w)))


def _window_refill(node: Node) -> int:
    """Cycles an image costs conv_window beyond one beat per cycle when its pixels arrive one per
    cycle: 2 to start the next image (the last window leaves, then the store restarts), plus the
    largest lead of a window beat's pixel over the beat's own index."""
    h, w, kh, kw, s, p, oh, ow = _window_geometry(node)
    lead = 0
    b = 0
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    y, x = oy * s + ky - p, ox * s + kx - p
                    if 0 <= y < h and 0 <= x < w:
                        lead = max(lead, y * w + x - b)
                    b += 1
    return 2 + lead


def window_beat_times(node: Node, times: list[int], replay: int) -> list[int]:
    """Cycle of every window beat of one image (conv_window), from its pixels' offered cycles.

    A pixel is taken one cycle after the previous one at the earliest, and only once the line
    store has room (the window row that frees it has started); a window beat leaves one cycle
    after the last pixel it reads has arrived and one cycle after the previous beat; after the
    last beat of a window position, ``replay`` more cycles pass before the next position's first
    beat (fixed_conv2d's later output groups re-read the stored window).
    """
    h, w, kh, kw, s, p, oh, ow = _window_geometry(node)
    depth = _window_depth(node)
    taken: list[int] = []
    row_start: dict[int, int] = {}
    out: list[int] = []
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(kh):
                for kx in range(kw):
                    y, x = oy * s + ky - p, ox * s + kx - p
                    need = y * w + x if 0 <= y < h and 0 <= x < w else 0
                    while len(taken) <= need:
                        i = len(taken)
                        t = times[i] if not taken else max(times[i], taken[-1] + 1)
                        room = next((r for r in range(oh) if max(0, r * s - p) * w + depth > i), oh - 1)
                        taken.append(max(t, row_start.get(room, 0)))
                    t = taken[need] + 1
                    if out:
                        t = max(t, out[-1] + 1 + (replay if ky == 0 and kx == 0 else 0))
                    if ox == 0 and ky == 0 and kx == 0:
                        row_start[oy] = t
                    out.append(t)
    return out


def _conv_matrix_node(node: Node) -> dict[str, Any]:
    """The fixed_linear that fixed_conv2d runs on every window: weight (O, KH*KW*C)."""
    return {**node, "weight": conv2d_weight_matrix(node["weight"])}


def _conv_channels(node: Node) -> tuple[int, int]:
    o, c = node["weight"].shape[:2]
    return int(c), int(o)


def _conv_folds(node: Node) -> list[Fold]:
    c, o = _conv_channels(node)
    return [Fold(c, d) for d in divisors(o)]  # IN_PAR is the whole pixel: all input channels


def _conv_params(node: Node, fold: Fold) -> dict[str, Any]:
    c, o = _conv_channels(node)
    h, w, kh, kw, s, p, _, _ = _window_geometry(node)
    lin = _linear_params(_conv_matrix_node(node), Fold(c, fold.out_lanes))
    fmt = {k: v for k, v in lin.items() if k not in ("IN_FEATURES", "OUT_FEATURES", "IN_PAR", "OUT_PAR")}
    return {
        "IN_CHANNELS": c, "OUT_CHANNELS": o, "IMG_H": h, "IMG_W": w, "KERNEL_H": kh, "KERNEL_W": kw,
        "STRIDE": s, "PADDING": p, "OUT_PAR": fold.out_lanes, **fmt,
    }


def _conv_memories(node: Node, fold: Fold, folder: Path) -> dict[str, str]:
    c, _ = _conv_channels(node)
    return _linear_memories(_conv_matrix_node(node), Fold(c, fold.out_lanes), folder)


def _conv_golden(node: Node, x: IntArray) -> IntArray:
    c, h, w = _image(node["attrs"]["image"])
    f = node["formats"]
    s, p = int(node["attrs"]["stride"]), int(node["attrs"]["padding"])
    nchw = np.asarray(x, dtype=np.int64).reshape(-1, h, w, c).transpose(0, 3, 1, 2)
    w, b = node["weight"], node["bias"]
    y = golden_conv2d(nchw, w, b, f.data_in, f.weight, f.bias, f.data_out, (s, s), (p, p))
    return y.transpose(0, 2, 3, 1).reshape(len(nchw), -1)


def _conv_cycles(node: Node, fold: Fold) -> int:
    _, o = _conv_channels(node)
    _, _, kh, kw, _, _, oh, ow = _window_geometry(node)
    return oh * ow * (o // fold.out_lanes) * kh * kw + _window_refill(node)


def _conv_beat_times(node: Node, fold: Fold, times: list[int]) -> list[int]:
    _, o = _conv_channels(node)
    _, _, kh, kw, *_ = _window_geometry(node)
    k, groups = kh * kw, o // fold.out_lanes
    beats = window_beat_times(node, times, (groups - 1) * k)
    # its fixed_linear has IN_PAR = channels, C = KH * KW steps and G = groups
    lat = _linear_latency(node, _conv_channels(node)[0], fold.out_lanes, groups * k)
    return [beats[j + k - 1] + lat + g * k for j in range(0, len(beats), k) for g in range(groups)]


def _window_resources(node: Node, channels: int, width: int) -> Resources:
    """conv_window: position counters, coordinates and raster indices kept incrementally in narrow
    registers (no products, so no DSP), the line store (LUTRAM, about one LUT per 192 bits), the
    output register. Calibrated on Yosys synth_xilinx runs of four windows after the timing rework
    (1 to 16 channels, 2x2 / 3x3, padding 0 / 1, widths 4 to 8, strides 1 / 2): LUT (LUTRAM
    included) and FF within about 12 %, DSP exact."""
    bits = _window_depth(node) * channels * width
    return Resources(lut=120 + math.ceil(bits / 192), ff=channels * width + 100, dsp=0)


def _conv_resources(node: Node, fold: Fold) -> Resources:
    """fixed_conv2d: its conv_window plus its fixed_linear (IN_PAR = IN_CHANNELS), plus per output
    lane the adder tree over the IN_PAR products (in LUTs and pipeline FFs; the MLP calibration of
    the fixed_linear model did not separate it) and the bias / rounding path. Calibrated on the
    two convolutions of the digits SmallCNN (Yosys: LUT within 10 %, FF within 5 %)."""
    c, _ = _conv_channels(node)
    lin = _linear_resources(_conv_matrix_node(node), Fold(c, fold.out_lanes))
    f = node["formats"]
    tree = Resources(
        lut=fold.out_lanes * ((c - 1) * (f.data_in.width + f.weight.width) + 20),
        ff=fold.out_lanes * (6 * (c - 1) + 5),
    )
    return lin + tree + _window_resources(node, c, in_format(node).width)


def _pool_window_params(node: Node, fold: Fold) -> dict[str, Any]:
    h, w, kh, kw, s, p, _, _ = _window_geometry(node)
    return {
        "CHANNELS": fold.in_lanes, "DATA_WIDTH": in_format(node).width, "IMG_H": h, "IMG_W": w,
        "KERNEL_H": kh, "KERNEL_W": kw, "STRIDE": s, "PADDING": p,
    }


def _pool_window_golden(node: Node, x: IntArray) -> IntArray:
    c, h, w = _image(node["attrs"]["image"])
    kh, kw = node["attrs"]["kernel"]
    s, p = int(node["attrs"]["stride"]), int(node["attrs"]["padding"])
    imgs = np.asarray(x, dtype=np.int64).reshape(-1, h, w, c)
    return np.stack([sliding_windows(img, (kh, kw), s, p).reshape(-1) for img in imgs])


def _pool_window_cycles(node: Node, fold: Fold) -> int:
    _, _, kh, kw, _, _, oh, ow = _window_geometry(node)
    return oh * ow * kh * kw + _window_refill(node)


def _image_lanes(node: Node) -> list[Fold]:
    c = int(node["attrs"]["image"][0])
    return [Fold(c, c)]  # a beat is one pixel with all its channels


def _pool_size(node: Node) -> int:
    """Beats per pooling window: KH * KW."""
    kh, kw = node["attrs"]["kernel"]
    return int(kh) * int(kw)


def _pool_golden(node: Node, x: IntArray) -> IntArray:
    c = int(node["attrs"]["image"][0])
    xa = np.asarray(x, dtype=np.int64)
    return max_reduce(xa.reshape(-1, c), _pool_size(node)).reshape(len(xa), -1)


def _pool_cycles(node: Node, fold: Fold) -> int:
    return elements(node["in_shape"]) // fold.in_lanes  # one window beat per cycle


def _pool_beat_times(node: Node, fold: Fold, times: list[int]) -> list[int]:
    k = _pool_size(node)
    return [times[j + k - 1] + 1 for j in range(0, len(times), k)]


def _pool_resources(node: Node, fold: Fold) -> Resources:
    """pool_max: running maximum and output register per lane (FFs), a comparator and multiplexer
    per lane (LUTs). Calibrated on Yosys runs with 8 and 16 lanes of 8 bits (exact)."""
    bits = fold.in_lanes * in_format(node).width
    return Resources(lut=math.ceil(1.75 * bits) + 6, ff=2 * bits + 3)


# ---- element-wise components (one beat per cycle) -------------------------------------------


def _elementwise_folds(node: Node) -> list[Fold]:
    return [Fold(d, d) for d in divisors(elements(node["out_shape"]))]


def _requant_params(node: Node, fold: Fold) -> dict[str, Any]:
    f = node["formats"]
    return {
        "LANES": fold.in_lanes,
        "IN_WIDTH": f.data_in.width,
        "IN_FRAC": f.data_in.frac,
        "IN_SIGNED": bool(f.data_in.signed),
        "OUT_WIDTH": f.data_out.width,
        "OUT_FRAC": f.data_out.frac,
        "OUT_SIGNED": bool(f.data_out.signed),
    }


def _elementwise_cycles(node: Node, fold: Fold) -> int:
    return elements(node["out_shape"]) // fold.out_lanes


def _requant_beat_times(node: Node, fold: Fold, times: list[int]) -> list[int]:
    # fixed_cast / fixed_relu: the requantizer's register, then the skid buffer
    return [t + REQUANT_LATENCY for t in times]


def _lut_beat_times(node: Node, fold: Fold, times: list[int]) -> list[int]:
    # fixed_lut: table read, entry register, skid buffer
    return [t + LUT_LATENCY for t in times]


def _requant_resources(node: Node, fold: Fold) -> Resources:
    f = node["formats"]
    lanes = fold.in_lanes
    # requantizer (compare and clamp) plus the skid buffer's output multiplexer, per lane
    lut = lanes * ((f.data_in.width + f.data_out.width) // 2 + f.data_out.width)
    return Resources(lut=lut, ff=2 * lanes * f.data_out.width + 3)


# ---- fixed_lut: element-wise activations as table lookups ---------------------------------------


@functools.lru_cache(maxsize=64)
def _table_of(function: str, in_t: FixedType, out_t: FixedType) -> IntArray:
    table = activation_table(function, in_t, out_t)
    table.setflags(write=False)
    return table


def _lut_table(node: Node) -> IntArray:
    """Raw ``data_out`` entries of the node's activation for every raw ``data_in`` bit pattern."""
    f = node["formats"]
    return _table_of(node["attrs"]["function"], f.data_in, f.data_out)


def _lut_params(node: Node, fold: Fold) -> dict[str, Any]:
    f = node["formats"]
    return {"LANES": fold.in_lanes, "IN_WIDTH": f.data_in.width, "OUT_WIDTH": f.data_out.width}


def _lut_memories(node: Node, fold: Fold, folder: Path) -> dict[str, str]:
    out_w = out_format(node).width
    words = [int(v) & ((1 << out_w) - 1) for v in _lut_table(node)]  # two's complement bit patterns
    return {"TABLE_FILE": str(write_memh(folder / f"{node['name']}_table.memh", words, out_w))}


def _lut_golden(node: Node, x: IntArray) -> IntArray:
    return lookup(x, _lut_table(node), in_format(node))


def _lut_resources(node: Node, fold: Fold) -> Resources:
    """fixed_lut: per lane a ``2**IN_WIDTH x OUT_WIDTH`` ROM read into the output register.

    Yosys (synth_xilinx) puts a table of at least 512 entries and 16 kb into block RAM (a
    4,096 x 8 sigmoid: 1 RAMB36, 2 LUT, 1 FF), else it builds the ROM from LUT6s after logic
    minimisation, so the cost follows the table's contents, not its size: about one LUT per
    output bit and 64-entry block in which that bit is not constant, times 1.6 for the
    multiplexers between blocks when there are several; output bits that never change cost no
    flip-flop. Calibrated on four activation tables (sigmoid 8->8 bits x 4 lanes, tanh 10->8,
    GELU 6->8 x 2, SiLU 4->6 x 8): LUTs within about 20 % (the 10-bit tanh: 34 estimated, 41
    measured), FFs exact."""
    f = node["formats"]
    table = _lut_table(node) & ((1 << f.data_out.width) - 1)
    entries, bits_total = len(table), len(table) * f.data_out.width
    if entries >= 512 and bits_total >= 16384:
        return Resources(lut=2, ff=1, bram=fold.in_lanes * math.ceil(bits_total / 36864))
    bits = (table[:, None] >> np.arange(f.data_out.width)) & 1
    blocks = bits.reshape(-1, min(64, entries), f.data_out.width)
    live_blocks = int((blocks.min(axis=1) != blocks.max(axis=1)).sum())
    live_bits = int((bits.min(axis=0) != bits.max(axis=0)).sum())
    per_lane = math.ceil(live_blocks * (1.6 if entries > 64 else 1.0))
    return Resources(lut=fold.in_lanes * per_lane, ff=fold.in_lanes * live_bits + 1)


# ---- stream plumbing the mapper inserts (ops "fifo" and "resize") ------------------------------


def _stream_width(node: Node) -> int:
    return int(node["formats"].data_out.width)


def _fifo_params(node: Node, fold: Fold) -> dict[str, Any]:
    return {"LANES": fold.in_lanes, "WIDTH": _stream_width(node), "DEPTH": int(node["depth"])}


def _fifo_beat_times(node: Node, fold: Fold, times: list[int]) -> list[int]:
    out: list[int] = []
    for t in times:
        out.append(max(t + 1, out[-1] + 1) if out else t + 1)
    return out


def _fifo_resources(node: Node, fold: Fold) -> Resources:
    bits = fold.in_lanes * _stream_width(node)
    depth = int(node["depth"])
    # every slot is a register (packed array); reading picks one of depth-1 buffered beats
    pointers = 3 * math.ceil(math.log2(depth + 1))
    read_mux = bits * math.ceil((depth - 1) / 4) if depth > 1 else 0
    return Resources(lut=read_mux + pointers + 4, ff=depth * bits + pointers + 1)


def _resize_params(node: Node, fold: Fold) -> dict[str, Any]:
    return {"IN_LANES": fold.in_lanes, "OUT_LANES": fold.out_lanes, "WIDTH": _stream_width(node)}


def _resize_cycles(node: Node, fold: Fold) -> int:
    return elements(node["out_shape"]) // min(fold.in_lanes, fold.out_lanes)


def _resize_beat_times(node: Node, fold: Fold, times: list[int]) -> list[int]:
    if fold.out_lanes >= fold.in_lanes:  # gather r input beats into one output beat
        r = fold.out_lanes // fold.in_lanes
        return [times[(j + 1) * r - 1] + 1 for j in range(len(times) // r)]
    r = fold.in_lanes // fold.out_lanes  # split one input beat into r output beats
    out: list[int] = []
    for t in times:
        for _ in range(r):
            out.append(max(t + 1, out[-1] + 1) if out else t + 1)
    return out


def _resize_resources(node: Node, fold: Fold) -> Resources:
    bits = max(fold.in_lanes, fold.out_lanes) * _stream_width(node)
    return Resources(lut=bits + 10, ff=bits + 8)


def rtl_sources(entry_names: list[str]) -> list[Path]:
    """RTL files of the given components (from ``sim/catalogue.py``), dependencies first, no repeats."""
    from sim import catalogue  # noqa: PLC0415 - the catalogue imports the whole library list

    files: list[Path] = []
    for name in entry_names:
        if name not in catalogue.COMPONENTS:
            raise MappingError(
                f"component {name} has no RTL in the library yet (not in sim/catalogue.py); "
                f"available: {', '.join(sorted(catalogue.COMPONENTS))}"
            )
        for f in catalogue.COMPONENTS[name].sources:
            if f not in files:
                files.append(f)
    return files


def _passthrough(node: Node, x: IntArray) -> IntArray:
    return gc.passthrough(x)


REGISTRY: dict[str, ComponentEntry] = {}


def register(entry: ComponentEntry) -> ComponentEntry:
    """Add an entry; an operation may be implemented by one entry only."""
    taken = {op: e.name for e in REGISTRY.values() for op in e.ops}
    clash = sorted(op for op in entry.ops if op in taken)
    if entry.name in REGISTRY or clash:
        raise ValueError(f"component {entry.name} registered twice or op(s) {clash} already implemented")
    REGISTRY[entry.name] = entry
    return entry


register(
    ComponentEntry(
        name="fixed_linear",
        ops=frozenset({"linear"}),
        folds=_linear_folds,
        parameters=_linear_params,
        memories=_linear_memories,
        golden=_linear_golden,
        cycles=_linear_cycles,
        beat_times=_linear_beat_times,
        resources=_linear_resources,
        input_buffer=_linear_input_buffer,
    )
)

register(
    ComponentEntry(
        name="fixed_relu",
        ops=frozenset({"relu"}),
        folds=_elementwise_folds,
        parameters=_requant_params,
        golden=lambda node, x: gc.relu(x, in_format(node), out_format(node)),
        cycles=_elementwise_cycles,
        beat_times=_requant_beat_times,
        resources=_requant_resources,
    )
)

register(
    ComponentEntry(
        name="fixed_cast",
        ops=frozenset({"cast"}),
        folds=_elementwise_folds,
        parameters=_requant_params,
        golden=lambda node, x: gc.cast(x, in_format(node), out_format(node)),
        cycles=_elementwise_cycles,
        beat_times=_requant_beat_times,
        resources=_requant_resources,
    )
)

register(
    ComponentEntry(
        name="stream_fifo",
        ops=frozenset({"fifo"}),
        folds=_elementwise_folds,
        parameters=_fifo_params,
        golden=_passthrough,
        cycles=_elementwise_cycles,
        beat_times=_fifo_beat_times,
        resources=_fifo_resources,
    )
)

register(
    ComponentEntry(
        name="stream_resize",
        ops=frozenset({"resize"}),
        folds=lambda node: [],  # lanes are fixed by its neighbours
        parameters=_resize_params,
        golden=_passthrough,
        cycles=_resize_cycles,
        beat_times=_resize_beat_times,
        resources=_resize_resources,
    )
)

register(
    ComponentEntry(
        name="fixed_conv2d",
        ops=frozenset({"conv2d"}),
        folds=_conv_folds,
        parameters=_conv_params,
        memories=_conv_memories,
        golden=_conv_golden,
        cycles=_conv_cycles,
        beat_times=_conv_beat_times,
        resources=_conv_resources,
    )
)

register(
    ComponentEntry(
        name="conv_window",
        ops=frozenset({"pool_window"}),
        folds=_image_lanes,
        parameters=_pool_window_params,
        golden=_pool_window_golden,
        cycles=_pool_window_cycles,
        beat_times=lambda node, fold, times: window_beat_times(node, times, 0),
        resources=lambda node, fold: _window_resources(node, fold.in_lanes, in_format(node).width),
    )
)

register(
    ComponentEntry(
        name="pool_max",
        ops=frozenset({"max_pool2d"}),
        folds=_image_lanes,
        parameters=lambda node, fold: {
            "CHANNELS": fold.in_lanes, "DATA_WIDTH": in_format(node).width,
            "SIGNED": bool(in_format(node).signed), "WINDOW": _pool_size(node),
        },
        golden=_pool_golden,
        cycles=_pool_cycles,
        beat_times=_pool_beat_times,
        resources=_pool_resources,
    )
)

register(
    ComponentEntry(
        name="fixed_lut",
        ops=frozenset({"activation"}),
        folds=_elementwise_folds,
        parameters=_lut_params,
        memories=_lut_memories,
        golden=_lut_golden,
        cycles=_elementwise_cycles,
        beat_times=_lut_beat_times,
        resources=_lut_resources,
    )
)

#: Operations the mapper inserts itself; a captured graph never holds them.
PLUMBING_OPS = frozenset({"fifo", "resize"})
#: Operations capture makes as part of another (``pool_window``: the windows of a max_pool2d).
INTERNAL_OPS = frozenset({"pool_window"})


def supported_ops() -> list[str]:
    """Graph operations some registry entry implements (plumbing and internal ones excluded), sorted."""
    return sorted({op for e in REGISTRY.values() for op in e.ops} - PLUMBING_OPS - INTERNAL_OPS)


def entry_for(op: str, node_name: str) -> ComponentEntry:
    """The entry implementing ``op``; otherwise an UnsupportedOperationError naming the node."""
    for entry in REGISTRY.values():
        if op in entry.ops:
            return entry
    raise UnsupportedOperationError(
        f"node {node_name!r}: operation {op!r} has no library component; supported: "
        f"{', '.join(supported_ops())} (view/reshape/flatten/dropout and batch-norm after linear are folded)"
    )


def golden_vector(node: Node, x: IntArray) -> IntArray:
    """Apply a node's golden function to a batch of flattened samples ``(B, elements)``."""
    out = entry_for(node["op"], node["name"]).golden(node, np.asarray(x, dtype=np.int64))
    return np.asarray(out, dtype=np.int64)
