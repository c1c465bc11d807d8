"""``fixed_affine``: per-channel ``y = requant(x * scale + shift)`` (rtl/norm/), golden ``golden.norm.affine``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from golden.fixed import IntArray
from golden.norm import affine
from mapper.components.arith import MultPipe
from mapper.components.base import (
    BenchTiming,
    Component,
    Fold,
    Mutant,
    Resources,
    divisors,
    elements,
    random_constants,
    register,
)
from mapper.graph import Node
from sim.memimage import pack_lanes, write_memh


@register
class FixedAffine(Component):
    name = "fixed_affine"
    output_skid = True
    kind = "norm"
    summary = (
        "per-channel y = requant(x * scale + shift) (inference batch-norm, layer scale); CHANNELS/LANES "
        "beats per position, scales and shifts from $readmemh images"
    )
    depends = ("fixed_requant_reg", "mult_pipe", "pipe_ctrl", "skid_buffer")
    ops = ("affine",)
    bench = "sim.tb.test_fixed_affine"
    defaults = {
        "CHANNELS": 4,
        "LANES": 1,
        "IN_WIDTH": 8,
        "IN_FRAC": 4,
        "IN_SIGNED": 1,
        "S_WIDTH": 8,
        "S_FRAC": 6,
        "B_WIDTH": 8,
        "B_FRAC": 6,
        "OUT_WIDTH": 8,
        "OUT_FRAC": 4,
        "OUT_SIGNED": 1,
        "SCALE_FILE": "",
        "SHIFT_FILE": "",
    }
    sweeps = (
        # one lane, 3 channels cycling, narrow: drops 2 bits (ties on a quarter of the sums), shift
        # aligned by 3 bits, saturates most of the range
        {
            "CHANNELS": 3,
            "LANES": 1,
            "IN_WIDTH": 4,
            "IN_FRAC": 2,
            "S_WIDTH": 3,
            "S_FRAC": 1,
            "B_WIDTH": 3,
            "B_FRAC": 0,
            "OUT_WIDTH": 3,
            "OUT_FRAC": 1,
        },
        # 8 lanes, 2 beats per position, unsigned input (after ReLU), drops 6 bits
        {"CHANNELS": 16, "LANES": 8, "IN_SIGNED": 0, "B_FRAC": 4},
        # wide 16-bit formats, 3 beats per position, shift already at the product's fraction (no
        # alignment), unsigned output (negative results -> 0)
        {
            "CHANNELS": 12,
            "LANES": 4,
            "IN_WIDTH": 16,
            "IN_FRAC": 8,
            "S_WIDTH": 16,
            "S_FRAC": 12,
            "B_WIDTH": 16,
            "B_FRAC": 20,
            "OUT_WIDTH": 16,
            "OUT_FRAC": 8,
            "OUT_SIGNED": 0,
        },
    )
    timed_sweeps = (1,)
    mutants = (
        # every beat uses the previous beat's scales and shifts (channel index one beat late)
        Mutant("affine_stale_channel", "scale_mem[pos_next]", "scale_mem[pos]", caught_by=(("fixed_affine", 0),)),
        # lane i takes the scale of lane LANES-1-i
        Mutant(
            "affine_lanes_reversed",
            "scale_word[i*S_WIDTH+:S_WIDTH]",
            "scale_word[(LANES-1-i)*S_WIDTH+:S_WIDTH]",
            caught_by=(("fixed_affine", 1),),
        ),
    )

    def timing(self, params: dict[str, Any]) -> BenchTiming:
        """One position (CHANNELS / LANES beats) per that many cycles, each beat :meth:`latency`
        cycles through."""
        beats = params["CHANNELS"] // params["LANES"]
        lat = self.latency(params["IN_WIDTH"], params["S_WIDTH"])
        return BenchTiming(interval=beats, latency=lat, in_spacing=1, out_spacing=1, needs=1)

    @staticmethod
    def latency(in_width: int, s_width: int) -> int:
        """Cycles through: the product (mult_pipe without its optional registers, the input read
        as a signed ``in_width + 1``-bit number), the sum's register, the requantizer's, the skid
        buffer."""
        return MultPipe.latency(in_width + 1, s_width, False, False) + 3

    def prepare(self, params: dict[str, Any], seed: int, folder: Path) -> tuple[dict[str, Any], dict[str, Any]]:
        """Random per-channel scales and shifts written as fixed_affine memory images (word k holds
        channels k*LANES .. k*LANES + LANES-1, lane 0 in the low bits)."""
        channels, lanes = int(params["CHANNELS"]), int(params["LANES"])
        if lanes < 1 or channels % lanes:
            raise ValueError(f"LANES={lanes} must be >= 1 and divide CHANNELS={channels}")
        s_w, b_w = int(params["S_WIDTH"]), int(params["B_WIDTH"])
        rng = np.random.default_rng(seed)
        scale, shift = random_constants(rng, (channels,), s_w), random_constants(rng, (channels,), b_w)
        beats = range(channels // lanes)
        scale_words = [pack_lanes(scale[k * lanes : (k + 1) * lanes], s_w) for k in beats]
        shift_words = [pack_lanes(shift[k * lanes : (k + 1) * lanes], b_w) for k in beats]
        out = {
            **params,
            "SCALE_FILE": str(write_memh(folder / "scale.memh", scale_words, lanes * s_w)),
            "SHIFT_FILE": str(write_memh(folder / "shift.memh", shift_words, lanes * b_w)),
        }
        return out, {"scale": scale.tolist(), "shift": shift.tolist()}

    # ---- the mapper's model: the node's weight / bias are the per-channel scales / shifts ----

    def folds(self, node: Node) -> list[Fold]:
        return [Fold(d, d) for d in divisors(int(node.attrs["channels"]))]

    def parameters(self, node: Node, fold: Fold) -> dict[str, Any]:
        f = node.formats
        assert f is not None and f.weight is not None and f.bias is not None
        return {
            "CHANNELS": int(node.attrs["channels"]),
            "LANES": fold.in_lanes,
            "IN_WIDTH": f.data_in.width,
            "IN_FRAC": f.data_in.frac,
            "IN_SIGNED": bool(f.data_in.signed),
            "S_WIDTH": f.weight.width,
            "S_FRAC": f.weight.frac,
            "B_WIDTH": f.bias.width,
            "B_FRAC": f.bias.frac,
            "OUT_WIDTH": f.data_out.width,
            "OUT_FRAC": f.data_out.frac,
            "OUT_SIGNED": bool(f.data_out.signed),
        }

    def memories(self, node: Node, fold: Fold, folder: Path) -> dict[str, str]:
        f = node.formats
        assert f is not None and f.weight is not None and f.bias is not None
        assert node.weight is not None and node.bias is not None
        lanes, beats = fold.in_lanes, range(int(node.attrs["channels"]) // fold.in_lanes)
        scale = [pack_lanes(node.weight[k * lanes : (k + 1) * lanes], f.weight.width) for k in beats]
        shift = [pack_lanes(node.bias[k * lanes : (k + 1) * lanes], f.bias.width) for k in beats]
        return {
            "SCALE_FILE": str(write_memh(folder / f"{node.name}_scale.memh", scale, lanes * f.weight.width)),
            "SHIFT_FILE": str(write_memh(folder / f"{node.name}_shift.memh", shift, lanes * f.bias.width)),
        }

    def golden(self, node: Node, x: IntArray) -> IntArray:
        f = node.formats
        assert f is not None and f.weight is not None and f.bias is not None
        xa = np.asarray(x, dtype=np.int64)
        c = int(node.attrs["channels"])
        y = affine(xa.reshape(-1, c), node.weight, node.bias, f.data_in, f.weight, f.bias, f.data_out)
        return y.reshape(len(xa), -1)

    def cycles(self, node: Node, fold: Fold) -> int:
        return elements(node.out_shape) // fold.out_lanes

    def beat_times(self, node: Node, fold: Fold, times: list[int]) -> list[int]:
        f = node.formats
        assert f is not None and f.weight is not None
        lat = self.latency(f.data_in.width, f.weight.width)
        return [t + lat for t in times]

    def resources(self, node: Node, fold: Fold) -> Resources:
        """Per lane a multiplier (one DSP48E1) and the requantizer, the scale / shift ROMs in LUTs,
        the output skid buffer; not calibrated on synthesis yet."""
        f = node.formats
        assert f is not None and f.weight is not None and f.bias is not None
        rom = int(node.attrs["channels"]) * (f.weight.width + f.bias.width) // 32 + 1
        lanes = fold.in_lanes
        return Resources(
            lut=lanes * (2 * f.data_out.width + f.data_in.width) + rom, ff=2 * lanes * f.data_out.width + 8, dsp=lanes
        )
