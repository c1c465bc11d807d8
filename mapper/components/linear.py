"""``fixed_linear``: the folded fully connected layer (rtl/linear/), golden ``golden.components.linear``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from golden import components as gc
from golden.fixed import FixedType, IntArray, accumulator_width, value_bits
from mapper.components.arith import AddTree, MultPipe
from mapper.components.base import (
    BenchTiming,
    Component,
    Fold,
    Resources,
    divisors,
    elements,
    random_constants,
    register,
)
from mapper.components.resource_model import Terms, estimate, multiplier_slices, rom_bram_tiles
from mapper.errors import MappingError
from mapper.graph import Node
from sim.memimage import linear_bias_words, linear_weight_words, write_memh

#: Formats of the linear benches unless a sweep entry says otherwise.
LINEAR_FORMAT = {
    "IN_WIDTH": 8,
    "IN_FRAC": 4,
    "IN_SIGNED": 1,
    "W_WIDTH": 8,
    "W_FRAC": 6,
    "HAS_BIAS": 1,
    "B_WIDTH": 8,
    "B_FRAC": 6,
    "OUT_WIDTH": 8,
    "OUT_FRAC": 4,
    "OUT_SIGNED": 1,
}


def write_linear_images(params: dict[str, Any], w: IntArray, b: IntArray | None, folder: Path) -> dict[str, Any]:
    """fixed_linear-layout images of weight matrix ``w`` (N, K) and bias ``b`` into ``params``'s
    ``WEIGHTS_FILE`` / ``BIAS_FILE`` (folding from ``IN_PAR`` / ``OUT_PAR``)."""
    in_par, out_par, w_width = int(params["IN_PAR"]), int(params["OUT_PAR"]), int(params["W_WIDTH"])
    out = dict(params)
    words = linear_weight_words(w, in_par, out_par, w_width)
    out["WEIGHTS_FILE"] = str(write_memh(folder / "weights.memh", words, out_par * in_par * w_width))
    if b is not None:
        b_width = int(params["B_WIDTH"])
        words = linear_bias_words(b, out_par, b_width)
        out["BIAS_FILE"] = str(write_memh(folder / "bias.memh", words, out_par * b_width))
    return out


def rom_in_bram(words: int, word_bits: int) -> bool:
    """fixed_linear's rule for its weight ROM: read synchronously (so that synthesis puts it into
    block RAM, behind one more register level) from 512 words and 16 kb on."""
    return words >= 512 and words * word_bits >= 16384


def linear_latency(in_t: FixedType, w_width: int, in_par: int, bram: bool) -> int:
    """fixed_linear's pipeline: cycles from a group's last step to its output beat, 7 + R + M + T.

    R = 1 behind a block-RAM weight ROM; M = mult_pipe's extra product levels for operands over
    18 bits (the input is widened by one bit when unsigned); T = ceil(log2 IN_PAR) adder-tree
    levels. The 7: issue registers, the multiplier's operand registers, its product and a second
    product register (the first one then feeds only the second, so placement keeps it next to the
    multiplier block), accumulator, requantizer's register, skid buffer.
    """
    xw = in_t.width + (0 if in_t.signed else 1)
    return 7 + int(bram) + MultPipe.sum_levels(xw, w_width) + AddTree.levels(in_par)


def params_latency(params: dict[str, Any]) -> int:
    """:func:`linear_latency` of a fixed_linear parameter set."""
    g = params["OUT_FEATURES"] // params["OUT_PAR"]
    c = params["IN_FEATURES"] // params["IN_PAR"]
    in_t = FixedType(params["IN_WIDTH"], params["IN_FRAC"], bool(params["IN_SIGNED"]))
    bram = rom_in_bram(g * c, params["OUT_PAR"] * params["IN_PAR"] * params["W_WIDTH"])
    return linear_latency(in_t, params["W_WIDTH"], params["IN_PAR"], bram)


def layer_latency(node: Node, fold: Fold, in_par: int, words: int) -> int:
    """:func:`linear_latency` of ``node``'s formats with ``in_par`` lanes in and a ``words``-deep
    ROM of ``in_par * fold.out_lanes`` weights per word."""
    f = node.formats
    assert f is not None and f.weight is not None
    bram = rom_in_bram(words, in_par * fold.out_lanes * f.weight.width)
    return linear_latency(f.data_in, f.weight.width, in_par, bram)


def layer_parameters(node: Node, k: int, n: int, fold: Fold) -> dict[str, Any]:
    """fixed_linear's parameters for ``node``'s formats with a K x N matrix folded ``fold``."""
    f = node.formats
    assert f is not None and f.weight is not None
    if not f.weight.signed:
        raise MappingError(f"node {node.name}: fixed_linear needs a signed weight format, got {f.weight}")
    has_bias = node.bias is not None
    bias_t = f.bias if has_bias and f.bias is not None else FixedType(2, 0)
    if has_bias and not bias_t.signed:
        raise MappingError(f"node {node.name}: fixed_linear needs a signed bias format, got {bias_t}")
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


def layer_memories(node: Node, weight: IntArray, fold: Fold, folder: Path) -> dict[str, str]:
    """Write ``node``'s weight matrix ``weight`` (N, K) and bias as fixed_linear images."""
    f = node.formats
    assert f is not None and f.weight is not None
    w_bits = fold.in_lanes * fold.out_lanes * f.weight.width
    words = linear_weight_words(weight, fold.in_lanes, fold.out_lanes, f.weight.width)
    files = {"WEIGHTS_FILE": str(write_memh(folder / f"{node.name}_weights.memh", words, w_bits))}
    if node.bias is not None:
        assert f.bias is not None
        b_words = linear_bias_words(node.bias, fold.out_lanes, f.bias.width)
        path = write_memh(folder / f"{node.name}_bias.memh", b_words, fold.out_lanes * f.bias.width)
        files["BIAS_FILE"] = str(path)
    return files


def linear_terms(p: dict[str, Any], weight_bits: int | None = None) -> Terms:
    """fixed_linear's structural terms (:mod:`mapper.components.resource_model`) from its RTL
    parameters ``p`` and the two's-complement bits its weights use (``weight_bits``, at most
    ``W_WIDTH``; None: all of them, as in the calibration, whose weights span their format).

    DSP48E1s: one per mult_pipe partial product when the product is wide enough for synthesis
    to use one (:func:`multiplier_slices`); narrower products, and their weight and product
    registers, are LUT logic and flip-flops (``mult_lut`` / ``mult_const``: operand bit
    products, the latter for a one-word ROM whose weights are constants). Block RAM: the weight
    ROM by fixed_linear's rule (:func:`rom_in_bram`), tiled as the 7 series does. LUT ROMs cost by
    word bits and depth, counting per weight only the bits its values use: synthesis merges the
    columns that repeat a weight's sign bit (ResNet-8's conv2d_7 at 18,432 cycles, a 288 x 1,024-bit
    ROM of weights from -6 to 7 in 8 bits: 511 distinct columns, 13,741 LUTs against 24,660
    estimated by the full width); the adder tree, accumulator, requantizer and skid buffer by bits
    per output lane; the replay multiplexer and the stored vector (flip-flops up to two beats deep,
    LUTRAM beyond) by input bits.
    """
    k, n, ip, op = p["IN_FEATURES"], p["OUT_FEATURES"], p["IN_PAR"], p["OUT_PAR"]
    g, c = n // op, k // ip
    words, macs = g * c, ip * op
    xw = p["IN_WIDTH"] + (0 if p["IN_SIGNED"] else 1)
    ww, ow = p["W_WIDTH"], p["OUT_WIDTH"]
    in_t = FixedType(max(2, xw), p["IN_FRAC"])
    w_t = FixedType(ww, p["W_FRAC"])
    bias_t = FixedType(p["B_WIDTH"], p["B_FRAC"]) if p["HAS_BIAS"] else None
    acc = accumulator_width(in_t, w_t, k, bool(p["HAS_BIAS"]), bias_t) + 1
    pw = xw + ww
    tree = sum(math.ceil(ip / 2**lvl) * (pw + lvl) for lvl in range(1, AddTree.levels(ip) + 1))
    word = macs * ww
    rom_word = macs * min(ww, weight_bits or ww)  # the bit columns a LUT ROM keeps
    bram = rom_in_bram(words, word)
    slices = multiplier_slices(xw, ww)
    fabric = slices == 0
    control = math.ceil(math.log2(words)) if words > 1 else 1
    lut = {
        "mult_lut": macs * xw * ww if fabric and words > 1 else 0,
        "mult_const": macs * xw * ww if fabric and words == 1 else 0,
        "tree": op * tree,
        "mac_dsp": 0 if fabric else macs,
        "rom": rom_word * math.log2(words) / 5 if 1 < words <= 32 and not bram else 0,
        "rom_64": rom_word if 32 < words <= 64 and not bram else 0,
        "rom_deep": rom_word * words / 64 if words > 64 and not bram else 0,
        "bias_rom": op * p["B_WIDTH"] if p["HAS_BIAS"] and g > 1 else 0,
        "acc": op * acc,
        "out": op * ow,
        "saturate": op * max(0, acc - ow),
        "replay": ip * p["IN_WIDTH"] if g > 1 else 0,
        "control": control,
        "base": 1,
    }
    ff = {
        "operand": ip * p["IN_WIDTH"],
        "weight_lut": word if words > 1 and fabric else 0,
        "weight_dsp": word if words > 1 and not fabric else 0,
        "mac_lut": macs * (xw + ww + 2 * pw) if fabric else 0,
        "mac_dsp": 0 if fabric else macs,
        "mac_dsp_p": 0 if fabric else macs * pw,
        "tree": op * tree,
        "acc": op * acc,
        "out": op * ow,
        "vector": k * p["IN_WIDTH"] if g > 1 and c <= 2 else 0,
        "bram_level": word + ip * p["IN_WIDTH"] if bram else 0,
        "control": control,
        "base": 1,
    }
    return Terms(lut=lut, ff=ff, dsp=macs * slices, bram=rom_bram_tiles(words, word) if bram else 0)


#: Multipliers per layer of the wide calibration points (FINN-style, nearly fully parallel layers).
WIDE_MACS = (512, 4096)


def random_linear_parameters(rng: np.random.Generator, wide: bool = False) -> dict[str, Any]:
    """One random legal fixed_linear format and folding (see ``FixedLinear.calibration_grid``):
    at most 256 multipliers, or (``wide``) 512 to 4,096 with inputs and weights of 2 to 4 bits."""
    widths = (2, 3, 4, 5, 6, 8, 10, 12, 16)
    if wide:
        k, n = int(rng.choice((256, 512, 784, 1024))), int(rng.choice((16, 32, 64)))
        ip = int(rng.choice([d for d in divisors(k) if WIDE_MACS[0] <= d * n and d * min(divisors(n)) <= WIDE_MACS[1]]))
        op = int(rng.choice([d for d in divisors(n) if WIDE_MACS[0] <= ip * d <= WIDE_MACS[1]]))
    else:
        k, n = int(rng.choice((4, 8, 16, 32, 64, 128, 256))), int(rng.choice((2, 4, 8, 16, 32, 64)))
        ip = int(rng.choice([d for d in divisors(k) if d * min(divisors(n)) <= 256]))
        op = int(rng.choice([d for d in divisors(n) if ip * d <= 256]))
    xw, ww, ow, bw = (int(rng.choice(widths)) for _ in range(4))
    if wide:
        xw, ww = int(rng.choice((2, 3, 4))), int(rng.choice((2, 3, 4)))
    signed = bool(rng.integers(2))
    in_frac, w_frac = int(rng.integers(0, xw + 1)), int(rng.integers(0, ww))
    return {
        "IN_FEATURES": k,
        "OUT_FEATURES": n,
        "IN_PAR": ip,
        "OUT_PAR": op,
        "IN_WIDTH": xw,
        "IN_FRAC": in_frac,
        "IN_SIGNED": int(signed),
        "W_WIDTH": ww,
        "W_FRAC": w_frac,
        "HAS_BIAS": int(rng.integers(2)),
        "B_WIDTH": bw,
        "B_FRAC": int(rng.integers(0, min(bw, in_frac + w_frac) + 1)),
        "OUT_WIDTH": ow,
        "OUT_FRAC": int(rng.integers(0, ow)),
        "OUT_SIGNED": int(rng.integers(2)),
    }


def layer_resources(node: Node, k: int, n: int, fold: Fold) -> Resources:
    """The calibrated estimate of fixed_linear for ``node``'s K x N matrix folded ``fold`` (its
    LUT ROM by the bits its weights use, :func:`linear_terms`)."""
    used = None if node.weight is None else value_bits(node.weight)
    return estimate("fixed_linear", linear_terms(layer_parameters(node, k, n, fold), used))


@register
class FixedLinear(Component):
    name = "fixed_linear"
    output_skid = True
    kind = "linear"
    summary = "folded y = W x + b"
    depends = ("fixed_requant_reg", "add_tree", "mult_pipe", "skid_buffer")
    ops = ("linear",)
    bench = "sim.tb.test_fixed_linear"
    defaults = {
        "IN_FEATURES": 8,
        "OUT_FEATURES": 4,
        "IN_PAR": 2,
        "OUT_PAR": 2,
        **LINEAR_FORMAT,
        "WEIGHTS_FILE": "",
        "BIAS_FILE": "",
    }
    sweeps = (
        # one MAC per cycle, narrow 4-bit data, unsigned input (after a ReLU), no bias
        {
            "IN_FEATURES": 6,
            "OUT_FEATURES": 3,
            "IN_PAR": 1,
            "OUT_PAR": 1,
            "IN_WIDTH": 4,
            "IN_FRAC": 2,
            "IN_SIGNED": 0,
            "W_WIDTH": 4,
            "W_FRAC": 3,
            "HAS_BIAS": 0,
            "OUT_WIDTH": 4,
            "OUT_FRAC": 1,
        },
        # folded on both sides, 8-bit, output finer than the accumulator drops (saturates often)
        {"IN_FEATURES": 16, "OUT_FEATURES": 6, "IN_PAR": 4, "OUT_PAR": 2, "OUT_FRAC": 6},
        # fully parallel (one vector per cycle), wide 16-bit data, unsigned output
        {
            "IN_FEATURES": 8,
            "OUT_FEATURES": 4,
            "IN_PAR": 8,
            "OUT_PAR": 4,
            "IN_WIDTH": 16,
            "IN_FRAC": 8,
            "W_WIDTH": 16,
            "W_FRAC": 12,
            "B_WIDTH": 16,
            "B_FRAC": 10,
            "OUT_WIDTH": 16,
            "OUT_FRAC": 8,
            "OUT_SIGNED": 0,
        },
        # output-folded only, wide accumulator shift with a coarse bias
        {"IN_FEATURES": 12, "OUT_FEATURES": 8, "IN_PAR": 12, "OUT_PAR": 1, "B_FRAC": 0, "OUT_WIDTH": 12, "OUT_FRAC": 2},
        # a deep weight ROM (512 words x 32 bits): the synchronous, block-RAM read path
        {"IN_FEATURES": 64, "OUT_FEATURES": 32, "IN_PAR": 4, "OUT_PAR": 1},
        # a wide integer bias (16 bits, no fraction) that dominates the accumulator: its aligned
        # range ends overflow an accumulator one bit short (the "+1" of ACC_W)
        {
            "IN_FEATURES": 8,
            "OUT_FEATURES": 16,
            "IN_PAR": 2,
            "OUT_PAR": 4,
            "B_WIDTH": 16,
            "B_FRAC": 0,
            "OUT_WIDTH": 20,
            "OUT_FRAC": 0,
        },
    )
    groups = 100  # up to 512 cycles per vector in the deepest set
    timed_sweeps = (0, 1, 2, 3, 4, 5)
    fmax_sweep = 4

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random weights and bias written as fixed_linear memory images."""
        rng = np.random.default_rng(seed)
        w = random_constants(rng, (int(params["OUT_FEATURES"]), int(params["IN_FEATURES"])), int(params["W_WIDTH"]))
        has_bias = int(params["HAS_BIAS"])
        b = random_constants(rng, (int(params["OUT_FEATURES"]),), int(params["B_WIDTH"])) if has_bias else None
        context = {"weights": w.tolist(), "bias": None if b is None else b.tolist()}
        return write_linear_images(params, w, b, folder), context

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """G * C cycles per vector; group 0's beat leaves :func:`linear_latency` cycles after the
        vector's last input beat (later groups replay the stored vector): every sweep set's vector
        interval is checked, and its latency to group 0."""
        g = params["OUT_FEATURES"] // params["OUT_PAR"]
        c = params["IN_FEATURES"] // params["IN_PAR"]
        return BenchTiming(interval=g * c, latency=params_latency(params))

    @staticmethod
    def _kn(node: Node) -> tuple[int, int]:
        assert node.weight is not None
        n, k = node.weight.shape
        return int(k), int(n)

    def _tokens(self, node: Node) -> int:
        """Vectors per inference: 1, or the tokens of a sequence ``(S, K)`` (every row in turn)."""
        return max(1, elements(node.in_shape) // self._kn(node)[0])

    def _vector_accepts(self, node: Node, fold: Fold, times: list[int]) -> list[list[int]]:
        """The cycles each vector's beats are taken: when offered (group 0 steps with the input),
        a vector's first beat not before the cycle after the previous vector's last replay step."""
        k, n = self._kn(node)
        g, c = n // fold.out_lanes, k // fold.in_lanes
        vectors, step = [], -(10**9)
        for v in range(len(times) // c):  # a sequence's tokens, or consecutive inferences
            taken = []
            for j in range(c):
                step = max(times[v * c + j], step + 1)
                taken.append(step)
            vectors.append(taken)
            step += (g - 1) * c
        return vectors

    def folds(self, node: Node) -> list[Fold]:
        k, n = self._kn(node)
        return [Fold(i, o) for i in divisors(k) for o in divisors(n)]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        return layer_parameters(node, *self._kn(node), fold)

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        assert node.weight is not None
        return layer_memories(node, node.weight, fold, folder)

    def golden(self, node: Node, x: IntArray) -> IntArray:
        f = node.formats
        assert f is not None and f.weight is not None
        xs = np.asarray(x).reshape(len(x), self._tokens(node), -1)
        y = gc.linear(xs, node.weight, node.bias, f.data_in, f.weight, f.bias, f.data_out)
        return y.reshape(len(x), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        k, n = self._kn(node)
        return self._tokens(node) * (n // fold.out_lanes) * (k // fold.in_lanes)

    def vector_beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        """Output beat cycles of one vector from the cycles its input beats are taken."""
        # Group 0 steps with the input beats; group g's beat leaves the pipeline depth after its
        # last step.
        k, n = self._kn(node)
        g, c = n // fold.out_lanes, k // fold.in_lanes
        lat = layer_latency(node, fold, fold.in_lanes, g * c)
        return [times[-1] + lat + j * c for j in range(g)]

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return [
            t for taken in self._vector_accepts(node, fold, times) for t in self.vector_beat_times(node, fold, taken)
        ]

    def accept_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        return [t for taken in self._vector_accepts(node, fold, times) for t in taken]

    def resources(self, node: Node, fold: Fold) -> Resources:
        return layer_resources(node, *self._kn(node), fold)

    calibration_points = 52

    #: Of the grid's points, the last ones are wide layers (:data:`WIDE_MACS`).
    wide_points = 4

    def resource_terms(self, params: dict[str, Any]) -> Terms:
        return linear_terms(params)

    def calibration_grid(self, rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
        """Layers of 4 to 256 inputs and 2 to 64 outputs; input, weight and output widths 2 to 16
        (signed or not); one MAC to fully parallel (at most 256 MACs); ROMs from one word
        (constant weights) to 4,096 (block RAM). The last ``wide_points`` are layers of 256 to
        1,024 inputs with 512 to 4,096 multipliers of 2- to 4-bit operands (FINN's TFC first
        layer at 16 cycles has 3,136), drawn after the others so that a grid of more points
        keeps the ones already measured."""
        wide = min(self.wide_points, count // 4)
        narrow = [random_linear_parameters(rng) for _ in range(count - wide)]
        return [self.parameters_with(p) for p in narrow + [random_linear_parameters(rng, True) for _ in range(wide)]]

    def input_buffer(self, node: Node, fold: Fold) -> int:
        # Only group 0 takes input; while groups 1..G-1 replay the stored vector the producer would
        # stall, so a FIFO holding one whole input vector lets it go on at the pipeline rate (a
        # whole sequence of them for a sequence: its producer delivers the tokens back to back).
        k, n = self._kn(node)
        return self._tokens(node) * (k // fold.in_lanes) if n // fold.out_lanes > 1 else 0
